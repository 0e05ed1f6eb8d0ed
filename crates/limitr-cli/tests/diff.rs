//! `limitr diff` on the shipped pair (a price increase and a lower starter limit).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;
use common::{example, limitr, scratch};
use predicates::prelude::*;

fn diff() -> assert_cmd::Command {
    let mut c = limitr();
    c.arg("diff")
        .arg("--policy")
        .arg(example("policy.json"))
        .arg("--candidate")
        .arg(example("policy-new.json"))
        .arg("--usage")
        .arg(example("usage.csv"))
        .arg("--customers")
        .arg(example("customers.csv"));
    c
}

#[test]
fn the_example_pair_names_revenue_changes_and_new_denials() {
    let out = diff().arg("--json").assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let customers = v["customers"].as_array().unwrap();
    let mut denied: Vec<&str> = customers
        .iter()
        .filter(|c| c["now_denied"].as_u64().unwrap() > 0)
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    denied.sort_unstable();
    // the lower starter limit: only starter customers are newly denied
    assert!(!denied.is_empty());
    for id in &denied {
        let c = customers.iter().find(|c| c["id"] == *id).unwrap();
        assert_eq!(c["plan"], "starter", "{id}");
        assert_eq!(c["now_allowed"], 0, "{id}");
    }
    // the price increase: soft-limit customers with billed overage pay more, none pay less
    let raised: Vec<&serde_json::Value> = customers
        .iter()
        .filter(|c| c["revenue_change"].as_f64().unwrap() != 0.0)
        .collect();
    assert!(!raised.is_empty());
    assert!(
        raised
            .iter()
            .all(|c| c["revenue_change"].as_f64().unwrap() > 0.0)
    );
    assert!(raised.iter().all(|c| c["plan"] != "starter"));
    let t = &v["totals"];
    let sum_denied: u64 = customers
        .iter()
        .map(|c| c["now_denied"].as_u64().unwrap())
        .sum();
    assert_eq!(t["now_denied"].as_u64().unwrap(), sum_denied);
    assert_eq!(
        t["candidate"]["denied"].as_u64().unwrap(),
        t["policy"]["denied"].as_u64().unwrap() + sum_denied
    );
    assert!(t["revenue_change"].as_f64().unwrap() > 0.0);
    assert_eq!(v["rows"], 420);
}

#[test]
fn the_tables_name_the_customers_and_the_totals() {
    diff()
        .assert()
        .success()
        .stdout(predicate::str::contains("Customers whose revenue changes"))
        .stdout(predicate::str::contains("now denied"))
        .stdout(predicate::str::is_match(r"bob +starter +\d+").unwrap())
        .stdout(predicate::str::contains("Total over 420 rows: revenue"));
}

#[test]
fn a_bad_candidate_is_named() {
    let (_d, p) = scratch("new.json", "{\"policy\": {\"plans\": 3}}");
    limitr()
        .arg("diff")
        .arg("--policy")
        .arg(example("policy.json"))
        .arg("--candidate")
        .arg(&p)
        .arg("--usage")
        .arg(example("usage.csv"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("new.json").and(predicate::str::contains("policy.plans")));
    // a plan of customers.csv that the candidate lacks
    let (_d2, c) = scratch("c.csv", "id,plan\nada,growth\n");
    let (_d3, q) = scratch(
        "q.json",
        r#"{"policy": {"credits": {"t": {}}, "plans": {"starter": {"default": true, "entitlements": {"chat": {"limit": {"credit": "t", "value": 1}}}}}}}"#,
    );
    limitr()
        .arg("diff")
        .arg("--policy")
        .arg(example("policy.json"))
        .arg("--candidate")
        .arg(&q)
        .arg("--usage")
        .arg(example("usage.csv"))
        .arg("--customers")
        .arg(&c)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "c.csv`:2: customer `ada`: unknown plan `growth`",
        ));
}
