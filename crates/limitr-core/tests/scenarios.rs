//! Replays the language-neutral scenario corpus (`tests/scenarios/*.json`, see `tests/SCENARIOS.md`)
//! on the memory store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

#[path = "support/scenarios.rs"]
mod support;

use limitr_core::{Error, Format, Limitr};

/// Every engine on its own memory store; a reload loads the stringified document.
struct Memory;

impl support::Backend for Memory {
    type Store = limitr_core::MemoryStore;
    fn fresh(&mut self, text: &str, format: Format) -> Result<Limitr, Error> {
        Limitr::load(text, format)
    }
    fn reopen(&mut self, text: &str, format: Format) -> Result<Limitr, Error> {
        Limitr::load(text, format)
    }
}

#[test]
fn scenario_corpus() {
    support::corpus(&mut Memory);
}
