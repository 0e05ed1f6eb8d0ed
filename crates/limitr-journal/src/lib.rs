//! # limitr-journal
//!
//! Usage is money: this crate makes a [`Limitr`] engine's state survive a crash. A
//! [`JournalStore`] keeps customers in memory (the core's `MemoryStore`) and appends, under each
//! customer's lock and before the call returns, one CRC-framed record holding the post-image of
//! every customer the call changed. A SIGKILL therefore loses no acknowledged change; with
//! [`SyncMode::Always`] neither does a power loss. Snapshots compact the journal in the
//! background; opening a directory restores the newest snapshot plus the journal after it, then
//! applies the rules of the document given (its customers are added only where the journal has
//! none of the same id).
//!
//! ```
//! use limitr_journal::{Journal, SyncMode};
//! use limitr_core::{Format, ManualClock, Store};
//! use std::sync::Arc;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let doc = r#"{"policy": {"credits": {"tok": {}}, "plans": {"free": {"default": true,
//!   "entitlements": {"chat": {"limit": {"credit": "tok", "value": 100}}}}}}}"#;
//! let clock = Arc::new(ManualClock::new(0));
//! {
//!     let policy = Journal::at(dir.path()).sync(SyncMode::Os).load(doc, Format::Json).unwrap();
//!     let policy = policy.with_clock(clock.clone());
//!     policy.create_customer("ada", None).unwrap();
//!     assert!(policy.allow("ada", "chat", 100.into()).unwrap());
//! } // dropped (or killed): the journal has it
//! let policy = Journal::at(dir.path()).load(doc, Format::Json).unwrap().with_clock(clock);
//! assert!(!policy.allow("ada", "chat", 1.into()).unwrap()); // still at its limit
//! ```

mod frame;
mod log;
mod options;
mod record;
mod recover;
mod snapshot;
mod store;

pub use limitr_core::host::HostOptions;
pub use options::{Load, open_store};
pub use store::JournalStore;

use limitr_core::{Customer, Error, Format, Limitr, LoadOptions, MemoryStore, Policy, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// When appended records are fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Every call returns after its record is on disk; concurrent calls share one fsync (group
    /// commit). Survives power loss.
    Always,
    /// Fsync every interval (default 5 ms) from a background thread. A SIGKILL loses nothing; a
    /// power loss at most the last interval.
    Batch(Duration),
    /// Never fsync (the OS writes the page cache back). A SIGKILL loses nothing: each record is in
    /// the kernel before the call returns.
    Os,
}

impl SyncMode {
    /// Parses `always`, `batch` or `os` (`batch` with `sync_ms`, default 5).
    pub fn parse(name: &str, sync_ms: Option<u64>) -> Result<SyncMode, Error> {
        match name {
            "always" => Ok(SyncMode::Always),
            "batch" => Ok(SyncMode::Batch(Duration::from_millis(
                sync_ms.unwrap_or(5).max(1),
            ))),
            "os" => Ok(SyncMode::Os),
            other => Err(Error::InvalidArgument {
                name: "sync",
                message: format!("`{other}` is not a sync mode: use always, batch or os"),
            }),
        }
    }
}

/// Opens a journal directory: a builder over the options, ending in [`Journal::load`].
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
    sync: SyncMode,
    snapshot_every: u64,
    load: LoadOptions,
}

/// Records between automatic snapshots, by default.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 1_000_000;

impl Journal {
    /// A journal in `dir` (created if missing), `batch` sync, a snapshot every 1M records.
    pub fn at(dir: impl AsRef<Path>) -> Journal {
        Journal {
            dir: dir.as_ref().to_path_buf(),
            sync: SyncMode::Batch(Duration::from_millis(5)),
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            load: LoadOptions::default(),
        }
    }

    /// The fsync policy.
    pub fn sync(mut self, mode: SyncMode) -> Journal {
        self.sync = mode;
        self
    }

    /// Records between automatic snapshots (0: only when asked).
    pub fn snapshot_every(mut self, records: u64) -> Journal {
        self.snapshot_every = records;
        self
    }

