//! Loading a document with the options a host passed ([`HostOptions`], read in the core):
//! journaled when `journal` is set, else in memory.

use crate::{DEFAULT_SNAPSHOT_EVERY, Journal, JournalStore, SyncMode};
use limitr_core::host::HostOptions;
use limitr_core::{Error, Format, Limitr, Policy};
use serde_json::Value;

/// Loading with a host's options (implemented for the core's [`HostOptions`]).
pub trait Load {
    /// Loads an already-parsed document (a host's own object) with these options.
    fn load_value(&self, doc: &Value) -> Result<Limitr<JournalStore>, Error>;
    /// Loads the document with these options: journaled when `journal` is set, else in memory.
    fn load(&self, text: &str, format: Format) -> Result<Limitr<JournalStore>, Error>;
}

/// The store the journal options name, its customers restored against `policy`: the journal
/// when `journal` is set, else memory. `INVALID_ARGUMENT` for journal options without `journal`.
pub fn open_store(options: &HostOptions, policy: &Policy) -> Result<JournalStore, Error> {
    let Some(dir) = &options.journal else {
        if options.wants_journal() {
            return Err(Error::InvalidArgument {
                name: "sync",
                message: "journal options need `journal` (a directory)".into(),
            });
        }
        return Ok(JournalStore::memory());
    };
    let sync = SyncMode::parse(options.sync.as_deref().unwrap_or("batch"), options.sync_ms)?;
    Journal::at(dir)
        .sync(sync)
        .snapshot_every(options.snapshot_every.unwrap_or(DEFAULT_SNAPSHOT_EVERY))
        .open(policy)
}

impl Load for HostOptions {
    fn load_value(&self, doc: &Value) -> Result<Limitr<JournalStore>, Error> {
        let (policy, _) = Policy::from_root(doc)?;
        Limitr::with_store(doc, open_store(self, &policy)?)?.with_load_options(&self.load_options())
    }

    fn load(&self, text: &str, format: Format) -> Result<Limitr<JournalStore>, Error> {
        let doc = format.read_document(text, self.load_options().max_document_bytes)?;
        self.load_value(&doc)
    }
}
