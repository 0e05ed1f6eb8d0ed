//! Replays a usage file through one or more [`Run`]s (the policy, and for `diff` a candidate),
//! reading each row once: a second thread reads and parses the rows in batches while this one
//! replays them.

use crate::failure::{Failure, Result};
use crate::run::Run;
use crate::usage::{BadRow, Row, Usage};
use limitr_core::{CallOptions, Limitr};
use std::collections::HashMap;

/// How many malformed rows are printed before only counting them.
const SHOWN_BAD_ROWS: usize = 20;

/// How rows are read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Stop at the first malformed row instead of skipping it.
    pub strict: bool,
    /// Show a progress bar (drawn only on a terminal).
    pub progress: bool,
}

/// What the replay saw besides the runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// Rows replayed.
    pub rows: u64,
    /// Malformed rows skipped.
    pub skipped: u64,
    /// Rows earlier than the row before them (replayed at their own time).
    pub out_of_order: u64,
}

/// Replays `usage` through every run; `each(row, answers)` sees every replayed row with each
/// run's answer. Malformed rows are printed (the first few) and counted, or with `strict` stop the
/// replay with their line.
pub fn replay(
    runs: &mut [Run],
    usage: &mut Usage,
    plans: &HashMap<String, String>,
    options: &Options,
    mut each: impl FnMut(&Row, &[bool]),
) -> Result<Seen> {
    let path = usage.path().display().to_string();
    let size = std::fs::metadata(usage.path()).map_or(0, |m| m.len());
    let bar = if options.progress {
        let bar = indicatif::ProgressBar::new(size);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} replaying [{bar:40}] {percent}% {bytes}/{total_bytes} ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut seen = Seen::default();
    let mut answers = vec![false; runs.len()];
    let mut last_at = i64::MIN;
    let report = |bad: BadRow, seen: &mut Seen| -> Result<()> {
        if options.strict {
            return Err(Failure::new(format!(
                "{path}:{}: malformed row: {} (stopped by --strict)",
                bad.line, bad.message
            )));
        }
        seen.skipped += 1;
        if seen.skipped as usize <= SHOWN_BAD_ROWS {
            bar.suspend(|| eprintln!("warning: {path}:{}: row skipped: {}", bad.line, bad.message));
        }
        Ok(())
    };
    // rows are read and parsed on a second thread, in batches, while this one replays them
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch>>(BATCHES_AHEAD);
        let reader = &mut *usage;
        scope.spawn(move || read_batches(reader, &tx));
        for batch in rx {
            let batch = batch?;
            for item in batch.items {
                let mut row = match item {
                    Ok(row) => row,
                    Err(bad) => {
                        report(bad, &mut seen)?;
                        continue;
                    }
                };
                if row.at < last_at {
                    seen.out_of_order += 1;
                }
                let options = CallOptions {
                    events: false,
                    overhead: row.overhead,
                    event_data: row.event_data.take(),
                    ..CallOptions::default()
                };
                let mut failed = None;
                for (run, answer) in runs.iter_mut().zip(answers.iter_mut()) {
                    match run.step(&row, &options, plans) {
                        Ok(a) => *answer = a,
                        Err(message) => {
                            failed = Some(message);
                            break;
                        }
                    }
                }
                if let Some(message) = failed {
                    // the first run may have replayed it: the runs stay comparable only when
                    // every run refuses the same rows, which they do (the same argument checks)
                    report(
                        BadRow {
                            line: row.line,
                            message,
                        },
                        &mut seen,
                    )?;
                    continue;
                }
                last_at = last_at.max(row.at);
                seen.rows += 1;
                each(&row, &answers);
            }
            bar.set_position(batch.bytes);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    if seen.skipped as usize > SHOWN_BAD_ROWS {
        eprintln!(
            "warning: {path}: {} more malformed rows skipped",
            seen.skipped as usize - SHOWN_BAD_ROWS
        );
    }
    if seen.skipped > 0 {
        eprintln!(
            "warning: {path}: {} malformed {} skipped (--strict stops at the first)",
            seen.skipped,
            if seen.skipped == 1 { "row" } else { "rows" }
        );
    }
    if seen.out_of_order > 0 {
        eprintln!(
            "warning: {path}: {} rows are earlier than a row before them (replayed at their own time)",
            seen.out_of_order
        );
    }
    Ok(seen)
}

/// Rows parsed per batch handed to the replaying thread.
const BATCH: usize = 4096;
/// Batches the reading thread may be ahead by.
const BATCHES_AHEAD: usize = 8;

/// Parsed rows (or why a row could not be read), and how far into the file they reach.
struct Batch {
    items: Vec<std::result::Result<Row, BadRow>>,
    bytes: u64,
}

/// Reads `usage` into batches until its end, a read failure (sent, then the thread stops) or the
/// replay stopping (the channel closes).
fn read_batches(usage: &mut Usage, tx: &std::sync::mpsc::SyncSender<Result<Batch>>) {
    loop {
        let mut items = Vec::with_capacity(BATCH);
        let mut failure = None;
        while items.len() < BATCH {
            match usage.next_row() {
                None => break,
                Some(Err(f)) => {
                    failure = Some(f);
                    break;
                }
                Some(Ok(item)) => items.push(item),
            }
        }
        let last = items.len() < BATCH;
        let batch = Batch {
            items,
            bytes: usage.bytes(),
        };
        if tx.send(Ok(batch)).is_err() {
            return;
        }
        if let Some(f) = failure {
            let _ = tx.send(Err(f));
            return;
        }
        if last {
            return;
        }
    }
}

/// The plan of each customer from a customers file, checked against the policy's plans.
pub fn assignments(
    path: Option<&std::path::Path>,
    engines: &[&Limitr],
) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    let Some(path) = path else { return Ok(out) };
    for (id, plan, line) in crate::usage::read_customers(path)? {
        for e in engines {
            if e.policy().plan(&plan).is_none() {
                let known: Vec<&str> = e.policy().plans.keys().map(|k| &**k).collect();
                return Err(Failure::new(format!(
                    "`{}`:{line}: customer `{id}`: unknown plan `{plan}` (plans: {})",
                    path.display(),
                    known.join(", ")
                )));
            }
        }
        out.insert(id, plan);
    }
    Ok(out)
}
