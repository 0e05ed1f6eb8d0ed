//! Every figure the quick start prints, reproduced through the Rust API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::{Decimal, from_f64};
use limitr_core::{Event, Limitr, ManualClock};
use serde_json::Value;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

const POLICY: &str = include_str!("../../../tests/policies/quickstart.json");
const NOW: i64 = 1_776_962_288_909;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn engine() -> Limitr {
    Limitr::from_json(POLICY)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(NOW)))
}

fn recorder(policy: &Limitr) -> Arc<Mutex<Vec<Event>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    policy.add_handler("rec", move |e: &Event| {
        sink.lock().unwrap().push(e.clone());
        Ok(())
    });
    seen
}

#[test]
fn part1_limits() {
    let p = engine();
    p.create_customer("user_starter", Some("starter")).unwrap();
    p.create_customer("user_growth", Some("growth")).unwrap();
    assert_eq!(
        p.limit("user_starter", "ai-chat-input", true).unwrap(),
        Some(d("500000"))
    );
    assert_eq!(
        p.limit("user_growth", "ai-chat-input", true).unwrap(),
        Some(d("700000"))
    );
}

#[test]
fn part2_enforce_a_hard_limit() {
    let p = engine();
    p.create_customer("user_starter", Some("starter")).unwrap();
    let expected = [
        (120000, true, "380000", "54545"),
        (95000, true, "285000", "97726"),
        (180000, true, "105000", "179544"),
        (60000, true, "45000", "206816"),
        (90000, false, "45000", "206816"),
    ];
    for (tokens, allowed, remaining, output) in expected {
        assert!(
            p.allow("user_starter", "ai-chat-access", Decimal::ZERO)
                .unwrap()
        );
        assert_eq!(
            p.allow("user_starter", "ai-chat-input", Decimal::from(tokens))
                .unwrap(),
            allowed,
            "{tokens}"
        );
        if allowed {
            let out = from_f64(tokens as f64 / 2.2).unwrap();
            assert!(p.allow("user_starter", "ai-chat-output", out).unwrap());
        }
        assert_eq!(
            p.remaining("user_starter", "ai-chat-input", false, true)
                .unwrap(),
            Some(d(remaining))
        );
        assert_eq!(
            p.value("user_starter", "ai-chat-output", false, true)
                .unwrap(),
            Some(d(output))
        );
    }
}

#[test]
fn part3_meter_limit_event() {
    let p = engine();
    p.create_customer("user_starter", Some("starter")).unwrap();
    let seen = recorder(&p);
    for tokens in [120000, 95000, 180000, 60000, 90000] {
        p.allow("user_starter", "ai-chat-input", Decimal::from(tokens))
            .unwrap();
    }
    let events = seen.lock().unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "meter-changed",
            "meter-changed",
            "meter-changed",
            "meter-changed",
            "meter-limit"
        ]
    );
    let limit: Value = serde_json::from_str(events[4].payload_json()).unwrap();
    assert_eq!(limit["customer"]["id"], "user_starter");
    assert_eq!(limit["entitlement"], "ai-chat-input");
    assert_eq!(limit["meter"]["value"].to_string(), "455000");
    assert_eq!(limit["meter"]["limit"].to_string(), "500000");
    assert_eq!(limit["meter"]["invalid"].to_string(), "545000");
    assert_eq!(limit["meter"]["diff"].to_string(), "90000");
    assert_eq!(limit["meter"]["overhead"].to_string(), "1.365");
    assert_eq!(limit["meter"]["overhead_diff"].to_string(), "0.27");
    //: the credit's own price, 45000 × 0.000004
    assert_eq!(limit["meter"]["price_diff"].to_string(), "0.18");
    assert_eq!(limit["overage"].to_string(), "45000");
    assert_eq!(limit["remaining"].to_string(), "45000");
    assert_eq!(limit["plan"], "starter");
    assert_eq!(
        limit["credit"]["description"],
        "Input tokens for Claude Sonnet 4"
    );
    for e in &events[..4] {
        assert_eq!(e.payload()["meter"]["price_diff"].to_string(), "0");
    }
}

