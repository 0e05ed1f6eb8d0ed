//! The journal's cost beside the in-memory store, in one run: warm `allow` in memory and in each
//! sync mode (always with 1 and 8 threads), journal bytes per `allow`, and restart time against
//! loading the same state from its `stringify('json')` text.
//! `LIMITR_BENCH_CUSTOMERS` (default 100000) sets the restart bench's customer count (0 skips it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "bench code fails loudly"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use limitr_core::number::Decimal;
use limitr_core::{Format, Limitr, ManualClock};
use limitr_journal::{Journal, JournalStore, Load, SyncMode};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DOC: &str = include_str!("../../../tests/policies/quickstart.json");
const T0: i64 = 1_767_225_600_000;

fn engine(mode: Option<SyncMode>, dir: &std::path::Path) -> Limitr<JournalStore> {
    let clock = Arc::new(ManualClock::new(T0));
    let p = match mode {
        None => Limitr::with_store(
            &Format::Json.read(DOC, usize::MAX).unwrap(),
            JournalStore::memory(),
        )
        .unwrap(),
        Some(m) => Journal::at(dir).sync(m).load(DOC, Format::Json).unwrap(),
    };
    let p = p.with_clock(clock);
    for t in 0..8 {
        p.create_customer(&format!("u{t}"), Some("growth")).unwrap();
    }
    p
}

fn allow(c: &mut Criterion) {
    let mut g = c.benchmark_group("journal/allow");
    {
        // the core's own MemoryStore, for the wrapper's cost without a journal (same customer)
        let p = Limitr::from_json(DOC)
            .unwrap()
            .with_clock(Arc::new(ManualClock::new(T0)));
        p.create_customer("u0", Some("growth")).unwrap();
        let one = Decimal::from(1);
        g.bench_function("core-memory-store", |b| {
            b.iter(|| black_box(p.allow("u0", "ai-chat-input", one).unwrap()));
        });
    }
    let modes: [(&str, Option<SyncMode>); 4] = [
        ("journal-store-without-journal", None),
        ("os", Some(SyncMode::Os)),
        ("batch-5ms", Some(SyncMode::Batch(Duration::from_millis(5)))),
        ("always", Some(SyncMode::Always)),
    ];
    for (name, mode) in modes {
        let dir = tempfile::tempdir().unwrap();
        let p = engine(mode, dir.path());
        let one = Decimal::from(1);
        g.bench_function(name, |b| {
            b.iter(|| black_box(p.allow("u0", "ai-chat-input", one).unwrap()));
        });
        if mode.is_some() {
            let before = p.store().journal_bytes();
            for _ in 0..1000 {
                p.allow("u1", "ai-chat-input", one).unwrap();
            }
            println!(
                "journal/{name}: {} bytes per allow",
                (p.store().journal_bytes() - before) / 1000
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let p = Arc::new(engine(Some(SyncMode::Always), dir.path()));
    g.bench_function("always-8-threads (per call)", |b| {
        b.iter_custom(|iters| {
            let per = iters.div_ceil(8);
            let start = Instant::now();
            let threads: Vec<_> = (0..8)
                .map(|t| {
                    let p = p.clone();
                    std::thread::spawn(move || {
                        for _ in 0..per {
                            p.allow(&format!("u{t}"), "ai-chat-input", Decimal::from(1))
                                .unwrap();
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            start.elapsed() / 8
        });
    });
    g.finish();
}

fn restart(c: &mut Criterion) {
    let n: usize = std::env::var("LIMITR_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    if n == 0 {
        return; // LIMITR_BENCH_CUSTOMERS=0: the allow figures only
    }
    let dir = tempfile::tempdir().unwrap();
    let text = {
        let p = Journal::at(dir.path())
            .sync(SyncMode::Os)
            .snapshot_every(0)
            .load(DOC, Format::Json)
            .unwrap()
            .with_clock(Arc::new(ManualClock::new(T0)));
        for i in 0..n {
            p.create_customer(&format!("customer-{i}"), None).unwrap();
        }
        p.store().snapshot_now().unwrap();
        // a tail of n entries after the snapshot
        for i in 0..n {
            p.allow(&format!("customer-{i}"), "ai-chat-input", Decimal::from(7))
                .unwrap();
        }
        p.stringify(Format::Json).unwrap()
    };
    println!(
        "restart: {n} customers, a {n}-record tail; document {} MB",
        text.len() / 1_000_000
    );
    let mut g = c.benchmark_group("journal/restart");
    g.sample_size(10);
    g.bench_function("journal (snapshot + tail)", |b| {
        b.iter(|| {
            black_box(Journal::at(dir.path()).load(DOC, Format::Json).unwrap());
        });
    });
    let options = limitr_journal::HostOptions {
        max_document_bytes: Some(usize::MAX),
        ..limitr_journal::HostOptions::default()
    };
    g.bench_function("document (stringify json)", |b| {
        b.iter(|| black_box(options.load(&text, Format::Json).unwrap()));
    });
    g.finish();
    // the ratio of the two, measured in this run (best of 3 plain timed loads each)
    let best = |f: &dyn Fn()| {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let journal = best(&|| {
        black_box(Journal::at(dir.path()).load(DOC, Format::Json).unwrap());
    });
    let document = best(&|| {
        black_box(options.load(&text, Format::Json).unwrap());
    });
    println!(
        "restart: journal {:.1} ms, document {:.1} ms, ratio {:.2}x ({n} customers, {n}-record tail)",
        journal.as_secs_f64() * 1e3,
        document.as_secs_f64() * 1e3,
        journal.as_secs_f64() / document.as_secs_f64()
    );
}

criterion_group!(benches, allow, restart);
criterion_main!(benches);
