//! Handlers under hostile behaviour: a panicking handler is reported like a handler error and the
//! later handlers still run; a handler calling back into the engine leaves every handler seeing
//! the events in commit order.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::Decimal;
use limitr_core::{Event, Limitr, ManualClock};
use std::sync::{Arc, Mutex};

const POLICY: &str = r#"{"policy": {
  "credits": {"tok": {"stof_units": "int"}},
  "plans": {"p": {"default": true, "entitlements": {
    "a": {"limit": {"credit": "tok", "value": 100}},
    "b": {"limit": {"credit": "tok", "value": 100}}}}}}}"#;

fn engine() -> Arc<Limitr> {
    let e = Limitr::from_json(POLICY)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(0)));
    e.create_customer("u", None).unwrap();
    Arc::new(e)
}

type Seen = Arc<Mutex<Vec<String>>>;

fn recorder(seen: &Seen, tag: &'static str) -> impl Fn(&Event) -> Result<(), String> + use<> {
    let seen = seen.clone();
    move |e: &Event| {
        let ent = e.payload()["entitlement"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        seen.lock().unwrap().push(format!("{tag}:{}:{ent}", e.name));
        Ok(())
    }
}

#[test]
fn a_panicking_handler_is_reported_and_later_handlers_run() {
    let e = engine();
    let seen: Seen = Arc::default();
    let reported: Seen = Arc::default();
    let r = reported.clone();
    e.handlers().set_error_reporter(Some(Arc::new(
        move |handler: &str, event: &str, err: &str| {
            r.lock().unwrap().push(format!("{handler}/{event}: {err}"));
        },
    )));
    e.add_handler("boom", |_: &Event| -> Result<(), String> {
        panic!("kaboom")
    });
    e.add_handler("after", recorder(&seen, "after"));
    assert!(
        e.allow("u", "a", Decimal::from(5)).unwrap(),
        "the decision stands"
    );
    assert_eq!(
        e.value("u", "a", false, true).unwrap(),
        Some(Decimal::from(5))
    );
    assert_eq!(*seen.lock().unwrap(), ["after:meter-changed:a"]);
    assert_eq!(
        *reported.lock().unwrap(),
        ["boom/meter-changed: handler panicked: kaboom"]
    );
    // the engine keeps working, and delivering, after the panic
    assert!(e.allow("u", "a", Decimal::from(1)).unwrap());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn nested_events_reach_every_handler_in_commit_order() {
    let e = engine();
    let seen: Seen = Arc::default();
    let inner = Arc::downgrade(&e);
    // the first handler meters `b` when it sees `a`: that call commits after the call on `a`
    e.add_handler("caller", move |ev: &Event| {
        if ev.payload()["entitlement"] == "a"
            && let Some(e) = inner.upgrade()
        {
            e.allow("u", "b", Decimal::ONE).map_err(|x| x.to_string())?;
        }
        Ok(())
    });
    e.add_handler("first", recorder(&seen, "first"));
    e.add_handler("second", recorder(&seen, "second"));
    assert!(e.allow("u", "a", Decimal::ONE).unwrap());
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "first:meter-changed:a",
            "second:meter-changed:a",
            "first:meter-changed:b",
            "second:meter-changed:b",
        ]
    );
}
