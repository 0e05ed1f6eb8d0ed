//! The decision pipeline for `allow` and `check`: a pure function of (policy, customer, request,
//! now) returning a [`Transition`]: the verdict, the state to write and the events to send.

use crate::customer::Customer;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::grant::{self, Grant};
use crate::meter::Meter;
use crate::number::{self, Decimal};
use crate::payload::Json;
use crate::policy::Policy;
use crate::policy::credit::Credit;
use crate::policy::plan::{Entitlement, Limit, Mode, Plan};
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::sync::Arc;

mod plain;
pub(crate) use plain::plain;

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

/// The detailed answer of `check`. A denial is a value, not an error.
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
    /// For a rate (governor) denial: milliseconds until enough tokens refill.
    pub retry_after: Option<i64>,
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
    /// The events to build (those some handler listens to; empty: none).
    pub events: crate::events::EventSet,
    /// Meter past hard limits and skip the gates (used by `settle`).
    pub force: bool,
    /// Report the call's figures for spend caps.
    pub cost: bool,
}

/// The key of a draft's field holding JSON text written as is into the payload (its leading
/// fields, already serialised): `"\u{0}raw"` cannot collide with a payload field.
pub(crate) const RAW_HEAD: &str = "\u{0}raw";

/// An event before the customer record and `remaining` are attached (after commit). `fields` may
/// start with [`RAW_HEAD`]: leading fields already written as JSON text (`"a":1,"b":2` form).
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
    /// In-place changes to the meter's extra state.
    pub ops: ExtraOps,
    pub drafts: Vec<Draft>,
    /// For a governor denial: ms until enough tokens.
    pub retry_after: Option<i64>,
    /// The call adds usage past the limit (it would draw grants, or needs them to pass).
    pub past_limit: bool,
    /// What the call costs, for spend caps (set when the request asks for it; boxed to keep the
    /// transition small on the hot path).
    pub cost: Option<Box<CostFigures>>,
}

/// A call's figures as spend caps need them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct CostFigures {
    pub units: Decimal,
    pub overage: Decimal,
    /// Units paid by grants (committed calls), or that grants could pay (checks).
    pub covered: Decimal,
    pub overhead: Decimal,
    pub position: Decimal,
    /// Where the call starts relative to the limit (`meter - limit`, negative inside it).
    pub start: Decimal,
    pub meter_value: Decimal,
    pub limit: Decimal,
    pub price_diff: Option<Decimal>,
    /// Unexpired holds on the meter a call adding usage moves (whoever made them): cap gates
    /// count them on top of the call.
    pub held: Decimal,
}

impl CostFigures {
    /// The figures a cap's gate checks: the call plus the holds on its meter (its overage then
    /// counts from where the holds leave the meter).
    pub fn gate(&self) -> CostFigures {
        if self.held.is_zero() {
            return *self;
        }
        let start_g = self.start.saturating_add(self.held);
        let n_g = start_g.saturating_add(self.units);
        CostFigures {
            units: self.units.saturating_add(self.held),
            overage: number::floor0(n_g - number::max(start_g, Decimal::ZERO)),
            ..*self
        }
    }
}

/// Changes to a meter's history, governor and holds, applied in place (no clone per call).
#[derive(Debug, Clone, Default)]
pub(crate) struct ExtraOps {
    /// The period restarted: clear history, smoothed rate and governor bucket.
    pub reset: bool,
    /// Record a change `(time, delta)` with this smoothing.
    pub push: Option<(Timestamp, Decimal, f64)>,
    /// New governor bucket `(tokens, refilled at)`.
    pub governor: Option<(Decimal, Timestamp)>,
    /// Drop holds expired at this time.
    pub prune_holds: Option<Timestamp>,
}

impl ExtraOps {
    fn is_empty(&self) -> bool {
        !self.reset && self.push.is_none() && self.governor.is_none() && self.prune_holds.is_none()
    }

