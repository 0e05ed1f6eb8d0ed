//! A journaled engine restarts into exactly the state it acknowledged: every kind of change, with
//! snapshots, torn tails and damaged bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::Decimal;
use limitr_core::{CallOptions, CapOptions, Format, Limitr, ManualClock, ReserveOptions};
use limitr_journal::{Journal, JournalStore, SyncMode};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;

const DOC: &str = include_str!("../../../tests/policies/quickstart.json");
const T0: i64 = 1_767_225_600_000;

fn open(dir: &Path, clock: &Arc<ManualClock>) -> Limitr<JournalStore> {
    Journal::at(dir)
        .sync(SyncMode::Os)
        .load(DOC, Format::Json)
        .unwrap()
        .with_clock(clock.clone())
}

fn d(v: i64) -> Decimal {
    Decimal::from(v)
}

fn state(p: &Limitr<JournalStore>) -> Map<String, Value> {
    p.customers()
}

#[test]
fn every_kind_of_change_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let before = {
        let p = open(dir.path(), &clock);
        p.create_customer("u1", Some("starter")).unwrap();
        p.create_customer("u2", Some("growth")).unwrap();
        p.create_customer("gone", None).unwrap();
        assert!(p.allow("u1", "ai-chat-input", d(120_000)).unwrap());
        p.increment("u1", "ai-chat-output", &CallOptions::default())
            .unwrap();
        p.increment("u1", "ai-chat-output", &CallOptions::default())
            .unwrap();
        p.decrement("u1", "ai-chat-output", &CallOptions::default())
            .unwrap();
        p.set("u2", "ai-chat-input", d(800_000), &CallOptions::default())
            .unwrap();
        assert!(p.apply_customer_topup("u2", "ai-token-small").unwrap());
        let reserve = ReserveOptions {
            value: Some(d(1_000)),
            ..ReserveOptions::default()
        };
        let hold = p.reserve("u1", "ai-chat-input", &reserve).unwrap().unwrap();
        let kept = p.reserve("u1", "ai-chat-input", &reserve).unwrap().unwrap();
        assert!(
            p.settle(
                "u1",
                "ai-chat-input",
                &hold,
                d(700),
                true,
                &CallOptions::default()
            )
            .unwrap()
        );
        let released = p
            .reserve("u1", "ai-chat-output", &reserve)
            .unwrap()
            .unwrap();
        assert!(p.release("u1", "ai-chat-output", &released).unwrap());
        p.add_customer_cap("u2", d(3), &CapOptions::default())
            .unwrap()
            .unwrap();
        assert!(p.add_alt_id("u1", "ada@example.com").unwrap());
        assert!(p.set_customer_plan("gone", "growth", false).unwrap());
        assert!(p.remove_customer("gone").unwrap());
        clock.advance(1_000);
        assert!(p.allow("u2", "ai-chat-output", d(10)).unwrap());
        assert!(!kept.is_empty());
        state(&p)
    };
    let p = open(dir.path(), &clock);
    assert_eq!(state(&p), before);
    assert!(p.customer("gone").is_none());
    // the alt id and the hold still work after the restart
    assert_eq!(
        p.remaining("ada@example.com", "ai-chat-input", false, true)
            .unwrap(),
        p.remaining("u1", "ai-chat-input", false, true).unwrap()
    );
    assert_eq!(p.held("u1", "ai-chat-input").unwrap(), Some(d(1_000)));
}

#[test]
fn a_customer_blocked_at_its_limit_stays_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let p = open(dir.path(), &clock);
        p.create_customer("u1", Some("starter")).unwrap();
        assert!(p.allow("u1", "ai-chat-input", d(500_000)).unwrap());
        assert!(!p.allow("u1", "ai-chat-input", d(1)).unwrap());
    }
    let p = open(dir.path(), &clock);
    assert!(!p.allow("u1", "ai-chat-input", d(1)).unwrap());
    assert_eq!(
        p.remaining("u1", "ai-chat-input", false, true).unwrap(),
        Some(d(0))
    );
}

