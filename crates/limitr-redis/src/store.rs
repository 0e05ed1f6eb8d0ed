//! [`RedisStore`]: customers on Redis, decided in process on a cached copy and committed with one
//! version-checked function call.

use crate::link::{Link, Part, Reply, Row};
use limitr_core::{Customer, Error, Policy, Store};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Local locks, by a hash of the customer id: one thread of this process commits a customer at
/// a time (the others would only conflict with it on the store).
const STRIPES: usize = 1024;
/// Shards of the local cache.
const SHARDS: usize = 32;

thread_local! {
    /// Why the last call on this thread could not be served (see [`Store::take_failure`]).
    static FAILURE: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Records why this thread's call could not be served; the first failure of an operation is
/// the one it reports.
fn fail<T>(e: Error) -> Option<T> {
    FAILURE.with_borrow_mut(|f| {
        if f.is_none() {
            *f = Some(e);
        }
    });
    None
}

/// Whether this thread's operation already met a failure: its later store calls fail at once
/// (an operation costs at most one timeout, however many store calls it would have made).
fn failing() -> bool {
    FAILURE.with_borrow(Option::is_some)
}

/// A cached customer: the version it was read or committed at.
#[derive(Clone)]
struct Cached {
    version: u64,
    customer: Customer,
}

/// Customer storage on Redis, exact mode: every decision is one atomic commit on the store.
///
/// Each customer is one hash, `{<prefix>:<id>}:c`, holding its record (the JSON the core writes
/// with `Customer::record`) and a version that only grows. An update runs the closure on a
/// cached copy, then calls the commit function with the version it read and the post-image: when
/// the version still matches, the post-image is written and the version bumped; when it does not,
/// the reply carries the fresh record and the closure runs again on it (a closure is a decision,
/// see [`Store`]). A decision that changed nothing (a denial) is still checked against the
/// version, so a stale cache can neither deny nor allow. A multi-customer closure
/// (`update_many`) commits all its customers in the same call, or none.
///
/// Calls block the calling thread for at most the timeout per round trip; a store that cannot
/// be reached makes the operation fail with a `STORAGE` error naming the server (see
/// [`Store::take_failure`]). Do not call it from inside an async runtime's worker thread: run it
/// on a blocking thread (`spawn_blocking`, a worker pool), as the bindings' async calls do.
pub struct RedisStore {
    pub(crate) link: Arc<Link>,
    pub(crate) prefix: String,
    pub(crate) policy: Arc<Policy>,
    pub(crate) tries: usize,
    conflicts: std::sync::atomic::AtomicU64,
    cache: Box<[Mutex<hashbrown::HashMap<String, Cached>>]>,
    stripes: Box<[Mutex<()>]>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.link.name)
            .field("prefix", &self.prefix)
            .field("calls", &self.link.calls())
            .finish()
    }
}

/// What this process knows of a customer: the version it read (`None`: no customer) and it.
type Known = (Option<u64>, Option<Customer>);

/// What a closure made of the customers it was given.
struct Run<R> {
    answer: R,
    after: Vec<Customer>,
}

impl RedisStore {
    pub(crate) fn new(link: Link, prefix: String, policy: Policy, tries: usize) -> RedisStore {
        RedisStore {
            link: Arc::new(link),
            prefix,
            policy: Arc::new(policy),
            tries: tries.max(1),
            conflicts: std::sync::atomic::AtomicU64::new(0),
            cache: (0..SHARDS)
                .map(|_| Mutex::new(hashbrown::HashMap::new()))
                .collect(),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: hashbrown::DefaultHashBuilder::default(),
        }
    }

    /// The key of a customer's hash: one hash tag per customer, so every key of a customer
    /// lands on one cluster slot.
    pub fn key(&self, id: &str) -> String {
        format!("{{{}:{id}}}:c", self.prefix)
    }

    /// Round trips to Redis made so far by this store.
    pub fn round_trips(&self) -> u64 {
        self.link.trips.load(Ordering::Relaxed)
    }

