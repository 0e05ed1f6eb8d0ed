//! `limitr invoice`: invoice lines per customer from the meters of the current period in a saved
//! state: entitlement, included, used, overage units, grants applied, unit price or tier
//! breakdown, amount. Each line's amount is rounded once, to the currency's minor unit; the
//! total is the sum of the rounded lines, so the lines always add up to it.
//!
//! Only soft limits bill overage (a hard limit is passed only when grants pay, an observe limit
//! never bills), priced by the core (`Policy::price_units`) from where the grants leave off.
//! Grants applied are read from the state's live grants (what they gave minus what is left); a
//! one-time grant that was drained is no longer in the state, so its draws cannot be shown.

use crate::document::{self, Document};
use crate::failure::{Failure, Result, out, outln};
use crate::money::Currency;
use crate::table::Table;
use crate::usage::parse_timestamp;
use limitr_core::number::{self, Decimal};
use limitr_core::pricing::Model;
use limitr_core::{Format, Limitr, ManualClock, Mode};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `limitr invoice`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy (its rules and prices).
    #[arg(long)]
    pub policy: PathBuf,
    /// A saved state (the engine's `stringify` output, or `simulate --state`).
    #[arg(long)]
    pub state: PathBuf,
    /// One customer (default: every customer in the state).
    #[arg(long)]
    pub customer: Option<String>,
    /// Start of the invoiced range (ISO 8601 or epoch ms, inclusive).
    #[arg(long)]
    pub from: String,
    /// End of the invoiced range (exclusive); the meters are read as of just before it.
    #[arg(long)]
    pub to: String,
    /// The documents' format, when the extensions do not say it.
    #[arg(long, value_parser = document::parse_format)]
    pub format: Option<Format>,
    /// Print the invoice as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Write the invoice lines as CSV to this file (`-` for standard output).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Digits of the currency's minor unit (default: from its ISO code, 2 otherwise).
    #[arg(long)]
    pub minor_digits: Option<u32>,
}

/// One band of a tier breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Billable position the band starts at (exclusive).
    pub from: Decimal,
    /// Where it ends (inclusive; `None`: no bound).
    pub to: Option<Decimal>,
    /// Units billed in it.
    pub units: Decimal,
    /// Runes per unit.
    pub unit_price: Decimal,
}

/// One invoice line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The entitlement.
    pub entitlement: String,
    /// Its credit.
    pub credit: String,
    /// Start of the meter's current period (epoch ms).
    pub period_start: i64,
    /// Its end (the next reset), if it resets.
    pub period_end: Option<i64>,
    /// The limit: units included.
    pub included: Decimal,
    /// Units used this period.
    pub used: Decimal,
    /// Units past the limit.
    pub overage: Decimal,
    /// Overage units paid by grants.
    pub grants_applied: Decimal,
    /// Overage units billed.
    pub billed: Decimal,
    /// The pricing model's name.
    pub model: &'static str,
    /// Runes per unit, for a linear price.
    pub unit_price: Option<Decimal>,
    /// The bands of a tiered price.
    pub bands: Vec<Band>,
    /// The exact amount in the currency.
    pub exact: Decimal,
    /// The amount rounded to the minor unit (the line's amount).
    pub amount: Decimal,
}

/// Bands of a tiered price between billable positions `p0` and `p1`.
fn bands(tiers: &[limitr_core::pricing::Tier], p0: Decimal, p1: Decimal) -> Vec<Band> {
    let mut out = Vec::new();
    let mut lo = Decimal::ZERO;
    for t in tiers {
        let start = number::max(lo, p0);
        let end = t.up_to.map_or(p1, |hi| hi.min(p1));
        if end > start {
            out.push(Band {
                from: lo,
                to: t.up_to,
                units: end - start,
                unit_price: t.price,
            });
        }
        match t.up_to {
            Some(hi) => lo = hi,
            None => break,
        }
    }
    out
}

fn model_name(m: Option<&Model>) -> &'static str {
    match m {
        None => "exchange",
        Some(Model::Flat(_)) => "flat",
        Some(Model::Tiered(_)) => "tiered",
        Some(Model::Volume(_)) => "volume",
        Some(Model::Stairstep(_)) => "stairstep",
        Some(Model::Package { .. }) => "package",
    }
}