#[test]
fn snapshots_compact_the_journal_and_restore_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let before = {
        let p = Journal::at(dir.path())
            .sync(SyncMode::Os)
            .snapshot_every(40)
            .load(DOC, Format::Json)
            .unwrap()
            .with_clock(clock.clone());
        for i in 0..20 {
            p.create_customer(&format!("c{i}"), None).unwrap();
        }
        for n in 0..400 {
            p.allow(&format!("c{}", n % 20), "ai-chat-input", d(n + 1))
                .unwrap();
            clock.advance(10);
        }
        p.store().snapshot_now().unwrap();
        p.allow("c3", "ai-chat-input", d(7)).unwrap();
        state(&p)
    };
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let snaps = names.iter().filter(|n| n.ends_with(".snap")).count();
    let segs = names.iter().filter(|n| n.ends_with(".log")).count();
    assert_eq!((snaps, segs), (1, 1), "old files compacted away: {names:?}");
    let p = open(dir.path(), &clock);
    assert_eq!(state(&p), before);
}

/// Offsets where each frame of a journal segment starts.
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        starts.push(at);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 8 + len;
    }
    assert_eq!(at, bytes.len());
    starts
}

fn segment(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn a_torn_tail_loses_only_the_torn_record_at_every_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let mut states = Vec::new();
    {
        let p = open(dir.path(), &clock);
        p.create_customer("u1", Some("starter")).unwrap();
        p.create_customer("u2", Some("growth")).unwrap();
        for v in [10, 20, 30] {
            states.push(state(&p));
            assert!(p.allow("u1", "ai-chat-input", d(v)).unwrap());
        }
        states.push(state(&p));
    }
    let bytes = std::fs::read(segment(dir.path())).unwrap();
    let starts = frame_starts(&bytes);
    let first_of_last3 = starts[starts.len() - 3];
    let mut checked = 0;
    for cut in first_of_last3..bytes.len() {
        // the last three calls whose frames end at or before the cut are in
        let ends: Vec<usize> = starts[starts.len() - 2..]
            .iter()
            .copied()
            .chain([bytes.len()])
            .collect();
        let whole = ends.iter().filter(|e| **e <= cut).count();
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        let seg = segment(copy.path());
        let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
        f.set_len(cut as u64).unwrap();
        drop(f);
        let p = open(copy.path(), &clock);
        assert_eq!(state(&p), states[whole], "cut at byte {cut}");
        // the engine appends after the good records: a later restart reads them all
        assert!(p.allow("u2", "ai-chat-input", d(1)).unwrap());
        let after = state(&p);
        drop(p);
        assert_eq!(
            state(&open(copy.path(), &clock)),
            after,
            "cut at byte {cut}"
        );
        checked += 1;
    }
    assert!(checked > 100, "{checked} offsets");
}

#[test]
fn damage_before_the_tail_is_an_error_naming_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let p = open(dir.path(), &clock);
        p.create_customer("u1", None).unwrap();
        p.allow("u1", "ai-chat-input", d(5)).unwrap();
        p.allow("u1", "ai-chat-input", d(6)).unwrap();
    }
    let seg = segment(dir.path());
    let mut bytes = std::fs::read(&seg).unwrap();
    let second = frame_starts(&bytes)[1];
    bytes[second + 12] ^= 0x20;
    std::fs::write(&seg, &bytes).unwrap();
    let err = Journal::at(dir.path()).load(DOC, Format::Json).unwrap_err();
    assert_eq!(err.code(), "STORAGE");
    let message = err.to_string();
    assert!(
        message.contains(&format!("offset {second}")) && message.contains("checksum"),
        "{message}"
    );
}

#[test]
fn a_second_engine_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let first = open(dir.path(), &clock);
    let err = Journal::at(dir.path()).load(DOC, Format::Json).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    drop(first);
    open(dir.path(), &clock);
}