    /// Commits found stale so far (another instance changed a customer first): each one ran
    /// its decision again on the fresh state.
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// How commits reach the server: `FCALL` of the function library, or `EVALSHA`.
    pub fn calls(&self) -> crate::Calls {
        self.link.calls()
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    #[allow(clippy::cast_possible_truncation, reason = "a remainder below SHARDS")]
    fn shard(&self, id: &str) -> Option<&Mutex<hashbrown::HashMap<String, Cached>>> {
        self.cache.get((self.hash(id) % SHARDS as u64) as usize)
    }

    #[allow(clippy::cast_possible_truncation, reason = "a remainder below STRIPES")]
    fn stripe(&self, id: &str) -> usize {
        ((self.hash(id) >> 20) % STRIPES as u64) as usize
    }

    /// The local locks of `ids`, taken in stripe order (so two calls cannot deadlock).
    fn lock(&self, ids: &[&str]) -> Vec<parking_lot::MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = ids.iter().map(|id| self.stripe(id)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .filter_map(|s| self.stripes.get(s).map(|m| m.lock()))
            .collect()
    }

    fn cached(&self, id: &str) -> Option<Cached> {
        self.shard(id)?.lock().get(id).cloned()
    }

    fn remember(&self, id: &str, version: u64, customer: Customer) {
        if let Some(s) = self.shard(id) {
            s.lock()
                .insert(id.to_string(), Cached { version, customer });
        }
    }

    fn forget(&self, id: &str) {
        if let Some(s) = self.shard(id) {
            s.lock().remove(id);
        }
    }

    pub(crate) fn decode(&self, id: &str, bytes: &[u8]) -> Result<Customer, Error> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            Error::Storage(format!(
                "redis `{}`: customer `{id}` ({}): not a record: {e}",
                self.link.name,
                self.key(id)
            ))
        })?;
        Customer::from_record(&value, &self.policy).map_err(|(field, m)| {
            Error::Storage(format!(
                "redis `{}`: customer `{id}` ({}): {field}: {m}",
                self.link.name,
                self.key(id)
            ))
        })
    }

    fn encode(c: &Customer) -> Vec<u8> {
        serde_json::to_vec(&c.record()).unwrap_or_default()
    }

    /// The state of `ids` (sorted, distinct) this process knows, loading what it does not
    /// cache with one version check (`None` for a customer that does not exist).
    fn known(&self, ids: &[&str]) -> Result<Vec<Known>, Error> {
        let mut state: Vec<Known> = ids
            .iter()
            .map(|id| match self.cached(id) {
                Some(c) => (Some(c.version), Some(c.customer)),
                None => (None, None),
            })
            .collect();
        if state.iter().all(|s| s.1.is_some()) {
            return Ok(state);
        }
        // a miss: the same version check with nothing written answers the fresh records
        let keys: Vec<String> = ids.iter().map(|id| self.key(id)).collect();
        let parts: Vec<Part<'_>> = keys
            .iter()
            .zip(&state)
            .map(|(k, s)| (k.as_str(), s.0, None))
            .collect();
        if let Reply::Stale(fresh) = self.link.commit(&parts)? {
            state = self.absorb(ids, fresh)?;
        }
        Ok(state)
    }

    /// Takes the fresh state a stale commit answered into the cache.
    fn absorb(&self, ids: &[&str], fresh: Vec<Row>) -> Result<Vec<Known>, Error> {
        let mut state = Vec::with_capacity(ids.len());
        for (id, (version, record)) in ids.iter().zip(fresh) {
            match record {
                Some(bytes) => {
                    let c = self.decode(id, &bytes)?;
                    self.remember(id, version, c.clone());
                    state.push((Some(version), Some(c)));
                }
                None => {
                    self.forget(id);
                    state.push((None, None));
                }
            }
        }
        Ok(state)
    }

    /// The optimistic loop: run `f` on what is known of `ids` (sorted, distinct), commit what it
    /// changed with the versions it read; on a conflict take the fresh state and run it again.
    /// `f` answers `None` to stop without committing (a customer it needs is missing).
    fn decide<R>(
        &self,
        ids: &[&str],
        f: impl Fn(&[Option<Customer>]) -> Option<Run<R>>,
    ) -> Result<Option<R>, Error> {
        let _locks = self.lock(ids);
        let mut state = self.known(ids)?;
        let keys: Vec<String> = ids.iter().map(|id| self.key(id)).collect();
        for _ in 0..self.tries {
            let before: Vec<Option<Customer>> = state.iter().map(|s| s.1.clone()).collect();
            let Some(run) = f(&before) else {
                return Ok(None);
            };
            let posts: Vec<Option<Vec<u8>>> = run
                .after
                .iter()
                .zip(&before)
                .map(|(a, b)| (b.as_ref() != Some(a)).then(|| Self::encode(a)))
                .collect();
            let parts: Vec<Part<'_>> = keys
                .iter()
                .zip(&state)
                .zip(&posts)
                .map(|((k, s), p)| (k.as_str(), s.0, p.as_deref()))
                .collect();
            match self.link.commit(&parts)? {
                Reply::Committed(versions) => {
                    for ((id, v), c) in ids.iter().zip(versions).zip(run.after) {
                        self.remember(id, v, c);
                    }
                    return Ok(Some(run.answer));
                }
                Reply::Stale(fresh) => {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    state = self.absorb(ids, fresh)?;
                }
            }
        }
        Err(Error::Storage(format!(
            "redis `{}`: customer `{}` was changed by another instance on each of {} tries; \
             nothing was committed (raise `tries`, or spread the load)",
            self.link.name,
            ids.join("`, `"),
            self.tries
        )))
    }

    fn served<R>(
        &self,
        ids: &[&str],
        f: impl Fn(&[Option<Customer>]) -> Option<Run<R>>,
    ) -> Option<R> {
        if failing() {
            return None;
        }
        self.decide(ids, f).unwrap_or_else(fail)
    }
}

