//! The simulate report as one self-contained HTML page: no script, no network. The charts are
//! inline SVG drawn by this module (usage against the limit for the customers with the most
//! usage, cumulative revenue and cost, revenue, cost and margin per plan).

use crate::money::Currency;
use crate::report;
use crate::run::Run;
use limitr_core::number;
use std::fmt::Write as _;

const W: f64 = 640.0;
const H: f64 = 220.0;
const PAD_L: f64 = 64.0;
const PAD_R: f64 = 16.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 28.0;
/// How many customer usage charts the page draws.
const USAGE_CHARTS: usize = 6;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or(ms.to_string(), |d| d.format("%Y-%m-%d %H:%M").to_string())
}

fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Horizontal grid lines with their values, from 0 to `top`.
fn grid(s: &mut String, top: f64, sy: impl Fn(f64) -> f64) {
    for i in 0..=4 {
        let v = top * f64::from(i) / 4.0;
        let (y, x2, tx) = (sy(v), W - PAD_R, PAD_L - 6.0);
        let _ = write!(
            s,
            "<line x1=\"{PAD_L}\" x2=\"{x2}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{tx}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            y + 4.0,
            short(v)
        );
    }
}

/// One line of a chart.
struct Line<'a> {
    label: &'a str,
    color: &'a str,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// A line chart over time (x in epoch ms) with axes, ticks and a legend.
fn line_chart(title: &str, lines: &[Line<'_>]) -> String {
    let all = lines.iter().flat_map(|l| l.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return format!(
            "<figure><figcaption>{}</figcaption><p>no data</p></figure>",
            esc(title)
        );
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= 0.0 {
        y1 = 1.0;
    }
    y1 *= 1.05;
    let sx = |x: f64| PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R);
    let sy = |y: f64| H - PAD_B - y / y1 * (H - PAD_T - PAD_B);
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure><figcaption>{}</figcaption><svg class=\"chart\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\">",
        esc(title)
    );
    grid(&mut s, y1, sy);
    for i in 0..=3 {
        let x = x0 + (x1 - x0) * f64::from(i) / 3.0;
        let anchor = match i {
            0 => "start",
            3 => "end",
            _ => "middle",
        };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"{anchor}\">{}</text>",
            sx(x),
            H - 8.0,
            date(x as i64)
        );
    }
    for l in lines {
        // a meter holds its value between calls: drawn as steps, so a reset is a drop, not a slope
        let mut stepped = Vec::with_capacity(l.points.len() * 2);
        for (i, p) in l.points.iter().enumerate() {
            if let Some(prev) = i.checked_sub(1).and_then(|j| l.points.get(j)) {
                stepped.push((p.0, prev.1));
            }
            stepped.push(*p);
        }
        let pts: Vec<String> = stepped
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = write!(
            s,
            "<polyline class=\"series\" data-label=\"{}\" data-points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"{} points=\"{}\"/>",
            esc(l.label),
            l.points.len(),
            l.color,
            if l.dashed {
                " stroke-dasharray=\"5 4\""
            } else {
                ""
            },
            pts.join(" ")
        );
    }
    s.push_str("</svg><div class=\"legend\">");
    for l in lines {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>{}</span>",
            l.color,
            esc(l.label)
        );
    }
    s.push_str("</div></figure>");
    s
}

