//! Property tests over random call sequences.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::Decimal;
use limitr_core::{Limitr, ManualClock};
use proptest::prelude::*;
use std::sync::Arc;

const DOC: &str = r#"{"policy": {
  "credits": {
    "tok": {"stof_units": "int", "price": {"amount": 0.000004}},
    "frac": {},
    "gift": {}
  },
  "exchange": {"gift": {"value": 0.5, "currency": "rune"}, "tok": {"value": 0.00001, "currency": "gift"}},
  "plans": {"p": {"default": true,
    "entitlements": {
      "hard": {"limit": {"credit": "tok", "value": 1000}},
      "soft": {"limit": {"credit": "tok", "mode": "soft", "value": 500}},
      "fr": {"limit": {"credit": "frac", "value": 10.5}}
    },
    "topups": {"g": {"credit": "gift", "value": 0.01}, "t": {"credit": "tok", "value": 50}}}}}}"#;

#[derive(Debug, Clone)]
enum Op {
    Allow(usize, i64, u8),
    Topup(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0usize..3, -200i64..900, 0u8..10).prop_map(|(e, v, f)| Op::Allow(e, v, f)),
        1 => any::<bool>().prop_map(Op::Topup),
    ]
}

const ENTS: [&str; 3] = ["hard", "soft", "fr"];

fn amount(v: i64, frac: u8) -> Decimal {
    Decimal::from(v) + Decimal::new(i64::from(frac), 1)
}

fn engine() -> Limitr {
    let p = Limitr::from_json(DOC)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(0)));
    p.create_customer("c", None).unwrap();
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A hard limit is passed only by the part grants paid for; grant balances never go negative;
    /// a denied call changes nothing; `check` predicts `allow`.
    #[test]
    fn invariants_hold_over_random_sequences(ops in prop::collection::vec(op(), 1..40)) {
        let p = engine();
        let mut drawn_for_hard = Decimal::ZERO;
        for op in ops {
            match op {
                Op::Topup(gift) => { p.apply_customer_topup("c", if gift { "g" } else { "t" }).unwrap(); }
                Op::Allow(e, v, f) => {
                    let ent = ENTS[e];
                    let v = amount(v, f);
                    let before = p.customer("c").unwrap();
                    let predicted = p.check("c", ent, v).unwrap();
                    let balance_before = p.remaining_credit("c", "tok").unwrap().unwrap();
                    let allowed = p.allow("c", ent, v).unwrap();
                    prop_assert_eq!(predicted, allowed, "check and allow disagree on {} {}", ent, v);
                    let after = p.customer("c").unwrap();
                    if !allowed {
                        prop_assert_eq!(&before, &after, "a denied call changed state");
                    }
                    for g in &after.grants {
                        prop_assert!(g.value >= Decimal::ZERO, "negative grant {:?}", g);
                    }
                    if ent == "hard" {
                        let balance_after = p.remaining_credit("c", "tok").unwrap().unwrap();
                        drawn_for_hard += balance_before - balance_after;
                        let value = after.meter("hard").unwrap().value;
                        // whatever passed the limit was paid by grants (allowing for the exchange's rounding)
                        prop_assert!(value - Decimal::from(1000) <= drawn_for_hard + Decimal::new(1, 9),
                            "hard limit passed without cover: value {} drawn {}", value, drawn_for_hard);
                    }
                }
            }
        }
    }

    /// Fractional credits keep exact sums: no drift however the amounts are split.
    #[test]
    fn float_credits_sum_exactly(parts in prop::collection::vec(1u8..30, 1..30)) {
        let p = engine();
        let mut total = Decimal::ZERO;
        for x in parts {
            let v = Decimal::new(i64::from(x), 2); // 0.01 .. 0.29
            if p.allow("c", "fr", v).unwrap() {
                total += v;
            }
        }
        prop_assert_eq!(p.value("c", "fr", false, true).unwrap().unwrap(), total.normalize());
        prop_assert!(total <= Decimal::new(105, 1));
    }

    /// Int credits truncate each call toward zero.
    #[test]
    fn int_credits_truncate_each_call(v in -1000i64..1000, f in 0u8..10) {
        let p = engine();
        let amount = amount(v, f);
        p.allow("c", "soft", amount).unwrap();
        prop_assert_eq!(p.value("c", "soft", false, true).unwrap().unwrap(), amount.trunc());
    }
}