/// The lines of one customer as of `now`, for meters whose period overlaps `[from, to)`.
pub fn lines(engine: &Limitr, id: &str, from: i64, to: i64, money: &Currency) -> Vec<Line> {
    let policy = engine.policy();
    let now = engine.now();
    let Some(c) = engine.customer(id) else {
        return Vec::new();
    };
    let plan_name = if c.plan.is_empty() {
        policy.default_plan.clone()
    } else {
        Some(c.plan.clone())
    };
    let Some(plan) = plan_name.as_deref().and_then(|p| policy.plan(p)) else {
        return Vec::new();
    };
    // what the live grants gave and no longer hold, pooled, handed out to lines in order
    let mut grant_pool: Vec<(Arc<str>, Decimal)> = c
        .grants
        .iter()
        .filter(|g| g.live(now))
        .map(|g| (g.credit.clone(), number::floor0(g.starting_value - g.value)))
        .collect();
    let mut out = Vec::new();
    for e in plan.entitlements.values() {
        let Some(limit) = c.limit_for(&e.name, e.limit.as_ref(), now) else {
            continue;
        };
        let Some(meter) = c.meter(&e.name) else {
            continue;
        };
        let start = limit
            .reset
            .as_ref()
            .map_or(meter.started, |r| r.period_start(meter.started, now));
        let end = limit
            .reset
            .as_ref()
            .map(|r| r.next_reset(Some(meter.started), now));
        if start >= to || end.is_some_and(|e| e <= from) {
            continue;
        }
        let used = meter.current_value(limit.reset.as_ref(), now);
        let overage = number::floor0(used - limit.value);
        let credit = policy.credit(&limit.credit);
        let mut applied = Decimal::ZERO;
        if limit.grants_apply && limit.mode != Mode::Observe {
            for (gc, left) in grant_pool.iter_mut() {
                let need = overage - applied;
                if !number::positive(need) || !number::positive(*left) {
                    continue;
                }
                // the pool entry in this line's credit
                let Some(units) = policy.exchange.convert(*left, gc, &limit.credit) else {
                    continue;
                };
                let take = units.min(need);
                applied += take;
                let back = policy
                    .exchange
                    .convert(take, &limit.credit, gc)
                    .unwrap_or(*left);
                *left = number::floor0(*left - back);
            }
        }
        let billed = if limit.mode == Mode::Soft {
            overage - applied
        } else {
            Decimal::ZERO
        };
        let runes = credit
            .and_then(|cr| policy.price_units(cr, billed, applied))
            .unwrap_or_default();
        let pricing = credit.and_then(|cr| cr.pricing.as_ref());
        let unit_price = match pricing {
            Some(m) => m.unit_rate(),
            None => policy.exchange.rate(&limit.credit),
        };
        let bands = match pricing {
            Some(Model::Tiered(t)) => bands(t, applied, applied + billed),
            _ => Vec::new(),
        };
        let exact = money.of_runes(runes);
        out.push(Line {
            entitlement: e.name.to_string(),
            credit: limit.credit.to_string(),
            period_start: start,
            period_end: end,
            included: limit.value,
            used,
            overage,
            grants_applied: applied,
            billed,
            model: model_name(pricing),
            unit_price,
            bands,
            amount: money.round(exact),
            exact,
        });
    }
    out
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or(ms.to_string(), |d| {
        d.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    })
}

fn dec(d: Decimal) -> Value {
    number::to_value(d.normalize())
}

fn shown(money: &Currency, d: Decimal) -> Value {
    let mut r = money.round(d);
    r.rescale(money.digits);
    Value::String(r.to_string())
}

fn line_json(l: &Line, money: &Currency) -> Value {
    let mut o = Map::new();
    o.insert("entitlement".into(), json!(l.entitlement));
    o.insert("credit".into(), json!(l.credit));
    o.insert("period_start".into(), json!(when(l.period_start)));
    o.insert(
        "period_end".into(),
        l.period_end.map_or(Value::Null, |e| json!(when(e))),
    );
    o.insert("included".into(), dec(l.included));
    o.insert("used".into(), dec(l.used));
    o.insert("overage_units".into(), dec(l.overage));
    o.insert("grants_applied".into(), dec(l.grants_applied));
    o.insert("billed_units".into(), dec(l.billed));
    o.insert("pricing".into(), json!(l.model));
    o.insert(
        "unit_price".into(),
        l.unit_price.map_or(Value::Null, |p| dec(money.of_runes(p))),
    );
    if !l.bands.is_empty() {
        let b: Vec<Value> = l
            .bands
            .iter()
            .map(|b| {
                json!({"from": dec(b.from), "to": b.to.map(dec), "units": dec(b.units),
                       "unit_price": dec(money.of_runes(b.unit_price)),
                       "amount": dec(money.of_runes(b.units * b.unit_price))})
            })
            .collect();
        o.insert("tiers".into(), Value::Array(b));
    }
    o.insert("exact_amount".into(), dec(l.exact));
    o.insert("amount".into(), shown(money, l.amount));
    Value::Object(o)
}

