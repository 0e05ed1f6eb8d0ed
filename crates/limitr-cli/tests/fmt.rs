//! `limitr fmt`: JSON ⇄ YAML ⇄ TOML keeps the same rules; bad input is named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;
use common::{limitr, quickstart, scratch};
use limitr_core::{Format, Limitr};
use predicates::prelude::*;

/// The loaded document with every number as its exact decimal text (`3e-6` and `0.000003` are
/// the same number).
fn rules(text: &str, f: Format) -> serde_json::Value {
    fn canon(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Number(n) => Value::String(
                limitr_core::number::parse_decimal(&n.to_string())
                    .unwrap()
                    .normalize()
                    .to_string(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(canon).collect()),
            Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, canon(v))).collect()),
            other => other,
        }
    }
    canon(Limitr::load(text, f).unwrap().record())
}

#[test]
fn json_to_yaml_to_toml_and_back_keeps_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("p.yaml");
    let toml = dir.path().join("p.toml");
    let json = dir.path().join("p.json");
    limitr()
        .arg("fmt")
        .arg(quickstart())
        .arg("-o")
        .arg(&yaml)
        .assert()
        .success();
    limitr()
        .arg("fmt")
        .arg(&yaml)
        .args(["--to", "toml", "-o"])
        .arg(&toml)
        .assert()
        .success();
    limitr()
        .arg("fmt")
        .arg(&toml)
        .arg("-o")
        .arg(&json)
        .assert()
        .success();
    let original = rules(
        &std::fs::read_to_string(quickstart()).unwrap(),
        Format::Json,
    );
    for (p, f) in [
        (&yaml, Format::Yaml),
        (&toml, Format::Toml),
        (&json, Format::Json),
    ] {
        assert_eq!(
            rules(&std::fs::read_to_string(p).unwrap(), f),
            original,
            "{p:?}"
        );
    }
}

#[test]
fn writes_to_standard_output() {
    limitr()
        .arg("fmt")
        .arg(quickstart())
        .args(["--to", "yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("overhead_cost: 0.000015"));
}

#[test]
fn bad_input_is_named() {
    let (_d, p) = scratch("p.yaml", "policy: [\n");
    limitr()
        .arg("fmt")
        .arg(&p)
        .args(["--to", "json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("p.yaml:").and(predicate::str::contains("cannot parse")));
    limitr()
        .arg("fmt")
        .arg(quickstart())
        .args(["--to", "xml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("format `xml` is not supported"));
}
