//! `limitr explain` against saved states made with the engine: the limit, grants, caps and the
//! binding constraint, and bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;
use common::{example, limitr, scratch};
use limitr_core::{CapOptions, Format, Limitr, ManualClock};
use predicates::prelude::*;
use std::sync::Arc;

const POLICY: &str = r#"{"policy": {
  "credits": {"tok": {"stof_units": "int", "price": {"amount": 0.01}}},
  "plans": {"pro": {"default": true,
    "entitlements": {"chat": {"limit": {"credit": "tok", "value": 100, "resets": true, "reset_inc": "1day"}},
                     "soft": {"limit": {"credit": "tok", "value": 100, "mode": "soft"}}},
    "topups": {"pack": {"credit": "tok", "value": 50}}}},
  "exchange": {"rune": {"value": 1, "currency": "usd"}}}}"#;
const AT: &str = "2026-01-01T12:00:00Z";
const T0: i64 = 1_767_268_800_000;

/// A state: ada used 90 of 100 and holds a 50-token grant; cap-bob has a 1-rune cap with 0.95 used.
fn state() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let engine = Limitr::from_json(POLICY)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(T0)));
    engine.create_customer("ada", None).unwrap();
    assert!(engine.allow("ada", "chat", 90.into()).unwrap());
    assert!(engine.apply_customer_topup("ada", "pack").unwrap());
    engine.create_customer("bob", None).unwrap();
    let cap = CapOptions {
        cap_id: Some("budget".into()),
        ..CapOptions::default()
    };
    engine
        .add_customer_cap("bob", 1.into(), &cap)
        .unwrap()
        .unwrap();
    assert!(engine.allow("bob", "chat", 95.into()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, engine.stringify(Format::Json).unwrap()).unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, POLICY).unwrap();
    (dir, policy, state)
}

fn explain(
    policy: &std::path::Path,
    state: &std::path::Path,
    who: &str,
    ent: &str,
    value: &str,
) -> serde_json::Value {
    let out = limitr()
        .arg("explain")
        .arg(policy)
        .arg("--state")
        .arg(state)
        .args([
            "--customer",
            who,
            "--entitlement",
            ent,
            "--value",
            value,
            "--at",
            AT,
            "--json",
        ])
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn within_the_limit_past_it_with_grants_and_past_the_grants() {
    let (_d, policy, state) = state();
    let v = explain(&policy, &state, "ada", "chat", "5");
    assert_eq!(
        (v["allowed"].as_bool(), v["binding"]["kind"].as_str()),
        (Some(true), Some("limit"))
    );
    assert_eq!(v["used"], 90);
    assert_eq!(v["limit"]["value"], 100);
    assert_eq!(v["limit"]["with_grants"], 150);
    assert_eq!(v["grants"]["balance"], 50);
    let v = explain(&policy, &state, "ada", "chat", "40");
    assert_eq!(
        (v["allowed"].as_bool(), v["binding"]["kind"].as_str()),
        (Some(true), Some("grants"))
    );
    let v = explain(&policy, &state, "ada", "chat", "70");
    assert_eq!(
        (v["allowed"].as_bool(), v["reason"].as_str()),
        (Some(false), Some("limit"))
    );
    let text = v["binding"]["text"].as_str().unwrap();
    assert!(
        text.contains("90 + 70 = 160 is past 100 tok by 60, and grants cover 50"),
        "{text}"
    );
}

#[test]
fn a_spend_cap_binds() {
    let (_d, policy, state) = state();
    let v = explain(&policy, &state, "bob", "chat", "5");
    assert_eq!(
        (v["allowed"].as_bool(), v["reason"].as_str()),
        (Some(true), Some("ok"))
    );
    assert_eq!(v["caps"][0]["id"], "budget");
    assert_eq!(v["caps"][0]["fits"], true);
    let v = explain(&policy, &state, "bob", "soft", "10");
    assert_eq!(
        (v["allowed"].as_bool(), v["reason"].as_str()),
        (Some(false), Some("cap"))
    );
    assert_eq!(v["binding"]["kind"], "cap");
    assert!(
        v["binding"]["text"]
            .as_str()
            .unwrap()
            .contains("spend cap `budget`")
    );
}

#[test]
fn the_human_form_and_the_period_reset() {
    let (_d, policy, state) = state();
    limitr()
        .arg("explain")
        .arg(&policy)
        .arg("--state")
        .arg(&state)
        .args([
            "--customer",
            "ada",
            "--entitlement",
            "chat",
            "--value",
            "70",
            "--at",
            AT,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("DENIED (limit)"))
        .stdout(predicate::str::contains(
            "limit: hard 100 tok (resets every 1 day",
        ))
        .stdout(predicate::str::contains("grants: pack 50 tok"))
        .stdout(predicate::str::contains("binding constraint: hard limit"));
    // two days later the daily meter has reset
    let out = limitr()
        .arg("explain")
        .arg(&policy)
        .arg("--state")
        .arg(&state)
        .args([
            "--customer",
            "ada",
            "--entitlement",
            "chat",
            "--value",
            "70",
            "--at",
            "2026-01-03T13:00:00Z",
            "--json",
        ])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        (v["allowed"].as_bool(), v["used"].as_i64()),
        (Some(true), Some(0))
    );
}

#[test]
fn a_simulated_state_of_the_example_explains() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    limitr()
        .arg("simulate")
        .arg("--policy")
        .arg(example("policy.json"))
        .arg("--usage")
        .arg(example("usage.csv"))
        .arg("--customers")
        .arg(example("customers.csv"))
        .arg("--state")
        .arg(&state)
        .assert()
        .success();
    let v = explain(&example("policy.json"), &state, "bob", "chat", "60000");
    assert_eq!(
        (v["allowed"].as_bool(), v["plan"].as_str()),
        (Some(false), Some("starter"))
    );
    let v = explain(&example("policy.json"), &state, "bob", "video", "1");
    assert_eq!(v["binding"]["kind"], "entitlement");
}

#[test]
fn bad_input_is_named() {
    let (_d, policy, state) = state();
    limitr()
        .arg("explain")
        .arg(&policy)
        .arg("--state")
        .arg(&state)
        .args(["--customer", "zed", "--entitlement", "chat", "--at", AT])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no customer `zed` in the state (customers: ada, bob)",
        ));
    limitr()
        .arg("explain")
        .arg(&policy)
        .arg("--state")
        .arg(&state)
        .args(["--customer", "ada", "--entitlement", "chat", "--at", "noon"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--at: `noon` is not an ISO 8601"));
    let (_d2, bad) = scratch("state.json", "[1, 2]");
    limitr()
        .arg("explain")
        .arg(&policy)
        .arg("--state")
        .arg(&bad)
        .args(["--customer", "ada", "--entitlement", "chat"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "state.json`: a state file is a document written by `stringify`",
        ));
    limitr()
        .arg("explain")
        .arg(&policy)
        .arg("--state")
        .arg(&state)
        .args([
            "--customer",
            "ada",
            "--entitlement",
            "chat",
            "--value",
            "lots",
            "--at",
            AT,
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("value: `lots` is not a number"));
}
