//! Durable state, end to end: a customer metered to its hard limit stays blocked after the
//! process restarts, because the journal (not the document) holds its usage.
//!
//! `cargo run -p limitr-journal --example durable`
#![allow(clippy::unwrap_used, reason = "an example")]

use limitr_core::number::Decimal;
use limitr_core::{Format, ManualClock};
use limitr_journal::{Journal, SyncMode};
use std::sync::Arc;

const POLICY: &str = include_str!("../../../tests/policies/quickstart.json");

fn main() {
    let state = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    {
        // first process: meter the whole daily limit
        let policy = Journal::at(state.path())
            .sync(SyncMode::Always)
            .load(POLICY, Format::Json)
            .unwrap()
            .with_clock(clock.clone());
        policy
            .create_customer("user_starter", Some("starter"))
            .unwrap();
        let ok = policy
            .allow("user_starter", "ai-chat-input", Decimal::from(500_000))
            .unwrap();
        println!("first process: allow 500000 → {ok}");
        let more = policy
            .allow("user_starter", "ai-chat-input", Decimal::from(1))
            .unwrap();
        println!("first process: allow 1 more → {more} (at the hard limit)");
    } // the process ends here (a SIGKILL would lose nothing either)
    let policy = Journal::at(state.path())
        .load(POLICY, Format::Json)
        .unwrap()
        .with_clock(clock.clone());
    let after = policy
        .allow("user_starter", "ai-chat-input", Decimal::from(1))
        .unwrap();
    let remaining = policy
        .remaining("user_starter", "ai-chat-input", false, true)
        .unwrap()
        .unwrap_or_default();
    println!("after restart: allow 1 → {after}; remaining {remaining}");
    assert!(!after, "the restart must keep the customer blocked");
    clock.advance(86_400_001);
    let tomorrow = policy
        .allow("user_starter", "ai-chat-input", Decimal::from(1))
        .unwrap();
    println!("a day later: allow 1 → {tomorrow}");
}
