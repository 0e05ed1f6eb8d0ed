//! The policy loader never panics: random bytes and random mutations of a real policy, in every
//! format, load or fail with a coded error. (A property-based stand-in for a coverage-guided fuzz
//! target: `cargo fuzz` needs a nightly toolchain, which this project's machines do not have.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::{Error, Format, Limitr};
use proptest::prelude::*;

const POLICY: &str = include_str!("../../../tests/policies/quickstart.json");

fn load_all(text: &str) {
    for f in [Format::Json, Format::Yaml, Format::Toml] {
        match Limitr::load(text, f) {
            Ok(p) => {
                // a document that loads can be written back and loaded again
                let again = p.stringify(f).unwrap();
                Limitr::load(&again, f).unwrap();
            }
            Err(e) => assert!(Error::CODES.contains(&e.code()), "{e:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        load_all(&text);
    }

    #[test]
    fn mutated_policies_never_panic(cuts in prop::collection::vec((0usize..4000, 0usize..40, "[ -~]{0,12}"), 1..6)) {
        let mut text = POLICY.to_string();
        for (at, len, insert) in cuts {
            let start = at.min(text.len());
            let end = (start + len).min(text.len());
            if text.is_char_boundary(start) && text.is_char_boundary(end) {
                text.replace_range(start..end, &insert);
            }
        }
        load_all(&text);
    }

    #[test]
    fn yaml_and_toml_of_the_policy_with_random_values(v in prop::num::f64::ANY, s in "[a-z0-9_.-]{0,10}") {
        let mut doc: serde_json::Value = serde_json::from_str(POLICY).unwrap();
        doc["policy"]["plans"]["starter"]["entitlements"]["ai-chat-input"]["limit"]["value"] = serde_json::json!(v);
        doc["policy"]["credits"]["ai-token"]["stof_units"] = serde_json::json!(s);
        let _ = Limitr::from_value(&doc).map_err(|e| assert!(Error::CODES.contains(&e.code())));
    }
}