/// Revenue and cost bars per plan, with the margin above each pair.
fn plan_bars(run: &Run, money: &Currency) -> String {
    let plans = run.plans();
    let vals: Vec<(String, f64, f64, String)> = plans
        .iter()
        .map(|(n, t, _)| {
            (
                n.to_string(),
                number::approx_f64(money.of_runes(t.revenue)),
                number::approx_f64(money.of_runes(t.cost)),
                t.margin().map_or("—".into(), |m| format!("{m}%")),
            )
        })
        .collect();
    let top = vals
        .iter()
        .fold(0.0f64, |m, v| m.max(v.1).max(v.2))
        .max(1e-9)
        * 1.15;
    let group = (W - PAD_L - PAD_R) / vals.len().max(1) as f64;
    let bar = (group / 3.0).min(60.0);
    let sy = |y: f64| H - PAD_B - y / top * (H - PAD_T - PAD_B);
    let mut s = String::from("<figure><figcaption>Revenue, cost and margin per plan</figcaption>");
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\">"
    );
    grid(&mut s, top, sy);
    for (i, (name, rev, cost, margin)) in vals.iter().enumerate() {
        let gx = PAD_L + group * i as f64 + (group - 2.0 * bar) / 2.0;
        for (k, (v, color)) in [(rev, "#2b7bb9"), (cost, "#d9534f")].iter().enumerate() {
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{color}\"/>",
                gx + bar * k as f64,
                sy(**v),
                (H - PAD_B - sy(**v)).max(0.0)
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text><text x=\"{0:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
            gx + bar,
            sy(rev.max(*cost)) - 4.0,
            esc(margin),
            H - 8.0,
            esc(name)
        );
    }
    s.push_str("</svg><div class=\"legend\"><span><i style=\"background:#2b7bb9\"></i>revenue</span><span><i style=\"background:#d9534f\"></i>cost</span></div></figure>");
    s
}

/// The page.
pub fn page(run: &Run, money: &Currency, title: &str, summary: &str) -> String {
    let mut body = String::new();
    let cur = &money.code;
    let money_lines: Vec<(i64, f64, f64)> = run.money.points();
    let f = number::approx_f64(money.per_rune);
    body.push_str(&line_chart(
        &format!("Cumulative revenue and cost ({cur})"),
        &[
            Line {
                label: "revenue",
                color: "#2b7bb9",
                dashed: false,
                points: money_lines.iter().map(|p| (p.0 as f64, p.1 * f)).collect(),
            },
            Line {
                label: "cost",
                color: "#d9534f",
                dashed: false,
                points: money_lines.iter().map(|p| (p.0 as f64, p.2 * f)).collect(),
            },
        ],
    ));
    body.push_str(&plan_bars(run, money));
    // the meters with the most usage (relative to their limit), one chart each
    let mut meters: Vec<(f64, &str, &str, &crate::run::Meter)> = run
        .customers
        .iter()
        .flat_map(|c| c.meters.iter().map(move |m| (c, m)))
        .filter_map(|(c, m)| {
            let pts = m.usage.points();
            let peak = pts
                .iter()
                .map(|p| if p.2 > 0.0 { p.1 / p.2 } else { p.1 })
                .fold(0.0, f64::max);
            (!pts.is_empty()).then_some((peak, c.id.as_str(), &*c.plan, m))
        })
        .collect();
    meters.sort_by(|a, b| b.0.total_cmp(&a.0));
    body.push_str("<h2>Usage against the limit</h2><div class=\"grid2\">");
    for (_, id, plan, m) in meters.iter().take(USAGE_CHARTS) {
        let pts = m.usage.points();
        body.push_str(&line_chart(
            &format!("{id} ({plan}) · {}", m.entitlement),
            &[
                Line {
                    label: "usage this period",
                    color: "#2b7bb9",
                    dashed: false,
                    points: pts.iter().map(|p| (p.0 as f64, p.1)).collect(),
                },
                Line {
                    label: "limit",
                    color: "#888",
                    dashed: true,
                    points: pts.iter().map(|p| (p.0 as f64, p.2)).collect(),
                },
            ],
        ));
    }
    body.push_str("</div>");
    let _ = write!(
        body,
        "<h2>Figures</h2><pre>{}</pre>",
        esc(&report::tables(run, money, 50))
    );
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
body{{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1340px}}\
h1{{font-size:20px}}h2{{font-size:16px;margin-top:28px}}\
figure{{margin:12px 0;display:inline-block}}figcaption{{font-weight:600;margin-bottom:4px}}\
.grid2{{display:flex;flex-wrap:wrap;gap:8px 24px}}\
.grid{{stroke:#e5e5e5}}.tick{{font-size:10px;fill:#555}}\
.legend span{{margin-right:14px;font-size:12px}}.legend i{{display:inline-block;width:10px;height:10px;margin-right:4px}}\
pre{{font-size:12px;background:#f7f7f7;padding:10px;overflow:auto}}\
</style></head><body><h1>{t}</h1><p>{s}</p>{body}</body></html>\n",
        t = esc(title),
        s = esc(summary),
    )
}
