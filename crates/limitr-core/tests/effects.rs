//! Effects replayed onto the old state give the new state, for every kind of call: random call
//! sequences (metering, sets, holds, grants and top-ups, caps, plan changes, resets by the clock)
//! on a few customers; after each call, for every customer, `Effects::between(before, after)`
//! applied to `before` must equal `after`, and the common calls must come out as counters only.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use limitr_core::number::Decimal;
use limitr_core::{
    CallOptions, CapOptions, Customer, Effects, Limitr, ManualClock, ReserveOptions, Store,
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

const DOC: &str = include_str!("../../../tests/policies/quickstart.json");
const T0: i64 = 1_767_225_600_000;

#[derive(Debug, Clone)]
enum Op {
    Allow(usize, bool, u32),
    Set(usize, u32),
    Increment(usize),
    Decrement(usize),
    Reserve(usize, u32, u32),
    Topup(usize),
    Cap(usize, u32),
    Plan(usize, bool),
    Advance(u32),
    Keyed(usize, u8, u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, any::<bool>(), 1..300_000u32).prop_map(|(c, o, v)| Op::Allow(c, o, v)),
        2 => (0..3usize, 0..600_000u32).prop_map(|(c, v)| Op::Set(c, v)),
        1 => (0..3usize).prop_map(Op::Increment),
        1 => (0..3usize).prop_map(Op::Decrement),
        1 => (0..3usize, 1..100_000u32, 0..120_000u32).prop_map(|(c, v, s)| Op::Reserve(c, v, s)),
        1 => (0..3usize).prop_map(Op::Topup),
        1 => (0..3usize, 1..5u32).prop_map(|(c, v)| Op::Cap(c, v)),
        1 => (0..3usize, any::<bool>()).prop_map(|(c, g)| Op::Plan(c, g)),
        1 => (0..100_000_000u32).prop_map(Op::Advance),
        1 => (0..3usize, 0..4u8, 1..1000u32).prop_map(|(c, k, v)| Op::Keyed(c, k, v)),
    ]
}

fn id(c: usize) -> String {
    format!("c{c}")
}

fn run(p: &Limitr, clock: &ManualClock, op: &Op) {
    let d = Decimal::from;
    let none = CallOptions::default();
    let _ = match op {
        Op::Allow(c, output, v) => {
            let ent = if *output {
                "ai-chat-output"
            } else {
                "ai-chat-input"
            };
            p.allow(&id(*c), ent, d(*v)).map(|_| ())
        }
        Op::Set(c, v) => p.set(&id(*c), "ai-chat-input", d(*v), &none).map(|_| ()),
        Op::Increment(c) => p.increment(&id(*c), "ai-chat-input", &none).map(|_| ()),
        Op::Decrement(c) => p.decrement(&id(*c), "ai-chat-input", &none).map(|_| ()),
        Op::Reserve(c, v, s) => {
            let o = ReserveOptions {
                value: Some(d(*v)),
                ..ReserveOptions::default()
            };
            match p.reserve(&id(*c), "ai-chat-input", &o) {
                Ok(Some(h)) => p
                    .settle(&id(*c), "ai-chat-input", &h, d(*s), true, &none)
                    .map(|_| ()),
                other => other.map(|_| ()),
            }
        }
        Op::Topup(c) => p
            .apply_customer_topup(&id(*c), "ai-token-small")
            .map(|_| ()),
        Op::Cap(c, v) => p
            .add_customer_cap(&id(*c), d(*v), &CapOptions::default())
            .map(|_| ()),
        Op::Plan(c, growth) => p
            .set_customer_plan(&id(*c), if *growth { "growth" } else { "starter" }, false)
            .map(|_| ()),
        Op::Advance(ms) => {
            clock.advance(i64::from(*ms));
            Ok(())
        }
        Op::Keyed(c, k, v) => {
            let o = CallOptions {
                idempotency_key: Some(format!("k{k}")),
                ..CallOptions::default()
            };
            p.allow_with(&id(*c), "ai-chat-output", d(*v), &o)
                .map(|_| ())
        }
    };
}

fn state(p: &Limitr) -> BTreeMap<String, Customer> {
    p.store()
        .snapshot()
        .into_iter()
        .map(|c| (c.id.to_string(), c))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn effects_replayed_onto_the_old_state_give_the_new_state(ops in prop::collection::vec(op(), 1..60)) {
        let clock = Arc::new(ManualClock::new(T0));
        let p = Limitr::from_json(DOC).unwrap().with_clock(clock.clone());
        for c in 0..3 {
            p.create_customer(&id(c), Some(if c == 0 { "starter" } else { "growth" })).unwrap();
        }
        for op in &ops {
            let before = state(&p);
            run(&p, &clock, op);
            for (k, after) in state(&p) {
                let Some(b) = before.get(&k) else { continue };
                let effects = Effects::between(b, &after);
                let mut replayed = b.clone();
                effects.apply(&mut replayed).unwrap();
                prop_assert_eq!(&replayed, &after, "{:?} on {}: {:?}", op, k, effects);
            }
        }
    }
}

#[test]
fn metering_moves_counters_only_and_structure_replaces() {
    let clock = Arc::new(ManualClock::new(T0));
    let p = Limitr::from_json(DOC).unwrap().with_clock(clock.clone());
    p.create_customer("g", Some("growth")).unwrap();
    p.allow("g", "ai-chat-input", Decimal::from(5)).unwrap();
    let before = state(&p)["g"].clone();
    p.allow("g", "ai-chat-input", Decimal::from(7)).unwrap();
    let after = state(&p)["g"].clone();
    match Effects::between(&before, &after) {
        Effects::Counters(list) => {
            assert_eq!(list.len(), 1);
            match &list[0] {
                limitr_core::Counter::Meter { value_delta, .. } => {
                    assert_eq!(*value_delta, Decimal::from(7));
                }
                other => panic!("a meter counter, got {other:?}"),
            }
        }
        other => panic!("counters, got {other:?}"),
    }
    // a top-up adds a grant: structural
    p.apply_customer_topup("g", "ai-token-small").unwrap();
    let topped = state(&p)["g"].clone();
    assert!(matches!(
        Effects::between(&after, &topped),
        Effects::Replace(_)
    ));
    // drawing the grant past the soft limit moves the grant's balance: counters again
    p.set(
        "g",
        "ai-chat-input",
        Decimal::from(700_000),
        &CallOptions::default(),
    )
    .unwrap();
    let full = state(&p)["g"].clone();
    p.allow("g", "ai-chat-input", Decimal::from(1000)).unwrap();
    let drawn = state(&p)["g"].clone();
    match Effects::between(&full, &drawn) {
        Effects::Counters(list) => assert!(
            list.iter()
                .any(|c| matches!(c, limitr_core::Counter::Grant { .. })),
            "{list:?}"
        ),
        other => panic!("counters, got {other:?}"),
    }
    assert_eq!(Effects::between(&drawn, &drawn), Effects::None);
}
