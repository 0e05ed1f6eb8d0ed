//! The plain lane: the common call that adds usage on a meter in its current period with nothing
//! else to do: inside its limit, or past a soft limit with no grant to draw, or past an observe
//! limit (no events, holds, minimum or reset; a governor only when its bucket has the tokens). It
//! also reports the call's figures for spend caps.
//!
//! [`plain`] is a pure function like [`evaluate`](super::evaluate), and answers `None` whenever
//! any rare step could apply; the caller then runs the whole pipeline. When it answers, its
//! result is exactly the state the pipeline would write (a property test below replays random
//! meters through both). It exists because the pipeline's generality (a transition with every
//! optional change, moved and dropped per call) costs more than the decision itself.

use super::{CostFigures, Request};
use crate::customer::Customer;
use crate::events::{EventKind, EventSet};
use crate::number::{self, Decimal};
use crate::policy::Policy;
use crate::policy::plan::{Entitlement, Mode};
use crate::time::Timestamp;
use std::sync::Arc;

/// What a plain call writes: the meter's new value and overhead, and the change for its trend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plain {
    slot: usize,
    value: Decimal,
    overhead: Decimal,
    /// `(now, delta, smoothing)`; `None` for a zero-value call.
    push: Option<(Timestamp, f64, f64)>,
    /// The governor's new bucket `(tokens, refilled at)`, under a governed limit.
    governor: Option<(Decimal, Timestamp)>,
    /// The call's units, provider cost, and the meter and limit before it (for [`Plain::cost`]).
    units: Decimal,
    overhead_call: Decimal,
    before: Decimal,
    limit: Decimal,
}

impl Plain {
    /// Writes the call into the customer it was decided on.
    pub fn apply(self, c: &mut Customer) {
        if let Some(m) = c.meters.get_mut(self.slot) {
            m.value = self.value;
            m.overhead = self.overhead;
            if let Some((now, delta, alpha)) = self.push {
                m.trend.push(now, delta, alpha);
            }
            if let Some(bucket) = self.governor {
                m.extra.get_or_insert_with(Box::default).governor = Some(bucket);
            }
        }
    }

    /// The call's figures as spend caps need them (nothing is ever covered by grants here).
    pub fn cost(&self) -> CostFigures {
        let (m, l) = (self.before, self.limit);
        let up = number::positive(self.units);
        // usage past the limit this call adds (as the pipeline reckons it), and where the meter
        // stood past the limit before it
        let overage = if up {
            number::floor0(self.value - number::max(m, l))
        } else {
            Decimal::ZERO
        };
        let position = if number::cmp(m, l).is_gt() {
            m - l
        } else {
            Decimal::ZERO
        };
        CostFigures {
            units: self.units,
            overage,
            covered: Decimal::ZERO,
            overhead: self.overhead_call,
            position,
            start: m - l,
            meter_value: self.before,
            limit: self.limit,
            price_diff: None,
            held: Decimal::ZERO, // the lane answers only meters without holds
        }
    }
}

/// The events a call the lane answers would send.
const LANE_EVENTS: EventSet = EventSet::of(EventKind::MeterChanged).with(EventKind::MeterOverage);

