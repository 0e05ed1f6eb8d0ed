//! Redis killed (SIGKILL) mid-run and restarted on the same port with AOF `always`: every call
//! answers within the timeout (plus a small margin) and never hangs; calls fail with a `STORAGE`
//! error naming the server while it is down, succeed again after the restart, and nothing
//! acknowledged is lost.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "test code fails loudly"
)]

mod support;

use limitr_core::Format;
use limitr_redis::Redis;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::server::{Server, free_port};

const TIMEOUT: Duration = Duration::from_millis(250);
/// What a call may take past the timeout (thread wake-ups on a loaded 2-core machine).
const MARGIN: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Seen {
    acknowledged: u64,
    /// Units of calls that failed: each may or may not have been applied.
    unknown: u64,
    errors: Vec<String>,
    slowest: Duration,
    /// Whether each call, in order, succeeded.
    results: Vec<bool>,
}

#[test]
fn a_killed_redis_fails_calls_fast_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Server::durable(port, dir.path().join("aof"));
    let doc = support::hammer::doc(1_000_000_000);
    let open = || {
        Redis::at(&server_url(port))
            .prefix("outage")
            .timeout(TIMEOUT)
            .load(&doc, Format::Json)
            .unwrap()
    };
    let engine = open();
    engine.ensure_customer("c0", None).unwrap();
    let stop = AtomicBool::new(false);
    let seen = Mutex::new(Seen::default());
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (engine, stop, seen) = (&engine, &stop, &seen);
            s.spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let cost = 1 + (i * 7 + t) % 100;
                    let started = Instant::now();
                    let r = engine.allow("c0", "chat", cost.into());
                    let took = started.elapsed();
                    let mut seen = seen.lock().unwrap();
                    seen.slowest = seen.slowest.max(took);
                    match r {
                        Ok(true) => {
                            seen.acknowledged += cost;
                            seen.results.push(true);
                        }
                        Ok(false) => panic!("a denial below the limit"),
                        Err(e) => {
                            assert_eq!(e.code(), "STORAGE", "{e}");
                            seen.unknown += cost;
                            seen.errors.push(e.to_string());
                            seen.results.push(false);
                            drop(seen);
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(400));
        server.kill();
        std::thread::sleep(Duration::from_millis(500));
        server = Server::durable(port, dir.path().join("aof"));
        std::thread::sleep(Duration::from_millis(800));
        stop.store(true, Ordering::Relaxed);
    });
    let seen = seen.into_inner().unwrap();
    let held = support::hammer::held_one(&open(), "c0");
    println!(
        "acknowledged {} units, {} calls failed ({} units unknown), Redis holds {held}, slowest call {:?}",
        seen.acknowledged,
        seen.errors.len(),
        seen.unknown,
        seen.slowest
    );
    if let Some(first) = seen.errors.first() {
        println!("first error: {first}");
    }
    assert!(!seen.errors.is_empty(), "calls failed while Redis was down");
    assert!(
        seen.errors
            .iter()
            .all(|e| e.contains(&format!("127.0.0.1:{port}"))),
        "errors name the server"
    );
    assert!(
        seen.slowest <= TIMEOUT + MARGIN,
        "a call took {:?}, past the timeout {TIMEOUT:?} + {MARGIN:?}",
        seen.slowest
    );
    let tail = seen.results.iter().rev().take(20).filter(|ok| **ok).count();
    assert_eq!(tail, 20, "calls succeed again after the restart");
    assert!(held >= seen.acknowledged, "nothing acknowledged is lost");
    assert!(
        held <= seen.acknowledged + seen.unknown,
        "nothing is applied that was not asked"
    );
    drop(server);
}

#[test]
fn a_silent_redis_times_out_and_the_next_calls_recover() {
    let server = Server::start();
    let doc = support::hammer::doc(1_000);
    let engine = Redis::at(&server.url())
        .prefix("silent")
        .timeout(TIMEOUT)
        .load(&doc, Format::Json)
        .unwrap();
    engine.ensure_customer("c0", None).unwrap();
    assert!(engine.allow("c0", "chat", 10.into()).unwrap());
    server.signal("STOP");
    let started = Instant::now();
    let err = engine.allow("c0", "chat", 10.into()).unwrap_err();
    let took = started.elapsed();
    server.signal("CONT");
    println!("a stopped server: {err} after {took:?}");
    assert_eq!(err.code(), "STORAGE");
    assert!(err.to_string().contains("no reply within 250 ms"), "{err}");
    assert!(took <= TIMEOUT + MARGIN, "{took:?}");
    // the timed-out commit may have been applied once the server resumed: 10 or 20 units held
    assert!(engine.allow("c0", "chat", 1.into()).unwrap());
    let held = support::hammer::held_one(&engine, "c0");
    assert!(held == 11 || held == 21, "{held}");
}

fn server_url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}