    fn apply(&self, m: &mut Meter) {
        if self.reset {
            m.trend.clear();
        }
        if let Some((now, delta, alpha)) = self.push {
            m.trend.push(now, number::approx_f64(delta), alpha);
        }
        if !self.reset && self.prune_holds.is_none() && self.governor.is_none() {
            return;
        }
        if m.extra.is_none() && self.governor.is_none() {
            return;
        }
        let x = m.extra.get_or_insert_with(Box::default);
        if self.reset {
            x.governor = None;
        }
        if let Some(now) = self.prune_holds {
            x.holds.retain(|h| h.live(now));
        }
        if let Some(g) = self.governor {
            x.governor = Some(g);
        }
    }
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
            ops: ExtraOps::default(),
            drafts: Vec::new(),
            retry_after: None,
            past_limit: false,
            cost: None,
        }
    }
    /// Writes the transition's state into the customer.
    pub fn apply(&mut self, c: &mut Customer) {
        let slot = match (self.slot, self.meter.is_some() || !self.ops.is_empty()) {
            (Some(i), _) => Some(i),
            (None, true) => self.fresh.take().map(|(entitlement, credit)| {
                let st = self.meter.unwrap_or(MeterState {
                    started: 0,
                    value: Decimal::ZERO,
                    overhead: Decimal::ZERO,
                });
                c.meters.push(Meter {
                    entitlement,
                    credit,
                    started: st.started,
                    value: st.value,
                    overhead: st.overhead,
                    trend: crate::meter::Trend::default(),
                    extra: None,
                });
                c.meters.len() - 1
            }),
            (None, false) => None,
        };
        if let Some(m) = slot.and_then(|i| c.meters.get_mut(i)) {
            if let Some(st) = self.meter.take() {
                m.started = st.started;
                m.value = st.value;
                m.overhead = st.overhead;
            }
            self.ops.apply(m);
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
    /// The call's amount after the unit cast (also when a minimum clamps the meter).
    diff: Decimal,
    new: Decimal,
    limit: Decimal,
    overhead_total: Decimal,
    overhead_call: Decimal,
    price_diff: Option<Decimal>,
}

/// The `meter` object of a meter event, as JSON text.
fn meter_fields(f: &Figures, denied: bool) -> String {
    let mut j = Json::with_capacity(160);
    if denied {
        j.raw("{\"value\":");
        j.decimal(f.old);
        j.raw(",\"limit\":");
        j.decimal(f.limit);
        j.raw(",\"invalid\":");
        j.decimal(f.new);
    } else {
        j.raw("{\"old\":");
        j.decimal(f.old);
        j.raw(",\"value\":");
        j.decimal(f.new);
        j.raw(",\"limit\":");
        j.decimal(f.limit);
    }
    j.raw(",\"diff\":");
    j.decimal(f.diff);
    j.raw(",\"overhead\":");
    j.decimal(f.overhead_total);
    j.raw(",\"overhead_diff\":");
    j.decimal(f.overhead_call);
    j.raw(",\"price_diff\":");
    match f.price_diff {
        Some(p) => j.decimal(p),
        None => j.raw("null"),
    }
    j.byte(b'}');
    j.finish()
}

/// A meter event's draft: its leading fields (`meter`, `entitlement`, `plan`, `credit`,
/// `event_data`) written once as JSON text under [`RAW_HEAD`]; later fields are values.
fn draft(
    name: &'static str,
    plan: &Plan,
    ent: &str,
    credit: &Credit,
    meter: String,
    req: &Request<'_>,
) -> Draft {
    let mut j = Json::with_capacity(meter.len() + 256);
    j.raw("\"meter\":");
    j.raw(&meter);
    j.raw(",\"entitlement\":");
    j.value(ent);
    j.raw(",\"plan\":");
    j.value(&*plan.name);
    j.raw(",\"credit\":");
    j.value(&credit.record);
    j.raw(",\"event_data\":");
    match req.event_data {
        Some(v) => j.value(v),
        None => j.raw("null"),
    }
    let mut fields = Map::with_capacity(4);
    fields.insert(RAW_HEAD.into(), Value::String(j.finish()));
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
        policy, plan, owner, &ent.name, limit, credit, req, now, commit,
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
    ent_name: &Arc<str>,
    limit: &Limit,
    credit: &Credit,
    req: &Request<'_>,
    now: Timestamp,
    commit: bool,
) -> Result<Transition> {
    let emit = commit && req.events.any();
    let wants = |kind: EventKind| commit && req.events.has(kind);
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
        .position(|m| Arc::ptr_eq(&m.entitlement, ent_name) || *m.entitlement == **ent_name);
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
    let extra = existing.and_then(|m| m.extra.as_deref());
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
    let balance = || grant::balance(&c.grants, &credit.name, &policy.exchange, now, billable);
    let covers = |amount: Decimal| {
        limit.grants_apply && number::positive(amount) && number::cmp(balance(), amount).is_ge()
    };

    // Holds count against hard limits for calls that add usage; they never make an in-limit call
    // overage, and grants may cover the room they take.
    let held = match extra {
        Some(x) if up && limit.mode == Mode::Hard && !req.force => x.held(now),
        _ => Decimal::ZERO,
    };
    let gate_ok = held.is_zero() || {
        let (n_g, m_g) = (n.saturating_add(held), m_val.saturating_add(held));
        let fits = if limit.hard_trailing {
            m_g < l
        } else {
            n_g <= l
        };
        fits || covers(n_g - number::max(m_g, l))
    };

    // The governor (a token bucket under a hard limit); a token is spent only by an allowed call.
    let mut bucket = None;
    let mut governed = None;
    if let (Mode::Hard, Some(g), false) = (limit.mode, &limit.governor, req.force) {
        let (tokens, last) = extra
            .and_then(|x| x.governor)
            .filter(|_| !reset)
            .unwrap_or((g.capacity, now));
        let refilled = g.refilled(tokens, last, now);
        if up && number::cmp(v, refilled).is_gt() {
            governed = Some((refilled, g));
        } else {
            bucket = Some((if up { refilled - v } else { refilled }, now));
        }
    }

    let mut figures = Figures {
        old: pre_value,
        diff: v,
        new: n,
        limit: l,
        overhead_total: meter.overhead,
        overhead_call,
        price_diff: None,
    };
    if emit {
        figures.price_diff = policy.price_units(credit, number::floor0(n - l) - billable, billable);
    }

    if let Some((tokens, g)) = governed {
        let mut t = Transition::verdict(false, Reason::Rate);
        if !g.refill_per_ms.is_zero() {
            t.retry_after = ((v - tokens) / g.refill_per_ms)
                .ceil()
                .to_string()
                .parse()
                .ok();
        }
        if commit {
            t.slot = slot;
            if slot.is_none() {
                t.fresh = Some((ent_name.clone(), limit.credit.clone()));
            }
            if reset {
                t.meter = Some(meter);
            }
            t.ops.reset = reset;
            t.ops.push = Some((now, v, limit.ewma_alpha)); // the demand signal
            if wants(EventKind::MeterGoverned) {
                let mut m = Map::new();
                m.insert("value".into(), number::to_value(meter.value));
                m.insert("limit".into(), number::to_value(l));
                m.insert("overhead".into(), number::to_value(meter.overhead));
                let mut d = draft(
                    "meter-governed",
                    plan,
                    req.entitlement,
                    credit,
                    Value::Object(m).to_string(),
                    req,
                );
                let mut gov = Map::new();
                gov.insert("tokens".into(), number::to_value(tokens));
                gov.insert("capacity".into(), number::to_value(g.capacity));
                gov.insert("requested".into(), number::to_value(v));
                d.fields.insert("governor".into(), Value::Object(gov));
                t.drafts.push(d);
            }
        }
        return Ok(t);
    }

    let cost = req.cost.then(|| {
        Box::new(CostFigures {
            units: v,
            overage: if up {
                number::floor0(overage)
            } else {
                Decimal::ZERO
            },
            covered: if up && !own_valid && limit.grants_apply && limit.mode != Mode::Observe {
                {
                    let b = balance();
                    number::floor0(if number::cmp(overage, b).is_le() {
                        overage
                    } else {
                        b
                    })
                }
            } else {
                Decimal::ZERO
            },
            overhead: overhead_call,
            position: billable,
            start: m_val - l,
            meter_value: m_val,
            limit: l,
            price_diff: if req.events.any() {
                policy.price_units(credit, number::floor0(n - l) - billable, billable)
            } else {
                None
            },
            held: match extra {
                Some(x) if up && !req.force => x.held(now),
                _ => Decimal::ZERO,
            },
        })
    });
    // the grants needed to run a hard limit past its value: the call's overage plus held room
    let need = if held.is_zero() {
        overage
    } else {
        n.saturating_add(held) - number::max(m_val.saturating_add(held), l)
    };
    if !commit {
        let allowed = req.force
            || limit.mode != Mode::Hard
            || (own_valid && gate_ok)
            || (!own_valid && covers(need));
        let reason = match (allowed, own_valid) {
            (true, _) => Reason::Ok,
            (false, true) => Reason::Held,
            (false, false) => Reason::Limit,
        };
        let mut t = Transition::verdict(allowed, reason);
        t.cost = cost;
        return Ok(t);
    }

    let mut t = Transition::verdict(true, Reason::Ok);
    t.cost = cost;
    t.past_limit = up && !own_valid && limit.mode != Mode::Observe;
    t.slot = slot;
    if slot.is_none() {
        t.fresh = Some((ent_name.clone(), limit.credit.clone()));
    }
    t.ops.reset = reset;
    if extra.is_some_and(|x| !x.holds.is_empty()) {
        t.ops.prune_holds = Some(now);
    }
    let commit_usage = |t: &mut Transition, meter: &mut MeterState| -> Result<()> {
        meter.value = n;
        meter.overhead = meter
            .overhead
            .checked_add(overhead_call)
            .ok_or(Error::Overflow("meter overhead"))?;
        if !v.is_zero() {
            t.ops.push = Some((now, n - m_val, limit.ewma_alpha));
        }
        t.ops.governor = bucket;
        Ok(())
    };

    if (own_valid && gate_ok) || limit.mode != Mode::Hard || req.force {
        let changed = up || number::cmp(n, m_val).is_ne() || !overhead_call.is_zero();
        commit_usage(&mut t, &mut meter)?;
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
                if number::positive(uncovered) {
                    overage_event = Some(uncovered);
                }
                if let Some(c) = t.cost.as_mut() {
                    c.covered = covered;
                }
            }
            if emit {
                let extra_fields = |d: &mut Draft| {
                    if !own_valid {
                        d.fields
                            .insert("overage".into(), number::to_value(overage - covered));
                        if !covered.is_zero() {
                            d.fields
                                .insert("grant_value_applied".into(), number::to_value(covered));
                        }
                    }
                };
                if let Some(uncovered) = overage_event.filter(|_| wants(EventKind::MeterOverage)) {
                    let mut d = draft(
                        "meter-overage",
                        plan,
                        req.entitlement,
                        credit,
                        meter_fields(&figures, false),
                        req,
                    );
                    extra_fields(&mut d);
                    let price = policy.price_units(credit, uncovered, billable + covered);
                    d.fields.insert(
                        "overage_price".into(),
                        price.map_or(Value::Null, number::to_value),
                    );
                    t.drafts.push(d);
                }
                if reset && wants(EventKind::MeterReset) {
                    let mut d = draft(
                        "meter-reset",
                        plan,
                        req.entitlement,
                        credit,
                        meter_fields(&figures, false),
                        req,
                    );
                    extra_fields(&mut d);
                    t.drafts.push(d);
                }
                if overage_event.is_none() && wants(EventKind::MeterChanged) {
                    let mut d = draft(
                        "meter-changed",
                        plan,
                        req.entitlement,
                        credit,
                        meter_fields(&figures, false),
                        req,
                    );
                    extra_fields(&mut d);
                    t.drafts.push(d);
                }
            }
        }
        t.meter = Some(meter);
        return Ok(t);
    }

    // A hard limit: past it only when grants cover the whole overage of the call (and the room
    // that holds take).
    if !own_valid && number::positive(overage) && covers(need) {
        let mut grants = grant::tidy(&c.grants, now);
        let covered = grant::draw(
            &mut grants,
            &credit.name,
            overage,
            &policy.exchange,
            now,
            billable,
        );
        commit_usage(&mut t, &mut meter)?;
        figures.overhead_total = meter.overhead;
        if emit {
            let names: &[&'static str] = if reset {
                &["meter-reset", "meter-changed"]
            } else {
                &["meter-changed"]
            };
            for name in names {
                if !wants(EventKind::of(name)) {
                    continue;
                }
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
    t.reason = if own_valid {
        Reason::Held
    } else {
        Reason::Limit
    };
    if reset {
        t.meter = Some(meter); // the new period starts even though the call is denied
    }
    if emit {
        figures.overhead_total = meter.overhead;
        if reset && wants(EventKind::MeterReset) {
            t.drafts.push(draft(
                "meter-reset",
                plan,
                req.entitlement,
                credit,
                meter_fields(&figures, true),
                req,
            ));
        }
    }
    if wants(EventKind::MeterLimit) {
        figures.overhead_total = meter.overhead;
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
        if !held.is_zero() {
            d.fields.insert("held".into(), number::to_value(held));
        }
        t.drafts.push(d);
    }
    Ok(t)
}
