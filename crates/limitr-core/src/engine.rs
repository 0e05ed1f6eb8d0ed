//! The `Limitr` facade: the operations of SPEC §6, nothing else.
//!
//! It holds the validated policy, the customer [`Store`], the [`Clock`] and the event [`Handlers`].
//! Every operation reads the clock once, runs a pure transition under the customer's lock, commits
//! it, and then (outside any lock) delivers the events.

use crate::customer::Customer;
use crate::decision::{self, CheckDetail, Draft, Reason, Request, Transition};
use crate::error::{Error, Result};
use crate::events::{Event, Handler, Handlers};
use crate::grant::{self, Grant};
use crate::meter::Meter;
use crate::number::{self, Decimal};
use crate::policy::Policy;
use crate::policy::format::{DEFAULT_MAX_DOCUMENT_BYTES, Format};
use crate::policy::issue::Issue;
use crate::reads;
use crate::store::{MemoryStore, Store};
use crate::time::{Clock, SystemClock, Timestamp};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Options of a metering call (`allow`, `increment`, `set`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct CallOptions {
    /// Send events for this call (default true).
    pub events: bool,
    /// Provider cost of the call in runes, instead of `units × overhead_cost`.
    pub overhead: Option<Decimal>,
    /// Data attached to the call's events as `event_data`.
    pub event_data: Option<Value>,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            events: true,
            overhead: None,
            event_data: None,
        }
    }
}

/// Options for loading a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Largest accepted document text, in bytes (default 32 MiB).
    pub max_document_bytes: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
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

fn require_id(name: &'static str, id: &str) -> Result<()> {
    let blank = |b: &u8| b.is_ascii_whitespace();
    if id.is_empty() || (id.as_bytes().first().is_some_and(blank) && id.trim().is_empty()) {
        return Err(Error::invalid(name, "must be a non-empty string"));
    }
    Ok(())
}

impl Limitr<MemoryStore> {
    /// Loads a document from text in `format`, with an in-memory store and the system clock.
    pub fn load(text: &str, format: Format) -> Result<Self> {
        Self::load_with(text, format, LoadOptions::default())
    }

