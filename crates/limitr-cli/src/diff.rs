//! `limitr diff`: replays one usage file under a policy and a candidate, and reports every
//! customer whose decisions, overage, revenue or margin change, with the totals.

use crate::document::{self, Document};
use crate::failure::{Failure, Result};
use crate::failure::{out, outln};
use crate::money::Currency;
use crate::replay::{self, Options};
use crate::run::Run;
use crate::table::Table;
use crate::tally::Tally;
use crate::usage::Usage;
use limitr_core::Format;
use limitr_core::number::{self, Decimal};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `limitr diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy in force.
    #[arg(long)]
    pub policy: PathBuf,
    /// The candidate policy.
    #[arg(long)]
    pub candidate: PathBuf,
    /// The policies' format, when the extensions do not say it.
    #[arg(long, value_parser = document::parse_format)]
    pub format: Option<Format>,
    /// The usage file (CSV, or JSON lines by extension).
    #[arg(long)]
    pub usage: PathBuf,
    /// A CSV of `id,plan` (every plan named must exist in both policies).
    #[arg(long)]
    pub customers: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Stop at the first malformed row.
    #[arg(long)]
    pub strict: bool,
    /// Digits of the currency's minor unit (default: from its ISO code).
    #[arg(long)]
    pub minor_digits: Option<u32>,
}

/// How one customer fares under both policies.
#[derive(Debug, Clone)]
struct Change {
    id: String,
    plan: String,
    old: Tally,
    new: Tally,
    /// Calls allowed under the policy and denied under the candidate.
    now_denied: u64,
    /// Calls denied under the policy and allowed under the candidate.
    now_allowed: u64,
}

impl Change {
    fn changed(&self) -> bool {
        self.now_denied > 0
            || self.now_allowed > 0
            || self.old.revenue != self.new.revenue
            || self.old.overage != self.new.overage
            || self.old.margin() != self.new.margin()
    }
}

fn dec(d: Decimal) -> Value {
    number::to_value(d.normalize())
}

fn side(t: &Tally, money: &Currency) -> Value {
    let mut o = Map::new();
    o.insert("allowed".into(), t.allowed.into());
    o.insert("denied".into(), t.denied.into());
    o.insert("overage".into(), dec(t.overage));
    o.insert("revenue".into(), dec(money.of_runes(t.revenue)));
    o.insert("cost".into(), dec(money.of_runes(t.cost)));
    o.insert("margin".into(), t.margin().map_or(Value::Null, dec));
    Value::Object(o)
}

fn pct(m: Option<Decimal>) -> String {
    m.map_or("—".into(), |m| format!("{m}%"))
}

/// Runs the command.
pub fn run(args: &Args) -> Result<ExitCode> {
    let old = Document::read(&args.policy, args.format)?.load()?;
    let new = Document::read(&args.candidate, args.format)?.load()?;
    let plans = replay::assignments(args.customers.as_deref(), &[&old, &new])?;
    let money = Currency::of(&old, args.minor_digits);
    let mut runs = [Run::new(old), Run::new(new)];
    let mut usage = Usage::open(&args.usage)?;
    let options = Options {
        strict: args.strict,
        progress: std::io::stderr().is_terminal(),
    };
    let mut flips: HashMap<String, (u64, u64)> = HashMap::new();
    let seen = replay::replay(&mut runs, &mut usage, &plans, &options, |row, answers| {
        if let [before, after] = answers
            && before != after
        {
            let f = flips.entry(row.customer.to_string()).or_default();
            if *before {
                f.0 += 1;
            } else {
                f.1 += 1;
            }
        }
    })?;
    let [old, new] = &runs;
    let changes: Vec<Change> = old
        .customers
        .iter()
        .zip(&new.customers)
        .map(|(a, b)| {
            let (now_denied, now_allowed) = flips.get(&a.id).copied().unwrap_or_default();
            Change {
                id: a.id.clone(),
                plan: a.plan.to_string(),
                old: a.total(),
                new: b.total(),
                now_denied,
                now_allowed,
            }
        })
        .filter(Change::changed)
        .collect();
    let (t_old, t_new) = (old.total(), new.total());
    let denied_total: u64 = changes.iter().map(|c| c.now_denied).sum();
    if args.json {
        let list: Vec<Value> = changes
            .iter()
            .map(|c| {
                let mut o = Map::new();
                o.insert("id".into(), Value::String(c.id.clone()));
                o.insert("plan".into(), Value::String(c.plan.clone()));
                o.insert("now_denied".into(), c.now_denied.into());
                o.insert("now_allowed".into(), c.now_allowed.into());
                o.insert(
                    "revenue_change".into(),
                    dec(money.of_runes(c.new.revenue - c.old.revenue)),
                );
                o.insert("policy".into(), side(&c.old, &money));
                o.insert("candidate".into(), side(&c.new, &money));
                Value::Object(o)
            })
            .collect();
        let mut totals = Map::new();
        totals.insert("policy".into(), side(&t_old, &money));
        totals.insert("candidate".into(), side(&t_new, &money));
        totals.insert("now_denied".into(), denied_total.into());
        totals.insert(
            "revenue_change".into(),
            dec(money.of_runes(t_new.revenue - t_old.revenue)),
        );
        let out = serde_json::json!({
            "policy": args.policy.display().to_string(),
            "candidate": args.candidate.display().to_string(),
            "usage": args.usage.display().to_string(),
            "rows": seen.rows,
            "skipped": seen.skipped,
            "currency": money.code,
            "customers": list,
            "totals": totals,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| Failure::new(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let cur = &money.code;
    let mut revenue = Table::new(&[
        "customer",
        "plan",
        &format!("revenue {cur}"),
        &format!("candidate {cur}"),
        "change",
        "margin",
        "candidate",
    ]);
    for c in changes.iter().filter(|c| c.old.revenue != c.new.revenue) {
        revenue.row(vec![
            c.id.clone(),
            c.plan.clone(),
            money.show(money.of_runes(c.old.revenue)),
            money.show(money.of_runes(c.new.revenue)),
            money.show(money.of_runes(c.new.revenue - c.old.revenue)),
            pct(c.old.margin()),
            pct(c.new.margin()),
        ]);
    }
    let mut denied = Table::new(&[
        "customer",
        "plan",
        "now denied",
        "now allowed",
        "denied",
        "candidate",
    ]);
    for c in changes
        .iter()
        .filter(|c| c.now_denied > 0 || c.now_allowed > 0)
    {
        denied.row(vec![
            c.id.clone(),
            c.plan.clone(),
            c.now_denied.to_string(),
            c.now_allowed.to_string(),
            c.old.denied.to_string(),
            c.new.denied.to_string(),
        ]);
    }
    let n_rev = changes
        .iter()
        .filter(|c| c.old.revenue != c.new.revenue)
        .count();
    let n_den = changes.iter().filter(|c| c.now_denied > 0).count();
    outln!("Customers whose revenue changes ({n_rev})");
    out!("{}", revenue.render());
    outln!(
        "\nCustomers whose decisions change ({n_den} now denied: allowed under the policy, denied under the candidate)"
    );
    out!("{}", denied.render());
    outln!(
        "\nTotal over {} rows: revenue {} → {} {cur} ({}), cost {} → {} {cur}, margin {} → {}, denied {} → {} ({denied_total} calls now denied)",
        seen.rows,
        money.show(money.of_runes(t_old.revenue)),
        money.show(money.of_runes(t_new.revenue)),
        money.show(money.of_runes(t_new.revenue - t_old.revenue)),
        money.show(money.of_runes(t_old.cost)),
        money.show(money.of_runes(t_new.cost)),
        pct(t_old.margin()),
        pct(t_new.margin()),
        t_old.denied,
        t_new.denied,
    );
    Ok(ExitCode::SUCCESS)
}