#[test]
fn always_mode_keeps_every_call_of_eight_threads() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let p = Arc::new(
            Journal::at(dir.path())
                .sync(SyncMode::Always)
                .load(DOC, Format::Json)
                .unwrap()
                .with_clock(clock.clone()),
        );
        for t in 0..8 {
            p.create_customer(&format!("t{t}"), None).unwrap();
        }
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        assert!(p.allow(&format!("t{t}"), "ai-chat-input", d(3)).unwrap());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
    let p = open(dir.path(), &clock);
    for t in 0..8 {
        assert_eq!(
            p.value(&format!("t{t}"), "ai-chat-input", false, true)
                .unwrap(),
            Some(d(150))
        );
    }
}

#[derive(Debug, Clone)]
enum Op {
    Allow(usize, i64),
    Increment(usize),
    Decrement(usize),
    Set(usize, i64),
    Topup(usize),
    Reserve(usize, i64),
    SettleLast(usize, i64),
    Plan(usize, bool),
    Cap(usize, i64),
    Remove(usize),
    Create(usize),
    Advance(i64),
    Snapshot,
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..6usize;
    prop_oneof![
        4 => (c.clone(), 1..300_000i64).prop_map(|(c, v)| Op::Allow(c, v)),
        2 => c.clone().prop_map(Op::Increment),
        1 => c.clone().prop_map(Op::Decrement),
        1 => (c.clone(), 0..900_000i64).prop_map(|(c, v)| Op::Set(c, v)),
        1 => c.clone().prop_map(Op::Topup),
        1 => (c.clone(), 1..10_000i64).prop_map(|(c, v)| Op::Reserve(c, v)),
        1 => (c.clone(), 0..10_000i64).prop_map(|(c, v)| Op::SettleLast(c, v)),
        1 => (c.clone(), any::<bool>()).prop_map(|(c, g)| Op::Plan(c, g)),
        1 => (c.clone(), 1..5i64).prop_map(|(c, v)| Op::Cap(c, v)),
        1 => c.clone().prop_map(Op::Remove),
        1 => c.prop_map(Op::Create),
        1 => (1..90_000_000i64).prop_map(Op::Advance),
        1 => Just(Op::Snapshot),
    ]
}

