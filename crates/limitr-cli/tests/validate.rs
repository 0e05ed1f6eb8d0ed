//! `limitr validate`: problems with paths and lines, exit codes, JSON output, bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;
use common::{limitr, quickstart, scratch};
use predicates::prelude::*;

const BAD: &str = r#"{"policy": {
  "credits": {"tok": {"stof_units": "int"}},
  "plans": {"pro": {"default": true, "entitlements": {
    "chat": {"limit": {"credit": "tokn", "value": 100}},
    "img": {"limit": {"credit": "tok", "value": "x"}}
  }}}
}}"#;

#[test]
fn a_valid_policy_passes() {
    limitr()
        .args(["validate"])
        .arg(quickstart())
        .assert()
        .success()
        .stdout(predicate::str::contains("0 errors, 0 warnings — valid"));
}

#[test]
fn every_error_is_reported_with_path_and_line() {
    let (_d, p) = scratch("bad.json", BAD);
    limitr()
        .arg("validate")
        .arg(&p)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "bad.json:4:34: error[UNKNOWN_CREDIT] policy.plans.pro.entitlements.chat.limit.credit: unknown credit `tokn`",
        ))
        .stdout(predicate::str::contains(
            "bad.json:5:49: error[INVALID_NUMBER] policy.plans.pro.entitlements.img.limit.value",
        ))
        .stdout(predicate::str::contains("2 errors"));
}

#[test]
fn json_output_lists_issues_for_scripts() {
    let (_d, p) = scratch("bad.json", BAD);
    let out = limitr()
        .arg("validate")
        .arg(&p)
        .arg("--json")
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"], 2);
    assert_eq!(v["issues"][0]["code"], "UNKNOWN_CREDIT");
    assert_eq!(v["issues"][0]["line"], 4);
}

#[test]
fn unknown_fields_are_warnings_with_lines_in_yaml_and_toml() {
    let yaml = "policy:\n  credits:\n    tok:\n      colour: red\n  plans:\n    pro:\n      default: true\n      entitlements:\n        chat:\n          limit: {credit: tok, value: 1}\n";
    let (_d, p) = scratch("p.yaml", yaml);
    limitr()
        .arg("validate")
        .arg(&p)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "p.yaml:4:15: warning[UNKNOWN_FIELD] policy.credits.tok.colour",
        ));
    limitr()
        .arg("validate")
        .arg(&p)
        .arg("--deny-warnings")
        .assert()
        .code(1);
    let toml = "[policy.credits.tok]\ncolour = \"red\"\n\n[policy.plans.pro]\ndefault = true\n\n[policy.plans.pro.entitlements.chat.limit]\ncredit = \"tok\"\nvalue = 1\n";
    let (_d2, p) = scratch("p.toml", toml);
    limitr()
        .arg("validate")
        .arg(&p)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "p.toml:2:10: warning[UNKNOWN_FIELD]",
        ));
}

#[test]
fn unparsable_text_names_the_line() {
    let (_d, p) = scratch("p.json", "{\n\"policy\": }");
    limitr()
        .arg("validate")
        .arg(&p)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("p.json:2:11: error[POLICY_PARSE]"));
}

#[test]
fn a_missing_file_or_unknown_extension_is_a_clear_error() {
    limitr()
        .args(["validate", "/no/such/policy.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`/no/such/policy.json`: cannot read",
        ));
    let (_d, p) = scratch("policy.txt", "{}");
    limitr()
        .arg("validate")
        .arg(&p)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot tell the format from the extension `txt`",
        ));
    limitr()
        .arg("validate")
        .arg(&p)
        .args(["--format", "json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "must have a top-level `policy` object",
        ));
}
