//! The decision pipeline for `allow` and `check`: a pure function of (policy, customer, request,
//! now) returning a [`Transition`]: the verdict, the state to write and the events to send.

use crate::customer::Customer;
use crate::error::{Error, Result};
use crate::grant::{self, Grant};
use crate::meter::Meter;
use crate::number::{self, Decimal};
use crate::policy::Policy;
use crate::policy::credit::Credit;
use crate::policy::plan::{Entitlement, Limit, Mode, Plan};
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Why a call was allowed or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Allowed.
    Ok,
    /// Denied by the entitlement's limit.
    Limit,
    /// Denied by a spend cap (reserved for caps).
    Cap,
    /// Denied by the rate governor (reserved).
    Rate,
    /// Denied because reservations hold the room (reserved).
    Held,
    /// The customer does not exist.
    UnknownCustomer,
    /// The customer's plan has no such entitlement.
    UnknownEntitlement,
    /// No customer of the entitlement's scope (reserved).
    Scope,
}

impl Reason {
    /// The stable kebab-case name (`ok`, `limit`, `unknown-customer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::Limit => "limit",
            Reason::Cap => "cap",
            Reason::Rate => "rate",
            Reason::Held => "held",
            Reason::UnknownCustomer => "unknown-customer",
            Reason::UnknownEntitlement => "unknown-entitlement",
            Reason::Scope => "scope",
        }
    }
}

/// The detailed answer of `check` (SPEC §3.10). A denial is a value, not an error.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDetail {
    /// Whether the call would be allowed.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
    /// What `remaining()` returns now (null for feature flags, observe limits and unknowns).
    pub remaining: Option<Decimal>,
    /// When the limit next resets (epoch ms), if it resets.
    pub resets: Option<Timestamp>,
}

/// One metering request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Entitlement name.
    pub entitlement: &'a str,
    /// Amount (negative = decrement), before the credit's unit cast.
    pub value: Decimal,
    /// Provider cost of this call in runes, overriding `units × overhead_cost`.
    pub overhead: Option<Decimal>,
    /// Host data attached to events as `event_data`.
    pub event_data: Option<&'a Value>,
    /// Whether to build events.
    pub events: bool,
}

/// An event before the customer record and `remaining` are attached (after commit).
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub name: &'static str,
    pub fields: Map<String, Value>,
}

/// What a call decided and what to write.
#[derive(Debug, Clone)]
pub(crate) struct Transition {
    pub allowed: bool,
    pub reason: Reason,
    pub meter: Option<MeterState>,
    /// Where the meter lives in the customer (`None`: a new meter, created with `fresh`).
    pub slot: Option<usize>,
    pub fresh: Option<(Arc<str>, Arc<str>)>,
    pub grants: Option<Vec<Grant>>,
    pub drafts: Vec<Draft>,
}

/// The numbers of a meter a transition writes (no names: nothing to clone on the hot path).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MeterState {
    pub started: Timestamp,
    pub value: Decimal,
    pub overhead: Decimal,
}

impl Transition {
    fn verdict(allowed: bool, reason: Reason) -> Self {
        Transition {
            allowed,
            reason,
            meter: None,
            slot: None,
            fresh: None,
            grants: None,
            drafts: Vec::new(),
        }
    }
    /// Writes the transition's state into the customer.
    pub fn apply(&mut self, c: &mut Customer) {
        if let Some(st) = self.meter.take() {
            match self.slot.and_then(|i| c.meters.get_mut(i)) {
                Some(m) => {
                    m.started = st.started;
                    m.value = st.value;
                    m.overhead = st.overhead;
                }
                None => {
                    if let Some((entitlement, credit)) = self.fresh.take() {
                        c.meters.push(Meter {
                            entitlement,
                            credit,
                            started: st.started,
                            value: st.value,
                            overhead: st.overhead,
                        });
                    }
                }
            }
        }
        if let Some(g) = self.grants.take() {
            c.grants = g;
        }
    }
}

/// The plan a customer names itself (`None` when it inherits one, or names an unknown plan).
pub fn own_plan<'p>(policy: &'p Policy, c: &Customer) -> Option<&'p Plan> {
    if c.plan.is_empty() {
        return None;
    }
    // a customer's plan name is the policy's own string: find it by pointer when the policy is small
    if policy.plans.len() <= 16
        && let Some((_, p)) = policy.plans.iter().find(|(k, _)| Arc::ptr_eq(k, &c.plan))
    {
        return Some(p);
    }
    policy.plan(&c.plan)
}

struct Figures {
    old: Decimal,
    before: Decimal,
    new: Decimal,
    limit: Decimal,
    overhead_total: Decimal,
    overhead_call: Decimal,
    price_diff: Option<Decimal>,
}