    /// Loads a document from text with explicit options.
    pub fn load_with(text: &str, format: Format, options: LoadOptions) -> Result<Self> {
        let doc = format.read(text, options.max_document_bytes)?;
        Self::from_value(&doc)
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
        let mut issues: Vec<Issue> = Vec::new();
        let mut loaded = Vec::new();
        match customers {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (id, record) in map {
                    match Customer::from_record(&record, &|s| policy.intern(s)) {
                        Ok(c) => loaded.push(c),
                        Err((field, message)) => issues.push(Issue {
                            path: if field.is_empty() {
                                format!("policy.customers.{id}")
                            } else {
                                format!("policy.customers.{id}.{field}")
                            },
                            code: "INVALID_VALUE",
                            message,
                            severity: crate::policy::issue::Severity::Error,
                        }),
                    }
                }
            }
            Some(_) => issues.push(Issue {
                path: "policy.customers".into(),
                code: "INVALID_TYPE",
                message: "expected an object of customers by id".into(),
                severity: crate::policy::issue::Severity::Error,
            }),
        }
        if !issues.is_empty() {
            return Err(Error::PolicyInvalid(issues));
        }
        for c in loaded {
            store.upsert(c, |_| ());
        }
        Ok(Limitr {
            policy: Arc::new(policy),
            store,
            clock: Arc::new(SystemClock),
            handlers: Handlers::default(),
        })
    }

    /// Uses `clock` for every time-dependent decision (resets, expiries).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
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

    fn finish(&self, drafts: Vec<Draft>, c: &Customer, ent: &str, now: Timestamp) -> Vec<Event> {
        if drafts.is_empty() {
            return Vec::new();
        }
        let record = c.record();
        let remaining = reads::remaining(&self.policy, c, ent, false, true, now);
        drafts
            .into_iter()
            .map(|mut d| {
                d.fields.insert("customer".into(), record.clone());
                d.fields.insert(
                    "remaining".into(),
                    remaining.map_or(Value::Null, number::to_value),
                );
                Event {
                    name: d.name,
                    payload: Value::Object(d.fields),
                }
            })
            .collect()
    }

    fn customer_event(name: &'static str, record: Value) -> Event {
        Event {
            name,
            payload: record,
        }
    }

    // ---- customers -------------------------------------------------------------------------

    fn resolve_plan(&self, plan: Option<&str>) -> Result<Arc<str>> {
        match plan.filter(|p| !p.is_empty()) {
            Some(p) => self
                .policy
                .plans
                .get_key_value(p)
                .map(|(k, _)| k.clone())
                .ok_or_else(|| Error::UnknownPlan(p.to_string())),
            None => self.policy.default_plan.clone().ok_or_else(|| {
                Error::invalid(
                    "plan",
                    "no plan given and the policy has no `default: true` plan",
                )
            }),
        }
    }

    fn fresh_meters(&self, plan: &str, now: Timestamp) -> Vec<Meter> {
        self.policy.plan(plan).map_or_else(Vec::new, |p| {
            p.entitlements
                .values()
                .filter_map(|e| {
                    Some(Meter::new(
                        e.name.clone(),
                        e.limit.as_ref()?.credit.clone(),
                        now,
                    ))
                })
                .collect()
        })
    }

    /// Creates a customer on `plan` (the default plan when `None`), with a zero meter for every
    /// limited entitlement. An existing customer is updated (plan changed when one is given, meters
    /// kept). Returns the customer's record. Fires `customer-set`.
    pub fn create_customer(&self, id: &str, plan: Option<&str>) -> Result<Value> {
        require_id("id", id)?;
        let now = self.now();
        let explicit = plan.filter(|p| !p.is_empty()).is_some();
        let plan = self.resolve_plan(plan)?;
        let mut c = Customer::new(id, plan.clone());
        c.meters = self.fresh_meters(&plan, now);
        let record = self
            .store
            .upsert(c.clone(), |existing| {
                if explicit {
                    existing.plan = plan.clone();
                }
                existing.record()
            })
            .unwrap_or_else(|| c.record());
        if self.emitting(true) {
            self.handlers
                .dispatch(&[Self::customer_event("customer-set", record.clone())]);
        }
        Ok(record)
    }

    /// Creates the customer if it does not exist; true if it was created.
    pub fn ensure_customer(&self, id: &str, plan: Option<&str>) -> Result<bool> {
        require_id("id", id)?;
        let plan = self.resolve_plan(plan)?;
        let now = self.now();
        let mut c = Customer::new(id, plan.clone());
        c.meters = self.fresh_meters(&plan, now);
        let record = self.emitting(true).then(|| c.record());
        let created = self.store.upsert(c, |_| ()).is_none();
        if let (true, Some(record)) = (created, record) {
            self.handlers
                .dispatch(&[Self::customer_event("customer-set", record)]);
        }
        Ok(created)
    }

    /// A customer's state.
    pub fn customer(&self, id: &str) -> Option<Customer> {
        self.store.read(id, Customer::clone)
    }

    /// A customer's record (`{id, plan, meters, grants, …}`).
    pub fn customer_record(&self, id: &str) -> Option<Value> {
        self.store.read(id, Customer::record)
    }

    /// Every customer's record, by id (sorted).
    pub fn customers(&self) -> Map<String, Value> {
        self.store
            .ids()
            .into_iter()
            .filter_map(|id| Some((id.clone(), self.customer_record(&id)?)))
            .collect()
    }

    /// Removes a customer; true if it existed. Fires `customer-removed`.
    pub fn remove_customer(&self, id: &str) -> Result<bool> {
        require_id("id", id)?;
        let removed = self.store.remove(id);
        if let (Some(c), true) = (&removed, self.emitting(true)) {
            self.handlers
                .dispatch(&[Self::customer_event("customer-removed", c.record())]);
        }
        Ok(removed.is_some())
    }

    /// Moves a customer to another plan. Meters of entitlements the new plan also has are kept
    /// unless `reset_meters`; new meters start with the period of the kept ones. False when the
    /// customer is unknown or already on that plan. Fires `customer-set` and `customer-plan-changed`.
    pub fn set_customer_plan(&self, id: &str, plan: &str, reset_meters: bool) -> Result<bool> {
        require_id("id", id)?;
        require_id("plan", plan)?;
        let new_plan = self.resolve_plan(Some(plan))?;
        let now = self.now();
        let Some(target) = self.policy.plan(&new_plan) else {
            return Err(Error::UnknownPlan(plan.into()));
        };
        let outcome = self.store.update(id, |c| {
            if c.plan == new_plan && !reset_meters {
                return None;
            }
            let previous = c.plan.clone();
            let kept_start = c
                .meters
                .iter()
                .filter(|m| target.entitlements.contains_key(&m.entitlement))
                .map(|m| m.started)
                .min();
            let mut meters = Vec::new();
            for e in target.entitlements.values() {
                let Some(limit) = &e.limit else { continue };
                let old = c
                    .meter(&e.name)
                    .filter(|m| !reset_meters && m.credit == limit.credit);
                meters.push(match old {
                    Some(m) => m.clone(),
                    None => Meter::new(
                        e.name.clone(),
                        limit.credit.clone(),
                        if reset_meters {
                            now
                        } else {
                            kept_start.unwrap_or(now)
                        },
                    ),
                });
            }
            c.meters = meters;
            c.plan = new_plan.clone();
            Some((previous, c.record()))
        });
        let Some(Some((previous, record))) = outcome else {
            return Ok(false);
        };
        if self.emitting(true) {
            let mut changed = Map::new();
            changed.insert("previous_plan".into(), Value::String(previous.to_string()));
            changed.insert("new_plan".into(), Value::String(new_plan.to_string()));
            changed.insert("customer".into(), record.clone());
            self.handlers.dispatch(&[
                Self::customer_event("customer-set", record),
                Self::customer_event("customer-plan-changed", Value::Object(changed)),
            ]);
        }
        Ok(true)
    }

    // ---- metering --------------------------------------------------------------------------

    /// Meters `value` on an entitlement if the policy allows it. `value = 0` is an entitlement
    /// check. False for unknown customers and entitlements (no event).
    pub fn allow(&self, customer: &str, entitlement: &str, value: Decimal) -> Result<bool> {
        self.allow_with(customer, entitlement, value, &CallOptions::default())
    }

    /// [`allow`](Self::allow) with options (overhead, event data, events on/off).
    pub fn allow_with(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        options: &CallOptions,
    ) -> Result<bool> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        require_amount("value", value)?;
        if let Some(o) = options.overhead {
            require_amount("overhead", o)?;
        }
        let now = self.now();
        let req = Request {
            entitlement,
            value,
            overhead: options.overhead,
            event_data: options.event_data.as_ref(),
            events: self.emitting(options.events),
        };
        let outcome = self.store.update(customer, |c| {
            let mut t: Transition = decision::evaluate(&self.policy, c, &req, now, true)?;
            let drafts = std::mem::take(&mut t.drafts);
            t.apply(c);
            Ok::<_, Error>((t.allowed, self.finish(drafts, c, entitlement, now)))
        });
        let Some(outcome) = outcome else {
            return Ok(false);
        };
        let (allowed, events) = outcome?;
        self.handlers.dispatch(&events);
        Ok(allowed)
    }

    /// Whether `allow` with the same arguments would pass, changing nothing and sending no event.
    pub fn check(&self, customer: &str, entitlement: &str, value: Decimal) -> Result<bool> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        require_amount("value", value)?;
        let now = self.now();
        let req = Request {
            entitlement,
            value,
            overhead: None,
            event_data: None,
            events: false,
        };
        let verdict = self.store.read(customer, |c| {
            decision::evaluate(&self.policy, c, &req, now, false).map(|t| t.allowed)
        });
        verdict.unwrap_or(Ok(false))
    }

    /// [`check`](Self::check) with the reason, what remains and when it resets (SPEC §3.10).
    pub fn check_detail(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        overhead: Option<Decimal>,
    ) -> Result<CheckDetail> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        require_amount("value", value)?;
        if let Some(o) = overhead {
            require_amount("overhead", o)?;
        }
        let now = self.now();
        let req = Request {
            entitlement,
            value,
            overhead,
            event_data: None,
            events: false,
        };
        let detail = self.store.read(customer, |c| {
            let t = decision::evaluate(&self.policy, c, &req, now, false)?;
            Ok::<_, Error>(CheckDetail {
                allowed: t.allowed,
                reason: t.reason,
                remaining: reads::remaining(&self.policy, c, entitlement, false, true, now),
                resets: reads::resets(&self.policy, c, entitlement, now),
            })
        });
        if let Some(detail) = detail {
            return detail;
        }
        Ok(CheckDetail {
            allowed: false,
            reason: Reason::UnknownCustomer,
            remaining: None,
            resets: None,
        })
    }

    fn step(&self, customer: &str, entitlement: &str) -> Option<Decimal> {
        self.store.read(customer, |c| {
            decision::plan_of(&self.policy, c)?
                .entitlements
                .get(entitlement)?
                .limit
                .as_ref()
                .map(|l| l.increment)
        })?
    }

    /// Meters the limit's `increment` (1 by default). False when there is no limit.
    pub fn increment(
        &self,
        customer: &str,
        entitlement: &str,
        options: &CallOptions,
    ) -> Result<bool> {
        require_id("customer", customer)?;
        match self.step(customer, entitlement) {
            Some(step) => self.allow_with(customer, entitlement, step, options),
            None => Ok(false),
        }
    }

    /// Meters minus the limit's `increment`. False when there is no limit.
    pub fn decrement(
        &self,
        customer: &str,
        entitlement: &str,
        options: &CallOptions,
    ) -> Result<bool> {
        require_id("customer", customer)?;
        match self.step(customer, entitlement) {
            Some(step) => self.allow_with(customer, entitlement, -step, options),
            None => Ok(false),
        }
    }

    /// Sets the meter to `value` (meters the difference, with the same rules as `allow`).
    pub fn set(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        options: &CallOptions,
    ) -> Result<bool> {
        let Some(current) = self.value(customer, entitlement, false, true)? else {
            return Ok(false);
        };
        self.allow_with(customer, entitlement, value - current, options)
    }

    // ---- reads -----------------------------------------------------------------------------

    fn read<R>(
        &self,
        customer: &str,
        entitlement: &str,
        f: impl FnOnce(&Customer, Timestamp) -> Option<R>,
    ) -> Result<Option<R>> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        let now = self.now();
        Ok(self.store.read(customer, |c| f(c, now)).flatten())
    }

    /// Usage this period (`percent`: share of the limit used, grants included when `grants`).
    /// `None` for unknown customers/entitlements, and with `percent` for flags and observe limits.
    pub fn value(
        &self,
        customer: &str,
        entitlement: &str,
        percent: bool,
        grants: bool,
    ) -> Result<Option<Decimal>> {
        self.read(customer, entitlement, |c, now| {
            reads::value(&self.policy, c, entitlement, percent, grants, now)
        })
    }

    /// What is left this period (grants included when `grants`; `percent`: as a share).
    pub fn remaining(
        &self,
        customer: &str,
        entitlement: &str,
        percent: bool,
        grants: bool,
    ) -> Result<Option<Decimal>> {
        self.read(customer, entitlement, |c, now| {
            reads::remaining(&self.policy, c, entitlement, percent, grants, now)
        })
    }

    /// The limit (plus grants when `grants`). `id` may be a customer or a plan name.
    pub fn limit(&self, id: &str, entitlement: &str, grants: bool) -> Result<Option<Decimal>> {
        require_id("id", id)?;
        require_id("entitlement", entitlement)?;
        let now = self.now();
        if let Some(v) = self.store.read(id, |c| {
            reads::limit(&self.policy, Some(c), "", entitlement, grants, now)
        }) {
            return Ok(v);
        }
        Ok(reads::limit(
            &self.policy,
            None,
            id,
            entitlement,
            grants,
            now,
        ))
    }

    /// When the entitlement next resets (epoch ms); `None` when it does not reset.
    pub fn resets(&self, customer: &str, entitlement: &str) -> Result<Option<Timestamp>> {
        self.read(customer, entitlement, |c, now| {
            reads::resets(&self.policy, c, entitlement, now)
        })
    }

    // ---- grants and exchange -----------------------------------------------------------------

    /// Grants a plan top-up to a customer. False for an unknown customer; an error when the
    /// customer's plan has no such top-up. Fires `customer-topup-granted`.
    pub fn apply_customer_topup(&self, customer: &str, topup: &str) -> Result<bool> {
        require_id("customer", customer)?;
        require_id("topup", topup)?;
        let now = self.now();
        let outcome = self.store.update(customer, |c| {
            let plan = decision::plan_of(&self.policy, c)
                .ok_or_else(|| Error::UnknownPlan(c.plan.to_string()))?;
            let t = plan.topups.get(topup).ok_or_else(|| Error::UnknownTopup {
                topup: topup.into(),
                plan: plan.name.to_string(),
            })?;
            let id = c.next_grant_id(now);
            c.grants.push(Grant {
                id,
                credit: t.credit.clone(),
                topup: Some(t.name.clone()),
                created_on: now,
                starting_value: t.value,
                value: t.value,
                expires_on: t.expires_after.and_then(|ms| now.checked_add(ms)),
            });
            Ok::<_, Error>((c.record(), plan.name.clone(), t.record.clone()))
        });
        let Some(result) = outcome else {
            return Ok(false);
        };
        let (record, plan, topup_record) = result?;
        if self.emitting(true) {
            let mut p = Map::new();
            p.insert("customer".into(), record);
            p.insert("topup_name".into(), Value::String(topup.into()));
            p.insert("plan_name".into(), Value::String(plan.to_string()));
            p.insert("topup".into(), topup_record);
            self.handlers.dispatch(&[Self::customer_event(
                "customer-topup-granted",
                Value::Object(p),
            )]);
        }
        Ok(true)
    }

    /// A customer's grant balance expressed in `credit` (through the exchange table).
    pub fn remaining_credit(&self, customer: &str, credit: &str) -> Result<Option<Decimal>> {
        require_id("customer", customer)?;
        require_id("credit", credit)?;
        let now = self.now();
        Ok(self.store.read(customer, |c| {
            grant::balance(&c.grants, credit, &self.policy.exchange, now).normalize()
        }))
    }

    /// Converts `value` units of `from` into `to` through the exchange table; `None` without a path.
    pub fn credit_exchange(&self, from: &str, to: &str, value: Decimal) -> Option<Decimal> {
        self.policy.exchange.convert(value, from, to)
    }

    // ---- the document ----------------------------------------------------------------------

    /// The whole document (rules and customers) as a value: `{"policy": {…, "customers": {…}}}`.
    pub fn record(&self) -> Value {
        let mut policy = self.policy.raw().clone();
        policy.insert("customers".into(), Value::Object(self.customers()));
        let mut root = Map::new();
        root.insert("policy".into(), Value::Object(policy));
        Value::Object(root)
    }

    /// The whole document as text; [`Limitr::load`] reads it back with the same rules and customers.
    pub fn stringify(&self, format: Format) -> Result<String> {
        format.write(&self.record())
    }
}
