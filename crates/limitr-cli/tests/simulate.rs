//! `limitr simulate`: the shipped example end to end, every output, and bad input (malformed rows
//! reported with their line, skipped or fatal).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;
use common::{example, limitr, scratch};
use predicates::prelude::*;
use serde_json::Value;

const POLICY: &str = r#"{"policy": {
  "credits": {"tok": {"stof_units": "int", "overhead_cost": 0.5, "price": {"amount": 2}}},
  "plans": {
    "free": {"default": true, "entitlements": {"chat": {"limit": {"credit": "tok", "value": 10}}}},
    "pro": {"entitlements": {"chat": {"limit": {"credit": "tok", "value": 10, "mode": "soft"}}}}},
  "exchange": {"rune": {"value": 1, "currency": "usd"}}}}"#;

fn json_of(out: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn example_run(extra: &[&str]) -> assert_cmd::assert::Assert {
    limitr()
        .arg("simulate")
        .arg("--policy")
        .arg(example("policy.json"))
        .arg("--usage")
        .arg(example("usage.csv"))
        .arg("--customers")
        .arg(example("customers.csv"))
        .args(extra)
        .assert()
        .success()
}

#[test]
fn the_example_replays_into_consistent_figures() {
    let v = json_of(&example_run(&["--json"]));
    assert_eq!(v["rows"], 420);
    assert_eq!(v["skipped"], 0);
    assert_eq!(v["currency"], "usd");
    let customers = v["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 12);
    // kim is not in customers.csv: the default plan
    let kim = customers.iter().find(|c| c["id"] == "kim").unwrap();
    assert_eq!(kim["plan"], "starter");
    let sum = |key: &str| -> f64 { customers.iter().map(|c| c[key].as_f64().unwrap()).sum() };
    assert_eq!(sum("calls"), 420.0);
    assert!((sum("revenue") - v["total"]["revenue"].as_f64().unwrap()).abs() < 1e-9);
    assert!((sum("cost") - v["total"]["cost"].as_f64().unwrap()).abs() < 1e-9);
    // the growth plan's included credit is drawn before overage is billed
    let ada = customers.iter().find(|c| c["id"] == "ada").unwrap();
    let chat = ada["entitlements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entitlement"] == "chat")
        .unwrap();
    assert!(chat["grant_draws"].as_f64().unwrap() > 0.0, "{chat}");
    assert!(chat["revenue"].as_f64().unwrap() > 0.0, "{chat}");
    // starter is a hard limit: bob is denied
    let bob = customers.iter().find(|c| c["id"] == "bob").unwrap();
    assert!(bob["denied"].as_u64().unwrap() > 0);
    let plans: Vec<&str> = v["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plan"].as_str().unwrap())
        .collect();
    assert_eq!(plans, ["starter", "growth", "scale"]);
}

#[test]
fn the_example_writes_tables_csv_html_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let csv = dir.path().join("report.csv");
    let state = dir.path().join("state.json");
    example_run(&[
        "--report",
        html.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ])
    .stdout(predicate::str::contains("Per plan").and(predicate::str::contains("Total: 420 calls")));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.matches("<svg").count() >= 3, "charts");
    for caption in [
        "Cumulative revenue and cost",
        "Revenue, cost and margin per plan",
        "Usage against the limit",
    ] {
        assert!(page.contains(caption), "{caption}");
    }
    let points: Vec<usize> = page
        .split("data-points=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        points.len() >= 4 && points.iter().all(|&n| n > 0),
        "{points:?}"
    );
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("<script"));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("level,id,plan,entitlement,calls,allowed,denied,usage,overage,grant_draws,revenue,cost,margin\n"));
    assert!(text.lines().any(|l| l.starts_with("total,")));
    assert!(
        text.lines()
            .any(|l| l.starts_with("customer-entitlement,ada,growth,chat,"))
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(saved["policy"]["customers"]["ada"].is_object());
}

