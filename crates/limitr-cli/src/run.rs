//! One policy's replay: its engine (the clock set from each row's timestamp), its customers and
//! what each call changed.
//!
//! Customers are created on first sight, on their plan from `customers.csv` or the default plan
//! (customers already in the document keep theirs). What a call changed: the meter before it
//! (for customers the replay created, kept beside the engine with the core's own period rule,
//! `ResetRule::period_start`, since their meters start at creation; for customers of the
//! document, read with `value`), and after it (`before + cast(amount)`, as the engine meters it,
//! or read back when a minimum applies); the grant balance before and after (`remaining_credit`,
//! read only when the call may pass the limit). The price of the overage not covered by grants
//! comes from `Policy::price_units` at the billable position, the cost from the call's
//! `overhead` or the credit's rate, as the engine computes them.

use crate::tally::{Series, Tally};
use crate::usage::Row;
use limitr_core::number::{self, Decimal};
use limitr_core::{CallOptions, Limitr, ManualClock, Mode};
use std::collections::HashMap;
use std::sync::Arc;

/// Most points kept of each meter's usage (the report charts a few meters; every meter keeps a
/// series, so they are short).
const METER_POINTS: usize = 64;

/// One entitlement of one customer.
#[derive(Debug, Clone)]
pub struct Meter {
    /// The entitlement.
    pub entitlement: Arc<str>,
    /// Its position in the customer's plan (`None`: the plan has no such entitlement).
    index: Option<usize>,
    /// Start of the meter's period, as the engine has it (customers the replay created).
    started: i64,
    /// Usage this period, as the engine has it (customers the replay created).
    value: Decimal,
    /// Its figures.
    pub tally: Tally,
    /// `(time, usage this period, limit)` after each allowed call.
    pub usage: Series,
}

/// One customer of a replay.
#[derive(Debug, Clone)]
pub struct Customer {
    /// The id.
    pub id: String,
    /// The plan it was replayed on.
    pub plan: Arc<str>,
    /// The plan's position in the policy.
    plan_index: Option<usize>,
    /// Its entitlements, in first-use order (inline for the usual few).
    pub meters: smallvec::SmallVec<[Meter; 3]>,
    /// Whether it holds grants (only then are grant balances read).
    grants: bool,
    /// Loaded from the document: its limits may differ from the plan's (overrides, refs) and its
    /// meters have their own history, so they are read from the engine on every call.
    custom: bool,
    /// When the replay created it (its meters start then).
    created: i64,
}

impl Customer {
    /// The sum over its entitlements.
    pub fn total(&self) -> Tally {
        let mut t = Tally::default();
        for m in &self.meters {
            t.add(&m.tally);
        }
        t
    }
}

/// The outcome of replaying a file through one policy.
#[derive(Debug)]
pub struct Run {
    /// The engine, with every customer's state after the replay.
    pub engine: Limitr,
    clock: Arc<ManualClock>,
    /// Customers in first-seen order.
    pub customers: Vec<Customer>,
    /// Position in `customers` by id (ids inline: no pointer to follow on a lookup).
    index: HashMap<compact_str::CompactString, usize>,
    /// `(time, cumulative revenue, cumulative cost)` in runes.
    pub money: Series,
    revenue: Decimal,
    cost: Decimal,
    /// Read every meter from the engine instead of keeping it beside (tests compare both).
    pub(crate) read_meters: bool,
}

impl Run {
    /// A run of `engine`, its clock replaced by one the replay moves.
    pub fn new(engine: Limitr) -> Run {
        let clock = Arc::new(ManualClock::new(0));
        Run {
            engine: engine.with_clock(clock.clone()),
            clock,
            customers: Vec::new(),
            index: HashMap::new(),
            money: Series::new(crate::tally::MAX_POINTS),
            revenue: Decimal::ZERO,
            cost: Decimal::ZERO,
            read_meters: false,
        }
    }

