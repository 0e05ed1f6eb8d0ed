//! `limitr invoice`: lines that sum exactly to the total after rounding (flat, tiered, volume),
//! grants applied, CSV, and bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;
use common::{example, limitr, scratch};
use limitr_core::number::{Decimal, parse_decimal};
use limitr_core::{Format, Limitr, ManualClock};
use predicates::prelude::*;
use std::sync::Arc;

const POLICY: &str = r#"{"policy": {
  "credits": {
    "flat": {"price": {"amount": 0.0123}},
    "tiered": {"pricing_model": "tiered", "tiers": [
      {"up_to": 7, "price": {"amount": 0.0337}}, {"up_to": 50, "price": {"amount": 0.0211}},
      {"price": {"amount": 0.0049}}]},
    "volume": {"pricing_model": "volume", "tiers": [
      {"up_to": 20, "price": {"amount": 0.0171}}, {"price": {"amount": 0.0093}}]},
    "gift": {}},
  "plans": {"pro": {"default": true, "entitlements": {
    "a": {"limit": {"credit": "flat", "value": 10, "mode": "soft"}},
    "b": {"limit": {"credit": "tiered", "value": 10, "mode": "soft"}},
    "c": {"limit": {"credit": "volume", "value": 10, "mode": "soft"}},
    "d": {"limit": {"credit": "flat", "value": 10}}},
    "topups": {"pack": {"credit": "flat", "value": 5, "resets": true, "reset_inc": "60days"}}}},
  "exchange": {"rune": {"value": 1, "currency": "usd"}}}}"#;
const T0: i64 = 1_767_225_600_000; // 2026-01-01

fn d(v: &serde_json::Value) -> Decimal {
    parse_decimal(v.as_str().unwrap_or(&v.to_string())).unwrap()
}

/// 40 customers with pseudo-random usage (fractional units) on every priced entitlement.
fn state() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let engine = Limitr::from_json(POLICY)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(T0)));
    let mut x: u64 = 17;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % 9000
    };
    for i in 0..40 {
        let id = format!("c{i:02}");
        engine.create_customer(&id, None).unwrap();
        for ent in ["a", "b", "c"] {
            let units = Decimal::new(i64::try_from(next()).unwrap(), 2); // 0.00 … 89.99
            assert!(engine.allow(&id, ent, units).unwrap());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, engine.stringify(Format::Json).unwrap()).unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, POLICY).unwrap();
    (dir, policy, state)
}

fn invoice(policy: &std::path::Path, state: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    invoice_in(policy, state, ["2026-01-01", "2026-01-31"], extra)
}