fn meter_fields(f: &Figures, denied: bool) -> Value {
    let mut m = Map::new();
    if denied {
        m.insert("value".into(), number::to_value(f.old));
        m.insert("limit".into(), number::to_value(f.limit));
        m.insert("invalid".into(), number::to_value(f.new));
    } else {
        m.insert("old".into(), number::to_value(f.old));
        m.insert("value".into(), number::to_value(f.new));
        m.insert("limit".into(), number::to_value(f.limit));
    }
    m.insert("diff".into(), number::to_value(f.new - f.before));
    m.insert("overhead".into(), number::to_value(f.overhead_total));
    m.insert("overhead_diff".into(), number::to_value(f.overhead_call));
    m.insert(
        "price_diff".into(),
        f.price_diff.map_or(Value::Null, number::to_value),
    );
    Value::Object(m)
}

fn draft(
    name: &'static str,
    plan: &Plan,
    ent: &str,
    credit: &Credit,
    meter: Value,
    req: &Request<'_>,
) -> Draft {
    let mut fields = Map::new();
    fields.insert("meter".into(), meter);
    fields.insert("entitlement".into(), Value::String(ent.to_string()));
    fields.insert("plan".into(), Value::String(plan.name.to_string()));
    fields.insert("credit".into(), credit.record.clone());
    fields.insert(
        "event_data".into(),
        req.event_data.cloned().unwrap_or(Value::Null),
    );
    Draft { name, fields }
}

/// Evaluates `allow` (`commit = true`) or `check` (`commit = false`, nothing to write, no events)
/// of entitlement `ent` of `plan` on the meter of `owner`.
pub(crate) fn evaluate(
    policy: &Policy,
    plan: &Plan,
    ent: &Entitlement,
    owner: &Customer,
    req: &Request<'_>,
    now: Timestamp,
    commit: bool,
) -> Result<Transition> {
    let Some(limit) = owner.limit_for(&ent.name, ent.limit.as_ref(), now) else {
        return Ok(Transition::verdict(true, Reason::Ok)); // a feature flag
    };
    let Some((_, credit)) = policy.credits.get_index(limit.credit_index) else {
        return Ok(Transition::verdict(false, Reason::UnknownEntitlement));
    };
    metered(
        policy,
        plan,
        owner,
        ent.name.clone(),
        limit,
        credit,
        req,
        now,
        commit,
    )
}