    /// Options for reading the document.
    pub fn load_options(mut self, options: LoadOptions) -> Journal {
        self.load = options;
        self
    }

    /// Reads the document, restores the directory's state, and returns the engine.
    pub fn load(self, text: &str, format: Format) -> Result<Limitr<JournalStore>, Error> {
        let doc = format.read_document(text, self.load.max_document_bytes)?;
        let (policy, _) = Policy::from_root(&doc)?;
        let load = self.load;
        let store = self.open(&policy)?;
        Limitr::with_store(&doc, store)?.with_load_options(&load)
    }

    /// Opens the directory and restores its customers against `policy`.
    pub fn open(self, policy: &Policy) -> Result<JournalStore, Error> {
        let storage = |what: &str, e: &dyn std::fmt::Display| {
            Error::Storage(format!("{}: {what}: {e}", self.dir.display()))
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| storage("cannot create", &e))?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join("LOCK"))
            .map_err(|e| storage("cannot open LOCK", &e))?;
        lock.try_lock().map_err(|_| {
            Error::Storage(format!(
                "{}: in use by another engine (its LOCK is held)",
                self.dir.display()
            ))
        })?;
        let found = recover::recover(&self.dir).map_err(Error::Storage)?;
        let mem = MemoryStore::default();
        let mut ids: Vec<&String> = found.customers.keys().collect();
        ids.sort();
        for id in ids {
            let Some(found) = found.customers.get(id) else {
                continue;
            };
            if found.json.is_empty() {
                return Err(Error::Storage(format!(
                    "journal: customer `{id}`: counters with no record of the customer before them"
                )));
            }
            let value: serde_json::Value = serde_json::from_slice(&found.json)
                .map_err(|e| Error::Storage(format!("journal: customer `{id}`: {e}")))?;
            let mut c = Customer::from_record(&value, policy).map_err(|(field, m)| {
                Error::Storage(format!("journal: customer `{id}`: {field}: {m}"))
            })?;
            for counters in &found.counters {
                limitr_core::effects::apply_counters(counters, &mut c).map_err(|m| {
                    Error::Storage(format!("journal: customer `{id}`: counters past its {m}"))
                })?;
            }
            mem.upsert(c, |_| ());
        }
        let log = log::Log::open(&self.dir, found.generation, found.len, self.sync)
            .map_err(|e| storage("cannot open the journal", &e))?;
        let durable = Arc::new(store::Durable {
            dir: self.dir.clone(),
            log,
            snapshot_every: self.snapshot_every,
            failed: parking_lot::Mutex::new(None),
            has_failed: AtomicBool::new(false),
            snapshot_pending: AtomicBool::new(false),
            _lock: lock,
        });
        let mem = Arc::new(mem);
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = {
            let (mem, d, mode) = (mem.clone(), durable.clone(), self.sync);
            std::thread::Builder::new()
                .name("limitr-journal".into())
                .spawn(move || store::run_worker(mem, d, rx, mode))
                .map_err(|e| storage("cannot start the journal's worker", &e))?
        };
        Ok(JournalStore {
            mem,
            durable: Some(durable),
            worker: Some(store::Worker {
                tx,
                handle: Some(handle),
            }),
        })
    }
}

/// Rotates the log and writes a snapshot of the new generation, one customer at a time.
pub(crate) fn write_snapshot(mem: &MemoryStore, d: &store::Durable) -> Result<(), String> {
    let generation = d
        .log
        .rotate()
        .map_err(|e| format!("{}: rotate: {e}", d.dir.display()))?;
    let customers = mem.ids().into_iter().filter_map(|id| {
        let json = mem.read(&id, |c| {
            let mut out = Vec::with_capacity(512);
            c.write_record(&mut out);
            out
        })?;
        Some((id, json))
    });
    snapshot::write(&d.dir, generation, customers)
        .map_err(|e| format!("{}: snapshot: {e}", d.dir.display()))
}
