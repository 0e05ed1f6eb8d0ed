//! # limitr-host
//!
//! What a binding opens from the load options its host passed ([`HostOptions`], read in the
//! core): the engine on memory (the default), on a journal directory (`journal`), or on a shared
//! Redis store (`store: {redis}`), behind one store type, [`HostStore`], so a binding holds one
//! engine type whatever the host chose. The choice is made once, at load; each call then goes to
//! the one store.

use limitr_core::host::{HostOptions, StoreOptions};
use limitr_core::{Customer, Error, Format, Limitr, Policy, Store};
use limitr_journal::JournalStore;
use limitr_redis::{Redis, RedisStore};
use serde_json::Value;
use std::time::Duration;

/// The store a host chose: memory or a journal ([`JournalStore`]), or Redis ([`RedisStore`]).
#[derive(Debug)]
pub enum HostStore {
    /// In this process: memory, journaled when a directory was given.
    Local(JournalStore),
    /// Shared with every engine on the same Redis server and prefix.
    Redis(RedisStore),
}

impl HostStore {
    /// Whether calls do network I/O (each blocks its thread for a round trip).
    pub fn is_network(&self) -> bool {
        matches!(self, HostStore::Redis(_))
    }
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            HostStore::Local($s) => $e,
            HostStore::Redis($s) => $e,
        }
    };
}

impl Store for HostStore {
    fn read<R>(&self, id: &str, f: impl FnOnce(&Customer) -> R) -> Option<R> {
        each!(self, s => s.read(id, f))
    }
    fn update<R>(&self, id: &str, f: impl Fn(&mut Customer) -> R) -> Option<R> {
        each!(self, s => s.update(id, f))
    }
    fn update_many<R>(&self, ids: &[&str], f: impl Fn(&mut [&mut Customer]) -> R) -> Option<R> {
        each!(self, s => s.update_many(ids, f))
    }
    fn upsert<R>(&self, customer: Customer, existing: impl Fn(&mut Customer) -> R) -> Option<R> {
        each!(self, s => s.upsert(customer, existing))
    }
    fn remove(&self, id: &str) -> Option<Customer> {
        each!(self, s => s.remove(id))
    }
    fn ids(&self) -> Vec<String> {
        each!(self, s => s.ids())
    }
    fn len(&self) -> usize {
        each!(self, s => s.len())
    }
    fn take_failure(&self) -> Option<Error> {
        each!(self, s => s.take_failure())
    }
    fn snapshot(&self) -> Vec<Customer> {
        each!(self, s => s.snapshot())
    }
}

/// Loads document text with the host's options.
///
/// # Errors
/// The document's errors; `INVALID_ARGUMENT` for options that do not go together; `STORAGE`
/// when the journal or the Redis server cannot be opened.
pub fn load(options: &HostOptions, text: &str, format: Format) -> Result<Limitr<HostStore>, Error> {
    let doc = format.read_document(text, options.load_options().max_document_bytes)?;
    load_value(options, &doc)
}

/// Loads an already-parsed document (a host's own object) with the host's options.
///
/// # Errors
/// As [`load`].
pub fn load_value(options: &HostOptions, doc: &Value) -> Result<Limitr<HostStore>, Error> {
    let (policy, _) = Policy::from_root(doc)?;
    Limitr::with_store(doc, open(options, &policy)?)?.with_load_options(&options.load_options())
}

/// Opens the store the options name, its customers restored against `policy`.
fn open(options: &HostOptions, policy: &Policy) -> Result<HostStore, Error> {
    match &options.store {
        Some(s) => redis(s).open(policy).map(HostStore::Redis),
        None => limitr_journal::open_store(options, policy).map(HostStore::Local),
    }
}

fn redis(s: &StoreOptions) -> Redis {
    let mut r = Redis::at(&s.redis);
    if let Some(p) = &s.prefix {
        r = r.prefix(p);
    }
    if let Some(ms) = s.timeout_ms {
        r = r.timeout(Duration::from_millis(ms));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"policy": {"credits": {"tok": {}}, "plans": {"free": {"default": true,
        "entitlements": {"chat": {"limit": {"credit": "tok", "value": 100}}}}}}}"#;

    #[test]
    fn memory_by_default_and_a_journal_when_asked() {
        let p = load(&HostOptions::default(), DOC, Format::Json).unwrap();
        assert!(matches!(p.store(), HostStore::Local(s) if !s.is_durable()));
        let dir = std::env::temp_dir().join(format!("limitr-host-{}", std::process::id()));
        let o =
            HostOptions::from_json(&format!(r#"{{"journal": {:?}, "sync": "os"}}"#, dir)).unwrap();
        {
            let p = load(&o, DOC, Format::Json).unwrap();
            assert!(matches!(p.store(), HostStore::Local(s) if s.is_durable()));
            p.create_customer("ada", None).unwrap();
            assert!(p.allow("ada", "chat", 60.into()).unwrap());
        }
        let again = load(&o, DOC, Format::Json).unwrap();
        assert!(
            !again.allow("ada", "chat", 60.into()).unwrap(),
            "the journal kept ada's 60"
        );
        drop(again);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_unreachable_redis_is_a_storage_error_naming_it() {
        let o = HostOptions::from_json(
            r#"{"store": {"redis": "redis://127.0.0.1:1", "timeout_ms": 50}}"#,
        )
        .unwrap();
        let e = load(&o, DOC, Format::Json).unwrap_err();
        assert_eq!(e.code(), "STORAGE", "{e}");
        assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
    }
}