impl Store for RedisStore {
    fn read<R>(&self, id: &str, f: impl FnOnce(&Customer) -> R) -> Option<R> {
        // fresh: one version check (the record travels only when the cache is stale)
        let c = self.served(&[id], |cs| {
            let c = cs.first()?.clone()?;
            Some(Run {
                answer: c.clone(),
                after: vec![c],
            })
        })?;
        Some(f(&c))
    }

    fn update<R>(&self, id: &str, f: impl Fn(&mut Customer) -> R) -> Option<R> {
        self.served(&[id], |cs| {
            let mut c = cs.first()?.clone()?;
            let answer = f(&mut c);
            Some(Run {
                answer,
                after: vec![c],
            })
        })
    }

    fn update_many<R>(&self, ids: &[&str], f: impl Fn(&mut [&mut Customer]) -> R) -> Option<R> {
        let mut ids: Vec<&str> = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.served(&ids, |cs| {
            let mut all: Vec<Customer> = cs.iter().cloned().collect::<Option<_>>()?;
            let answer = {
                let mut refs: Vec<&mut Customer> = all.iter_mut().collect();
                f(&mut refs)
            };
            Some(Run { answer, after: all })
        })
    }

    fn upsert<R>(&self, customer: Customer, existing: impl Fn(&mut Customer) -> R) -> Option<R> {
        let id = customer.id.to_string();
        let r = self.served(&[id.as_str()], |cs| match cs.first()? {
            Some(c) => {
                let mut c = c.clone();
                let answer = existing(&mut c);
                Some(Run {
                    answer: Some(answer),
                    after: vec![c],
                })
            }
            None => Some(Run {
                answer: None,
                after: vec![customer.clone()],
            }),
        });
        r.flatten()
    }

    fn remove(&self, id: &str) -> Option<Customer> {
        if failing() {
            return None;
        }
        let _locks = self.lock(&[id]);
        let removed = self.link.remove(&self.key(id));
        self.forget(id);
        match removed {
            Ok(Some(bytes)) => self.decode(id, &bytes).map_or_else(fail, Some),
            Ok(None) => None,
            Err(e) => fail(e),
        }
    }

    fn ids(&self) -> Vec<String> {
        self.snapshot()
            .into_iter()
            .map(|c| c.id.to_string())
            .collect()
    }

    fn len(&self) -> usize {
        self.ids().len()
    }

    fn take_failure(&self) -> Option<Error> {
        FAILURE.with_borrow_mut(Option::take)
    }

    /// Every customer under the prefix: the keys found by `SCAN`, read in one `MULTI`/`EXEC`
    /// (a consistent cut of those keys; a customer created during the scan may be missing).
    fn snapshot(&self) -> Vec<Customer> {
        if failing() {
            return Vec::new();
        }
        match self.load_all() {
            Ok(all) => all,
            Err(e) => {
                fail::<()>(e);
                Vec::new()
            }
        }
    }
}

impl RedisStore {
    fn load_all(&self) -> Result<Vec<Customer>, Error> {
        let pattern = format!("{{{}:*}}:c", glob_escape(&self.prefix));
        let keys = self.link.scan(&pattern)?;
        let rows = self.link.read_all(&keys)?;
        let mut all = Vec::with_capacity(rows.len());
        let head = format!("{{{}:", self.prefix);
        for (key, (version, record)) in keys.iter().zip(rows) {
            let Some(bytes) = record else { continue };
            let id = key
                .strip_prefix(&head)
                .and_then(|k| k.strip_suffix("}:c"))
                .unwrap_or(key);
            let c = self.decode(id, &bytes)?;
            self.remember(&c.id, version, c.clone());
            all.push(c);
        }
        all.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }
}

/// `text` with the glob characters of `SCAN MATCH` escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
