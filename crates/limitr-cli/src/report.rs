//! A replay's figures as JSON, CSV and tables: per customer (and its entitlements), per plan and
//! in total. Money is shown in the policy's currency (exact in JSON and CSV, rounded to the
//! minor unit in tables).

use crate::failure::{Failure, Result};
use crate::money::Currency;
use crate::run::Run;
use crate::table::Table;
use crate::tally::Tally;
use limitr_core::number::{self, Decimal};
use serde_json::{Map, Value};
use std::sync::Arc;

fn dec(d: Decimal) -> Value {
    number::to_value(d.normalize())
}

/// A tally as JSON; `units` adds usage, overage and grant draws (meaningful within one credit).
pub fn tally_json(t: &Tally, money: &Currency, units: bool) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("calls".into(), t.calls.into());
    o.insert("allowed".into(), t.allowed.into());
    o.insert("denied".into(), t.denied.into());
    if units {
        o.insert("usage".into(), dec(t.usage));
        o.insert("overage".into(), dec(t.overage));
        o.insert("grant_draws".into(), dec(t.grant_draws));
    }
    o.insert("revenue".into(), dec(money.of_runes(t.revenue)));
    o.insert("cost".into(), dec(money.of_runes(t.cost)));
    o.insert("margin".into(), t.margin().map_or(Value::Null, dec));
    o
}

/// Per-entitlement sums of a plan's customers, in first-use order.
pub fn plan_meters(run: &Run, plan: &Arc<str>) -> Vec<(Arc<str>, Tally)> {
    let mut out: Vec<(Arc<str>, Tally)> = Vec::new();
    for c in run.customers.iter().filter(|c| c.plan == *plan) {
        for m in &c.meters {
            match out.iter_mut().find(|(n, _)| *n == m.entitlement) {
                Some((_, t)) => t.add(&m.tally),
                None => out.push((m.entitlement.clone(), m.tally.clone())),
            }
        }
    }
    out
}

fn with_meters(mut o: Map<String, Value>, meters: &[(Arc<str>, Tally)], money: &Currency) -> Value {
    let list: Vec<Value> = meters
        .iter()
        .map(|(n, t)| {
            let mut m = Map::new();
            m.insert("entitlement".into(), Value::String(n.to_string()));
            m.extend(tally_json(t, money, true));
            Value::Object(m)
        })
        .collect();
    o.insert("entitlements".into(), Value::Array(list));
    Value::Object(o)
}

/// The whole report as JSON.
pub fn json(run: &Run, money: &Currency, head: Map<String, Value>) -> Value {
    let mut root = head;
    root.insert("currency".into(), Value::String(money.code.clone()));
    root.insert(
        "total".into(),
        Value::Object(tally_json(&run.total(), money, false)),
    );
    let plans: Vec<Value> = run
        .plans()
        .iter()
        .map(|(name, t, n)| {
            let mut o = Map::new();
            o.insert("plan".into(), Value::String(name.to_string()));
            o.insert("customers".into(), (*n).into());
            o.extend(tally_json(t, money, false));
            with_meters(o, &plan_meters(run, name), money)
        })
        .collect();
    root.insert("plans".into(), Value::Array(plans));
    let customers: Vec<Value> = run
        .customers
        .iter()
        .map(|c| {
            let mut o = Map::new();
            o.insert("id".into(), Value::String(c.id.clone()));
            o.insert("plan".into(), Value::String(c.plan.to_string()));
            o.extend(tally_json(&c.total(), money, false));
            let meters: Vec<(Arc<str>, Tally)> = c
                .meters
                .iter()
                .map(|m| (m.entitlement.clone(), m.tally.clone()))
                .collect();
            with_meters(o, &meters, money)
        })
        .collect();
    root.insert("customers".into(), Value::Array(customers));
    Value::Object(root)
}

const CSV_HEADER: [&str; 13] = [
    "level",
    "id",
    "plan",
    "entitlement",
    "calls",
    "allowed",
    "denied",
    "usage",
    "overage",
    "grant_draws",
    "revenue",
    "cost",
    "margin",
];

