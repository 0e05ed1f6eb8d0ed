//! A hot loop of `allow` calls, for profilers (`valgrind --tool=callgrind`).
//!
//! `hot_loop [calls] [mode]`, modes: (none) a quick start customer inside its limit (a day passes
//! every 500,000 calls); `over` past its soft limit (every call billed overage); `caps` a customer
//! with two spend caps under a governed hard limit (the criterion bench's case); `events` the
//! first with a no-op handler receiving every event.

use limitr_core::number::Decimal;
use limitr_core::{CapOptions, Limitr, ManualClock};
use std::sync::Arc;

const CAPPED: &str = r#"{"policy": {"credits": {"tok": {"price": {"amount": 0.000004}}},
  "plans": {"p": {"default": true, "entitlements": {"chat": {"limit": {"credit": "tok", "value": 1e15,
    "governor_enabled": true, "governor_capacity": 1e15, "governor_refill_rate": 1}}}}}}}"#;

fn main() -> Result<(), limitr_core::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mode = std::env::args().nth(2).unwrap_or_default();
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let (p, entitlement) = if mode == "caps" {
        let p = Limitr::from_json(CAPPED)?.with_clock(clock.clone());
        p.create_customer("warm", None)?;
        for (id, credit) in [("spend", "rune"), ("tokens", "tok")] {
            let o = CapOptions {
                cap_id: Some(id.into()),
                credit: Some(credit.into()),
                ..Default::default()
            };
            p.add_customer_cap("warm", Decimal::from(1_000_000_000_000i64), &o)?;
        }
        (p, "chat")
    } else {
        let doc = include_str!("../../../tests/policies/quickstart.json");
        let p = Limitr::from_json(doc)?.with_clock(clock.clone());
        p.create_customer("warm", Some("growth"))?;
        if mode == "events" {
            p.add_handler("noop", |e: &limitr_core::Event| {
                std::hint::black_box(e.payload_json().len());
                Ok(())
            });
        }
        (p, "ai-chat-input")
    };
    let mut ok = 0usize;
    for i in 0..n {
        if (mode.is_empty() || mode == "events") && i % 500_000 == 499_999 {
            clock.advance(86_400_000);
        }
        if p.allow("warm", entitlement, Decimal::ONE)? {
            ok += 1;
        }
    }
    println!("{ok} allowed");
    Ok(())
}