/// The plain lane's answer for `allow` of `req` on `owner`'s meter of `ent`: `Some` only when the
/// call is allowed and needs no step beyond metering (`req.cost` is answered by [`Plain::cost`]).
pub(crate) fn plain(
    policy: &Policy,
    ent: &Entitlement,
    owner: &Customer,
    req: &Request<'_>,
    now: Timestamp,
) -> Option<Plain> {
    // the lane's calls would send `meter-changed` (or `meter-overage` past a soft limit): it
    // answers only when nobody listens to those
    if req.events.intersect(LANE_EVENTS).any() || req.force {
        return None;
    }
    let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now)?;
    if limit.minimum.is_some() {
        return None;
    }
    let (_, credit) = policy.credits.get_index(limit.credit_index)?;
    let v = credit.units.cast(req.value);
    if v.is_sign_negative() {
        return None;
    }
    let slot = owner
        .meters
        .iter()
        .position(|m| Arc::ptr_eq(&m.entitlement, &ent.name) || *m.entitlement == *ent.name)?;
    let m = owner.meters.get(slot)?;
    if m.extra.as_ref().is_some_and(|x| !x.holds.is_empty())
        || m.pending_reset(limit.reset.as_ref(), now).is_some()
        || !number::meter_in_range(m.value)
        || !number::meter_in_range(m.overhead)
    {
        return None;
    }
    let value = m.value.checked_add(v)?;
    // past the limit only where nothing else happens: a soft limit with no grant to draw (none
    // held, or grants not applying), or an observe limit; never a hard one
    if number::cmp(value, limit.value).is_gt() {
        let quiet = match limit.mode {
            Mode::Observe => true,
            Mode::Soft => owner.grants.is_empty() || !limit.grants_apply,
            Mode::Hard => false,
        };
        if !quiet {
            return None;
        }
    }
    let overhead_call = match req.overhead {
        Some(o) => o,
        None if v.is_zero() => Decimal::ZERO,
        None => credit.overhead_of(v, req.event_data),
    };
    let overhead = m.overhead.checked_add(overhead_call)?;
    // a governed hard limit: the bucket (full before its first use) must hold the call's tokens
    let governor = match (&limit.governor, limit.mode) {
        (Some(g), Mode::Hard) => {
            let (tokens, last) = m
                .extra
                .as_ref()
                .and_then(|x| x.governor)
                .unwrap_or((g.capacity, now));
            let refilled = g.refilled(tokens, last, now);
            if number::cmp(v, refilled).is_gt() {
                return None;
            }
            Some((refilled - v, now))
        }
        _ => None,
    };
    let push = if v.is_zero() {
        None
    } else {
        Some((now, number::approx_f64(v), limit.ewma_alpha))
    };
    Some(Plain {
        slot,
        value,
        overhead,
        push,
        governor,
        units: v,
        overhead_call,
        before: m.value,
        limit: limit.value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Reason, evaluate};
    use proptest::prelude::*;

    fn policy(units: &str, mode: &str, limit: i64, trailing: bool, extra: &str) -> Policy {
        let doc = format!(
            r#"{{"policy": {{"credits": {{"c": {{"stof_units": "{units}", "overhead_cost": 0.0003}}}},
              "plans": {{"p": {{"default": true, "entitlements": {{"e": {{"limit": {{"credit": "c",
              "mode": "{mode}", "value": {limit}, "hard_trailing": {trailing}, "resets": true,
              "reset_inc": "1h" {extra}}}}}}}}}}}}}}}"#
        );
        let root: serde_json::Value = serde_json::from_str(&doc).unwrap_or_default();
        match Policy::from_root(&root) {
            Ok((p, _)) => p,
            Err(e) => panic!("test policy: {e}"),
        }
    }

    /// One call on one meter.
    #[derive(Debug, Clone, Copy)]
    struct Case {
        int: bool,
        mode: &'static str,
        limit: i64,
        trailing: bool,
        extra: &'static str,
        meter: Decimal,
        value: Decimal,
        overhead: Option<Decimal>,
        elapsed: i64,
        events: EventSet,
        grants: bool,
        cost: bool,
        /// Governor tokens left 5 ms before the start (`None`: the bucket is not started).
        bucket: Option<i64>,
    }

    const EXTRAS: [&str; 3] = [
        "",
        r#", "minimum": -5"#,
        r#", "governor_enabled": true, "governor_capacity": 100, "governor_refill_rate": 1"#,
    ];

    /// Runs a case through both lanes: `Ok(true)` when the plain lane answered and agreed with
    /// the pipeline, `Ok(false)` when it declined, `Err` on any disagreement.
    fn run(k: Case) -> Result<bool, String> {
        if k.mode != "hard" && (k.trailing || k.extra.contains("governor")) {
            return Ok(false); // both apply to hard limits only (a load error otherwise)
        }
        let p = policy(
            if k.int { "int" } else { "float" },
            k.mode,
            k.limit,
            k.trailing,
            k.extra,
        );
        let plan = p.plan("p").ok_or("plan")?;
        let ent = plan.entitlement("e").ok_or("entitlement")?;
        let t0 = 1_767_225_600_000i64;
        let mut c = Customer::new("x", p.intern("p"));
        let mut m = crate::meter::Meter::new(p.intern("e"), p.intern("c"), t0);
        m.value = k.meter;
        m.trend.push(t0 - 10, 3.0, 0.3);
        if let Some(tokens) = k.bucket {
            let x = m.extra.get_or_insert_with(Box::default);
            x.governor = Some((Decimal::from(tokens), t0 - 5));
        }
        c.meters.push(m);
        if k.grants {
            c.grants.push(crate::grant::Grant {
                id: "g".into(),
                credit: p.intern("c"),
                topup: None,
                created_on: t0,
                starting_value: Decimal::from(50),
                value: Decimal::from(50),
                expires_on: None,
                reset: None,
                last_reset: t0,
            });
        }
        let now = t0 + k.elapsed;
        let req = Request {
            entitlement: "e",
            value: k.value,
            overhead: k.overhead,
            event_data: None,
            events: k.events,
            force: false,
            cost: k.cost,
        };
        let Some(fast) = plain(&p, ent, &c, &req, now) else {
            return Ok(false);
        };
        let mut t = evaluate(&p, plan, ent, &c, &req, now, true).map_err(|e| e.to_string())?;
        if !t.allowed || t.reason != Reason::Ok || !t.drafts.is_empty() || t.grants.is_some() {
            return Err(format!("{k:?}: the pipeline decided {:?}", t.reason));
        }
        if k.cost && t.cost.as_deref() != Some(&fast.cost()) {
            return Err(format!(
                "{k:?}: plain cost {:?}, the pipeline {:?}",
                fast.cost(),
                t.cost
            ));
        }
        let mut full = c.clone();
        t.apply(&mut full);
        fast.apply(&mut c);
        if c != full {
            return Err(format!("{k:?}: plain wrote {c:?}, the pipeline {full:?}"));
        }
        Ok(true)
    }

    #[test]
    fn on_a_grid_the_lane_agrees_with_the_pipeline_and_is_taken_for_in_limit_calls() {
        let mut hits = 0;
        let mut expected = 0;
        for int in [false, true] {
            for mode in ["hard", "soft", "observe"] {
                for trailing in [false, true] {
                    for extra in EXTRAS {
                        for meter in [-3, 0, 40, 99, 100, 150] {
                            for value in [-7, 0, 1, 15, 60, 61, 200] {
                                for elapsed in [0, 3_600_001] {
                                    for (events, grants, cost) in [
                                        (EventSet::NONE, false, false),
                                        (EventSet::ALL, false, false),
                                        (EventSet::of(EventKind::MeterLimit), false, false),
                                        (EventSet::NONE, true, false),
                                        (EventSet::NONE, false, true),
                                    ] {
                                        let k = Case {
                                            int,
                                            mode,
                                            limit: 100,
                                            trailing,
                                            extra,
                                            meter: Decimal::new(meter * 10 + 5, 1),
                                            value: Decimal::new(value * 10 + 5, 1),
                                            overhead: None,
                                            elapsed,
                                            events,
                                            grants,
                                            cost,
                                            bucket: None,
                                        };
                                        let v = if int { k.value.trunc() } else { k.value };
                                        let valid = mode == "hard"
                                            || (!trailing && !extra.contains("governor"));
                                        if valid
                                            && !extra.contains("minimum")
                                            && !events.intersect(LANE_EVENTS).any()
                                            && elapsed == 0
                                            && !v.is_sign_negative()
                                            && (k.meter + v <= Decimal::from(k.limit)
                                                || mode == "observe"
                                                || (mode == "soft" && !grants))
                                        {
                                            expected += 1;
                                        }
                                        if run(k).unwrap_or_else(|e| panic!("{e}")) {
                                            hits += 1;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // the lane answers exactly for valid, event-free calls without a minimum in the meter's
        // period that add a non-negative amount and stay within the limit, or go past a soft
        // limit with no grant or past an observe limit (a fresh governor bucket holds 100 tokens:
        // every in-limit amount of the grid)
        assert!(expected > 100, "the grid has plain cases ({expected})");
        assert_eq!(
            hits, expected,
            "the plain lane answered {hits} of {expected} plain cases"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Whenever the plain lane answers, the full pipeline allows the call and writes the
        /// same customer state.
        #[test]
        fn plain_lane_writes_what_the_pipeline_writes(
            int in any::<bool>(),
            mode in prop_oneof![Just("hard"), Just("soft"), Just("observe")],
            limit in 0i64..1_000,
            trailing in any::<bool>(),
            extra in prop::sample::select(EXTRAS.to_vec()),
            meter in -50i64..1_200,
            meter_scale in 0u32..3,
            value in -100i64..400,
            value_scale in 0u32..3,
            overhead in proptest::option::of(0i64..1_000),
            elapsed in prop_oneof![Just(0i64), Just(1_000), Just(3_600_000), Just(3_600_001)],
            events in prop::sample::select(vec![
                EventSet::NONE,
                EventSet::ALL,
                EventSet::of(EventKind::MeterLimit),
            ]),
            grants in any::<bool>(),
            cost in any::<bool>(),
            bucket in proptest::option::of(0i64..120),
        ) {
            let k = Case {
                int, mode, limit, trailing, extra,
                meter: Decimal::new(meter, meter_scale),
                value: Decimal::new(value, value_scale),
                overhead: overhead.map(|o| Decimal::new(o, 4)),
                elapsed, events, grants, cost, bucket,
            };
            prop_assert!(run(k).is_ok(), "{:?}", run(k));
        }
    }
}
