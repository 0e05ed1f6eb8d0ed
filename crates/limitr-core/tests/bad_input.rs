//! Bad input gets a typed error with a code and a path, never a panic, and changes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::{Decimal, from_f64};
use limitr_core::{CallOptions, Format, Limitr, LoadOptions, ManualClock, ReserveOptions};
use std::sync::Arc;

const POLICY: &str = include_str!("../../../tests/policies/quickstart.json");

fn code_of(text: &str, format: Format) -> String {
    Limitr::load(text, format).unwrap_err().code().to_string()
}

#[test]
fn malformed_documents_are_parse_errors() {
    assert_eq!(code_of("{\"policy\": ", Format::Json), "POLICY_PARSE");
    assert_eq!(code_of("policy: [unclosed", Format::Yaml), "POLICY_PARSE");
    assert_eq!(code_of("policy = = 1", Format::Toml), "POLICY_PARSE");
    let err = Limitr::load("{\n  \"policy\": {,}\n}", Format::Json).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn stof_and_unknown_formats_are_unsupported() {
    let err = Format::parse("stof").unwrap_err();
    assert_eq!(err.code(), "FORMAT_UNSUPPORTED");
    assert!(err.to_string().contains("stof"), "{err}");
    assert_eq!(
        Format::parse("xml").unwrap_err().code(),
        "FORMAT_UNSUPPORTED"
    );
}

#[test]
fn a_document_over_the_size_limit_is_refused() {
    let big = format!(
        "{{\"policy\": {{\"pad\": \"{}\"}}}}",
        "x".repeat(50 * 1024 * 1024)
    );
    let err = Limitr::load(&big, Format::Json).unwrap_err();
    assert_eq!(err.code(), "DOCUMENT_TOO_LARGE");
    // and it loads when the limit is raised on purpose
    let ok = Limitr::load_with(
        &big,
        Format::Json,
        LoadOptions {
            max_document_bytes: 64 * 1024 * 1024,
            ..LoadOptions::default()
        },
    );
    assert!(ok.is_ok());
}

#[test]
fn yaml_alias_bomb_is_refused() {
    let mut doc = String::from("policy:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        doc.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert_eq!(code_of(&doc, Format::Yaml), "POLICY_PARSE");
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let doc = r#"{"policy": {
      "credits": {"tok": {"overhead_cost": -1, "stof_units": "parsecs"}},
      "plans": {"pro": {"entitlements": {
        "chat": {"limit": {"credit": "tokn", "value": -5, "mode": "sloppy"}},
        "img": {"limit": {"credit": "tok", "value": "lots", "resets": true, "reset_inc": "1day", "reset_sch": "monthly:1"}},
        "cal": {"limit": {"credit": "tok", "resets": true, "reset_sch": "fortnightly"}},
        "tr": {"limit": {"credit": "tok", "mode": "soft", "hard_trailing": true}}
      }, "topups": {"t": {"credit": "nope", "value": 1}}}},
      "exchange": {"x": {"value": -2, "currency": "rune"}, "y": {"value": 1, "currency": "zzz"}}
    }}"#;
    let err = Limitr::from_json(doc).unwrap_err();
    assert_eq!(err.code(), "POLICY_INVALID");
    let paths: Vec<(&str, &str)> = err
        .issues()
        .iter()
        .map(|i| (i.path.as_str(), i.code))
        .collect();
    for expected in [
        ("policy.credits.tok.overhead_cost", "INVALID_VALUE"),
        ("policy.credits.tok.stof_units", "INVALID_VALUE"),
        (
            "policy.plans.pro.entitlements.chat.limit.credit",
            "UNKNOWN_CREDIT",
        ),
        (
            "policy.plans.pro.entitlements.chat.limit.mode",
            "INVALID_VALUE",
        ),
        (
            "policy.plans.pro.entitlements.chat.limit.value",
            "INVALID_VALUE",
        ),
        (
            "policy.plans.pro.entitlements.img.limit.value",
            "INVALID_NUMBER",
        ),
        (
            "policy.plans.pro.entitlements.img.limit.reset_sch",
            "CONFLICT",
        ),
        (
            "policy.plans.pro.entitlements.cal.limit.reset_sch",
            "INVALID_RESET",
        ),
        (
            "policy.plans.pro.entitlements.tr.limit.hard_trailing",
            "CONFLICT",
        ),
        ("policy.plans.pro.topups.t.credit", "UNKNOWN_CREDIT"),
        ("policy.exchange.x.value", "INVALID_VALUE"),
        ("policy.exchange.y.currency", "BROKEN_EXCHANGE"),
    ] {
        assert!(
            paths.contains(&expected),
            "missing {expected:?} in {paths:#?}"
        );
    }
    let msg = err.to_string();
    assert!(
        msg.contains("policy.plans.pro.entitlements.chat.limit.credit: unknown credit `tokn`"),
        "{msg}"
    );
}