const HOLDS: &str = r#"{"policy": {"credits": {"tok": {"price": {"amount": 1}}}, "plans": {"p": {"default": true,
  "entitlements": {"e": {"limit": {"credit": "tok", "value": 100}}}}}}}"#;

#[derive(Debug, Clone)]
enum HoldOp {
    Reserve(u8, i64),
    Allow(u8),
    Settle(usize, u8),
    Release(usize),
    Advance(i64),
}

fn hold_op() -> impl Strategy<Value = HoldOp> {
    prop_oneof![
        (1u8..60, 0i64..3).prop_map(|(v, ttl)| HoldOp::Reserve(v, ttl * 1000)),
        (1u8..40).prop_map(HoldOp::Allow),
        (0usize..8, 0u8..30).prop_map(|(i, v)| HoldOp::Settle(i, v)),
        (0usize..8).prop_map(HoldOp::Release),
        (0i64..1500).prop_map(HoldOp::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// With holds outstanding, meter + held never passes a hard limit except by settles (which
    /// meter the real size, as the reference does); a released or expired hold gives back exactly
    /// the room it took.
    #[test]
    fn holds_keep_room_and_give_it_back(ops in prop::collection::vec(hold_op(), 1..40)) {
        let clock = Arc::new(ManualClock::new(0));
        let p = Limitr::from_json(HOLDS).unwrap().with_clock(clock.clone());
        p.create_customer("c", None).unwrap();
        let mut holds: Vec<(String, Decimal)> = Vec::new();
        // settles meter the real size even past the limit: what they add beyond their hold
        let mut overshoot = Decimal::ZERO;
        for op in ops {
            let before_held = p.held("c", "e").unwrap().unwrap();
            match op {
                HoldOp::Reserve(v, ttl) => {
                    let o = limitr_core::ReserveOptions { value: Some(Decimal::from(v)), ttl: Some(ttl + 1), ..Default::default() };
                    if let Some(h) = p.reserve("c", "e", &o).unwrap() {
                        holds.push((h, Decimal::from(v)));
                    }
                }
                HoldOp::Allow(v) => { p.allow("c", "e", Decimal::from(v)).unwrap(); }
                HoldOp::Settle(i, v) => {
                    if let Some((h, _)) = holds.get(i).cloned() {
                        let before = p.value("c", "e", false, true).unwrap().unwrap();
                        let total_before = before + p.held("c", "e").unwrap().unwrap();
                        p.settle("c", "e", &h, Decimal::from(v), true, &limitr_core::CallOptions::default()).unwrap();
                        let after = p.value("c", "e", false, true).unwrap().unwrap();
                        prop_assert_eq!(after - before, Decimal::from(v), "a settle meters exactly its value");
                        let total_after = after + p.held("c", "e").unwrap().unwrap();
                        overshoot += (total_after - total_before).max(Decimal::ZERO);
                        holds.remove(i);
                    }
                }
                HoldOp::Release(i) => {
                    if let Some((h, size)) = holds.get(i).cloned() {
                        let held = p.held("c", "e").unwrap().unwrap();
                        let released = p.release("c", "e", &h).unwrap();
                        let after = p.held("c", "e").unwrap().unwrap();
                        let freed = held - after;
                        // a live hold gives back exactly its size; an expired one already had
                        prop_assert!(freed == size || freed.is_zero(), "freed {} of a {} hold", freed, size);
                        if !released { prop_assert!(freed.is_zero()); }
                        holds.remove(i);
                    }
                }
                HoldOp::Advance(ms) => {
                    clock.advance(ms);
                    prop_assert!(p.held("c", "e").unwrap().unwrap() <= before_held, "expiry only gives room back");
                }
            }
            let value = p.value("c", "e", false, true).unwrap().unwrap();
            let held = p.held("c", "e").unwrap().unwrap();
            prop_assert!(value + held <= Decimal::from(100) + overshoot, "value {} + held {} passed the limit (settle overshoot {})", value, held, overshoot);
        }
    }
}

const CONSERVE: &str = r#"{"policy": {
  "credits": {"tok": {}},
  "exchange": {"gold": {"value": 2, "currency": "rune"}, "silver": {"value": 0.3, "currency": "rune"},
               "tok": {"value": 0.001, "currency": "rune"}},
  "plans": {"p": {"default": true, "entitlements": {"e": {"limit": {"credit": "tok", "mode": "soft", "value": 100}}},
    "topups": {"gold": {"credit": "gold", "value": 1}, "silver": {"credit": "silver", "value": 7}, "tok": {"credit": "tok", "value": 500}}}}}}"#;

