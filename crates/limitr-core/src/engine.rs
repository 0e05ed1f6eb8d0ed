//! The `Limitr` facade: the engine's operations, nothing else.
//!
//! Split by job: [`route`] finds whose meter a call moves, `customers` holds the customer
//! lifecycle, `metering` the decisions and reads.
//!
//! It holds the validated policy, the customer [`Store`], the [`Clock`] and the event [`Handlers`].
//! Every operation reads the clock once, runs a pure transition under the customer's lock, commits
//! it, and then (outside any lock) delivers the events.

use crate::customer::Customer;
use crate::decision::Draft;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, EventSet, Filter, Handler, Handlers};
use crate::number::{self, Decimal};
use crate::policy::Policy;
use crate::policy::format::{DEFAULT_MAX_DOCUMENT_BYTES, Format};
use crate::policy::issue::Issue;
use crate::reads;
use crate::store::{MemoryStore, Store};
use crate::time::{Clock, SystemClock, Timestamp};
use parking_lot::RwLock;
use serde_json::{Map, Value};
use std::sync::Arc;

mod caps;
mod customers;
mod holds;
mod metering;
mod restore;
mod route;
mod trends;

pub use caps::CapOptions;
pub use customers::NewCustomer;
pub use holds::{EstimateAnswer, ReserveOptions};

/// Options of a metering call (`allow`, `increment`, `set`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct CallOptions {
    /// Send events for this call (default true).
    pub events: bool,
    /// Provider cost of the call in runes, instead of `units × overhead_cost`.
    pub overhead: Option<Decimal>,
    /// Data attached to the call's events as `event_data`.
    pub event_data: Option<Value>,
    /// Call-scoped spend caps: `(credit or currency, ceiling)`, each starting at 0 for this call
    /// only (they appear as `tmp-<credit>` in `cap-limit` events).
    pub caps: Vec<(String, Decimal)>,
    /// Idempotency key: a second call with the same key (for the same customer, within the
    /// idempotency TTL) answers the first call's answer and changes nothing; with other arguments
    /// it is [`Error::IdempotencyConflict`]. A non-empty string of at most 255 bytes.
    pub idempotency_key: Option<String>,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            events: true,
            overhead: None,
            event_data: None,
            caps: Vec::new(),
            idempotency_key: None,
        }
    }
}

/// Options for loading a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Largest accepted document text, in bytes (default 32 MiB).
    pub max_document_bytes: usize,
    /// How long idempotency keys are remembered, in ms; wins over the policy's `idempotency_ttl`
    /// (default: the policy's, else 24 hours). Must be greater than zero.
    pub idempotency_ttl_ms: Option<i64>,
    /// Unknown references raise instead of answering (default false): an unknown plan in
    /// `create_customer`/`set_customer_plan` is `UNKNOWN_PLAN`, an unknown top-up in
    /// `apply_customer_topup` is `UNKNOWN_TOPUP`, an unknown credit in an override or a cap is
    /// `UNKNOWN_CREDIT`. Without it they answer false/null (or the default plan) and store nothing.
    pub strict: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            idempotency_ttl_ms: None,
            strict: false,
        }
    }
}

/// The engine: a policy, its customers, a clock and event handlers. `Send + Sync`; calls on
/// different customers do not wait on each other.
///
/// ```
/// use limitr_core::{Limitr, ManualClock};
/// use std::sync::Arc;
/// let policy = Limitr::from_json(r#"{"policy": {
///   "credits": {"tok": {"stof_units": "int"}},
///   "plans": {"free": {"default": true, "entitlements": {
///     "chat": {"limit": {"credit": "tok", "value": 100}}}}}}}"#)
///     .unwrap()
///     .with_clock(Arc::new(ManualClock::new(0)));
/// policy.create_customer("ada", None).unwrap();
/// assert!(policy.allow("ada", "chat", 60.into()).unwrap());
/// assert!(!policy.allow("ada", "chat", 50.into()).unwrap());
/// assert_eq!(policy.remaining("ada", "chat", false, true).unwrap(), Some(40.into()));
/// ```
pub struct Limitr<S: Store = MemoryStore> {
    policy: Arc<Policy>,
    store: S,
    clock: Arc<dyn Clock>,
    handlers: Handlers,
    /// Alternative id → primary id.
    alt_ids: RwLock<hashbrown::HashMap<String, String>>,
    /// Whether any customer holds a spend cap (calls skip the cap path until one does).
    any_caps: std::sync::atomic::AtomicBool,
    /// Everyone's learned estimates, by `<entitlement>.<segment>`.
    estimates: RwLock<hashbrown::HashMap<String, crate::estimate::Estimate>>,
    /// How long idempotency keys are remembered, in ms.
    idempotency_ttl: i64,
    /// Unknown references raise their typed error instead of answering (`LoadOptions::strict`).
    strict: bool,
}

