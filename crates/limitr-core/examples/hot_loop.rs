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
    let p = Limitr::from_json(doc)?.with_clock(Arc::new(ManualClock::new(1_767_225_600_000)));
    p.create_customer("warm", Some("growth"))?;
    let mut ok = 0usize;
    for _ in 0..n {
        if p.allow("warm", "ai-chat-input", Decimal::ONE)? {
            ok += 1;
        }
    }
    println!("{ok} allowed");
    Ok(())
}
