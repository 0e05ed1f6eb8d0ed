//! Idempotency keys: a retry with the same key answers the first answer, changes nothing and fires
//! no event; the same key with other arguments is `IDEMPOTENCY_CONFLICT`; keys expire after the
//! TTL, are bounded per customer and survive `stringify` / `load`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::Decimal;
use limitr_core::{
    CallOptions, CapOptions, Error, Format, Limitr, LoadOptions, ManualClock, NewCustomer,
    ReserveOptions,
};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const T0: i64 = 1_767_225_600_000;
const HOUR: i64 = 3_600_000;

fn doc(extra: &str) -> String {
    format!(
        r#"{{"policy": {{{extra}
  "credits": {{"tok": {{"stof_units": "int"}}}},
  "plans": {{"free": {{"default": true,
    "entitlements": {{
      "chat": {{"limit": {{"credit": "tok", "value": 100, "increment": 10}}}},
      "seats": {{"scope": "org", "limit": {{"credit": "tok", "value": 3}}}}}},
    "topups": {{"boost": {{"credit": "tok", "value": 50}}}}}}}}}}}}"#
    )
}

struct Fixture {
    engine: Limitr,
    clock: Arc<ManualClock>,
    events: Arc<AtomicUsize>,
}

fn counted(engine: Limitr, clock: Arc<ManualClock>) -> Fixture {
    let engine = engine.with_clock(clock.clone());
    let events = Arc::new(AtomicUsize::new(0));
    let n = events.clone();
    engine.add_handler("count", move |_: &limitr_core::Event| {
        n.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    Fixture {
        engine,
        clock,
        events,
    }
}

fn fixture_with(extra: &str) -> Fixture {
    let clock = Arc::new(ManualClock::new(T0));
    let f = counted(Limitr::from_json(&doc(extra)).unwrap(), clock);
    f.engine.create_customer("u1", None).unwrap();
    f
}

fn fixture() -> Fixture {
    fixture_with("")
}

fn keyed(key: &str) -> CallOptions {
    CallOptions {
        idempotency_key: Some(key.into()),
        ..CallOptions::default()
    }
}

fn d(v: i64) -> Decimal {
    Decimal::from(v)
}

fn code<T: std::fmt::Debug>(r: limitr_core::Result<T>) -> &'static str {
    r.unwrap_err().code()
}

impl Fixture {
    fn record(&self, id: &str) -> Value {
        self.engine.customer_record(id).unwrap()
    }
    fn used(&self) -> Decimal {
        self.engine
            .value("u1", "chat", false, true)
            .unwrap()
            .unwrap()
    }
    fn fired(&self) -> usize {
        self.events.load(Ordering::SeqCst)
    }
    /// Runs `call` (the retry) and checks it answers `first`, changes no record and fires nothing.
    fn retry_is_inert<T: PartialEq + std::fmt::Debug>(
        &self,
        ids: &[&str],
        first: &T,
        call: impl FnOnce() -> limitr_core::Result<T>,
    ) {
        let before: Vec<Value> = ids.iter().map(|id| self.record(id)).collect();
        let events = self.fired();
        assert_eq!(
            &call().unwrap(),
            first,
            "the retry answers the first answer"
        );
        let after: Vec<Value> = ids.iter().map(|id| self.record(id)).collect();
        assert_eq!(before, after, "the retry changes nothing");
        assert_eq!(self.fired(), events, "the retry fires no event");
    }
}

// ---- each operation: same key twice, then the same key with other arguments --------------------

#[test]
fn allow_retry_and_conflict() {
    let f = fixture();
    let e = &f.engine;
    let first = e.allow_with("u1", "chat", d(60), &keyed("a")).unwrap();
    assert!(first);
    assert!(f.fired() > 0 || !e.handlers().active());
    f.retry_is_inert(&["u1"], &first, || {
        e.allow_with("u1", "chat", d(60), &keyed("a"))
    });
    assert_eq!(f.used(), d(60));
    let before = f.record("u1");
    assert_eq!(
        code(e.allow_with("u1", "chat", d(61), &keyed("a"))),
        "IDEMPOTENCY_CONFLICT"
    );
    assert_eq!(
        code(e.allow_with("u1", "other", d(60), &keyed("a"))),
        "IDEMPOTENCY_CONFLICT"
    );
    let other_options = CallOptions {
        event_data: Some(serde_json::json!({"model": "x"})),
        ..keyed("a")
    };
    let err = e
        .allow_with("u1", "chat", d(60), &other_options)
        .unwrap_err();
    assert!(
        matches!(&err, Error::IdempotencyConflict { key, operation } if key == "a" && operation == "allow"),
        "{err:?}"
    );
    assert_eq!(f.record("u1"), before, "a conflict changes nothing");
    // a value written differently is the same argument
    assert!(
        e.allow_with("u1", "chat", Decimal::new(600, 1), &keyed("a"))
            .unwrap()
    );
    assert_eq!(f.used(), d(60));
    // other keys and unkeyed calls still meter
    assert!(e.allow_with("u1", "chat", d(10), &keyed("b")).unwrap());
    assert!(e.allow("u1", "chat", d(10)).unwrap());
    assert_eq!(f.used(), d(80));
}

#[test]
fn keys_belong_to_their_customer() {
    let f = fixture();
    let e = &f.engine;
    e.create_customer("u2", None).unwrap();
    assert!(e.allow_with("u1", "chat", d(60), &keyed("k")).unwrap());
    // the same key on another customer is another call
    assert!(e.allow_with("u2", "chat", d(70), &keyed("k")).unwrap());
    assert_eq!(e.value("u2", "chat", false, true).unwrap(), Some(d(70)));
    // through an alt id the key is the primary customer's
    assert!(e.add_alt_id("u1", "alias").unwrap());
    f.retry_is_inert(&["u1"], &true, || {
        e.allow_with("alias", "chat", d(60), &keyed("k"))
    });
}

#[test]
fn a_denied_allow_is_remembered() {
    let f = fixture();
    let e = &f.engine;
    assert!(!e.allow_with("u1", "chat", d(150), &keyed("big")).unwrap());
    // the limit is raised: the retry still answers the stored false and meters nothing
    let fields = serde_json::json!({"value": 1000});
    assert!(
        e.create_customer_override("u1", "chat", fields.as_object().unwrap(), None)
            .unwrap()
    );
    f.retry_is_inert(&["u1"], &false, || {
        e.allow_with("u1", "chat", d(150), &keyed("big"))
    });
    assert_eq!(f.used(), d(0));
    // a new key passes now
    assert!(e.allow_with("u1", "chat", d(150), &keyed("big-2")).unwrap());
}

#[test]
fn increment_decrement_set_retry_and_conflict() {
    let f = fixture();
    let e = &f.engine;
    assert!(e.increment("u1", "chat", &keyed("i")).unwrap());
    f.retry_is_inert(&["u1"], &true, || e.increment("u1", "chat", &keyed("i")));
    assert_eq!(f.used(), d(10));
    assert_eq!(
        code(e.decrement("u1", "chat", &keyed("i"))),
        "IDEMPOTENCY_CONFLICT"
    );
    assert!(e.decrement("u1", "chat", &keyed("dec")).unwrap());
    f.retry_is_inert(&["u1"], &true, || e.decrement("u1", "chat", &keyed("dec")));
    assert_eq!(f.used(), d(0));
    assert_eq!(
        code(e.increment("u1", "chat", &keyed("dec"))),
        "IDEMPOTENCY_CONFLICT"
    );
    assert!(e.set("u1", "chat", d(42), &keyed("s")).unwrap());
    // the retry finds the meter at 42 already; another caller moved it since: still inert
    assert!(e.allow("u1", "chat", d(8)).unwrap());
    f.retry_is_inert(&["u1"], &true, || e.set("u1", "chat", d(42), &keyed("s")));
    assert_eq!(f.used(), d(50));
    assert_eq!(
        code(e.set("u1", "chat", d(43), &keyed("s"))),
        "IDEMPOTENCY_CONFLICT"
    );
    // `set` and `allow` with the same numbers are different calls
    assert_eq!(
        code(e.allow_with("u1", "chat", d(42), &keyed("s"))),
        "IDEMPOTENCY_CONFLICT"
    );
    assert_eq!(f.used(), d(50));
}

fn reserve_keyed(key: &str, value: i64) -> ReserveOptions {
    ReserveOptions {
        value: Some(d(value)),
        idempotency_key: Some(key.into()),
        ..ReserveOptions::default()
    }
}

#[test]
fn reserve_settle_release_retry_and_conflict() {
    let f = fixture();
    let e = &f.engine;
    let hold = e
        .reserve("u1", "chat", &reserve_keyed("r", 30))
        .unwrap()
        .expect("a hold");
    f.retry_is_inert(&["u1"], &Some(hold.clone()), || {
        e.reserve("u1", "chat", &reserve_keyed("r", 30))
    });
    assert_eq!(e.held("u1", "chat").unwrap(), Some(d(30)));
    assert_eq!(
        code(e.reserve("u1", "chat", &reserve_keyed("r", 31))),
        "IDEMPOTENCY_CONFLICT"
    );
    // a reserve that finds no room is remembered too
    assert_eq!(
        e.reserve("u1", "chat", &reserve_keyed("r-big", 500))
            .unwrap(),
        None
    );
    f.retry_is_inert(&["u1"], &None, || {
        e.reserve("u1", "chat", &reserve_keyed("r-big", 500))
    });

    // settle: metered once
    assert!(
        e.settle("u1", "chat", &hold, d(25), true, &keyed("st"))
            .unwrap()
    );
    f.retry_is_inert(&["u1"], &true, || {
        e.settle("u1", "chat", &hold, d(25), true, &keyed("st"))
    });
    assert_eq!(f.used(), d(25));
    assert_eq!(e.held("u1", "chat").unwrap(), Some(d(0)));
    assert_eq!(
        code(e.settle("u1", "chat", &hold, d(25), false, &keyed("st"))),
        "IDEMPOTENCY_CONFLICT"
    );

    // release: the first answer (true) comes back although the hold is gone
    let h2 = e
        .reserve("u1", "chat", &reserve_keyed("r2", 20))
        .unwrap()
        .unwrap();
    assert!(e.release_with("u1", "chat", &h2, Some("rel")).unwrap());
    f.retry_is_inert(&["u1"], &true, || {
        e.release_with("u1", "chat", &h2, Some("rel"))
    });
    assert!(
        !e.release("u1", "chat", &h2).unwrap(),
        "unkeyed: already gone"
    );
    assert_eq!(
        code(e.release_with("u1", "chat", &hold, Some("rel"))),
        "IDEMPOTENCY_CONFLICT"
    );
    assert_eq!(
        code(e.release_with("u1", "chat", &h2, Some(""))),
        "INVALID_ARGUMENT"
    );
}

#[test]
fn topup_retry_and_conflict() {
    let f = fixture();
    let e = &f.engine;
    assert!(
        e.apply_customer_topup_with("u1", "boost", Some("t"))
            .unwrap()
    );
    f.retry_is_inert(&["u1"], &true, || {
        e.apply_customer_topup_with("u1", "boost", Some("t"))
    });
    let grants = f.record("u1")["grants"].as_object().unwrap().len();
    assert_eq!(grants, 1, "granted once");
    let before = f.record("u1");
    assert!(
        !e.apply_customer_topup_with("u1", "nope", Some("t"))
            .unwrap(),
        "an unknown top-up answers false before the key is looked at"
    );
    assert_eq!(
        code(e.allow_with("u1", "chat", d(1), &keyed("t"))),
        "IDEMPOTENCY_CONFLICT"
    );
    assert_eq!(f.record("u1"), before);
}

#[test]
fn create_customer_retry_and_conflict() {
    let f = fixture();
    let e = &f.engine;
    let new = NewCustomer {
        label: Some("Ada".into()),
        idempotency_key: Some("c".into()),
        ..NewCustomer::default()
    };
    let first = e.create_customer_with("ada", &new).unwrap();
    assert_eq!(first["label"], "Ada");
    assert!(
        first["meters"]["chat"].is_object(),
        "created with its meters"
    );
    assert!(e.allow("ada", "chat", d(5)).unwrap());
    // the retry answers the record as it was created, and does not touch the customer
    f.retry_is_inert(&["ada"], &first, || e.create_customer_with("ada", &new));
    let other = NewCustomer {
        label: Some("Bob".into()),
        ..new.clone()
    };
    let before = f.record("ada");
    assert_eq!(
        code(e.create_customer_with("ada", &other)),
        "IDEMPOTENCY_CONFLICT"
    );
    assert_eq!(f.record("ada"), before);
    // a key on an update of an existing customer is recorded too
    let update = NewCustomer {
        metadata: serde_json::json!({"tier": 1}).as_object().unwrap().clone(),
        idempotency_key: Some("upd".into()),
        ..NewCustomer::default()
    };
    let updated = e.create_customer_with("u1", &update).unwrap();
    assert_eq!(updated["metadata"]["tier"], 1);
    f.retry_is_inert(&["u1"], &updated, || e.create_customer_with("u1", &update));
}

#[test]
fn a_rejected_call_records_no_key() {
    let f = fixture();
    let e = &f.engine;
    let before = f.record("u1");
    let bad = CallOptions {
        overhead: Some(Decimal::MAX),
        ..keyed("x")
    };
    assert_eq!(
        code(e.allow_with("u1", "chat", d(1), &bad)),
        "INVALID_ARGUMENT"
    );
    assert_eq!(f.record("u1"), before);
    // the key is free for the real call
    assert!(e.allow_with("u1", "chat", d(1), &keyed("x")).unwrap());
    // bad keys are refused, naming the argument
    let long = CallOptions {
        idempotency_key: Some("k".repeat(256)),
        ..CallOptions::default()
    };
    let err = e.allow_with("u1", "chat", d(1), &long).unwrap_err();
    assert!(err.to_string().starts_with("idempotency_key:"), "{err}");
    assert_eq!(
        code(e.allow_with("u1", "chat", d(1), &keyed(""))),
        "INVALID_ARGUMENT"
    );
}

// ---- TTL ---------------------------------------------------------------------------------------

#[test]
fn a_key_expires_after_the_default_ttl() {
    let f = fixture();
    let e = &f.engine;
    assert_eq!(e.idempotency_ttl(), 24 * HOUR);
    assert!(e.allow_with("u1", "chat", d(10), &keyed("k")).unwrap());
    f.clock.advance(24 * HOUR - 1);
    assert!(e.allow_with("u1", "chat", d(10), &keyed("k")).unwrap());
    assert_eq!(f.used(), d(10), "still inside the TTL");
    // other arguments conflict inside the TTL, but not after it
    assert_eq!(
        code(e.allow_with("u1", "chat", d(11), &keyed("k"))),
        "IDEMPOTENCY_CONFLICT"
    );
    f.clock.advance(1);
    assert!(e.allow_with("u1", "chat", d(11), &keyed("k")).unwrap());
    assert_eq!(f.used(), d(21), "after the TTL the key applies again");
    let keys = &f.record("u1")["idempotency_keys"];
    assert_eq!(keys.as_object().unwrap().len(), 1);
    assert_eq!(keys["k"]["at"], T0 + 24 * HOUR);
}

#[test]
fn the_policy_sets_the_ttl() {
    let f = fixture_with(r#""idempotency_ttl": "1hr","#);
    let e = &f.engine;
    assert_eq!(e.idempotency_ttl(), HOUR);
    assert!(e.allow_with("u1", "chat", d(10), &keyed("k")).unwrap());
    f.clock.advance(HOUR - 1);
    assert!(e.allow_with("u1", "chat", d(10), &keyed("k")).unwrap());
    assert_eq!(f.used(), d(10));
    f.clock.advance(1);
    assert!(e.allow_with("u1", "chat", d(10), &keyed("k")).unwrap());
    assert_eq!(f.used(), d(20));
    // a bad TTL names its path
    for bad in [r#""idempotency_ttl": "soon","#, r#""idempotency_ttl": 0,"#] {
        let err = Limitr::from_json(&doc(bad)).unwrap_err();
        assert_eq!(err.code(), "POLICY_INVALID");
        assert_eq!(err.issues()[0].path, "policy.idempotency_ttl", "{err}");
    }
}

#[test]
fn the_load_option_wins_over_the_policy() {
    let text = doc(r#""idempotency_ttl": "1hr","#);
    let options = LoadOptions {
        idempotency_ttl_ms: Some(60_000),
        ..LoadOptions::default()
    };
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Limitr::load_with(&text, Format::Json, options).unwrap();
    assert_eq!(engine.idempotency_ttl(), 60_000);
    let f = counted(engine, clock);
    let e = &f.engine;
    e.create_customer("u1", None).unwrap();
    assert!(e.allow_with("u1", "chat", d(10), &keyed("k")).unwrap());
    f.clock.advance(59_999);
    assert!(e.allow_with("u1", "chat", d(10), &keyed("k")).unwrap());
    assert_eq!(f.used(), d(10));
    f.clock.advance(1);
    assert!(e.allow_with("u1", "chat", d(10), &keyed("k")).unwrap());
    assert_eq!(f.used(), d(20));
    let bad = LoadOptions {
        idempotency_ttl_ms: Some(0),
        ..LoadOptions::default()
    };
    let err = Limitr::load_with(&text, Format::Json, bad).unwrap_err();
    assert!(err.to_string().starts_with("idempotency_ttl_ms:"), "{err}");
}

// ---- bound and round trip ------------------------------------------------------------------------

#[test]
fn a_customer_keeps_at_most_1000_keys_the_oldest_forgotten() {
    let f = fixture();
    let e = &f.engine;
    for i in 0..1_001 {
        assert!(
            e.set("u1", "chat", d(i % 50), &keyed(&format!("k{i}")))
                .unwrap()
        );
        f.clock.advance(1);
    }
    let keys = f.record("u1")["idempotency_keys"].clone();
    let keys = keys.as_object().unwrap();
    assert_eq!(keys.len(), limitr_core::idempotency::MAX_KEYS);
    assert!(!keys.contains_key("k0") && keys.contains_key("k1") && keys.contains_key("k1000"));
    // the forgotten key applies again; a remembered one does not
    assert!(e.set("u1", "chat", d(7), &keyed("k1000")).is_err());
    assert!(e.set("u1", "chat", d(7), &keyed("k0")).unwrap());
    assert_eq!(f.used(), d(7));
}

#[test]
fn keys_survive_stringify_and_load() {
    let f = fixture();
    let e = &f.engine;
    assert!(e.allow_with("u1", "chat", d(60), &keyed("a")).unwrap());
    let hold = e
        .reserve("u1", "chat", &reserve_keyed("r", 10))
        .unwrap()
        .unwrap();
    for format in [Format::Json, Format::Yaml, Format::Toml] {
        let text = e.stringify(format).unwrap();
        let g = counted(Limitr::load(&text, format).unwrap(), f.clock.clone());
        assert_eq!(
            g.record("u1"),
            f.record("u1"),
            "{format:?}: the record round-trips"
        );
        g.retry_is_inert(&["u1"], &true, || {
            g.engine.allow_with("u1", "chat", d(60), &keyed("a"))
        });
        g.retry_is_inert(&["u1"], &Some(hold.clone()), || {
            g.engine.reserve("u1", "chat", &reserve_keyed("r", 10))
        });
        assert_eq!(
            code(g.engine.allow_with("u1", "chat", d(1), &keyed("a"))),
            "IDEMPOTENCY_CONFLICT"
        );
    }
    // a damaged key record is refused with its path
    let mut root: Value = serde_json::from_str(&e.stringify(Format::Json).unwrap()).unwrap();
    root["policy"]["customers"]["u1"]["idempotency_keys"]["a"] =
        serde_json::json!({"answer": true});
    let err = Limitr::from_value(&root).unwrap_err();
    assert_eq!(
        err.issues()[0].path,
        "policy.customers.u1.idempotency_keys.a"
    );
}

#[test]
fn a_plain_customer_record_has_no_keys() {
    let f = fixture();
    assert!(f.engine.allow("u1", "chat", d(1)).unwrap());
    assert!(f.record("u1").get("idempotency_keys").is_none());
    assert!(f.engine.customer("u1").unwrap().profile.is_none());
}

// ---- other paths: caps, scoped entitlements ------------------------------------------------------

#[test]
fn keyed_allow_through_the_cap_path() {
    let f = fixture();
    let e = &f.engine;
    e.add_customer_cap(
        "u1",
        d(1_000),
        &CapOptions {
            credit: Some("tok".into()),
            ..CapOptions::default()
        },
    )
    .unwrap()
    .unwrap();
    assert!(e.allow_with("u1", "chat", d(30), &keyed("c")).unwrap());
    f.retry_is_inert(&["u1"], &true, || {
        e.allow_with("u1", "chat", d(30), &keyed("c"))
    });
    assert_eq!(f.used(), d(30));
    let cap = e.customer_cap("u1", "cap_1").unwrap();
    assert_eq!(cap["meter_value"], 30);
    assert_eq!(
        code(e.allow_with("u1", "chat", d(31), &keyed("c"))),
        "IDEMPOTENCY_CONFLICT"
    );
    // call-scoped caps are options: a denial by one is remembered, other caps conflict
    let tight = CallOptions {
        caps: vec![("tok".into(), d(5))],
        ..keyed("t")
    };
    assert!(!e.allow_with("u1", "chat", d(10), &tight).unwrap());
    f.retry_is_inert(&["u1"], &false, || {
        e.allow_with("u1", "chat", d(10), &tight)
    });
    assert_eq!(
        code(e.allow_with("u1", "chat", d(10), &keyed("t"))),
        "IDEMPOTENCY_CONFLICT"
    );
}

#[test]
fn keyed_allow_on_a_scoped_entitlement() {
    let f = fixture();
    let e = &f.engine;
    let org = NewCustomer {
        kind: Some("org".into()),
        plan: Some("free".into()),
        ..NewCustomer::default()
    };
    e.create_customer_with("acme", &org).unwrap();
    let user = NewCustomer {
        refs: vec!["acme".into()],
        ..NewCustomer::default()
    };
    e.create_customer_with("ann", &user).unwrap();
    e.create_customer_with("bob", &user).unwrap();
    assert!(e.allow_with("ann", "seats", d(2), &keyed("seat")).unwrap());
    // the org's meter moved; the key is the caller's
    assert_eq!(e.value("acme", "seats", false, true).unwrap(), Some(d(2)));
    assert!(f.record("ann")["idempotency_keys"]["seat"].is_object());
    assert!(f.record("acme").get("idempotency_keys").is_none());
    f.retry_is_inert(&["ann", "acme"], &true, || {
        e.allow_with("ann", "seats", d(2), &keyed("seat"))
    });
    // another member's same key is its own call
    assert!(e.allow_with("bob", "seats", d(1), &keyed("seat")).unwrap());
    assert_eq!(e.value("acme", "seats", false, true).unwrap(), Some(d(3)));
    assert_eq!(
        code(e.allow_with("ann", "seats", d(1), &keyed("seat"))),
        "IDEMPOTENCY_CONFLICT"
    );
    // the same through the cap path (a shared cap on the org)
    e.add_customer_cap(
        "acme",
        d(100),
        &CapOptions {
            credit: Some("tok".into()),
            shared: true,
            ..CapOptions::default()
        },
    )
    .unwrap()
    .unwrap();
    assert!(!e.allow_with("ann", "seats", d(1), &keyed("full")).unwrap());
    f.retry_is_inert(&["ann", "acme"], &false, || {
        e.allow_with("ann", "seats", d(1), &keyed("full"))
    });
    assert!(
        e.allow_with("bob", "seats", d(-1), &keyed("free-one"))
            .unwrap()
    );
    f.retry_is_inert(&["bob", "acme"], &true, || {
        e.allow_with("bob", "seats", d(-1), &keyed("free-one"))
    });
    assert_eq!(e.value("acme", "seats", false, true).unwrap(), Some(d(2)));
    assert!(f.record("bob")["idempotency_keys"]["free-one"].is_object());
}
