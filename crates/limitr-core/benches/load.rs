//! Criterion benchmarks of loading: exchange chains of 1,000 and 20,000 pairs, and a 25 MB
//! document of customers beside `serde_json` parsing the same text into a `Value`. Prints the
//! ratios and the loader's peak heap against the text size (a counting allocator).
#![allow(
    unsafe_code,
    reason = "a counting global allocator to measure peak memory"
)]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use criterion::{Criterion, criterion_group, criterion_main};
use limitr_core::number::Decimal;
use limitr_core::{Format, Limitr, LoadOptions, ManualClock};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

/// Counts live heap bytes and their high-water mark.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: isize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const QUICKSTART: &str = include_str!("../../../tests/policies/quickstart.json");

/// A policy whose exchange is one chain of `n` pairs ending at `usd`, and a credit priced
/// through its far end.
fn chain(n: usize) -> String {
    let mut pairs = Vec::with_capacity(n);
    for i in 0..n {
        let next = if i + 1 == n {
            "usd".to_string()
        } else {
            format!("c{}", i + 1)
        };
        pairs.push(format!(
            r#""c{i}": {{"value": 1.0001, "currency": "{next}"}}"#
        ));
    }
    format!(
        r#"{{"policy": {{"credits": {{"tok": {{}}}}, "exchange": {{"tok": {{"value": 1, "currency": "c0"}}, {}}}}}}}"#,
        pairs.join(", ")
    )
}

/// A snapshot the engine wrote, of at least `bytes` of JSON text (customers on both plans, a
/// used meter each).
fn snapshot(bytes: usize) -> String {
    let p = Limitr::from_json(QUICKSTART)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(1_767_225_600_000)));
    let mut n = 0;
    loop {
        for _ in 0..5_000 {
            let id = format!("customer-{n:07}");
            let plan = if n % 2 == 0 { "growth" } else { "starter" };
            p.create_customer(&id, Some(plan)).unwrap();
            p.allow(&id, "ai-chat-input", Decimal::from(n % 997))
                .unwrap();
            n += 1;
        }
        let text = p.stringify(Format::Json).unwrap();
        if text.len() >= bytes {
            return text;
        }
    }
}

/// Mean seconds of `f` over `runs` runs (after one warm-up).
fn mean(runs: u32, mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..runs {
        f();
    }
    t.elapsed().as_secs_f64() / f64::from(runs)
}

fn load(text: &str) -> Limitr {
    let options = LoadOptions {
        max_document_bytes: usize::MAX,
        ..LoadOptions::default()
    };
    Limitr::load_with(text, Format::Json, options).unwrap()
}

fn benches(c: &mut Criterion) {
    let small = chain(1_000);
    let large = chain(20_000);
    c.bench_function("load/exchange-chain-1000", |b| {
        b.iter(|| black_box(Limitr::from_json(&small).unwrap()))
    });
    c.bench_function("load/exchange-chain-20000", |b| {
        b.iter(|| black_box(Limitr::from_json(&large).unwrap()))
    });
    let (a, z) = (
        mean(20, || drop(black_box(Limitr::from_json(&small).unwrap()))),
        mean(3, || drop(black_box(Limitr::from_json(&large).unwrap()))),
    );
    println!(
        "exchange chain: 1,000 pairs {:.2} ms, 20,000 pairs {:.1} ms: {:.1}x (target <= 30x)",
        a * 1e3,
        z * 1e3,
        z / a
    );

    let text = snapshot(25_000_000);
    let customers = load(&text).customers().len();
    let mut g = c.benchmark_group("load/25MB");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("serde_json-value", |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(&text).unwrap()))
    });
    g.bench_function("limitr-load", |b| b.iter(|| black_box(load(&text))));
    g.finish();
    let parse = mean(3, || {
        drop(black_box(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        ))
    });
    let loaded = mean(3, || drop(black_box(load(&text))));
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let engine = load(&text);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let kept = LIVE.load(Ordering::Relaxed) - before;
    drop(engine);
    let mb = text.len() as f64 / 1e6;
    println!(
        "25 MB load: {mb:.1} MB, {customers} customers: serde_json Value {:.0} ms, load {:.0} ms: {:.2}x (target <= 3x); peak heap {:.0} MB = {:.2}x the text (target <= 4x), kept {:.0} MB",
        parse * 1e3,
        loaded * 1e3,
        loaded / parse,
        peak as f64 / 1e6,
        peak as f64 / text.len() as f64,
        kept as f64 / 1e6
    );
}

criterion_group! {
    name = load_benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    targets = benches
}
criterion_main!(load_benches);