#[test]
fn a_document_without_policy_names_what_it_found() {
    let err = Limitr::from_json(r#"{"plans": {}}"#).unwrap_err();
    assert_eq!(err.code(), "POLICY_INVALID");
    assert!(err.to_string().contains("top-level keys: plans"), "{err}");
}

#[test]
fn unknown_fields_are_kept_and_linted() {
    let doc = r#"{"policy": {"colour": "blue", "credits": {"tok": {"flavour": 1}},
      "plans": {"p": {"default": true, "entitlements": {"e": {"limit": {"credit": "tok", "value": 1, "wobble": true}}}}}}}"#;
    let p = Limitr::from_json(doc).unwrap();
    let lint: Vec<&str> = p.lint().iter().map(|i| i.path.as_str()).collect();
    assert!(lint.contains(&"policy.colour"));
    assert!(lint.contains(&"policy.credits.tok.flavour"));
    assert!(lint.contains(&"policy.plans.p.entitlements.e.limit.wobble"));
    let back = p.stringify(Format::Yaml).unwrap();
    assert!(
        back.contains("wobble") && back.contains("colour") && back.contains("flavour"),
        "{back}"
    );
}

#[test]
fn invalid_arguments_are_errors_and_change_nothing() {
    let p = Limitr::from_json(POLICY)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(0)));
    assert_eq!(
        p.create_customer("", None).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
    assert!(p.customer("u").is_none(), "a rejected call creates nothing");
    // an unknown plan is not a bad argument: the customer lands on the default plan
    p.create_customer("u", Some("platinum")).unwrap();
    assert_eq!(
        p.customer("u").unwrap().plan.as_ref(),
        "starter",
        "first default plan"
    );
    let before = p.customer("u");
    assert_eq!(
        p.allow("", "ai-chat-input", Decimal::ONE)
            .unwrap_err()
            .code(),
        "INVALID_ARGUMENT"
    );
    assert_eq!(
        p.allow("u", " ", Decimal::ONE).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
    // unknown references answer false and change nothing; the strict option raises them
    assert!(!p.apply_customer_topup("u", "ai-token-small").unwrap());
    assert!(!p.set_customer_plan("u", "gold", false).unwrap());
    assert_eq!(p.customer("u"), before);
    let strict = Limitr::load_with(
        POLICY,
        Format::Json,
        LoadOptions {
            strict: true,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert!(strict.strict());
    assert_eq!(
        strict
            .create_customer("u", Some("platinum"))
            .unwrap_err()
            .code(),
        "UNKNOWN_PLAN"
    );
    strict.create_customer("u", None).unwrap();
    assert_eq!(
        strict
            .apply_customer_topup("u", "ai-token-small")
            .unwrap_err()
            .code(),
        "UNKNOWN_TOPUP"
    );
    assert_eq!(
        strict
            .set_customer_plan("u", "gold", false)
            .unwrap_err()
            .code(),
        "UNKNOWN_PLAN"
    );
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(from_f64(bad).is_none());
    }
    // unknown customer / entitlement: false or none, no error
    assert!(!p.allow("nobody", "ai-chat-input", Decimal::ONE).unwrap());
    assert!(!p.allow("u", "ai-chat-inptu", Decimal::ONE).unwrap());
    assert_eq!(
        p.value("nobody", "ai-chat-input", false, true).unwrap(),
        None
    );
    assert_eq!(
        p.check_detail("nobody", "x", Decimal::ONE, None)
            .unwrap()
            .reason
            .as_str(),
        "unknown-customer"
    );
    assert_eq!(
        p.check_detail("u", "x", Decimal::ONE, None)
            .unwrap()
            .reason
            .as_str(),
        "unknown-entitlement"
    );
}

#[test]
fn huge_amounts_do_not_panic() {
    let p = Limitr::from_json(POLICY)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(0)));
    p.create_customer("g", Some("growth")).unwrap();
    p.apply_customer_topup("g", "ai-token-small").unwrap();
    let huge = Decimal::MAX;
    // may be allowed or refused, but never panics
    let _ = p.allow("g", "ai-chat-input", huge);
    let _ = p.allow("g", "ai-chat-input", huge);
    let _ = p.allow("g", "ai-chat-output", -huge);
    let _ = p.value("g", "ai-chat-input", true, true);
    let _ = p.remaining("g", "ai-chat-input", true, true);
    assert_eq!(
        p.allow("g", "ai-chat-input", huge).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
    // a meter past the meter range (restored from a document) is a load error at its path
    let mut doc = p.record();
    doc["policy"]["customers"]["g"]["meters"]["ai-chat-output"]["value"] =
        serde_json::Value::String("79228162514264337593543950335".into());
    match Limitr::from_value(&doc).unwrap_err() {
        limitr_core::Error::PolicyInvalid(issues) => assert_eq!(
            issues.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(),
            ["policy.customers.g.meters.ai-chat-output.value"]
        ),
        other => panic!("{other}"),
    }
    // a meter a call left past the safe range (at most by one amount) loads, and refuses calls
    doc["policy"]["customers"]["g"]["meters"]["ai-chat-output"]["value"] =
        serde_json::Value::String(limitr_core::number::MAX_RESTORED_METER.to_string());
    let p = Limitr::from_value(&doc)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(0)));
    let before = p.customer("g");
    let max = limitr_core::number::MAX_AMOUNT;
    assert_eq!(
        p.allow("g", "ai-chat-output", max).unwrap_err().code(),
        "OVERFLOW"
    );
    assert_eq!(
        p.allow("g", "ai-chat-output", -max).unwrap_err().code(),
        "OVERFLOW"
    );
    assert_eq!(p.customer("g"), before, "a refused call changes nothing");
}

