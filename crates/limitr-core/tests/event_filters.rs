//! Handlers that listen to some events only: what they receive, in which order, with which
//! payload text, and the errors of a bad filter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::Decimal;
use limitr_core::{Event, Limitr, ManualClock};
use serde_json::Value;
use std::sync::{Arc, Mutex};

const POLICY: &str = include_str!("../../../tests/policies/quickstart.json");
const NOW: i64 = 1_776_962_288_909;

fn engine(doc: &str) -> Limitr {
    Limitr::from_json(doc)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(NOW)))
}

type Seen = Arc<Mutex<Vec<(String, String)>>>;

fn sink(seen: &Seen) -> impl Fn(&Event) -> Result<(), String> + Send + Sync + 'static {
    let seen = seen.clone();
    move |e: &Event| {
        seen.lock()
            .unwrap()
            .push((e.name.to_string(), e.payload_json().to_string()));
        Ok(())
    }
}

/// Hard-limit usage of the quick start: in-limit calls, a denial, a reset, then a customer change.
fn workload(p: &Limitr, clock: &ManualClock) {
    p.create_customer("u", Some("starter")).unwrap();
    for v in [120_000, 95_000, 300_000, 200_000] {
        p.allow("u", "ai-chat-input", Decimal::from(v)).unwrap();
    }
    clock.advance(86_400_001);
    p.allow("u", "ai-chat-input", Decimal::from(600_000))
        .unwrap();
    p.allow("u", "ai-chat-input", Decimal::from(1)).unwrap();
    p.set_customer_plan("u", "growth", false).unwrap();
}

fn run(filters: &[Option<&[&str]>]) -> Vec<Vec<(String, String)>> {
    let clock = Arc::new(ManualClock::new(NOW));
    let p = Limitr::from_json(POLICY).unwrap().with_clock(clock.clone());
    let seen: Vec<Seen> = filters.iter().map(|_| Seen::default()).collect();
    for (i, (f, s)) in filters.iter().zip(&seen).enumerate() {
        let name = format!("h{i}");
        match f {
            None => p.add_handler(&name, sink(s)),
            Some(names) => p.add_handler_for(&name, names, sink(s)).unwrap(),
        }
    }
    workload(&p, &clock);
    seen.iter().map(|s| s.lock().unwrap().clone()).collect()
}

#[test]
fn a_filtered_handler_receives_exactly_the_events_it_names_with_the_unfiltered_payloads() {
    let all = run(&[None]).remove(0);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    // the workload sends each kind the filters below pick from
    for kind in [
        "meter-changed",
        "meter-limit",
        "meter-reset",
        "customer-set",
    ] {
        assert!(names.contains(&kind), "{kind} not in {names:?}");
    }
    for filter in [
        &["meter-limit"][..],
        &["meter-limit", "meter-reset"][..],
        &["customer-set", "customer-plan-changed"][..],
        &["meter-overage"][..],
    ] {
        // alone (the engine skips what nobody listens to) and beside an unfiltered handler
        for got in [
            run(&[Some(filter)]).remove(0),
            run(&[None, Some(filter)]).remove(1),
        ] {
            let want: Vec<(String, String)> = all
                .iter()
                .filter(|(n, _)| filter.contains(&n.as_str()))
                .cloned()
                .collect();
            assert_eq!(got, want, "filter {filter:?}");
        }
    }
}

#[test]
fn two_handlers_get_the_same_payload_text_and_events_arrive_in_commit_order() {
    let both = run(&[None, None]);
    assert_eq!(both[0], both[1]);
    let names: Vec<&str> = both[0].iter().map(|(n, _)| n.as_str()).collect();
    // a call's events arrive in the order the call commits them: the new period, then the
    // denial of the call that opened it
    let reset = names.iter().position(|n| *n == "meter-reset").unwrap();
    assert_eq!(names[reset + 1], "meter-limit");
    // and calls in the order they were made: values grow along the in-limit calls
    let values: Vec<Value> = both[0]
        .iter()
        .filter(|(n, _)| n == "meter-changed")
        .map(|(_, p)| serde_json::from_str::<Value>(p).unwrap()["meter"]["value"].clone())
        .collect();
    assert_eq!(
        values.iter().map(Value::to_string).collect::<Vec<_>>(),
        ["120000", "215000", "415000", "1"]
    );
}

#[test]
fn the_payload_text_is_the_json_of_the_payload_value() {
    let all = run(&[None]).remove(0);
    for (name, text) in all {
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.to_string(), text, "{name}");
        if name.starts_with("meter-") {
            let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys.last(), Some(&"remaining"), "{name}");
            assert_eq!(v["customer"]["id"], "u");
        }
    }
}

#[test]
fn an_unknown_event_name_is_an_invalid_argument_naming_it() {
    let p = engine(POLICY);
    let err = p
        .add_handler_for("h", &["meter-limit", "meter-limt"], |_: &Event| Ok(()))
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert_eq!(err.to_string(), r#"events[1]: unknown event "meter-limt""#);
    assert!(!p.handlers().active(), "a refused handler is not added");
}

const RULES: &str = r#"{"policy": {
  "credits": {"tok": {"stof_units": "int"}},
  "plans": {"p": {"default": true, "entitlements": {
    "chat": {"limit": {"credit": "tok", "value": 100}}}}},
  "notifications": {
    "chat-80": {"on": "meter-changed", "entitlement": "chat", "when": {"percent_used": 80}}}}}"#;

#[test]
fn a_handler_of_a_notification_rule_gets_its_event_without_the_meter_events_it_reads() {
    let p = engine(RULES);
    let rule = Seen::default();
    let limit = Seen::default();
    p.add_handler_for("rule", &["chat-80"], sink(&rule))
        .unwrap();
    p.add_handler_for("limit", &["meter-limit"], sink(&limit))
        .unwrap();
    p.create_customer("a", None).unwrap();
    for _ in 0..9 {
        assert!(p.allow("a", "chat", Decimal::from(10)).unwrap());
    }
    assert!(!p.allow("a", "chat", Decimal::from(50)).unwrap());
    let rule = rule.lock().unwrap().clone();
    assert_eq!(rule.len(), 1, "{rule:?}");
    let fired: Value = serde_json::from_str(&rule[0].1).unwrap();
    assert_eq!(rule[0].0, "chat-80");
    assert_eq!(fired["trigger"], "meter-changed");
    assert_eq!(fired["meter"]["value"].to_string(), "80");
    let limit = limit.lock().unwrap().clone();
    assert_eq!(
        limit.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["meter-limit"]
    );
}

#[test]
fn a_failing_handler_does_not_undo_the_call_nor_stop_the_next_one() {
    let p = engine(POLICY);
    let seen = Seen::default();
    p.add_handler_for("bad", &["meter-changed"], |_: &Event| {
        Err("boom".to_string())
    })
    .unwrap();
    p.add_handler("good", sink(&seen));
    p.create_customer("u", Some("starter")).unwrap();
    assert!(p.allow("u", "ai-chat-input", Decimal::from(5)).unwrap());
    assert_eq!(
        p.value("u", "ai-chat-input", false, true).unwrap(),
        Some(Decimal::from(5))
    );
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|(n, _)| n == "meter-changed")
    );
}
