//! Crash test driver: a child process (any binding) makes random mutating calls on 100 customers
//! through a journal and acknowledges each; this parent SIGKILLs it at a random moment, `rounds`
//! times, reopening the same journal each time. After each kill the journal must hold exactly the
//! acknowledged calls (the one in-flight call may or may not be in), checked against an in-memory
//! model engine that replays the acknowledged calls; every acknowledged answer must equal the
//! model's. Every call carries an idempotency key; after each restart the parent first retries up
//! to 20 acknowledged calls of earlier rounds (and the in-flight one) with their keys: each must
//! answer its first answer, and the journal, checked after the next kill, shows they changed
//! nothing.
//!
//! `cargo run -p limitr-journal --example crash -- <rounds> <child command…>`; the child gets the
//! journal directory as its last argument and speaks one line per call:
//! parent → child `<op> <customer> <value> <now-ms> <idempotency-key>` (op: create, allow, set,
//! topup), child → parent `ok <true|false|error:CODE>`, after a first line `ready`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test driver"
)]

use limitr_core::number::Decimal;
use limitr_core::{CallOptions, Format, Limitr, ManualClock, NewCustomer};
use limitr_journal::Journal;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DOC: &str = include_str!("../../../tests/policies/quickstart.json");
const T0: i64 = 1_767_225_600_000;
const CUSTOMERS: u64 = 100;
/// Retries sent after each restart (acknowledged calls of earlier rounds, with their keys).
const RETRIES: usize = 20;
/// Only calls this recent are retried: older keys may have expired (the TTL is 24 h).
const RETRY_WINDOW_MS: i64 = 20 * 3_600_000;

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
    key: String,
}

impl Call {
    fn line(&self, now: i64) -> String {
        format!(
            "{} {} {} {} {}\n",
            self.op, self.customer, self.value, now, self.key
        )
    }
}

/// The call's answer as the child prints it: `true`, `false` or `error:<CODE>`.
fn apply(model: &Limitr, clock: &ManualClock, c: &Call, now: i64) -> String {
    clock.set(now);
    let o = CallOptions {
        idempotency_key: Some(c.key.clone()),
        ..CallOptions::default()
    };
    let r = match c.op {
        "create" => {
            let plan = if c.value % 2 == 0 {
                "starter"
            } else {
                "growth"
            };
            let new = NewCustomer {
                plan: Some(plan.into()),
                idempotency_key: Some(c.key.clone()),
                ..NewCustomer::default()
            };
            model.create_customer_with(&c.customer, &new).map(|_| true)
        }
        "allow" => model.allow_with(&c.customer, "ai-chat-input", Decimal::from(c.value), &o),
        "set" => model.set(&c.customer, "ai-chat-output", Decimal::from(c.value), &o),
        "topup" => model.apply_customer_topup_with(&c.customer, "ai-token-small", Some(&c.key)),
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
    let mut seq = 0u64;
    let mut next_key = move || {
        seq += 1;
        format!("k{seq}")
    };
    let mut pending: Vec<Call> = (0..CUSTOMERS)
        .map(|i| Call {
            op: "create",
            customer: format!("c{i}"),
            value: i as i64,
            now,
            key: next_key(),
        })
        .collect();
    // acknowledged calls with their answers, for the retries
    let mut history: Vec<(Call, String)> = Vec::new();
    let (mut acked_total, mut in_total, mut retried_total) = (0usize, 0usize, 0usize);
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
        // retries first, at the current time: each answers its first answer and changes nothing
        let recent: Vec<&(Call, String)> = history
            .iter()
            .filter(|(c, _)| c.now >= now - RETRY_WINDOW_MS)
            .collect();
        let before = model.customers();
        for _ in 0..RETRIES.min(recent.len()) {
            let (call, first) = recent.get(rng.below(recent.len() as u64) as usize).unwrap();
            input.write_all(call.line(now).as_bytes()).unwrap();
            input.flush().unwrap();
            line.clear();
            output.read_line(&mut line).unwrap();
            assert_eq!(
                line.trim().strip_prefix("ok "),
                Some(first.as_str()),
                "round {round}: the retry of {call:?} did not answer its first answer"
            );
            assert_eq!(&apply(&model, &clock, call, now), first);
            retried_total += 1;
        }
        assert!(
            model.customers() == before,
            "round {round}: a retry changed the model"
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
                        key: next_key(),
                    }
                }
            };
            let msg = call.line(call.now);
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
            let expected = apply(&model, &clock, &call, call.now);
            assert_eq!(answer, expected, "round {round}: {msg:?}");
            history.push((call, expected));
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
            let answer = apply(&model, &clock, &inflight, inflight.now);
            history.push((inflight.clone(), answer));
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
        "crash test passed: {rounds} SIGKILLs, {acked_total} acknowledged calls, none lost; {in_total} in-flight calls landed; {retried_total} keyed retries after restarts, none applied twice; {:?}",
        started.elapsed()
    );
}
