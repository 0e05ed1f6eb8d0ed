//! [`JournalStore`]: the memory store, with every committed change appended to the journal
//! before the call that made it returns.

use crate::log::Log;
use crate::record;
use crate::{SyncMode, frame};
use limitr_core::{Counter, Customer, MemoryStore, Store};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// The durable half of a [`JournalStore`].
pub(crate) struct Durable {
    pub(crate) dir: PathBuf,
    pub(crate) log: Log,
    pub(crate) snapshot_every: u64,
    /// The first write error; once set, every change is refused (fail closed) until reopened.
    pub(crate) failed: Mutex<Option<String>>,
    pub(crate) has_failed: AtomicBool,
    /// A snapshot has been asked for and not yet written.
    pub(crate) snapshot_pending: AtomicBool,
    /// Held for the directory's lifetime: a second process cannot open the same journal.
    pub(crate) _lock: std::fs::File,
}

pub(crate) enum Signal {
    Snapshot(Option<mpsc::Sender<Result<(), String>>>),
    Stop,
}

/// The background worker: timed fsyncs (`batch`) and snapshots.
pub(crate) struct Worker {
    pub(crate) tx: mpsc::Sender<Signal>,
    pub(crate) handle: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.tx.send(Signal::Stop);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Customer storage that survives the process: the in-memory store, plus a journal of post-images
/// appended under each customer's lock before the call returns. Without a journal (`memory()`)
/// it is the memory store, one branch away.
pub struct JournalStore {
    pub(crate) mem: Arc<MemoryStore>,
    pub(crate) durable: Option<Arc<Durable>>,
    pub(crate) worker: Option<Worker>,
}

impl std::fmt::Debug for JournalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalStore")
            .field("customers", &self.mem.len())
            .field("dir", &self.durable.as_ref().map(|d| d.dir.clone()))
            .finish()
    }
}

