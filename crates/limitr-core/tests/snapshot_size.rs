//! A document the engine wrote always loads back (hostile 2): the size cap counts the policy a
//! person writes, not the customers the engine keeps in it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::Decimal;
use limitr_core::{Format, Limitr, LoadOptions, ManualClock};
use std::sync::Arc;

const DOC: &str = include_str!("../../../tests/policies/quickstart.json");
const CAP: usize = limitr_core::policy::format::DEFAULT_MAX_DOCUMENT_BYTES;

#[test]
fn a_snapshot_of_50k_customers_loads_back_under_the_default_cap() {
    let p = Limitr::from_json(DOC)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(1_767_225_600_000)));
    let n = 50_000;
    for i in 0..n {
        let id = format!("customer-{i:06}");
        p.create_customer(&id, Some(if i % 2 == 0 { "growth" } else { "starter" }))
            .unwrap();
        p.allow(&id, "ai-chat-input", Decimal::from(i % 97))
            .unwrap();
    }
    let text = p.stringify(Format::Json).unwrap();
    assert!(text.len() > CAP, "{} bytes", text.len());
    let back = Limitr::load(&text, Format::Json).unwrap();
    assert_eq!(back.customers().len(), n);
    assert_eq!(
        back.customer("customer-000042"),
        p.customer("customer-000042")
    );
    // the journal's and the bindings' reader agrees
    let tree = Format::Json.read_document(&text, CAP).unwrap();
    assert_eq!(tree["policy"]["customers"].as_object().unwrap().len(), n);
}

#[test]
fn the_cap_still_counts_the_policy_outside_customers() {
    let mut doc: serde_json::Value = serde_json::from_str(DOC).unwrap();
    doc["policy"]["description"] = serde_json::Value::String("x".repeat(2_000));
    doc["policy"]["customers"] = serde_json::json!({
        "ada": {"id": "ada", "plan": "growth", "metadata": {"note": "y".repeat(5_000)}}
    });
    let text = doc.to_string();
    let small = |max| LoadOptions {
        max_document_bytes: max,
        ..LoadOptions::default()
    };
    // over the cap only through its customers: loads
    let p = Limitr::load_with(&text, Format::Json, small(4_000)).unwrap();
    assert!(p.customer("ada").is_some());
    assert!(Format::Json.read_document(&text, 4_000).is_ok());
    // its policy alone over the cap: refused, with the policy's size
    for err in [
        Limitr::load_with(&text, Format::Json, small(1_000)).unwrap_err(),
        Format::Json.read_document(&text, 1_000).unwrap_err(),
    ] {
        assert_eq!(err.code(), "DOCUMENT_TOO_LARGE", "{err}");
        assert!(!err.to_string().contains(&text.len().to_string()), "{err}");
    }
    // malformed text over the cap: refused by size, as before
    let broken = format!("{}{{", text);
    assert_eq!(
        Limitr::load_with(&broken, Format::Json, small(4_000))
            .unwrap_err()
            .code(),
        "DOCUMENT_TOO_LARGE"
    );
    // YAML counts the whole text
    let yaml = Format::Yaml.write(&doc).unwrap();
    assert_eq!(
        Limitr::load_with(&yaml, Format::Yaml, small(4_000))
            .unwrap_err()
            .code(),
        "DOCUMENT_TOO_LARGE"
    );
}