fn invoice_in(
    policy: &std::path::Path,
    state: &std::path::Path,
    range: [&str; 2],
    extra: &[&str],
) -> serde_json::Value {
    let out = limitr()
        .arg("invoice")
        .arg("--policy")
        .arg(policy)
        .arg("--state")
        .arg(state)
        .args(["--from", range[0], "--to", range[1], "--json"])
        .args(extra)
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn lines_sum_exactly_to_the_total_for_flat_tiered_and_volume_prices() {
    let (_d, policy, state) = state();
    let v = invoice(&policy, &state, &[]);
    let cent = Decimal::new(1, 2);
    let half = Decimal::new(5, 3);
    let mut grand = Decimal::ZERO;
    let mut models = std::collections::BTreeSet::new();
    let mut off_by_rounding = 0;
    for inv in v["invoices"].as_array().unwrap() {
        let mut sum = Decimal::ZERO;
        for l in inv["lines"].as_array().unwrap() {
            let (amount, exact) = (d(&l["amount"]), d(&l["exact_amount"]));
            let text = l["amount"].as_str().unwrap();
            assert_eq!(text.split('.').nth(1).map(str::len), Some(2), "{l}");
            assert!((amount - exact).abs() <= half, "{l}");
            assert_eq!((amount / cent).fract(), Decimal::ZERO);
            off_by_rounding += usize::from(amount != exact);
            models.insert(l["pricing"].as_str().unwrap().to_string());
            if l["pricing"] == "tiered" && d(&l["billed_units"]) > Decimal::ZERO {
                let tiers = l["tiers"].as_array().unwrap();
                let units: Decimal = tiers.iter().map(|t| d(&t["units"])).sum();
                assert_eq!(units, d(&l["billed_units"]), "{l}");
                let parts: Decimal = tiers.iter().map(|t| d(&t["amount"])).sum();
                assert_eq!(parts, exact, "{l}");
            }
            sum += amount;
        }
        assert_eq!(sum, d(&inv["total"]), "{inv}");
        grand += sum;
    }
    assert_eq!(grand, d(&v["total"]));
    assert!(off_by_rounding > 10, "the data should need rounding");
    for m in ["flat", "tiered", "volume"] {
        assert!(models.contains(m), "{models:?}");
    }
}

#[test]
fn grants_are_applied_before_overage_is_billed() {
    let engine = Limitr::from_json(POLICY)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(T0)));
    engine.create_customer("ada", None).unwrap();
    assert!(engine.apply_customer_topup("ada", "pack").unwrap());
    assert!(engine.allow("ada", "a", 13.into()).unwrap()); // 3 past the limit, paid by the pack
    assert!(engine.allow("ada", "a", 4.into()).unwrap()); // 2 more from the pack, 2 billed
    // (a resetting grant stays, at 0, when drained: the state shows what it gave; a drained
    // one-time grant leaves the state, and with it the record of its draws)
    let (_d, state) = scratch("state.json", &engine.stringify(Format::Json).unwrap());
    let (_d2, policy) = scratch("policy.json", POLICY);
    let v = invoice(&policy, &state, &["--customer", "ada"]);
    let line = &v["invoices"][0]["lines"][0];
    assert_eq!(line["entitlement"], "a");
    assert_eq!(line["used"], 17);
    assert_eq!(line["overage_units"], 7);
    assert_eq!(line["grants_applied"], 5);
    assert_eq!(line["billed_units"], 2);
    assert_eq!(line["amount"], "0.02"); // 2 × 0.0123 = 0.0246
    assert_eq!(v["total"], "0.02");
}

#[test]
fn csv_and_tables() {
    let (_d, policy, state) = state();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("invoice.csv");
    limitr()
        .arg("invoice")
        .arg("--policy")
        .arg(&policy)
        .arg("--state")
        .arg(&state)
        .args(["--from", "2026-01-01", "--to", "2026-01-31", "--csv"])
        .arg(&csv)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Invoice c00 (plan pro)")
                .and(predicate::str::contains("Total of 40 invoices:")),
        );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("customer,plan,entitlement,credit,period_start,period_end,included,used,overage_units,grants_applied,billed_units,pricing,unit_price,tiers,amount,currency\n"));
    assert_eq!(text.lines().count(), 1 + 40 * 4);
}

#[test]
fn the_simulated_example_invoices() {
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
    let v = invoice_in(
        &example("policy.json"),
        &state,
        ["2026-01-07", "2026-01-08"],
        &[],
    );
    assert_eq!(v["invoices"].as_array().unwrap().len(), 12);
    let dee = v["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["customer"] == "dee")
        .unwrap();
    assert!(d(&dee["total"]) > Decimal::ZERO);
}

#[test]
fn bad_input_is_named() {
    let (_d, policy, state) = state();
    let run = |args: &[&str]| {
        limitr()
            .arg("invoice")
            .arg("--policy")
            .arg(&policy)
            .arg("--state")
            .arg(&state)
            .args(args)
            .assert()
    };
    run(&["--from", "2026-02-01", "--to", "2026-01-01"])
        .code(1)
        .stderr(predicate::str::contains(
            "--to (`2026-01-01`) must be after --from (`2026-02-01`)",
        ));
    run(&["--from", "soon", "--to", "2026-01-01"])
        .code(1)
        .stderr(predicate::str::contains(
            "--from: `soon` is not an ISO 8601",
        ));
    run(&[
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
        "--customer",
        "zed",
    ])
    .code(1)
    .stderr(predicate::str::contains("no customer `zed` in the state"));
}