/// The report as CSV: one row per customer entitlement, customer, plan entitlement, plan, and
/// the total (`level` says which; usage columns are empty where credits would mix).
pub fn csv(run: &Run, money: &Currency) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Failure::new(format!("cannot write CSV: {e}"));
    w.write_record(CSV_HEADER).map_err(fail)?;
    let row = |w: &mut csv::Writer<Vec<u8>>,
               level: &str,
               id: &str,
               plan: &str,
               ent: &str,
               t: &Tally,
               units: bool| {
        let u = |d: Decimal| {
            if units {
                d.normalize().to_string()
            } else {
                String::new()
            }
        };
        w.write_record([
            level.to_string(),
            id.to_string(),
            plan.to_string(),
            ent.to_string(),
            t.calls.to_string(),
            t.allowed.to_string(),
            t.denied.to_string(),
            u(t.usage),
            u(t.overage),
            u(t.grant_draws),
            money.of_runes(t.revenue).to_string(),
            money.of_runes(t.cost).to_string(),
            t.margin().map_or(String::new(), |m| m.to_string()),
        ])
    };
    for c in &run.customers {
        for m in &c.meters {
            row(
                &mut w,
                "customer-entitlement",
                &c.id,
                &c.plan,
                &m.entitlement,
                &m.tally,
                true,
            )
            .map_err(fail)?;
        }
        row(&mut w, "customer", &c.id, &c.plan, "", &c.total(), false).map_err(fail)?;
    }
    for (name, t, _) in run.plans() {
        for (ent, et) in plan_meters(run, &name) {
            row(&mut w, "plan-entitlement", "", &name, &ent, &et, true).map_err(fail)?;
        }
        row(&mut w, "plan", "", &name, "", &t, false).map_err(fail)?;
    }
    row(&mut w, "total", "", "", "", &run.total(), false).map_err(fail)?;
    let bytes = w
        .into_inner()
        .map_err(|e| Failure::new(format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Failure::new(format!("cannot write CSV: {e}")))
}

fn pct(m: Option<Decimal>) -> String {
    m.map_or("—".into(), |m| format!("{m}%"))
}

/// Tables for people: plans, the customers with the most revenue (`top`), the total.
pub fn tables(run: &Run, money: &Currency, top: usize) -> String {
    let cur = &money.code;
    let mut plans = Table::new(&[
        "plan",
        "customers",
        "calls",
        "allowed",
        "denied",
        &format!("revenue {cur}"),
        &format!("cost {cur}"),
        "margin",
    ]);
    for (name, t, n) in run.plans() {
        plans.row(vec![
            name.to_string(),
            n.to_string(),
            t.calls.to_string(),
            t.allowed.to_string(),
            t.denied.to_string(),
            money.show(money.of_runes(t.revenue)),
            money.show(money.of_runes(t.cost)),
            pct(t.margin()),
        ]);
    }
    let mut order: Vec<(usize, Tally)> = run
        .customers
        .iter()
        .map(|c| c.total())
        .enumerate()
        .collect();
    order.sort_by(|a, b| b.1.revenue.cmp(&a.1.revenue).then(a.0.cmp(&b.0)));
    let mut customers = Table::new(&[
        "customer",
        "plan",
        "entitlement",
        "calls",
        "denied",
        "usage",
        "overage",
        "grant draws",
        &format!("revenue {cur}"),
        &format!("cost {cur}"),
        "margin",
    ]);
    for (i, _) in order.iter().take(top) {
        let Some(c) = run.customers.get(*i) else {
            continue;
        };
        for m in &c.meters {
            let t = &m.tally;
            customers.row(vec![
                c.id.clone(),
                c.plan.to_string(),
                m.entitlement.to_string(),
                t.calls.to_string(),
                t.denied.to_string(),
                t.usage.normalize().to_string(),
                t.overage.normalize().to_string(),
                t.grant_draws.normalize().to_string(),
                money.show(money.of_runes(t.revenue)),
                money.show(money.of_runes(t.cost)),
                pct(t.margin()),
            ]);
        }
    }
    let t = run.total();
    let mut out = String::new();
    out.push_str("Per plan\n");
    out.push_str(&plans.render());
    out.push_str(&format!(
        "\nCustomers ({} of {}, most revenue first)\n",
        top.min(run.customers.len()),
        run.customers.len()
    ));
    out.push_str(&customers.render());
    out.push_str(&format!(
        "\nTotal: {} calls, {} allowed, {} denied; revenue {} {cur}, cost {} {cur}, margin {}\n",
        t.calls,
        t.allowed,
        t.denied,
        money.show(money.of_runes(t.revenue)),
        money.show(money.of_runes(t.cost)),
        pct(t.margin())
    ));
    out
}