fn rune_value(p: &Limitr) -> Decimal {
    let rate = |c: &str| match c {
        "gold" => Decimal::from(2),
        "silver" => Decimal::new(3, 1),
        _ => Decimal::new(1, 3),
    };
    p.customer("c")
        .unwrap()
        .grants
        .iter()
        .map(|g| g.value * rate(&g.credit))
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Grant draws conserve value through the exchange table: what the grants lose, in runes, is
    /// what the covered units are worth.
    #[test]
    fn grant_draws_conserve_value(topups in prop::collection::vec(0usize..3, 1..6), calls in prop::collection::vec(1i64..3000, 1..12)) {
        let p = Limitr::from_json(CONSERVE).unwrap().with_clock(Arc::new(ManualClock::new(0)));
        p.create_customer("c", None).unwrap();
        for t in topups {
            p.apply_customer_topup("c", ["gold", "silver", "tok"][t]).unwrap();
        }
        for v in calls {
            let before_value = p.value("c", "e", false, true).unwrap().unwrap();
            let before = rune_value(&p);
            p.allow("c", "e", Decimal::from(v)).unwrap();
            let after = rune_value(&p);
            let past_before = (before_value - Decimal::from(100)).max(Decimal::ZERO);
            let past_after = (before_value + Decimal::from(v) - Decimal::from(100)).max(Decimal::ZERO);
            let overage_runes = (past_after - past_before) * Decimal::new(1, 3);
            let drawn = before - after;
            prop_assert!(drawn >= Decimal::ZERO);
            // the grants pay for the overage, up to what they held
            let expected = overage_runes.min(before);
            prop_assert!((drawn - expected).abs() <= Decimal::new(1, 18), "drew {} for {} of overage (had {})", drawn, overage_runes, before);
        }
    }
}

const CAPPED: &str = r#"{"policy": {
  "credits": {"ai": {"price": {"amount": 0.4}}, "cpu": {"price": {"amount": 0.1}}},
  "plans": {"p": {"default": true, "entitlements": {
    "ai": {"limit": {"credit": "ai", "mode": "soft", "value": 5}},
    "cpu": {"limit": {"credit": "cpu", "value": 1000}}}}}}}"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// A spend cap is never passed except by a settle (which meters the real size, as the
    /// reference does): whatever mix of calls, consumption stays within the ceiling; and `check`
    /// answers what the next `allow` does.
    #[test]
    fn caps_are_never_passed_except_by_settle(calls in prop::collection::vec((any::<bool>(), 1u8..50, any::<bool>()), 1..40)) {
        let p = Limitr::from_json(CAPPED).unwrap().with_clock(Arc::new(ManualClock::new(0)));
        p.create_customer("c", None).unwrap();
        let spend = limitr_core::CapOptions { cap_id: Some("spend".into()), ..Default::default() };
        p.add_customer_cap("c", Decimal::new(35, 1), &spend).unwrap();
        let exact = limitr_core::CapOptions { cap_id: Some("ai".into()), credit: Some("ai".into()), ..Default::default() };
        p.add_customer_cap("c", Decimal::from(6), &exact).unwrap();
        let mut settled = false;
        for (ai, units, via_hold) in calls {
            let ent = if ai { "ai" } else { "cpu" };
            let v = Decimal::new(i64::from(units), 1);
            if via_hold {
                let o = limitr_core::ReserveOptions { value: Some(Decimal::new(1, 1)), ..Default::default() };
                if let Some(h) = p.reserve("c", ent, &o).unwrap() {
                    settled = true;
                    p.settle("c", ent, &h, v, true, &limitr_core::CallOptions::default()).unwrap();
                }
            } else {
                // `check` through the capped path predicts `allow` exactly (limit, caps, holds)
                let predicted = p.check("c", ent, v).unwrap();
                let allowed = p.allow("c", ent, v).unwrap();
                prop_assert_eq!(predicted, allowed, "check said {} before allow said {}", predicted, allowed);
            }
            let meter = |id: &str| limitr_core::number::from_value(&p.customer_cap("c", id).unwrap()["meter_value"]).unwrap();
            if !settled {
                prop_assert!(meter("spend") <= Decimal::new(35, 1), "spend cap passed: {}", meter("spend"));
                prop_assert!(meter("ai") <= Decimal::from(6), "ai cap passed: {}", meter("ai"));
            }
        }
    }
}
