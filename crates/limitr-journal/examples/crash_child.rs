//! The Rust child of the crash test (see `crash.rs`): opens the journal in `os` sync mode and
//! answers one call per line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test child"
)]

use limitr_core::number::Decimal;
use limitr_core::{CallOptions, Format, ManualClock, NewCustomer};
use limitr_journal::{Journal, SyncMode};
use std::io::{BufRead, Write};
use std::sync::Arc;

const DOC: &str = include_str!("../../../tests/policies/quickstart.json");

fn main() {
    let dir = std::env::args().next_back().expect("journal dir");
    let clock = Arc::new(ManualClock::new(0));
    let p = Journal::at(&dir)
        .sync(SyncMode::Os)
        .snapshot_every(300) // snapshots and rotations happen under the kills too
        .load(DOC, Format::Json)
        .unwrap()
        .with_clock(clock.clone());
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let f: Vec<&str> = line.split(' ').collect();
        let [op, customer, value, now, key] = f[..] else {
            panic!("bad line {line:?}")
        };
        clock.set(now.parse().unwrap());
        let v: i64 = value.parse().unwrap();
        let o = CallOptions {
            idempotency_key: Some(key.into()),
            ..CallOptions::default()
        };
        let r = match op {
            "create" => {
                let plan = if v % 2 == 0 { "starter" } else { "growth" };
                let new = NewCustomer {
                    plan: Some(plan.into()),
                    idempotency_key: Some(key.into()),
                    ..NewCustomer::default()
                };
                p.create_customer_with(customer, &new).map(|_| true)
            }
            "allow" => p.allow_with(customer, "ai-chat-input", Decimal::from(v), &o),
            "set" => p.set(customer, "ai-chat-output", Decimal::from(v), &o),
            "topup" => p.apply_customer_topup_with(customer, "ai-token-small", Some(key)),
            other => panic!("unknown op {other}"),
        };
        let answer = match r {
            Ok(b) => b.to_string(),
            Err(e) => format!("error:{}", e.code()),
        };
        writeln!(out, "ok {answer}").unwrap();
        out.flush().unwrap();
    }
}