fn run(p: &Limitr<JournalStore>, clock: &ManualClock, ops: &[Op], holds: &mut Vec<String>) {
    let id = |c: &usize| format!("c{c}");
    let o = CallOptions::default();
    for op in ops {
        let _ = match op {
            Op::Allow(c, v) => p.allow(&id(c), "ai-chat-input", d(*v)).map(|_| ()),
            Op::Increment(c) => p.increment(&id(c), "ai-chat-output", &o).map(|_| ()),
            Op::Decrement(c) => p.decrement(&id(c), "ai-chat-output", &o).map(|_| ()),
            Op::Set(c, v) => p.set(&id(c), "ai-chat-input", d(*v), &o).map(|_| ()),
            Op::Topup(c) => p.apply_customer_topup(&id(c), "ai-token-small").map(|_| ()),
            Op::Reserve(c, v) => {
                let r = ReserveOptions {
                    value: Some(d(*v)),
                    ..ReserveOptions::default()
                };
                p.reserve(&id(c), "ai-chat-input", &r)
                    .map(|h| holds.extend(h))
            }
            Op::SettleLast(c, v) => match holds.pop() {
                Some(h) => p
                    .settle(&id(c), "ai-chat-input", &h, d(*v), true, &o)
                    .map(|_| ()),
                None => Ok(()),
            },
            Op::Plan(c, g) => p
                .set_customer_plan(&id(c), if *g { "growth" } else { "starter" }, false)
                .map(|_| ()),
            Op::Cap(c, v) => p
                .add_customer_cap(&id(c), d(*v), &CapOptions::default())
                .map(|_| ()),
            Op::Remove(c) => p.remove_customer(&id(c)).map(|_| ()),
            Op::Create(c) => p.create_customer(&id(c), None).map(|_| ()),
            Op::Advance(ms) => {
                clock.advance(*ms);
                Ok(())
            }
            Op::Snapshot => p.store().snapshot_now().map_err(|e| panic!("{e}")),
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The journal's records replayed onto the state before them give the state after them, for
    /// every kind of call (including ones that change nothing, fail, or race a snapshot).
    #[test]
    fn replaying_the_journal_gives_the_live_state(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let mut holds = Vec::new();
        let live = {
            let p = Journal::at(dir.path())
                .sync(SyncMode::Os)
                .snapshot_every(7)
                .load(DOC, Format::Json)
                .unwrap()
                .with_clock(clock.clone());
            for c in 0..4 {
                p.create_customer(&format!("c{c}"), None).unwrap();
            }
            run(&p, &clock, &ops, &mut holds);
            state(&p)
        };
        let restored = open(dir.path(), &clock);
        prop_assert_eq!(state(&restored), live);
    }
}

#[test]
fn idempotency_keys_survive_a_restart_and_the_load_option_sets_their_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let keyed = CallOptions {
        idempotency_key: Some("req-42".into()),
        ..CallOptions::default()
    };
    {
        let p = open(dir.path(), &clock);
        p.create_customer("u1", Some("starter")).unwrap();
        assert!(
            p.allow_with("u1", "ai-chat-input", d(300_000), &keyed)
                .unwrap()
        );
    }
    let options = limitr_core::LoadOptions {
        idempotency_ttl_ms: Some(60_000),
        ..limitr_core::LoadOptions::default()
    };
    let p = Journal::at(dir.path())
        .load_options(options)
        .load(DOC, Format::Json)
        .unwrap()
        .with_clock(clock.clone());
    assert_eq!(p.idempotency_ttl(), 60_000);
    let before = state(&p);
    // the retry after the restart answers the first answer and changes nothing
    assert!(
        p.allow_with("u1", "ai-chat-input", d(300_000), &keyed)
            .unwrap()
    );
    assert_eq!(state(&p), before);
    let e = p
        .allow_with("u1", "ai-chat-input", d(1), &keyed)
        .unwrap_err();
    assert_eq!(e.code(), "IDEMPOTENCY_CONFLICT");
    // after the ttl the key is forgotten: the same call meters again (and is denied at the limit)
    clock.advance(60_001);
    assert!(
        !p.allow_with("u1", "ai-chat-input", d(300_000), &keyed)
            .unwrap()
    );
}

#[test]
fn a_customer_from_the_document_metered_in_counters_survives_a_restart() {
    // the document's customers reach the journal whole before their counters do
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let doc = {
        let p = Limitr::from_json(DOC).unwrap().with_clock(clock.clone());
        p.create_customer("doc-user", Some("starter")).unwrap();
        p.stringify(Format::Json).unwrap()
    };
    let load = || {
        Journal::at(dir.path())
            .sync(SyncMode::Os)
            .load(&doc, Format::Json)
            .unwrap()
            .with_clock(clock.clone())
    };
    {
        let p = load();
        assert!(p.allow("doc-user", "ai-chat-input", d(400_000)).unwrap());
    }
    let again = load();
    assert!(
        !again
            .allow("doc-user", "ai-chat-input", d(200_000))
            .unwrap()
    );
    assert_eq!(
        again
            .value("doc-user", "ai-chat-input", false, true)
            .unwrap(),
        Some(d(400_000))
    );
}

#[test]
fn a_record_on_a_plan_the_policy_no_longer_has_is_a_storage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let p = open(dir.path(), &clock);
        p.create_customer("ada", Some("growth")).unwrap();
        p.create_customer("bob", None).unwrap();
    }
    let mut doc: Value = serde_json::from_str(DOC).unwrap();
    doc["policy"]["plans"]
        .as_object_mut()
        .unwrap()
        .shift_remove("growth");
    let text = doc.to_string();
    let err = Journal::at(dir.path())
        .load(&text, Format::Json)
        .unwrap_err();
    assert_eq!(err.code(), "STORAGE", "{err}");
    let message = err.to_string();
    assert!(
        message.contains("customer `ada`") && message.contains("unknown plan `growth`"),
        "{message}"
    );
}