#[test]
fn part4_customer_state_and_percent() {
    let p = engine();
    p.create_customer("user_starter", Some("starter")).unwrap();
    for tokens in [120000, 95000, 180000, 60000, 90000] {
        p.allow("user_starter", "ai-chat-input", Decimal::from(tokens))
            .unwrap();
    }
    let c = p.customer_record("user_starter").unwrap();
    assert_eq!(c["meters"]["ai-chat-input"]["value"].to_string(), "455000");
    assert_eq!(c["meters"]["ai-chat-input"]["started"], NOW);
    assert_eq!(
        p.value("user_starter", "ai-chat-input", true, true)
            .unwrap(),
        Some(d("91"))
    );
    let doc = p.record();
    assert_eq!(
        doc["policy"]["customers"]["user_starter"]["plan"],
        "starter"
    );
    for format in [
        limitr_core::Format::Json,
        limitr_core::Format::Yaml,
        limitr_core::Format::Toml,
    ] {
        let text = p.stringify(format).unwrap();
        let back = Limitr::load(&text, format)
            .unwrap()
            .with_clock(Arc::new(ManualClock::new(NOW)));
        assert_eq!(
            back.customer_record("user_starter"),
            Some(c.clone()),
            "{format:?}"
        );
        assert_eq!(
            back.value("user_starter", "ai-chat-input", true, true)
                .unwrap(),
            Some(d("91"))
        );
    }
}

#[test]
fn part5_grant_drains_through_the_exchange() {
    let p = engine();
    p.create_customer("user_growth", Some("growth")).unwrap();
    assert!(
        p.apply_customer_topup("user_growth", "ai-token-small")
            .unwrap()
    );
    let seen = recorder(&p);
    for tokens in [520000, 98000, 200000, 60000, 900000] {
        assert!(
            p.allow("user_growth", "ai-chat-input", Decimal::from(tokens))
                .unwrap()
        );
    }
    let c = p.customer("user_growth").unwrap();
    let input = c.meter("ai-chat-input").unwrap();
    assert_eq!(input.value, d("1778000"));
    assert_eq!(input.started, NOW);
    assert_eq!(c.meter("ai-chat-output").unwrap().value, Decimal::ZERO);
    let grant = c
        .grants
        .iter()
        .find(|g| g.topup.as_deref() == Some("ai-token-small"))
        .unwrap();
    assert_eq!(grant.starting_value, d("10"));
    assert_eq!(grant.value, d("5.688"));
    let events = seen.lock().unwrap();
    assert!(
        events.iter().all(|e| e.name == "meter-changed"),
        "no meter-overage: grants cover all"
    );
    let applied: Vec<String> = events
        .iter()
        .filter_map(|e| {
            e.payload()
                .get("grant_value_applied")
                .map(|v| v.to_string())
        })
        .collect();
    assert_eq!(applied, ["118000", "60000", "900000"]);
    // reference case 5
    assert_eq!(
        p.remaining("user_growth", "ai-chat-input", false, true)
            .unwrap(),
        Some(d("1422000"))
    );
    assert_eq!(
        p.limit("user_growth", "ai-chat-input", true).unwrap(),
        Some(d("2122000"))
    );
    assert_eq!(
        p.value("user_growth", "ai-chat-input", true, true).unwrap(),
        Some(d("55.5625"))
    );
    assert_eq!(
        p.remaining("user_growth", "ai-chat-input", true, false)
            .unwrap(),
        Some(d("0"))
    );
    assert_eq!(
        p.value("user_growth", "ai-chat-input", true, false)
            .unwrap(),
        Some(d("100"))
    );
    assert_eq!(
        p.remaining_credit("user_growth", "ai-token").unwrap(),
        Some(d("5.688"))
    );
}

#[test]
fn case7_soft_overage_priced_by_the_credit() {
    let p = engine();
    p.create_customer("user_growth", Some("growth")).unwrap();
    let seen = recorder(&p);
    for tokens in [520000, 98000, 200000] {
        assert!(
            p.allow("user_growth", "ai-chat-input", Decimal::from(tokens))
                .unwrap()
        );
    }
    let events = seen.lock().unwrap();
    let overage = events.iter().find(|e| e.name == "meter-overage").unwrap();
    assert_eq!(overage.payload()["overage"].to_string(), "118000");
    assert_eq!(overage.payload()["overage_price"].to_string(), "0.472");
    assert_eq!(
        overage.payload()["meter"]["price_diff"].to_string(),
        "0.472"
    );
    assert_eq!(overage.payload()["remaining"].to_string(), "-118000");
}