    /// Per plan, in the policy's plan order (plans without customers left out).
    pub fn plans(&self) -> Vec<(Arc<str>, Tally, usize)> {
        let mut out: Vec<(Arc<str>, Tally, usize)> = Vec::new();
        for name in self.engine.policy().plans.keys() {
            let mut t = Tally::default();
            let mut n = 0;
            for c in self.customers.iter().filter(|c| c.plan == *name) {
                t.add(&c.total());
                n += 1;
            }
            if n > 0 {
                out.push((name.clone(), t, n));
            }
        }
        out
    }

    /// The whole run.
    pub fn total(&self) -> Tally {
        let mut t = Tally::default();
        for c in &self.customers {
            t.add(&c.total());
        }
        t
    }

    fn customer(
        &mut self,
        id: &str,
        at: i64,
        plans: &HashMap<String, String>,
    ) -> Result<usize, String> {
        if let Some(i) = self.index.get(id) {
            return Ok(*i);
        }
        let engine = &self.engine;
        let existing = engine.customer(id);
        let (plan, grants, custom) = match existing {
            Some(c) => {
                let plan = if c.plan.is_empty() {
                    engine
                        .policy()
                        .default_plan
                        .clone()
                        .unwrap_or(c.plan.clone())
                } else {
                    c.plan.clone()
                };
                (plan, !c.grants.is_empty(), true)
            }
            None => {
                let plan = match plans.get(id) {
                    Some(p) => Some(p.as_str()),
                    None => engine.policy().default_plan.as_deref(),
                };
                let Some(plan) = plan else {
                    return Err(format!(
                        "customer `{id}` has no plan: the policy has no default plan and \
                         the customers file does not name it"
                    ));
                };
                engine
                    .create_customer(id, Some(plan))
                    .map_err(|e| format!("customer `{id}`: {e}"))?;
                let grants = engine.customer(id).is_some_and(|c| !c.grants.is_empty());
                (engine.policy().intern(plan), grants, false)
            }
        };
        let plan_index = engine.policy().plans.get_index_of(&*plan);
        self.customers.push(Customer {
            id: id.to_string(),
            plan_index,
            plan,
            meters: smallvec::SmallVec::new(),
            grants,
            custom,
            created: at,
        });
        let i = self.customers.len() - 1;
        self.index.insert(id.into(), i);
        Ok(i)
    }