#[test]
fn malformed_rows_are_reported_with_their_line_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.json");
    std::fs::write(&policy, POLICY).unwrap();
    let usage = dir.path().join("u.csv");
    std::fs::write(
        &usage,
        "timestamp,customer,entitlement,amount\n\
         2026-01-01T00:00:00Z,ada,chat,4\n\
         yesterday,ada,chat,4\n\
         2026-01-01T00:00:02Z,ada,chat,lots\n\
         2026-01-01T00:00:03Z,,chat,1\n\
         2026-01-01T00:00:04Z,ada\n\
         1767225605000,ada,chat,4\n",
    )
    .unwrap();
    let out = limitr()
        .arg("simulate")
        .arg("--policy")
        .arg(&policy)
        .arg("--usage")
        .arg(&usage)
        .arg("--json")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "u.csv:3: row skipped: `timestamp`: `yesterday` is not",
        ))
        .stderr(predicate::str::contains(
            "u.csv:4: row skipped: `amount`: `lots` is not a number",
        ))
        .stderr(predicate::str::contains(
            "u.csv:5: row skipped: `customer` is empty",
        ))
        .stderr(predicate::str::contains(
            "u.csv:6: row skipped: 2 fields where the header has 4",
        ))
        .stderr(predicate::str::contains("4 malformed rows skipped"));
    let v = json_of(&out);
    assert_eq!(v["rows"], 2);
    assert_eq!(v["skipped"], 4);
    limitr()
        .arg("simulate")
        .arg("--policy")
        .arg(&policy)
        .arg("--usage")
        .arg(&usage)
        .arg("--strict")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "u.csv:3: malformed row: `timestamp`",
        ))
        .stderr(predicate::str::contains("--strict"));
}

#[test]
fn json_lines_soft_overage_and_overhead() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.json");
    std::fs::write(&policy, POLICY).unwrap();
    let usage = dir.path().join("u.jsonl");
    std::fs::write(
        &usage,
        "{\"timestamp\": 1767225600000, \"customer\": \"ada\", \"entitlement\": \"chat\", \"amount\": 8}\n\
         \n\
         {\"timestamp\": \"2026-01-01T00:00:01Z\", \"customer\": \"ada\", \"entitlement\": \"chat\", \"amount\": 5, \"overhead\": 1}\n\
         {\"timestamp\": \"2026-01-01T00:00:02Z\", \"customer\": \"bob\", \"entitlement\": \"chat\", \"amount\": 11}\n\
         not json\n",
    )
    .unwrap();
    let customers = dir.path().join("c.csv");
    std::fs::write(&customers, "id,plan\nada,pro\n").unwrap();
    let out = limitr()
        .arg("simulate")
        .arg("--policy")
        .arg(&policy)
        .arg("--usage")
        .arg(&usage)
        .arg("--customers")
        .arg(&customers)
        .arg("--json")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "u.jsonl:5: row skipped: not a JSON object",
        ));
    let v = json_of(&out);
    let ada = &v["customers"][0];
    assert_eq!(ada["plan"], "pro");
    let chat = &ada["entitlements"][0];
    assert_eq!(chat["usage"], 13);
    assert_eq!(chat["overage"], 3);
    assert_eq!(chat["revenue"], 6); // 3 units past the soft limit at 2 each
    assert_eq!(chat["cost"], 5); // 8 × 0.5, then the given overhead 1
    let bob = &v["customers"][1];
    assert_eq!(
        (bob["plan"].as_str(), bob["denied"].as_u64()),
        (Some("free"), Some(1))
    );
}

#[test]
fn bad_inputs_are_named() {
    let (_d, usage) = scratch("u.csv", "when,who\n1,2\n");
    let (_d2, policy) = scratch("p.json", POLICY);
    limitr()
        .arg("simulate")
        .arg("--policy")
        .arg(&policy)
        .arg("--usage")
        .arg(&usage)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "u.csv`:1: the header has no `timestamp` column (found: when,who)",
        ));
    limitr()
        .args(["simulate", "--policy", "/no/p.json", "--usage"])
        .arg(&usage)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`/no/p.json`: cannot read"));
    let (_d3, bad_policy) = scratch(
        "p.json",
        r#"{"policy": {"plans": {"a": {"entitlements": {"c": {"limit": {"credit": "nope", "value": 1}}}}}}}"#,
    );
    limitr()
        .arg("simulate")
        .arg("--policy")
        .arg(&bad_policy)
        .arg("--usage")
        .arg(&usage)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("p.json:1:")
                .and(predicate::str::contains("unknown credit `nope`")),
        );
    let (_d4, customers) = scratch("c.csv", "id,plan\nada,free\nbob,platinum\n");
    limitr()
        .arg("simulate")
        .arg("--policy")
        .arg(&policy)
        .arg("--usage")
        .arg(example("usage.csv"))
        .arg("--customers")
        .arg(&customers)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "c.csv`:3: customer `bob`: unknown plan `platinum`",
        ));
}