#[allow(
    clippy::too_many_arguments,
    reason = "the pipeline's inputs, passed once"
)]
fn metered(
    policy: &Policy,
    plan: &Plan,
    c: &Customer,
    ent_name: Arc<str>,
    limit: &Limit,
    credit: &Credit,
    req: &Request<'_>,
    now: Timestamp,
    commit: bool,
) -> Result<Transition> {
    let emit = commit && req.events;
    let v = credit.units.cast(req.value);
    let overhead_call = match req.overhead {
        Some(o) => o,
        None if v.is_zero() => Decimal::ZERO,
        None => credit.overhead_of(v, req.event_data),
    };
    // meter names are the policy's own strings: compare pointers first
    let slot = c
        .meters
        .iter()
        .position(|m| Arc::ptr_eq(&m.entitlement, &ent_name) || *m.entitlement == *ent_name);
    let existing = slot.and_then(|i| c.meters.get(i));
    let pre_value = existing.map_or(Decimal::ZERO, |m| m.value);
    let zero = |started| MeterState {
        started,
        value: Decimal::ZERO,
        overhead: Decimal::ZERO,
    };
    let (mut meter, reset) = match existing {
        Some(m) => match m.pending_reset(limit.reset.as_ref(), now) {
            Some(started) => (zero(started), true),
            None => (
                MeterState {
                    started: m.started,
                    value: m.value,
                    overhead: m.overhead,
                },
                false,
            ),
        },
        None => (zero(now), false),
    };
    let m_val = meter.value;
    let l = limit.value;
    let overflow = || Error::Overflow("meter value");
    if !number::meter_in_range(m_val) || !number::meter_in_range(meter.overhead) {
        return Err(overflow());
    }
    let mut n = m_val.checked_add(v).ok_or_else(overflow)?;
    if let Some(min) = limit.minimum {
        n = number::max(n, min);
    }
    let up = number::cmp(n, m_val).is_gt();
    let overage = if up { n - number::max(m_val, l) } else { n - l };
    let billable = if number::cmp(m_val, l).is_gt() {
        m_val - l
    } else {
        Decimal::ZERO
    };
    let own_valid = match limit.mode {
        Mode::Observe => true,
        _ if !up => true,
        Mode::Hard if limit.hard_trailing => number::cmp(m_val, l).is_lt(),
        _ => number::cmp(n, l).is_le(),
    };
    let price_diff = |ctx_billable: Decimal| {
        policy.price_units(
            credit,
            (n - l).max(Decimal::ZERO) - ctx_billable,
            ctx_billable,
        )
    };
    let mut figures = Figures {
        old: pre_value,
        before: m_val,
        new: n,
        limit: l,
        overhead_total: meter.overhead,
        overhead_call,
        price_diff: None,
    };
    if emit {
        figures.price_diff = price_diff(billable);
    }
    let grant_cover = |c: &Customer| {
        if limit.grants_apply {
            grant::balance(&c.grants, &credit.name, &policy.exchange, now, billable)
        } else {
            Decimal::ZERO
        }
    };

    if !commit {
        let allowed = own_valid
            || limit.mode != Mode::Hard
            || (limit.grants_apply && overage > Decimal::ZERO && grant_cover(c) >= overage);
        return Ok(Transition::verdict(
            allowed,
            if allowed { Reason::Ok } else { Reason::Limit },
        ));
    }

    let mut t = Transition::verdict(true, Reason::Ok);
    t.slot = slot;
    if slot.is_none() {
        t.fresh = Some((ent_name, limit.credit.clone()));
    }
    if own_valid || limit.mode == Mode::Soft {
        let changed = up || number::cmp(n, m_val).is_ne() || !overhead_call.is_zero();
        meter.value = n;
        meter.overhead = meter
            .overhead
            .checked_add(overhead_call)
            .ok_or(Error::Overflow("meter overhead"))?;
        figures.overhead_total = meter.overhead;
        if changed {
            let mut overage_event = None;
            let mut covered = Decimal::ZERO;
            if !own_valid {
                if limit.grants_apply && !c.grants.is_empty() {
                    let mut grants = grant::tidy(&c.grants, now);
                    covered = grant::draw(
                        &mut grants,
                        &credit.name,
                        overage,
                        &policy.exchange,
                        now,
                        billable,
                    );
                    t.grants = Some(grants);
                }
                let uncovered = overage - covered;
                if uncovered > Decimal::ZERO {
                    overage_event = Some(uncovered);
                }
            }
            if emit {
                let extra = |d: &mut Draft| {
                    if !own_valid {
                        d.fields
                            .insert("overage".into(), number::to_value(overage - covered));
                        if !covered.is_zero() {
                            d.fields
                                .insert("grant_value_applied".into(), number::to_value(covered));
                        }
                    }
                };
                if let Some(uncovered) = overage_event {
                    let mut d = draft(
                        "meter-overage",
                        plan,
                        req.entitlement,
                        credit,
                        meter_fields(&figures, false),
                        req,
                    );
                    extra(&mut d);
                    let price = policy.price_units(credit, uncovered, billable + covered);
                    d.fields.insert(
                        "overage_price".into(),
                        price.map_or(Value::Null, number::to_value),
                    );
                    t.drafts.push(d);
                }
                if reset {
                    let mut d = draft(
                        "meter-reset",
                        plan,
                        req.entitlement,
                        credit,
                        meter_fields(&figures, false),
                        req,
                    );
                    extra(&mut d);
                    t.drafts.push(d);
                }
                if overage_event.is_none() {
                    let mut d = draft(
                        "meter-changed",
                        plan,
                        req.entitlement,
                        credit,
                        meter_fields(&figures, false),
                        req,
                    );
                    extra(&mut d);
                    t.drafts.push(d);
                }
            }
        }
        t.meter = Some(meter);
        return Ok(t);
    }

    // A hard limit: past it only when grants cover the whole overage of the call.
    if overage > Decimal::ZERO && limit.grants_apply && grant_cover(c) >= overage {
        let mut grants = grant::tidy(&c.grants, now);
        let covered = grant::draw(
            &mut grants,
            &credit.name,
            overage,
            &policy.exchange,
            now,
            billable,
        );
        meter.value = n;
        meter.overhead = meter
            .overhead
            .checked_add(overhead_call)
            .ok_or(Error::Overflow("meter overhead"))?;
        figures.overhead_total = meter.overhead;
        if emit {
            for name in if reset {
                &["meter-reset", "meter-changed"][..]
            } else {
                &["meter-changed"][..]
            } {
                let mut d = draft(
                    name,
                    plan,
                    req.entitlement,
                    credit,
                    meter_fields(&figures, false),
                    req,
                );
                d.fields
                    .insert("overage".into(), number::to_value(overage - covered));
                d.fields
                    .insert("grant_value_applied".into(), number::to_value(covered));
                t.drafts.push(d);
            }
        }
        t.meter = Some(meter);
        t.grants = Some(grants);
        return Ok(t);
    }

    t.allowed = false;
    t.reason = Reason::Limit;
    if reset {
        t.meter = Some(meter); // the new period starts even though the call is denied
    }
    if emit {
        figures.overhead_total = meter.overhead;
        if reset {
            t.drafts.push(draft(
                "meter-reset",
                plan,
                req.entitlement,
                credit,
                meter_fields(&figures, true),
                req,
            ));
        }
        let mut d = draft(
            "meter-limit",
            plan,
            req.entitlement,
            credit,
            meter_fields(&figures, true),
            req,
        );
        d.fields.insert("invalid_value".into(), number::to_value(n));
        d.fields.insert("overage".into(), number::to_value(overage));
        t.drafts.push(d);
    }
    Ok(t)
}
