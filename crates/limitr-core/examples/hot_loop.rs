//! A hot loop of `allow` calls, for profilers (`valgrind --tool=callgrind`).

use limitr_core::number::Decimal;
use limitr_core::{Limitr, ManualClock};
use std::sync::Arc;

fn main() -> Result<(), limitr_core::Error> {
    let doc = include_str!("../../../tests/policies/quickstart.json");
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    // `over`: stay past the soft limit (every call billed overage); else a day passes every
    // 500,000 calls so the customer stays inside its 700,000-a-day limit
    let over = std::env::args().nth(2).is_some_and(|a| a == "over");
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let p = Limitr::from_json(doc)?.with_clock(clock.clone());
    p.create_customer("warm", Some("growth"))?;
    let mut ok = 0usize;
    for i in 0..n {
        if !over && i % 500_000 == 499_999 {
            clock.advance(86_400_000);
        }
        if p.allow("warm", "ai-chat-input", Decimal::ONE)? {
            ok += 1;
        }
    }
    println!("{ok} allowed");
    Ok(())
}