impl<S: Store> std::fmt::Debug for Limitr<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limitr")
            .field("customers", &self.store.len())
            .field("handlers", &self.handlers)
            .finish()
    }
}

fn require_amount(name: &'static str, v: Decimal) -> Result<Decimal> {
    if !number::in_range(v) {
        return Err(Error::invalid(
            name,
            format!("`{v}` is out of range (at most 1e20 in magnitude)"),
        ));
    }
    Ok(v)
}

/// A call's provider cost: in range and not negative.
fn require_overhead(v: Decimal) -> Result<Decimal> {
    require_amount("overhead", v)?;
    if v.is_sign_negative() && !v.is_zero() {
        return Err(Error::invalid(
            "overhead",
            format!("must not be negative, found `{v}`"),
        ));
    }
    Ok(v)
}

fn require_id(name: &'static str, id: &str) -> Result<()> {
    let blank = |b: &u8| b.is_ascii_whitespace();
    if id.is_empty() || (id.as_bytes().first().is_some_and(blank) && id.trim().is_empty()) {
        return Err(Error::invalid(name, "must be a non-empty string"));
    }
    Ok(())
}

/// A draft's payload as JSON text: its fields in order, then `customer` (already JSON text) and
/// `remaining`, as the value `{...fields, customer, remaining}` would print.
fn payload_text(fields: &Map<String, Value>, customer: &str, remaining: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(customer.len() + 64 * fields.len() + 64);
    out.push(b'{');
    for (k, v) in fields {
        if k == "customer" || k == "remaining" {
            continue;
        }
        if let (true, Value::String(raw)) = (k == crate::decision::RAW_HEAD, v) {
            out.extend_from_slice(raw.as_bytes());
            out.push(b',');
            continue;
        }
        // writing to a Vec cannot fail, and a Value always serialises
        let _ = serde_json::to_writer(&mut out, k);
        out.push(b':');
        let _ = serde_json::to_writer(&mut out, v);
        out.push(b',');
    }
    out.extend_from_slice(b"\"customer\":");
    out.extend_from_slice(customer.as_bytes());
    out.extend_from_slice(b",\"remaining\":");
    out.extend_from_slice(remaining.as_bytes());
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

impl Limitr<MemoryStore> {
    /// Loads a document from text in `format`, with an in-memory store and the system clock.
    pub fn load(text: &str, format: Format) -> Result<Self> {
        Self::load_with(text, format, LoadOptions::default())
    }

    /// Loads a document from text with explicit options. `max_document_bytes` counts the text
    /// outside `policy.customers` in JSON (a snapshot the engine wrote always loads back), the
    /// whole text in YAML and TOML. JSON customers are read one record at a time.
    pub fn load_with(text: &str, format: Format, options: LoadOptions) -> Result<Self> {
        let split = match format {
            Format::Json => crate::policy::split::split(text, options.max_document_bytes)?,
            _ => None,
        };
        if let Some(split) = split {
            return restore::from_split(split, MemoryStore::default())?.with_load_options(&options);
        }
        let doc = format.read(text, options.max_document_bytes)?;
        Self::from_value(&doc)?.with_load_options(&options)
    }

    /// Loads a JSON document.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::load(text, Format::Json)
    }

    /// Loads an already-parsed document (`{"policy": {…}}`).
    pub fn from_value(doc: &Value) -> Result<Self> {
        Self::with_store(doc, MemoryStore::default())
    }
}

