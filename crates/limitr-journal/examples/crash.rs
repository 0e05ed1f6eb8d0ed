//! Crash test driver: a child process (any binding) makes random mutating calls on 100 customers
//! through a journal and acknowledges each; this parent SIGKILLs it at a random moment, `rounds`
//! times, reopening the same journal each time. After each kill the journal must hold exactly the
//! acknowledged calls (the one in-flight call may or may not be in), checked against an in-memory
//! model engine that replays the acknowledged calls; every acknowledged answer must equal the
//! model's.
//!
//! `cargo run -p limitr-journal --example crash -- <rounds> <child command…>`; the child gets the
//! journal directory as its last argument and speaks one line per call:
//! parent → child `<op> <customer> <value> <now-ms>` (op: create, allow, set, topup),
//! child → parent `ok <true|false>`, after a first line `ready`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test driver"
)]

use limitr_core::number::Decimal;
use limitr_core::{CallOptions, Format, Limitr, ManualClock};
use limitr_journal::Journal;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DOC: &str = include_str!("../../../tests/policies/quickstart.json");
const T0: i64 = 1_767_225_600_000;
const CUSTOMERS: u64 = 100;

/// A small deterministic generator (xorshift), seeded from the clock so runs differ.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
struct Call {
    op: &'static str,
    customer: String,
    value: i64,
    now: i64,
}

/// The call's answer as the child prints it: `true`, `false` or `error:<CODE>`.
fn apply(model: &Limitr, clock: &ManualClock, c: &Call) -> String {
    clock.set(c.now);
    let o = CallOptions::default();
    let r = match c.op {
        "create" => {
            let plan = if c.value % 2 == 0 {
                "starter"
            } else {
                "growth"
            };
            model.create_customer(&c.customer, Some(plan)).map(|_| true)
        }
        "allow" => model.allow(&c.customer, "ai-chat-input", Decimal::from(c.value)),
        "set" => model.set(&c.customer, "ai-chat-output", Decimal::from(c.value), &o),
        "topup" => model.apply_customer_topup(&c.customer, "ai-token-small"),
        other => panic!("unknown op {other}"),
    };
    match r {
        Ok(b) => b.to_string(),
        Err(e) => format!("error:{}", e.code()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().and_then(|r| r.parse().ok()).expect("rounds");
    let child = args
        .get(1..)
        .filter(|c| !c.is_empty())
        .expect("a child command");
    let dir = tempfile::tempdir().unwrap();
    // a random seed each run (printed, and `LIMITR_CRASH_SEED` replays one)
    let seed = std::env::var("LIMITR_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        })
        | 1;
    println!("crash test: seed {seed} (LIMITR_CRASH_SEED={seed} replays the calls)");
    let mut rng = Rng(seed);
    let clock = Arc::new(ManualClock::new(T0));
    let model = Limitr::from_json(DOC).unwrap().with_clock(clock.clone());
    let mut now = T0;
    let mut pending: Vec<Call> = (0..CUSTOMERS)
        .map(|i| Call {
            op: "create",
            customer: format!("c{i}"),
            value: i as i64,
            now,
        })
        .collect();
    let (mut acked_total, mut in_total) = (0usize, 0usize);
    let started = Instant::now();
    for round in 0..rounds {
        let mut proc = Command::new(child.first().unwrap())
            .args(child.get(1..).unwrap_or_default())
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the child");
        let mut input = proc.stdin.take().unwrap();
        let mut output = BufReader::new(proc.stdout.take().unwrap());
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "round {round}: the child did not start"
        );
        let kill_after = Duration::from_millis(30 + rng.below(400));
        let pid = proc.id();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(kill_after);
            // SIGKILL through the kill command: std's Child::kill needs the child handle
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        });
        let mut acked = 0usize;
        let inflight = loop {
            let call = match pending.pop() {
                Some(c) => c,
                None => {
                    now += rng.below(60_000) as i64;
                    let op = match rng.below(10) {
                        0..=5 => "allow",
                        6..=8 => "set",
                        _ => "topup",
                    };
                    Call {
                        op,
                        customer: format!("c{}", rng.below(CUSTOMERS)),
                        value: 1 + rng.below(120_000) as i64,
                        now,
                    }
                }
            };
            let msg = format!(
                "{} {} {} {}\n",
                call.op, call.customer, call.value, call.now
            );
            if input
                .write_all(msg.as_bytes())
                .and_then(|()| input.flush())
                .is_err()
            {
                break call;
            }
            line.clear();
            if output.read_line(&mut line).unwrap_or(0) == 0 {
                break call;
            }
            let answer = line
                .trim()
                .strip_prefix("ok ")
                .unwrap_or_else(|| panic!("round {round}: child answered {line:?} to {msg:?}"));
            let expected = apply(&model, &clock, &call);
            assert_eq!(answer, expected, "round {round}: {msg:?}");
            acked += 1;
        };
        let status = proc.wait().unwrap();
        killer.join().unwrap();
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(9),
                "round {round}: the child was not killed: {status}"
            );
        }
        // the journal as the next process will see it
        let restored = Journal::at(dir.path()).load(DOC, Format::Json).unwrap();
        let state = restored.customers();
        let with_inflight = state != model.customers();
        let inflight_copy = inflight.clone();
        if with_inflight {
            apply(&model, &clock, &inflight);
        } else {
            pending.push(inflight); // not in: it was never acknowledged, send it again
        }
        let inflight = inflight_copy;
        let expected = model.customers();
        if state != expected {
            for (id, want) in &expected {
                if state.get(id) != Some(want) {
                    eprintln!(
                        "{id}: journal {:?}\n{id}: model   {want}",
                        state.get(id).map(ToString::to_string)
                    );
                    break;
                }
            }
            panic!(
                "round {round}: the journal differs from the {acked} acknowledged calls (in flight: {inflight:?})"
            );
        }
        acked_total += acked;
        in_total += usize::from(with_inflight);
        println!(
            "round {round}: killed after {kill_after:?}: {acked} calls acknowledged, all in the journal{}",
            if with_inflight {
                " (and the in-flight one)"
            } else {
                ""
            }
        );
    }
    println!(
        "crash test passed: {rounds} SIGKILLs, {acked_total} acknowledged calls, none lost; {in_total} in-flight calls landed; {:?}",
        started.elapsed()
    );
}