    /// Replays one row (its call options built once for every run); the answer, or the reason
    /// the row could not be replayed.
    pub(crate) fn step(
        &mut self,
        row: &Row,
        options: &CallOptions,
        plans: &HashMap<String, String>,
    ) -> Result<bool, String> {
        self.clock.set(row.at);
        let ci = self.customer(&row.customer, row.at, plans)?;
        let engine = &self.engine;
        let Some(c) = self.customers.get_mut(ci) else {
            return Err("internal: customer index".into());
        };
        let policy = engine.policy();
        let plan = c
            .plan_index
            .and_then(|i| policy.plans.get_index(i))
            .map(|(_, p)| p);
        // by position in the plan (the policy's few names stay in cache; the meters' do not)
        let index = plan.and_then(|p| p.entitlements.get_index_of(row.entitlement.as_str()));
        let found = match index {
            Some(i) => c.meters.iter().position(|m| m.index == Some(i)),
            None => c
                .meters
                .iter()
                .position(|m| *m.entitlement == *row.entitlement.as_str()),
        };
        let mi = match found {
            Some(i) => i,
            None => {
                let name = index
                    .and_then(|i| plan?.entitlements.get_index(i))
                    .map_or_else(
                        || Arc::from(row.entitlement.as_str()),
                        |(_, e)| e.name.clone(),
                    );
                c.meters.push(Meter {
                    entitlement: name,
                    index,
                    started: c.created,
                    value: Decimal::ZERO,
                    tally: Tally::default(),
                    usage: Series::new(METER_POINTS),
                });
                c.meters.len() - 1
            }
        };
        let Some(m) = c.meters.get_mut(mi) else {
            return Err("internal: meter index".into());
        };
        let ent = m
            .index
            .and_then(|i| plan?.entitlements.get_index(i))
            .map(|(_, e)| e);
        m.tally.calls += 1;
        let fail = |e: limitr_core::Error| e.to_string();
        let Some(limit) = ent.and_then(|e| e.limit.as_ref()) else {
            // a feature flag, or an entitlement the plan does not have (denied)
            let allowed = engine
                .allow_with(&row.customer, &row.entitlement, row.amount, options)
                .map_err(fail)?;
            if allowed {
                m.tally.allowed += 1;
            } else {
                m.tally.denied += 1;
            }
            return Ok(allowed);
        };
        let id = row.customer.as_str();
        let ent_name = row.entitlement.as_str();
        let cap = match c.custom {
            true => engine
                .limit(id, ent_name, false)
                .map_err(fail)?
                .unwrap_or(limit.value),
            false => limit.value,
        };
        let before = if c.custom || self.read_meters {
            engine
                .value(id, ent_name, false, false)
                .map_err(fail)?
                .unwrap_or_default()
        } else {
            if let Some(rule) = &limit.reset {
                let start = rule.period_start(m.started, row.at);
                if start != m.started {
                    m.started = start;
                    m.value = Decimal::ZERO;
                }
            }
            m.value
        };
        let may_pass = c.grants
            && limit.grants_apply
            && limit.mode != Mode::Observe
            && number::cmp(before.saturating_add(row.amount), cap).is_gt();
        let grants_before = match may_pass {
            true => engine.remaining_credit(id, &limit.credit).map_err(fail)?,
            false => None,
        };
        let allowed = engine
            .allow_with(id, ent_name, row.amount, options)
            .map_err(fail)?;
        if !allowed {
            m.tally.denied += 1;
            return Ok(false);
        }
        m.tally.allowed += 1;
        let credit = policy.credits.get_index(limit.credit_index).map(|(_, c)| c);
        // the engine meters `before + cast(amount)`; only a minimum (or a customer's own limit
        // rules) can make it differ, and then the meter is read back
        let after = match (limit.minimum, c.custom || self.read_meters, credit) {
            (None, false, Some(cr)) => before.saturating_add(cr.units.cast(row.amount)),
            _ => engine
                .value(id, ent_name, false, false)
                .map_err(fail)?
                .unwrap_or_default(),
        };
        m.value = after;
        let delta = after - before;
        m.tally.usage = m.tally.usage.saturating_add(delta);
        let past_before = number::floor0(before - cap);
        let overage = number::floor0(after - cap) - past_before;
        if limit.mode != Mode::Observe && number::positive(overage) {
            m.tally.overage = m.tally.overage.saturating_add(overage);
            let drawn = match grants_before {
                Some(b) => {
                    let now = engine.remaining_credit(id, &limit.credit).map_err(fail)?;
                    number::floor0(b - now.unwrap_or_default()).min(overage)
                }
                None => Decimal::ZERO,
            };
            m.tally.grant_draws = m.tally.grant_draws.saturating_add(drawn);
            if limit.mode == Mode::Soft
                && let Some(credit) = credit
            {
                let billed = overage - drawn;
                let price = policy
                    .price_units(credit, billed, past_before + drawn)
                    .unwrap_or_default();
                m.tally.revenue = m.tally.revenue.saturating_add(price);
                self.revenue = self.revenue.saturating_add(price);
            }
        }
        let cost = match (row.overhead, credit) {
            (Some(o), _) => o,
            (None, _) if delta.is_zero() => Decimal::ZERO,
            (None, Some(credit)) => credit.overhead_of(delta, options.event_data.as_ref()),
            (None, None) => Decimal::ZERO,
        };
        m.tally.cost = m.tally.cost.saturating_add(cost);
        self.cost = self.cost.saturating_add(cost);
        m.usage.push(row.at, after, cap);
        let (revenue, cost) = (self.revenue, self.cost);
        self.money.push(row.at, revenue, cost);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{Options, replay};
    use crate::usage::Usage;
    use std::io::Write;

    const POLICY: &str = r#"{"policy": {
      "credits": {
        "tok": {"stof_units": "int", "overhead_cost": 0.001, "price": {"amount": 0.002}},
        "gb": {"overhead_cost": 0.1, "pricing_model": "tiered", "tiers": [
          {"up_to": 5, "price": {"amount": 0.5}}, {"price": {"amount": 0.25}}]},
        "pack": {}},
      "plans": {
        "free": {"default": true, "entitlements": {
          "chat": {"limit": {"credit": "tok", "value": 5000, "resets": true, "reset_inc": "1hour"}},
          "disk": {"limit": {"credit": "gb", "value": 3, "resets": true, "reset_sch": "weekly:mon"}},
          "flag": {}}},
        "pro": {"entitlements": {
          "chat": {"limit": {"credit": "tok", "value": 8000, "mode": "soft", "resets": true, "reset_inc": "90minutes"}},
          "disk": {"limit": {"credit": "gb", "value": 4, "mode": "soft", "resets": true, "reset_sch": "weekly:mon"}},
          "flag": {}},
          "topups": {"gift": {"credit": "pack", "value": 3, "included": true}}}},
      "exchange": {"rune": {"value": 1, "currency": "usd"}, "pack": {"value": 1, "currency": "rune"}}}}"#;

    /// The meters kept beside the engine agree with the engine's own, call for call: two runs of
    /// the same rows, one reading every meter from the engine, give the same figures.
    #[test]
    fn meters_kept_beside_the_engine_agree_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.csv");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "timestamp,customer,entitlement,amount").unwrap();
        let mut x: u64 = 7;
        let mut next = |m: u64| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 33) % m
        };
        let mut at: i64 = 1_767_225_600_000;
        for _ in 0..6000 {
            at += i64::try_from(next(120_000)).unwrap();
            let c = next(8);
            let (ent, amount) = match next(10) {
                0..=6 => ("chat", format!("{}.{}", next(900), next(10))),
                7 | 8 => ("disk", format!("0.{}", next(100))),
                _ => ("flag", "0".into()),
            };
            writeln!(f, "{at},c{c},{ent},{amount}").unwrap();
        }
        drop(f);
        let plans: HashMap<String, String> = (0..4)
            .map(|i| (format!("c{i}"), "pro".to_string()))
            .collect();
        let load = || Limitr::from_json(POLICY).unwrap();
        let mut runs = [Run::new(load()), Run::new(load())];
        runs[1].read_meters = true;
        let mut usage = Usage::open(&path).unwrap();
        let mut disagree = 0;
        let seen = replay(
            &mut runs,
            &mut usage,
            &plans,
            &Options::default(),
            |_, a| {
                disagree += usize::from(a[0] != a[1]);
            },
        )
        .unwrap();
        assert_eq!((seen.rows, seen.skipped, disagree), (6000, 0, 0));
        let [kept, read] = &runs;
        let (tk, tr) = (kept.total(), read.total());
        assert_eq!(tk, tr);
        assert!(
            tk.denied > 0 && tk.revenue > Decimal::ZERO && tk.grant_draws > Decimal::ZERO,
            "{tk:?}"
        );
        for (a, b) in kept.customers.iter().zip(&read.customers) {
            for (ma, mb) in a.meters.iter().zip(&b.meters) {
                assert_eq!(ma.tally, mb.tally, "{} {}", a.id, ma.entitlement);
                // and the value kept is the engine's, as of the last row
                if ma.index.is_some() && ma.entitlement.as_ref() != "flag" {
                    let now = kept.engine.now();
                    let engine = kept
                        .engine
                        .value(&a.id, &ma.entitlement, false, false)
                        .unwrap();
                    let plan = kept.engine.policy().plan(&a.plan).unwrap();
                    let rule = plan
                        .entitlement(&ma.entitlement)
                        .unwrap()
                        .limit
                        .as_ref()
                        .unwrap()
                        .reset;
                    let mine = match rule.map(|r| r.period_start(ma.started, now)) {
                        Some(s) if s != ma.started => Decimal::ZERO,
                        _ => ma.value,
                    };
                    assert_eq!(Some(mine), engine, "{} {}", a.id, ma.entitlement);
                }
            }
        }
    }
}
