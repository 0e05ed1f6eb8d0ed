//! Writes a generated usage CSV for benchmarking `limitr simulate`, and measures the core's warm
//! `allow` in the same conditions (the yardstick the simulate rate is compared with):
//! `cargo run --release -p limitr-cli --example usage_rows -- ROWS OUT.csv [CUSTOMERS]`.
//!
//! Rows are calls of the customers `c0000…` on `chat` (tokens) and `images`, in time order over
//! 30 days from 2026-01-01, with ISO 8601 timestamps and a model in `event_data` on a third of
//! the chat rows: what a usage export looks like. Deterministic (a fixed LCG seed).

use limitr_core::number::Decimal;
use limitr_core::{Limitr, ManualClock};
use std::io::Write;
use std::sync::Arc;

/// `allow` calls per second on a warm quick-start customer inside its limit (a day passes every
/// 400,000 calls, so the daily limit is never reached), best of three runs of 2M calls.
fn warm_allow_rate() -> Result<f64, limitr_core::Error> {
    let policy = include_str!("../../../tests/policies/quickstart.json");
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let p = Limitr::from_json(policy)?.with_clock(clock.clone());
    p.create_customer("warm", Some("starter"))?;
    let one = Decimal::ONE;
    let mut best = 0.0f64;
    for _ in 0..3 {
        let t = std::time::Instant::now();
        for i in 0..2_000_000u32 {
            if i % 400_000 == 0 {
                clock.advance(86_400_001);
            }
            std::hint::black_box(p.allow("warm", "ai-chat-input", one)?);
        }
        best = best.max(2e6 / t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let out = args.next().unwrap_or_else(|| "usage.csv".into());
    let customers: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    writeln!(
        w,
        "timestamp,customer,entitlement,amount,overhead,event_data"
    )?;
    let start: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    let span: i64 = 30 * 86_400_000;
    let mut x: u64 = 0x5eed;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x >> 33
    };
    for i in 0..rows {
        let at =
            start + span * i64::try_from(i).unwrap_or(0) / i64::try_from(rows.max(1)).unwrap_or(1);
        let (secs, ms) = (at / 1000, at % 1000);
        let day = secs / 86_400 - 20_454; // days since 2026-01-01
        let tod = secs % 86_400;
        let c = next() % customers.max(1);
        let r = next() % 100;
        let (h, m, s) = (tod / 3600, tod % 3600 / 60, tod % 60);
        let ts = format!("2026-01-{:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z", day + 1);
        if r < 85 {
            let amount = 200 + next() % 4000;
            let data = match r % 3 {
                0 => ",\"{\"\"model\"\": \"\"smart\"\"}\"",
                _ => ",",
            };
            writeln!(w, "{ts},c{c:04},chat,{amount},{data}")?;
        } else {
            writeln!(w, "{ts},c{c:04},images,{},,", 1 + next() % 3)?;
        }
    }
    w.flush()?;
    eprintln!("wrote {rows} rows of {customers} customers to {out}");
    match warm_allow_rate() {
        Ok(rate) => eprintln!(
            "core allow, warm customer inside its limit: {:.0} ns/call ({:.2}M/s); 0.2x that is {:.2}M rows/s",
            1e9 / rate,
            rate / 1e6,
            rate * 0.2 / 1e6
        ),
        Err(e) => eprintln!("core allow: {e}"),
    }
    Ok(())
}
