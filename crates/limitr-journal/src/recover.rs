//! Recovery: the newest snapshot, then every segment after it, in order. A torn tail of the last
//! segment is dropped (and truncated away when the log reopens); damage anywhere else is an error
//! naming the file and the byte offset.

use crate::frame::{self, Next};
use crate::record::{self, Record};
use crate::snapshot;
use limitr_core::Counter;
use std::collections::HashMap;
use std::fs;
use std::path::Path;

/// Which kind of file a name is, and its generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `snapshot-<g>.snap`
    Snapshot,
    /// `journal-<g>.log`
    Segment,
}

/// Parses a journal directory's file name.
pub fn generation_of(name: &str) -> Option<(Kind, u64)> {
    let (kind, rest) = if let Some(r) = name.strip_prefix("snapshot-") {
        (Kind::Snapshot, r.strip_suffix(".snap")?)
    } else {
        (
            Kind::Segment,
            name.strip_prefix("journal-")?.strip_suffix(".log")?,
        )
    };
    Some((kind, rest.parse().ok()?))
}

/// One customer as found on disk: its newest whole record, and the counters moved after it.
#[derive(Debug, Default)]
pub struct Restored {
    /// The customer's newest record JSON.
    pub json: Vec<u8>,
    /// Counters of later commits, oldest first, to apply onto the record.
    pub counters: Vec<Vec<Counter>>,
}

type State = HashMap<String, Restored>;

/// The state found on disk.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Each customer, by id.
    pub customers: State,
    /// The segment to keep appending to.
    pub generation: u64,
    /// Bytes of that segment that hold whole records (the rest was a torn tail).
    pub len: u64,
    /// Where a torn tail was dropped: `(file, offset, bytes dropped)`.
    pub torn: Option<(String, u64, u64)>,
    /// Records replayed from segments.
    pub replayed: u64,
}

fn apply(state: &mut State, payload: &[u8]) -> Option<()> {
    match record::decode(payload)? {
        Record::Put(list) => {
            for (id, json) in list {
                state.insert(
                    id.to_string(),
                    Restored {
                        json: json.to_vec(),
                        counters: Vec::new(),
                    },
                );
            }
        }
        Record::Remove(id) => {
            state.remove(id);
        }
        Record::Counters(list) => {
            for (id, counters) in list {
                // Counters move a customer journaled whole before them, normally. A snapshot is
                // read after its rotation, so a customer removed meanwhile is missing from it
                // while its counters of just before the removal are in the tail: they wait here
                // for the removal that follows them (a customer still without a record at the
                // end is damage, reported by the loader).
                state
                    .entry(id.to_string())
                    .or_default()
                    .counters
                    .push(counters);
            }
        }
    }
    Some(())
}

/// Reads the directory's state. Errors name the file and offset of damaged data.
pub fn recover(dir: &Path) -> Result<Recovered, String> {
    let mut snapshots = Vec::new();
    let mut segments = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".tmp") {
            // an unfinished snapshot: never renamed into place, so never relied on
            let _ = fs::remove_file(entry.path());
            continue;
        }
        match generation_of(name) {
            Some((Kind::Snapshot, g)) => snapshots.push(g),
            Some((Kind::Segment, g)) => segments.push(g),
            None => {}
        }
    }
    snapshots.sort_unstable();
    segments.sort_unstable();
    let mut out = Recovered::default();
    if let Some(&g) = snapshots.last() {
        read_snapshot(dir, g, &mut out.customers)?;
        out.generation = g;
    }
    let base = out.generation;
    let tail: Vec<u64> = segments.into_iter().filter(|g| *g >= base).collect();
    for (i, g) in tail.iter().enumerate() {
        let expected = base + i as u64;
        if *g != expected {
            return Err(format!(
                "{}: segment {} is missing (found {})",
                dir.display(),
                crate::log::segment_name(expected),
                crate::log::segment_name(*g)
            ));
        }
        let last = i + 1 == tail.len();
        let name = crate::log::segment_name(*g);
        let bytes = fs::read(dir.join(&name)).map_err(|e| format!("{name}: {e}"))?;
        let mut at = 0;
        loop {
            match frame::next(&bytes, at) {
                Next::Frame(payload, end) => {
                    apply(&mut out.customers, payload).ok_or_else(|| {
                        format!("{name}: offset {at}: a frame that is not a journal record")
                    })?;
                    out.replayed += 1;
                    at = end;
                }
                Next::End => break,
                Next::Torn if last => {
                    out.torn = Some((name.clone(), at as u64, (bytes.len() - at) as u64));
                    break;
                }
                Next::Torn => {
                    return Err(format!(
                        "{name}: offset {at}: a torn record before the last segment"
                    ));
                }
                // the last segment of a crashed writer ends in its mapping's zeros: a frame it
                // was copying when it died is bad and followed by no whole frame, so it is a
                // torn tail too
                Next::Corrupt(_) if last && !frame::any_frame_after(&bytes, at) => {
                    out.torn = Some((name.clone(), at as u64, (bytes.len() - at) as u64));
                    break;
                }
                Next::Corrupt(why) => return Err(format!("{name}: offset {at}: {why}")),
            }
        }
        out.generation = *g;
        out.len = at as u64;
    }
    Ok(out)
}

fn read_snapshot(dir: &Path, g: u64, state: &mut State) -> Result<(), String> {
    let name = snapshot::snapshot_name(g);
    let bytes = fs::read(dir.join(&name)).map_err(|e| format!("{name}: {e}"))?;
    let mut at = 0;
    let mut first = true;
    loop {
        match frame::next(&bytes, at) {
            Next::Frame(payload, end) => {
                if first {
                    if payload != snapshot::HEADER {
                        return Err(format!("{name}: offset 0: not a limitr snapshot"));
                    }
                    first = false;
                } else {
                    apply(state, payload).ok_or_else(|| {
                        format!("{name}: offset {at}: a frame that is not a customer record")
                    })?;
                }
                at = end;
            }
            Next::End if !first => return Ok(()),
            Next::End => return Err(format!("{name}: empty snapshot")),
            Next::Torn => return Err(format!("{name}: offset {at}: truncated snapshot")),
            Next::Corrupt(why) => return Err(format!("{name}: offset {at}: {why}")),
        }
    }
}
