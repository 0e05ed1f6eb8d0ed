//! Criterion benchmarks of the hot path, plus memory per customer (printed).
#![allow(
    unsafe_code,
    reason = "a counting global allocator to measure memory per customer"
)]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark setup"
)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use limitr_core::number::Decimal;
use limitr_core::{Limitr, ManualClock};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts live heap bytes, to report memory per customer.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const QUICKSTART: &str = include_str!("../../../tests/policies/quickstart.json");
const THREE_METERS: &str = r#"{"policy": {"credits": {"in": {"stof_units": "int"}, "out": {"stof_units": "int"}, "img": {}},
  "plans": {"p": {"default": true, "entitlements": {
    "input": {"limit": {"credit": "in", "value": 1e15, "resets": true, "reset_inc": "1day"}},
    "output": {"limit": {"credit": "out", "value": 1e15, "resets": true, "reset_inc": "1day"}},
    "images": {"limit": {"credit": "img", "mode": "soft", "value": 100, "resets": true, "reset_sch": "monthly:1"}}}}}}}"#;

fn engine(doc: &str) -> Limitr {
    Limitr::from_json(doc)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(1_767_225_600_000)))
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("customer_{i:07}")).collect()
}

/// Writes `customer_{i:07}` into a stack buffer: a request's id is hot in cache, not in a big Vec.
fn id_into(buf: &mut [u8; 16], mut i: usize) -> &str {
    buf[..9].copy_from_slice(b"customer_");
    for pos in (9..16).rev() {
        buf[pos] = b'0' + (i % 10) as u8;
        i /= 10;
    }
    std::str::from_utf8(&buf[..]).unwrap()
}

fn memory_per_customer() {
    let n = 100_000;
    let names = ids(n);
    let before = LIVE.load(Ordering::Relaxed);
    let p = engine(THREE_METERS);
    for id in &names {
        p.create_customer(id, None).unwrap();
        // every meter used once: its trend and period are live state, counted too
        for ent in ["input", "output", "images"] {
            assert!(p.allow(id, ent, Decimal::ONE).unwrap());
        }
    }
    let after = LIVE.load(Ordering::Relaxed);
    let per_customer = (after - before) as f64 / n as f64;
    println!(
        "memory: {per_customer:.0} B per customer with 3 used meters = {:.0} B per customer-meter ({n} customers, map and locks included)",
        per_customer / 3.0
    );
    drop(p);
}

/// The machine's cost of one dependent load (a pointer chase through a random cycle) over 2 MiB,
/// 8 MiB and 256 MiB: where the caches end, and the floor under `allow/1M-customers`, whose
/// customer records do not fit in cache.
fn memory_latency() {
    let mut parts: Vec<String> = Vec::new();
    for mib in [2usize, 8, 256] {
        let n = (mib << 20) / 8;
        let mut next: Vec<usize> = (0..n).collect();
        // Sattolo's shuffle (one cycle through every slot) with a xorshift sequence
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in (1..n).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let j = (x % i as u64) as usize;
            next.swap(i, j);
        }
        let loads = 2_000_000;
        let mut at = 0usize;
        let t = std::time::Instant::now();
        for _ in 0..loads {
            at = next[at];
        }
        let ns = t.elapsed().as_nanos() as f64 / loads as f64;
        black_box(at);
        parts.push(format!("{ns:.0} ns over {mib} MiB"));
    }
    println!(
        "memory latency (dependent loads): {}; the last is the floor for calls on customers out of cache",
        parts.join(", ")
    );
}