fn tiers_text(l: &Line, money: &Currency) -> String {
    if l.bands.is_empty() {
        return l
            .unit_price
            .map_or(l.model.to_string(), |p| money.of_runes(p).to_string());
    }
    l.bands
        .iter()
        .map(|b| format!("{}×{}", b.units.normalize(), money.of_runes(b.unit_price)))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Runs the command.
pub fn run(args: &Args) -> Result<ExitCode> {
    let instant = |name: &str, t: &str| {
        parse_timestamp(t).ok_or_else(|| {
            Failure::new(format!(
                "--{name}: `{t}` is not an ISO 8601 date-time or epoch milliseconds"
            ))
        })
    };
    let (from, to) = (instant("from", &args.from)?, instant("to", &args.to)?);
    if to <= from {
        return Err(Failure::new(format!(
            "--to (`{}`) must be after --from (`{}`)",
            args.to, args.from
        )));
    }
    let policy = Document::read(&args.policy, args.format)?;
    let state = Document::read(&args.state, args.format)?;
    let engine = policy
        .load_with_state(&state)?
        .with_clock(Arc::new(ManualClock::new(to - 1)));
    let money = Currency::of(&engine, args.minor_digits);
    let ids: Vec<String> = match &args.customer {
        Some(id) => {
            if engine.customer(id).is_none() {
                return Err(Failure::new(format!(
                    "`{}`: no customer `{id}` in the state",
                    args.state.display()
                )));
            }
            vec![id.clone()]
        }
        None => engine.customers().keys().cloned().collect(),
    };
    let invoices: Vec<(String, String, Vec<Line>)> = ids
        .iter()
        .map(|id| {
            let plan = engine
                .customer(id)
                .map(|c| c.plan.to_string())
                .unwrap_or_default();
            (id.clone(), plan, lines(&engine, id, from, to, &money))
        })
        .collect();
    let total = |ls: &[Line]| ls.iter().map(|l| l.amount).sum::<Decimal>();
    let grand: Decimal = invoices.iter().map(|(_, _, ls)| total(ls)).sum();
    if let Some(path) = &args.csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| Failure::new(format!("cannot write CSV: {e}"));
        w.write_record([
            "customer",
            "plan",
            "entitlement",
            "credit",
            "period_start",
            "period_end",
            "included",
            "used",
            "overage_units",
            "grants_applied",
            "billed_units",
            "pricing",
            "unit_price",
            "tiers",
            "amount",
            "currency",
        ])
        .map_err(fail)?;
        for (id, plan, ls) in &invoices {
            for l in ls {
                let amount = shown(&money, l.amount);
                w.write_record([
                    id.clone(),
                    plan.clone(),
                    l.entitlement.clone(),
                    l.credit.clone(),
                    when(l.period_start),
                    l.period_end.map(when).unwrap_or_default(),
                    l.included.normalize().to_string(),
                    l.used.normalize().to_string(),
                    l.overage.normalize().to_string(),
                    l.grants_applied.normalize().to_string(),
                    l.billed.normalize().to_string(),
                    l.model.to_string(),
                    l.unit_price
                        .map(|p| money.of_runes(p).to_string())
                        .unwrap_or_default(),
                    if l.bands.is_empty() {
                        String::new()
                    } else {
                        tiers_text(l, &money)
                    },
                    amount.as_str().unwrap_or_default().to_string(),
                    money.code.clone(),
                ])
                .map_err(fail)?;
            }
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Failure::new(format!("cannot write CSV: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| Failure::new(e.to_string()))?;
        crate::simulate::emit(path, &text)?;
        if path.as_os_str() == "-" {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if args.json {
        let list: Vec<Value> = invoices
            .iter()
            .map(|(id, plan, ls)| {
                json!({"customer": id, "plan": plan,
                       "lines": ls.iter().map(|l| line_json(l, &money)).collect::<Vec<_>>(),
                       "total": shown(&money, total(ls))})
            })
            .collect();
        let v = json!({"currency": money.code, "minor_digits": money.digits,
                       "from": when(from), "to": when(to), "invoices": list,
                       "total": shown(&money, grand)});
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| Failure::new(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let cur = &money.code;
    for (id, plan, ls) in &invoices {
        outln!("Invoice {id} (plan {plan}), {} to {}", when(from), when(to));
        let mut t = Table::new(&[
            "entitlement",
            "period from",
            "included",
            "used",
            "overage",
            "grants",
            "billed",
            &format!("price {cur}"),
            &format!("amount {cur}"),
        ]);
        for l in ls {
            t.row(vec![
                l.entitlement.clone(),
                when(l.period_start),
                l.included.normalize().to_string(),
                l.used.normalize().to_string(),
                l.overage.normalize().to_string(),
                l.grants_applied.normalize().to_string(),
                l.billed.normalize().to_string(),
                tiers_text(l, &money),
                money.show(l.amount),
            ]);
        }
        out!("{}", t.render());
        outln!("total: {} {cur}\n", money.show(total(ls)));
    }
    outln!(
        "Total of {} invoices: {} {cur}",
        invoices.len(),
        money.show(grand)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_bands_split_at_their_bounds() {
        let d = |n: i64| Decimal::from(n);
        let tiers = [
            limitr_core::pricing::Tier::new(Some(d(10)), d(3)),
            limitr_core::pricing::Tier::new(Some(d(20)), d(2)),
            limitr_core::pricing::Tier::new(None, d(1)),
        ];
        let b = bands(&tiers, d(5), d(25));
        let units: Vec<Decimal> = b.iter().map(|b| b.units).collect();
        assert_eq!(units, [d(5), d(10), d(5)]);
        assert_eq!(
            b.iter().map(|b| b.units * b.unit_price).sum::<Decimal>(),
            d(40)
        );
    }
}