thread_local! {
    /// Reused encoding buffers: (payload, frame).
    static BUFS: RefCell<(Vec<u8>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl Durable {
    fn refused(&self) -> bool {
        self.has_failed.load(Ordering::Relaxed)
    }

    fn fail(&self, message: String) {
        let mut f = self.failed.lock();
        if f.is_none() {
            *f = Some(message);
        }
        self.has_failed.store(true, Ordering::Relaxed);
    }

    /// Appends one record, built by `encode` into a payload buffer. False (and the store fails
    /// closed) when the write fails.
    fn append(&self, encode: impl FnOnce(&mut Vec<u8>)) -> bool {
        let result = BUFS.with_borrow_mut(|(payload, framed)| {
            payload.clear();
            encode(payload);
            framed.clear();
            frame::encode(payload, framed);
            self.log.append(framed)
        });
        match result {
            Ok(()) => true,
            Err(e) => {
                self.fail(format!("{}: append failed: {e}", self.dir.display()));
                false
            }
        }
    }

    fn put(&self, customers: &[&Customer]) -> bool {
        self.append(|out| record::put_customers(customers, out))
    }

    /// Journals, in one record, the customers a closure changed (`after` against `before`);
    /// when the append fails they get their pre-images back (not journaled: not applied) and
    /// the answer is false.
    fn keep_or_restore(&self, before: Vec<Customer>, after: &mut [&mut Customer]) -> bool {
        let mut changed: Vec<&Customer> = Vec::new();
        let mut moved: Vec<(&str, Vec<Counter>)> = Vec::new();
        let mut whole = false;
        for (c, b) in after.iter().zip(&before) {
            if **c == *b {
                continue;
            }
            match limitr_core::effects::counters(b, c) {
                Some(list) if !list.is_empty() => moved.push((&c.id, list)),
                _ => whole = true,
            }
            changed.push(&**c);
        }
        // a commit that only moved counters is journaled as their post-values; one that changed
        // the structure of any of its customers as the whole records
        let kept = changed.is_empty()
            || if whole {
                self.put(&changed)
            } else {
                let refs: Vec<(&str, &[Counter])> =
                    moved.iter().map(|(id, l)| (*id, l.as_slice())).collect();
                self.append(|out| record::counters(&refs, out))
            };
        if kept {
            return true;
        }
        for (c, b) in after.iter_mut().zip(before) {
            **c = b;
        }
        false
    }

    fn due(&self) -> bool {
        self.snapshot_every > 0
            && self.log.records() >= self.snapshot_every
            && !self.snapshot_pending.swap(true, Ordering::AcqRel)
    }
}

impl JournalStore {
    /// A store without a journal: the memory store.
    pub fn memory() -> Self {
        JournalStore {
            mem: Arc::new(MemoryStore::default()),
            durable: None,
            worker: None,
        }
    }

    /// Whether changes are journaled.
    pub fn is_durable(&self) -> bool {
        self.durable.is_some()
    }

    /// The first write error, if the journal failed (the store then refuses every change).
    pub fn failure(&self) -> Option<String> {
        self.durable.as_ref().and_then(|d| d.failed.lock().clone())
    }

    /// Writes a snapshot now and waits for it (it also runs by itself every `snapshot_every`
    /// records). Calls keep running while it is written.
    pub fn snapshot_now(&self) -> Result<(), String> {
        let Some(w) = &self.worker else {
            return Ok(());
        };
        let (tx, rx) = mpsc::channel();
        w.tx.send(Signal::Snapshot(Some(tx)))
            .map_err(|_| "the journal's worker has stopped".to_string())?;
        rx.recv()
            .map_err(|_| "the journal's worker has stopped".to_string())?
    }

    /// Bytes of records in the journal's current segment (0 without a journal): what the
    /// appends since the last snapshot took.
    pub fn journal_bytes(&self) -> u64 {
        self.durable.as_ref().map_or(0, |d| d.log.len())
    }

    /// Fsyncs everything appended so far.
    pub fn flush(&self) -> Result<(), String> {
        match &self.durable {
            Some(d) => d
                .log
                .sync()
                .map_err(|e| format!("{}: {e}", d.dir.display())),
            None => Ok(()),
        }
    }

    fn after_append(&self, d: &Durable) {
        if d.due()
            && let Some(w) = &self.worker
        {
            let _ = w.tx.send(Signal::Snapshot(None));
        }
    }
}

impl Store for JournalStore {
    fn read<R>(&self, id: &str, f: impl FnOnce(&Customer) -> R) -> Option<R> {
        self.mem.read(id, f)
    }

    fn update<R>(&self, id: &str, f: impl Fn(&mut Customer) -> R) -> Option<R> {
        let Some(d) = &self.durable else {
            return self.mem.update(id, f);
        };
        if d.refused() {
            return None;
        }
        let out = self.mem.update(id, |c| {
            let before = vec![c.clone()];
            let r = f(c);
            d.keep_or_restore(before, &mut [c]).then_some(r)
        })?;
        self.after_append(d);
        out
    }

    fn update_many<R>(&self, ids: &[&str], f: impl Fn(&mut [&mut Customer]) -> R) -> Option<R> {
        let Some(d) = &self.durable else {
            return self.mem.update_many(ids, f);
        };
        if d.refused() {
            return None;
        }
        let out = self.mem.update_many(ids, |cs| {
            let before: Vec<Customer> = cs.iter().map(|c| (**c).clone()).collect();
            let r = f(cs);
            d.keep_or_restore(before, cs).then_some(r)
        })?;
        self.after_append(d);
        out
    }

    fn upsert<R>(&self, customer: Customer, existing: impl Fn(&mut Customer) -> R) -> Option<R> {
        let Some(d) = &self.durable else {
            return self.mem.upsert(customer, existing);
        };
        if d.refused() {
            return None;
        }
        let id = customer.id.clone();
        let mut journaled = true;
        let mut refused = false;
        let out = self.mem.upsert_then(
            customer,
            |c| {
                let before = vec![c.clone()];
                let r = existing(c);
                if !d.keep_or_restore(before, &mut [c]) {
                    refused = true;
                }
                r
            },
            |c| journaled = d.put(&[c]),
        );
        if !journaled {
            // the insert was not journaled: take it back out (nobody could see it: the shard was
            // locked until now, and a failed store refuses every call after this one)
            self.mem.remove(&id);
        }
        if refused {
            return None;
        }
        self.after_append(d);
        out
    }

    fn remove(&self, id: &str) -> Option<Customer> {
        let Some(d) = &self.durable else {
            return self.mem.remove(id);
        };
        if d.refused() {
            return None;
        }
        let mut ok = true;
        let removed = self
            .mem
            .remove_then(id, |id| ok = d.append(|out| record::remove(id, out)));
        if !ok {
            if let Some(c) = removed {
                self.mem.upsert(c, |_| ());
            }
            return None;
        }
        self.after_append(d);
        removed
    }

    fn ids(&self) -> Vec<String> {
        self.mem.ids()
    }

    fn len(&self) -> usize {
        self.mem.len()
    }

    fn snapshot(&self) -> Vec<Customer> {
        self.mem.snapshot()
    }
}

/// The worker's loop: fsync on the `batch` timer, snapshot when asked or due.
pub(crate) fn run_worker(
    mem: Arc<MemoryStore>,
    d: Arc<Durable>,
    rx: mpsc::Receiver<Signal>,
    mode: SyncMode,
) {
    let tick = match mode {
        SyncMode::Batch(every) => every,
        _ => std::time::Duration::from_millis(250),
    };
    loop {
        match rx.recv_timeout(tick) {
            Ok(Signal::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
            Ok(Signal::Snapshot(reply)) => {
                let r = crate::write_snapshot(&mem, &d);
                d.snapshot_pending.store(false, Ordering::Release);
                if let Some(tx) = reply {
                    let _ = tx.send(r);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let SyncMode::Batch(_) = mode
                    && let Err(e) = d.log.sync()
                {
                    d.fail(format!("{}: fsync failed: {e}", d.dir.display()));
                }
            }
        }
    }
}