fn benches(c: &mut Criterion) {
    memory_latency();
    memory_per_customer();
    let one = Decimal::ONE;

    // a warm customer inside its limit: the quick start's growth plan allows 700,000 input tokens
    // a day, so the clock moves a day every 500,000 calls (as a real day of usage would)
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let p = Limitr::from_json(QUICKSTART)
        .unwrap()
        .with_clock(clock.clone());
    p.create_customer("warm", Some("growth")).unwrap();
    let mut calls = 0u32;
    c.bench_function("allow/warm", |b| {
        b.iter(|| {
            calls += 1;
            if calls == 500_000 {
                calls = 0;
                clock.advance(86_400_000);
            }
            p.allow(black_box("warm"), black_box("ai-chat-input"), one)
                .unwrap()
        })
    });
    // the same warm call with handlers: none, one listening to `meter-limit` only (the plain lane
    // still answers), one no-op receiving every event (a `meter-changed` payload per call)
    for (label, filter) in [
        ("handler/none", None),
        ("handler/meter-limit", Some(&["meter-limit"][..])),
        ("handler/all-events-noop", Some(&[][..])),
    ] {
        let clock = Arc::new(ManualClock::new(1_767_225_600_000));
        let h = Limitr::from_json(QUICKSTART)
            .unwrap()
            .with_clock(clock.clone());
        h.create_customer("warm", Some("growth")).unwrap();
        let noop = |e: &limitr_core::Event| {
            black_box(e.payload_json().len());
            Ok(())
        };
        match filter {
            None => {}
            Some([]) => h.add_handler("noop", noop),
            Some(names) => h.add_handler_for("noop", names, noop).unwrap(),
        }
        let mut calls = 0u32;
        c.bench_function(label, |b| {
            b.iter(|| {
                calls += 1;
                if calls == 500_000 {
                    calls = 0;
                    clock.advance(86_400_000);
                }
                h.allow(black_box("warm"), black_box("ai-chat-input"), one)
                    .unwrap()
            })
        });
    }
    // the same customer past its soft limit: every call is billed overage (no grants to draw)
    let over = engine(QUICKSTART);
    over.create_customer("over", Some("growth")).unwrap();
    over.allow("over", "ai-chat-input", Decimal::from(700_000))
        .unwrap();
    c.bench_function("allow/warm-past-soft-limit", |b| {
        b.iter(|| {
            over.allow(black_box("over"), black_box("ai-chat-input"), one)
                .unwrap()
        })
    });
    c.bench_function("check/warm", |b| {
        b.iter(|| {
            p.check(black_box("warm"), black_box("ai-chat-input"), one)
                .unwrap()
        })
    });
    c.bench_function("value/warm", |b| {
        b.iter(|| {
            p.value(black_box("warm"), black_box("ai-chat-input"), false, true)
                .unwrap()
        })
    });

    let n = 1_000_000;
    let names = ids(n);
    let big = engine(QUICKSTART);
    for id in &names {
        big.create_customer(id, Some("growth")).unwrap();
    }
    drop(names);
    assert!(
        big.allow(id_into(&mut [0u8; 16], 12), "ai-chat-input", one)
            .unwrap()
    );
    let mut i = 0usize;
    c.bench_function("allow/1M-customers", |b| {
        b.iter(|| {
            i = (i + 7_919) % n; // stride across the map
            let mut buf = [0u8; 16];
            big.allow(id_into(&mut buf, i), "ai-chat-input", one)
                .unwrap()
        })
    });
    drop(big);

    let mut k = 0usize;
    let fresh = engine(QUICKSTART);
    c.bench_function("create_customer", |b| {
        b.iter_batched(
            || {
                k += 1;
                format!("new_{k}")
            },
            |id| fresh.create_customer(&id, Some("starter")).unwrap(),
            BatchSize::SmallInput,
        )
    });

    c.bench_function("policy_load/quickstart", |b| {
        b.iter(|| Limitr::from_json(black_box(QUICKSTART)).unwrap())
    });

    // past the soft limit, every call's overage drawn from an ai-token grant through the exchange
    // (the quick start's top-up). The grant is topped up whenever it runs low (checked every
    // 100,000 calls) so every measured call draws, however many iterations criterion runs.
    let g = engine(QUICKSTART);
    g.create_customer("granted", Some("growth")).unwrap();
    g.apply_customer_topup("granted", "ai-token-small").unwrap();
    g.allow("granted", "ai-chat-input", Decimal::from(700_000))
        .unwrap();
    let mut calls = 0u32;
    c.bench_function("allow/soft-overage-drawing-a-grant", |b| {
        b.iter(|| {
            calls += 1;
            if calls == 100_000 {
                calls = 0;
                let left = g.remaining_credit("granted", "ai-token").unwrap();
                if left.unwrap_or_default() < Decimal::from(5) {
                    g.apply_customer_topup("granted", "ai-token-small").unwrap();
                }
            }
            g.allow("granted", "ai-chat-input", one).unwrap()
        })
    });

    let tiered = engine(
        r#"{"policy": {"credits": {"img": {"pricing_model": "tiered", "tiers": [
          {"up_to": 100, "price": {"amount": 0.04}}, {"up_to": 1000, "price": {"amount": 0.02}}, {"price": {"amount": 0.01}}]}},
          "plans": {"p": {"default": true, "entitlements": {"images": {"limit": {"credit": "img", "mode": "soft", "value": 1e15}}}}}}}"#,
    );
    tiered.create_customer("t", None).unwrap();
    c.bench_function("allow/tiered-credit", |b| {
        b.iter(|| tiered.allow("t", "images", one).unwrap())
    });

    let capped = engine(
        r#"{"policy": {"credits": {"tok": {"price": {"amount": 0.000004}}},
          "plans": {"p": {"default": true, "entitlements": {"chat": {"limit": {"credit": "tok", "value": 1e15,
            "governor_enabled": true, "governor_capacity": 1e15, "governor_refill_rate": 1}}}}}}}"#,
    );
    capped.create_customer("k", None).unwrap();
    for (id, credit) in [("spend", "rune"), ("tokens", "tok")] {
        let o = limitr_core::CapOptions {
            cap_id: Some(id.into()),
            credit: Some(credit.into()),
            ..Default::default()
        };
        capped
            .add_customer_cap("k", Decimal::from(1_000_000_000_000i64), &o)
            .unwrap();
    }
    c.bench_function("allow/two-caps-and-a-governor", |b| {
        b.iter(|| capped.allow("k", "chat", one).unwrap())
    });
    c.bench_function("check/two-caps-and-a-governor", |b| {
        b.iter(|| capped.check("k", "chat", one).unwrap())
    });

    let holds = engine(QUICKSTART);
    holds.create_customer("h", Some("growth")).unwrap();
    let ro = limitr_core::ReserveOptions {
        value: Some(Decimal::from(100)),
        ..Default::default()
    };
    let co = limitr_core::CallOptions::default();
    c.bench_function("reserve+settle", |b| {
        b.iter(|| {
            let id = holds.reserve("h", "ai-chat-output", &ro).unwrap().unwrap();
            holds
                .settle("h", "ai-chat-output", &id, one, true, &co)
                .unwrap()
        })
    });
}

criterion_group! {
    name = engine_benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = benches
}
criterion_main!(engine_benches);