#[test]
fn negative_overhead_and_non_positive_ttl_are_refused_naming_the_argument() {
    let p = Limitr::from_json(POLICY)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(0)));
    p.create_customer("u", None).unwrap();
    let before = p.customer("u");
    let named = |e: limitr_core::Error| (e.code(), e.to_string());
    let minus = CallOptions {
        overhead: Some(Decimal::NEGATIVE_ONE),
        ..CallOptions::default()
    };
    let (code, msg) = named(
        p.allow_with("u", "ai-chat-input", Decimal::ONE, &minus)
            .unwrap_err(),
    );
    assert_eq!(code, "INVALID_ARGUMENT");
    assert!(msg.starts_with("overhead:"), "{msg}");
    let (_, msg) = named(
        p.check_detail(
            "u",
            "ai-chat-input",
            Decimal::ONE,
            Some(Decimal::NEGATIVE_ONE),
        )
        .unwrap_err(),
    );
    assert!(msg.starts_with("overhead:"), "{msg}");
    for ttl in [0, -5] {
        let o = ReserveOptions {
            value: Some(Decimal::ONE),
            ttl: Some(ttl),
            ..ReserveOptions::default()
        };
        let (code, msg) = named(p.reserve("u", "ai-chat-input", &o).unwrap_err());
        assert_eq!(code, "INVALID_ARGUMENT");
        assert!(msg.starts_with("ttl:"), "{msg}");
    }
    let o = ReserveOptions {
        value: Some(Decimal::ONE),
        overhead: Some(Decimal::NEGATIVE_ONE),
        ..ReserveOptions::default()
    };
    let (_, msg) = named(p.reserve("u", "ai-chat-input", &o).unwrap_err());
    assert!(msg.starts_with("overhead:"), "{msg}");
    assert_eq!(p.customer("u"), before, "nothing changed");
    // zero overhead is a valid cost (a call that cost nothing)
    let zero = CallOptions {
        overhead: Some(Decimal::ZERO),
        ..CallOptions::default()
    };
    assert!(
        p.allow_with("u", "ai-chat-input", Decimal::ONE, &zero)
            .unwrap()
    );
}
