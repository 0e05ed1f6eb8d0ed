//! Loading a document with the options a host passed ([`HostOptions`], read in the core):
//! journaled when `journal` is set, else in memory.

use crate::{DEFAULT_SNAPSHOT_EVERY, Journal, JournalStore, SyncMode};
use limitr_core::host::HostOptions;
use limitr_core::{Error, Format, Limitr};
use serde_json::Value;

/// Loading with a host's options (implemented for the core's [`HostOptions`]).
pub trait Load {
    /// Loads an already-parsed document (a host's own object) with these options.
    fn load_value(&self, doc: &Value) -> Result<Limitr<JournalStore>, Error>;
    /// Loads the document with these options: journaled when `journal` is set, else in memory.
    fn load(&self, text: &str, format: Format) -> Result<Limitr<JournalStore>, Error>;
}

/// The options that act after the document is read (idempotency TTL, `strict`).
fn after_load(
    o: &HostOptions,
    engine: Limitr<JournalStore>,
) -> Result<Limitr<JournalStore>, Error> {
    engine.with_load_options(&o.load_options())
}

impl Load for HostOptions {
    fn load_value(&self, doc: &Value) -> Result<Limitr<JournalStore>, Error> {
        match &self.journal {
            None if !self.wants_journal() => {
                after_load(self, Limitr::with_store(doc, JournalStore::memory())?)
            }
            _ => self.load(&doc.to_string(), Format::Json),
        }
    }

    fn load(&self, text: &str, format: Format) -> Result<Limitr<JournalStore>, Error> {
        let Some(dir) = &self.journal else {
            if self.wants_journal() {
                return Err(Error::InvalidArgument {
                    name: "sync",
                    message: "journal options need `journal` (a directory)".into(),
                });
            }
            let doc = format.read_document(text, self.load_options().max_document_bytes)?;
            return after_load(self, Limitr::with_store(&doc, JournalStore::memory())?);
        };
        let sync = SyncMode::parse(self.sync.as_deref().unwrap_or("batch"), self.sync_ms)?;
        Journal::at(dir)
            .sync(sync)
            .snapshot_every(self.snapshot_every.unwrap_or(DEFAULT_SNAPSHOT_EVERY))
            .load_options(self.load_options())
            .load(text, format)
    }
}
