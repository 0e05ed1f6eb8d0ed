//! `export_customer` / `import_customer` move one customer (meters, holds, grants, caps, alt ids)
//! between engines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::Decimal;
use limitr_core::{CapOptions, Limitr, ManualClock, ReserveOptions};
use std::sync::Arc;

const DOC: &str = include_str!("../../../tests/policies/quickstart.json");
const T0: i64 = 1_767_225_600_000;

fn engine() -> Limitr {
    Limitr::from_json(DOC)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(T0)))
}

#[test]
fn a_customer_moves_with_everything_it_holds() {
    let a = engine();
    a.create_customer("u1", Some("growth")).unwrap();
    assert!(
        a.allow("u1", "ai-chat-input", Decimal::from(650_000))
            .unwrap()
    );
    assert!(a.apply_customer_topup("u1", "ai-token-small").unwrap());
    let hold = ReserveOptions {
        value: Some(Decimal::from(40_000)),
        ..ReserveOptions::default()
    };
    a.reserve("u1", "ai-chat-input", &hold).unwrap().unwrap();
    a.add_customer_cap("u1", Decimal::from(1), &CapOptions::default())
        .unwrap()
        .unwrap();
    assert!(a.add_alt_id("u1", "ada@example.com").unwrap());
    let record = a.export_customer("ada@example.com").unwrap().unwrap();

    let b = engine();
    assert!(!b.import_customer(&record).unwrap(), "a new customer");
    assert_eq!(b.export_customer("u1").unwrap().unwrap(), record);
    assert_eq!(
        b.held("ada@example.com", "ai-chat-input").unwrap(),
        Some(Decimal::from(40_000))
    );
    // the same next answers on both engines, the cap included
    for v in [10_000, 100_000, 400_000] {
        assert_eq!(
            a.allow("u1", "ai-chat-input", Decimal::from(v)).unwrap(),
            b.allow("u1", "ai-chat-input", Decimal::from(v)).unwrap(),
            "allow {v}"
        );
    }
    assert_eq!(a.customer_record("u1"), b.customer_record("u1"));
    // importing over an existing customer replaces it
    assert!(b.import_customer(&record).unwrap());
    assert_eq!(b.export_customer("u1").unwrap().unwrap(), record);
}

#[test]
fn a_bad_record_is_refused_naming_its_field_and_changes_nothing() {
    let b = engine();
    b.create_customer("u1", None).unwrap();
    let before = b.customers();
    let mut record = b.export_customer("u1").unwrap().unwrap();
    record["meters"] = serde_json::json!({"ai-chat-input": {"credit": "claude-sonnet-4-input"}});
    let e = b.import_customer(&record).unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT");
    assert!(
        e.to_string().starts_with("record: meters.ai-chat-input"),
        "{e}"
    );
    let e = b.import_customer(&serde_json::json!("u1")).unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT");
    assert_eq!(b.customers(), before);
    assert_eq!(b.export_customer("nobody").unwrap(), None);
}