impl<S: Store> Limitr<S> {
    /// Loads an already-parsed document into the given store (its customers are inserted).
    pub fn with_store(doc: &Value, store: S) -> Result<Self> {
        let (policy, customers) = Policy::from_root(doc)?;
        let mut restore = restore::Restore::new(&policy);
        match customers {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (id, record) in &map {
                    restore.record(id, record);
                }
            }
            Some(_) => restore.not_an_object(),
        }
        let loaded = restore.finish()?;
        Self::assemble(policy, loaded, store)
    }

    /// The engine over a validated policy and its restored customers.
    fn assemble(policy: Policy, loaded: Vec<Customer>, store: S) -> Result<Self> {
        let mut estimates = hashbrown::HashMap::new();
        if let Some(Value::Object(map)) = policy.raw().get("estimates") {
            for (k, v) in map {
                if let Some(e) = crate::estimate::Estimate::from_record(v) {
                    estimates.insert(k.clone(), e);
                }
            }
        }
        let mut alt_ids = hashbrown::HashMap::new();
        if let Some(Value::Object(map)) = policy.raw().get("alt_customer_ids") {
            for (alt, primary) in map {
                if let Some(p) = primary.as_str() {
                    alt_ids.insert(alt.clone(), p.to_string());
                }
            }
        }
        let mut any_caps = loaded.iter().any(Customer::has_caps);
        // a store that arrives filled (restored from a journal) keeps its customers: the
        // document's customers of the same ids are not loaded over them
        for c in store.snapshot() {
            any_caps |= c.has_caps();
            for alt in c.profile.iter().flat_map(|p| p.alt_ids.iter()) {
                alt_ids.insert(alt.clone(), c.id.to_string());
            }
        }
        for c in loaded {
            for alt in c.profile.iter().flat_map(|p| p.alt_ids.iter()) {
                alt_ids.insert(alt.clone(), c.id.to_string());
            }
            store.upsert(c, |_| ());
        }
        if let Some(e) = store.take_failure() {
            return Err(e);
        }
        let policy_idempotency_ttl = policy.idempotency_ttl;
        Ok(Limitr {
            policy: Arc::new(policy),
            store,
            clock: Arc::new(SystemClock),
            handlers: Handlers::default(),
            alt_ids: RwLock::new(alt_ids),
            estimates: RwLock::new(estimates),
            any_caps: std::sync::atomic::AtomicBool::new(any_caps),
            idempotency_ttl: policy_idempotency_ttl,
            strict: false,
        })
    }

    /// Applies the options that act after the document is read: the idempotency TTL and
    /// `strict` (what [`load_with`](Limitr::load_with) does; for engines built another way).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `idempotency_ttl_ms` when it is not greater than zero.
    pub fn with_load_options(self, options: &LoadOptions) -> Result<Self> {
        let mut engine = match options.idempotency_ttl_ms {
            Some(ms) => self.with_idempotency_ttl(ms)?,
            None => self,
        };
        engine.strict = options.strict;
        Ok(engine)
    }

    /// Whether unknown references raise (`LoadOptions::strict`).
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// The answer to an unknown reference: `Ok(answer)`, or the typed error when strict.
    fn unknown<T>(&self, error: impl FnOnce() -> Error, answer: T) -> Result<T> {
        if self.strict {
            Err(error())
        } else {
            Ok(answer)
        }
    }

    /// Uses `clock` for every time-dependent decision (resets, expiries).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Remembers idempotency keys for `ms` milliseconds instead of the policy's `idempotency_ttl`
    /// (what [`LoadOptions::idempotency_ttl_ms`] sets).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `idempotency_ttl_ms` when `ms` is not greater than zero.
    pub fn with_idempotency_ttl(mut self, ms: i64) -> Result<Self> {
        if ms <= 0 {
            return Err(Error::invalid(
                "idempotency_ttl_ms",
                format!("must be greater than zero, found `{ms}`"),
            ));
        }
        self.idempotency_ttl = ms;
        Ok(self)
    }

    /// How long idempotency keys are remembered, in ms.
    pub fn idempotency_ttl(&self) -> i64 {
        self.idempotency_ttl
    }

    /// A keyed call's [`Keyed`](crate::idempotency::Keyed) (`None` without a key); `parts` are
    /// the operation and its arguments. Only keyed calls build the parts.
    #[inline]
    fn keyed(
        &self,
        key: Option<&str>,
        parts: impl FnOnce() -> Vec<String>,
    ) -> Result<Option<crate::idempotency::Keyed>> {
        match key {
            None => Ok(None),
            Some(k) => {
                let parts = parts();
                let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                crate::idempotency::Keyed::new(k, &refs, self.idempotency_ttl).map(Some)
            }
        }
    }

    /// Runs one operation: a failure of the store met on the way (a store answers `None` when it
    /// cannot serve a call, and says why through [`Store::take_failure`]) is its error.
    #[inline]
    fn stored<T>(&self, op: impl FnOnce() -> Result<T>) -> Result<T> {
        let r = op();
        match self.store.take_failure() {
            Some(e) => Err(e),
            None => r,
        }
    }

    /// The current time of the engine's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now_ms()
    }

    /// The validated policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The store holding the customers.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Warnings about the document (unknown fields, settings without effect). Never errors: those
    /// are refused at load.
    pub fn lint(&self) -> &[Issue] {
        &self.policy.warnings
    }

    // ---- events ----------------------------------------------------------------------------

    /// The handler registry.
    pub fn handlers(&self) -> &Handlers {
        &self.handlers
    }

    /// Adds (or replaces) a named handler; it receives every event.
    pub fn add_handler(&self, name: &str, handler: impl Handler + 'static) {
        self.handlers.add(name, Arc::new(handler));
    }

    /// Adds (or replaces) a named handler receiving only the events named in `events` (fixed
    /// names such as `meter-limit`, or names of the policy's notification rules). Events no
    /// handler listens to are never built.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a name that is neither: `events[1]: unknown event "meter-limt"`.
    pub fn add_handler_for<N: AsRef<str>>(
        &self,
        name: &str,
        events: &[N],
        handler: impl Handler + 'static,
    ) -> Result<()> {
        self.add_shared_handler(name, Some(events), Arc::new(handler))
    }

    /// [`add_handler_for`](Self::add_handler_for) with a shared handler; `events: None` listens
    /// to every event.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for an unknown event name.
    pub fn add_shared_handler<N: AsRef<str>>(
        &self,
        name: &str,
        events: Option<&[N]>,
        handler: Arc<dyn Handler>,
    ) -> Result<()> {
        let filter = match events {
            None => None,
            Some(names) => Some(self.event_filter(names)?),
        };
        self.handlers.add_filtered(name, handler, filter);
        Ok(())
    }

    /// The filter over `names` (fixed event names and the policy's notification rules).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming the first unknown name.
    pub fn event_filter<N: AsRef<str>>(&self, names: &[N]) -> Result<Filter> {
        let rules: Vec<&'static str> = self.policy.notifications.iter().map(|r| r.name).collect();
        Filter::new(names, &rules)
    }

    /// Removes a handler by name; true if it existed.
    pub fn remove_handler(&self, name: &str) -> bool {
        self.handlers.remove(name)
    }

    /// Removes every handler.
    pub fn clear_handlers(&self) {
        self.handlers.clear();
    }

    fn emitting(&self, events: bool) -> bool {
        events && self.handlers.active()
    }

    /// The events a metering call builds: those some handler listens to, plus the meter events
    /// the notification rules wait for when some handler listens to a rule's event (the rules read
    /// them); none with `events = false`.
    #[inline]
    fn listening(&self, events: bool) -> EventSet {
        if !events {
            return EventSet::NONE;
        }
        let wanted = self.handlers.wanted();
        if !wanted.has(EventKind::Notification) {
            return wanted;
        }
        self.policy
            .notifications
            .iter()
            .fold(wanted, |set, rule| match rule.on {
                None => set.union(EventSet::METER),
                Some(on) => set.with(EventKind::of(on)),
            })
    }

    /// Turns a call's drafts into events: each payload is written once, straight to JSON text,
    /// with the owner's record (serialised once per call) and `remaining` appended; drafts built
    /// only for the notification rules are dropped.
    fn finish(
        &self,
        drafts: Vec<Draft>,
        c: &Customer,
        ent: &str,
        limit: Option<&crate::Limit>,
        now: Timestamp,
    ) -> Vec<Event> {
        let mut drafts = drafts;
        drafts.retain(|d| self.handlers.delivers(EventKind::of(d.name), d.name));
        if drafts.is_empty() {
            return Vec::new();
        }
        let record = crate::payload::customer(c);
        debug_assert_eq!(
            record,
            c.record().to_string(),
            "the written customer record"
        );
        let remaining = reads::remaining(&self.policy, c, ent, limit, false, true, now)
            .map_or(Value::Null, number::to_value)
            .to_string();
        drafts
            .into_iter()
            .map(|d| {
                let kind = EventKind::of(d.name);
                Event::from_json(d.name, kind, payload_text(&d.fields, &record, &remaining))
            })
            .collect()
    }

    // ---- the document ----------------------------------------------------------------------

    /// The whole document (rules and customers) as a value: `{"policy": {…, "customers": {…}}}`.
    pub fn record(&self) -> Value {
        let mut policy = self.policy.raw().clone();
        policy.insert("customers".into(), Value::Object(self.customers()));
        let mut est: Vec<(String, Value)> = self
            .estimates
            .read()
            .iter()
            .map(|(k, e)| (k.clone(), e.record()))
            .collect();
        est.sort_by(|a, b| a.0.cmp(&b.0));
        if !est.is_empty() {
            policy.insert("estimates".into(), Value::Object(est.into_iter().collect()));
        }
        let mut alts: Vec<(String, String)> = self
            .alt_ids
            .read()
            .iter()
            .map(|(a, p)| (a.clone(), p.clone()))
            .collect();
        alts.sort();
        policy.insert(
            "alt_customer_ids".into(),
            Value::Object(
                alts.into_iter()
                    .map(|(a, p)| (a, Value::String(p)))
                    .collect(),
            ),
        );
        let mut root = Map::new();
        root.insert("policy".into(), Value::Object(policy));
        Value::Object(root)
    }

    /// The whole document as text; [`Limitr::load`] reads it back with the same rules and customers.
    pub fn stringify(&self, format: Format) -> Result<String> {
        format.write(&self.record())
    }
}
