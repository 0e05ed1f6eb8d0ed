//! The customer lifecycle: create, ensure, read, remove, change plan, refs and alt ids, overrides,
//! top-ups and the plan subscription.

use super::{CallOptions, Limitr, require_id};
use crate::customer::{Customer, Override, Profile};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::grant::Grant;
use crate::idempotency::{self, Keyed, Outcome};
use crate::meter::{Meter, Meters};
use crate::number::Decimal;
use crate::store::Store;
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::sync::Arc;

/// What to create a customer with (everything optional).
///
/// ```
/// use limitr_core::NewCustomer;
/// let org = NewCustomer { kind: Some("org".into()), ..NewCustomer::default() };
/// let user = NewCustomer { refs: vec!["acme".into()], ..NewCustomer::default() };
/// # let _ = (org, user);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewCustomer {
    /// Plan name; `None` or empty: inherited through refs, else the default plan.
    pub plan: Option<String>,
    /// Customer type (`user` by default).
    pub kind: Option<String>,
    /// Display label (`User` by default).
    pub label: Option<String>,
    /// Related customers (user → team → org).
    pub refs: Vec<String>,
    /// Alternative ids.
    pub alt_ids: Vec<String>,
    /// Free-form data.
    pub metadata: Map<String, Value>,
    /// Idempotency key: a second `create_customer_with` of the same id with the same key (within
    /// the idempotency TTL) answers the first call's record and changes nothing; with other
    /// arguments it is [`Error::IdempotencyConflict`].
    pub idempotency_key: Option<String>,
}

impl NewCustomer {
    /// The arguments as fingerprint text (everything but the key).
    fn fingerprint(&self) -> String {
        let text = |t: &Option<String>| t.clone().map_or(Value::Null, Value::String);
        let list = |l: &[String]| Value::Array(l.iter().cloned().map(Value::String).collect());
        let mut m = Map::new();
        m.insert("plan".into(), text(&self.plan));
        m.insert("type".into(), text(&self.kind));
        m.insert("label".into(), text(&self.label));
        m.insert("refs".into(), list(&self.refs));
        m.insert("alt_ids".into(), list(&self.alt_ids));
        m.insert("metadata".into(), Value::Object(self.metadata.clone()));
        idempotency::canonical(&Value::Object(m))
    }
}

fn event(name: &'static str, payload: Value) -> Event {
    Event::new(name, payload)
}

impl<S: Store> Limitr<S> {
    fn plan_name(&self, plan: &str) -> Result<Arc<str>> {
        self.policy
            .plans
            .get_key_value(plan)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| Error::UnknownPlan(plan.to_string()))
    }

    fn fresh_meters(&self, plan: Option<&crate::Plan>, now: Timestamp) -> Meters {
        plan.map_or_else(Meters::new, |p| {
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

    /// The plan a create names, when it names one the policy has. An unknown name counts as no
    /// name (the customer inherits through refs, else gets the default plan); strict:
    /// `UNKNOWN_PLAN`.
    fn named_plan(&self, new: &NewCustomer) -> Result<Option<Arc<str>>> {
        match new.plan.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(None),
            Some(p) => match self.plan_name(p) {
                Ok(name) => Ok(Some(name)),
                Err(e) => self.unknown(|| e, None),
            },
        }
    }

    fn build(&self, id: &str, new: &NewCustomer) -> Result<Customer> {
        require_id("id", id)?;
        let plan: Arc<str> = match self.named_plan(new)? {
            Some(p) => p,
            None if !new.refs.is_empty() => Arc::from(""),
            None => self.policy.default_plan.clone().ok_or_else(|| {
                Error::invalid("plan", "no plan given, no refs to inherit one from, and the policy has no `default: true` plan")
            })?,
        };
        for alt in &new.alt_ids {
            require_id("alt_ids", alt)?;
        }
        let mut c = Customer::new(id, plan);
        let profile = Profile {
            kind: new.kind.clone().filter(|k| !k.is_empty() && k != "user"),
            label: new.label.clone().filter(|l| l != "User"),
            refs: new.refs.clone(),
            alt_ids: new.alt_ids.clone(),
            metadata: new.metadata.clone(),
            ..Profile::default()
        };
        if profile != Profile::default() {
            c.profile = Some(Box::new(profile));
        }
        Ok(c)
    }

    fn register_alts(&self, id: &str, alts: &[String]) {
        if !alts.is_empty() {
            let mut map = self.alt_ids.write();
            for a in alts {
                map.insert(a.clone(), id.to_string());
            }
        }
    }

    /// Creates a customer on `plan` (the default plan when `None`), with a zero meter for every
    /// limited entitlement. An existing customer is updated (plan changed when one is given, meters
    /// kept). Returns the customer's record. Fires `customer-set`.
    pub fn create_customer(&self, id: &str, plan: Option<&str>) -> Result<Value> {
        self.create_customer_with(
            id,
            &NewCustomer {
                plan: plan.map(String::from),
                ..NewCustomer::default()
            },
        )
    }

    /// Creates (or updates) a customer with a type, label, refs, alt ids and metadata. A new
    /// customer gets a zero meter for every limited entitlement of its plan (own, inherited through
    /// refs, or default). Fires `customer-set`. With [`NewCustomer::idempotency_key`], a retry
    /// answers the first call's record, changes nothing and fires nothing.
    pub fn create_customer_with(&self, id: &str, new: &NewCustomer) -> Result<Value> {
        self.stored(|| {
            let now = self.now();
            let mut c = self.build(id, new)?;
            let keyed = self.keyed(new.idempotency_key.as_deref(), || {
                vec!["create_customer".into(), new.fingerprint()]
            })?;
            // an existing customer takes a plan the call names; without one, given refs, it goes back
            // to inheriting its plan through them
            let explicit = self.named_plan(new)?.is_some();
            let inherit = !explicit && !new.refs.is_empty();
            let kind_given = new.kind.as_deref().is_some_and(|k| !k.is_empty());
            let (plan_name, profile) = (c.plan.clone(), c.profile.clone());
            let update = |e: &mut Customer| {
                if explicit || inherit {
                    e.plan = plan_name.clone();
                }
                // a type or label the call names replaces the stored one (also `user` / `User`,
                // which are stored as the default)
                if kind_given || new.label.is_some() {
                    let mine = e.profile_mut();
                    let theirs = profile.as_deref();
                    if kind_given {
                        mine.kind = theirs.and_then(|p| p.kind.clone());
                    }
                    if new.label.is_some() {
                        mine.label = theirs.and_then(|p| p.label.clone());
                    }
                }
                if let Some(p) = &profile {
                    let mine = e.profile_mut();
                    if !p.refs.is_empty() {
                        mine.refs = p.refs.clone();
                    }
                    for a in &p.alt_ids {
                        if !mine.alt_ids.contains(a) {
                            mine.alt_ids.push(a.clone());
                        }
                    }
                    for (k, v) in &p.metadata {
                        mine.metadata.insert(k.clone(), v.clone());
                    }
                }
                e.record()
            };
            // a new customer is inserted whole (meters, included top-ups, idempotency key) in one
            // step; an existing one is updated, its key checked and recorded, under its lock
            let plan = self.plan_of_new(&c);
            c.meters = self.fresh_meters(plan, now);
            if let Some(p) = plan {
                crate::topup::reconcile(&mut c, p, now);
            }
            let fresh = c.record();
            if let Some(k) = &keyed {
                k.record(&mut c, fresh.clone(), now);
            }
            let existing = self.store.upsert(c, |e| {
                Keyed::run(keyed.as_ref(), e, now, |e| Ok(update(e)), Value::clone)
            });
            let record = match existing {
                None => fresh,
                Some(r) => match r? {
                    Outcome::Fresh(r) => r,
                    Outcome::Replay(first) => return Ok(first),
                },
            };
            self.register_alts(id, &new.alt_ids);
            if self.emitting(true) {
                self.handlers
                    .dispatch(&[event("customer-set", record.clone())]);
            }
            Ok(record)
        })
    }

    /// Creates the customer if it does not exist; true if it was created.
    pub fn ensure_customer(&self, id: &str, plan: Option<&str>) -> Result<bool> {
        self.stored(|| {
            let new = NewCustomer {
                plan: plan.map(String::from),
                ..NewCustomer::default()
            };
            self.build(id, &new)?; // validates the arguments
            if self.primary_id(id).is_some() {
                return Ok(false);
            }
            self.create_customer_with(id, &new)?;
            Ok(true)
        })
    }

    /// A customer's state (by id or alt id).
    pub fn customer(&self, id: &str) -> Option<Customer> {
        let c = self
            .primary_id(id)
            .and_then(|p| self.store.read(&p, Customer::clone));
        // an answer without an error: a store failure reads as no customer
        let _ = self.store.take_failure();
        c
    }

    /// Everything one customer is (its record: plan, meters with their holds, grants, caps,
    /// overrides, notification marks, idempotency keys), to move it to another engine with
    /// [`import_customer`](Self::import_customer). `None` for an unknown customer.
    pub fn export_customer(&self, id: &str) -> Result<Option<Value>> {
        self.stored(|| {
            require_id("id", id)?;
            Ok(self
                .primary_id(id)
                .and_then(|p| self.store.read(&p, Customer::record)))
        })
    }

    /// Puts a customer exported by [`export_customer`](Self::export_customer) (or read from a
    /// document) into this engine, replacing one of the same id, validated against this engine's
    /// policy: a bad record is `INVALID_ARGUMENT` naming its field, and nothing changes. True
    /// when it replaced an existing customer. No event fires.
    pub fn import_customer(&self, record: &Value) -> Result<bool> {
        self.stored(|| {
            let c = Customer::from_record(record, &self.policy).map_err(|(field, message)| {
                Error::invalid(
                    "record",
                    if field.is_empty() {
                        message
                    } else {
                        format!("{field}: {message}")
                    },
                )
            })?;
            let id = c.id.to_string();
            let alts: Vec<String> = c.profile.iter().flat_map(|p| p.alt_ids.clone()).collect();
            if c.has_caps() {
                self.any_caps
                    .store(true, std::sync::atomic::Ordering::Release);
            }
            let incoming = c.clone();
            let replaced = self
                .store
                .upsert(c, |existing| *existing = incoming.clone())
                .is_some();
            let mut map = self.alt_ids.write();
            map.retain(|_, p| *p != id);
            for alt in alts {
                map.insert(alt, id.clone());
            }
            Ok(replaced)
        })
    }

    /// A customer's record (`{id, plan, meters, grants, …}`), by id or alt id.
    pub fn customer_record(&self, id: &str) -> Option<Value> {
        let r = self
            .primary_id(id)
            .and_then(|p| self.store.read(&p, Customer::record));
        // an answer without an error: a store failure reads as no customer
        let _ = self.store.take_failure();
        r
    }

    /// Every customer's record, by id (sorted).
    pub fn customers(&self) -> Map<String, Value> {
        // one consistent cut of the store, serialised after the store is released
        let all = self
            .store
            .snapshot()
            .iter()
            .map(|c| (c.id.to_string(), c.record()))
            .collect();
        // an answer without an error: a store failure reads as no customers
        let _ = self.store.take_failure();
        all
    }

    /// Removes a customer (by id or alt id) and its alt ids; true if it existed. Fires
    /// `customer-removed`.
    pub fn remove_customer(&self, id: &str) -> Result<bool> {
        self.stored(|| {
            require_id("id", id)?;
            let Some(primary) = self.primary_id(id) else {
                return Ok(false);
            };
            let removed = self.store.remove(&primary);
            if let Some(c) = &removed {
                self.alt_ids.write().retain(|_, p| p != &primary);
                if self.emitting(true) {
                    self.handlers
                        .dispatch(&[event("customer-removed", c.record())]);
                }
            }
            Ok(removed.is_some())
        })
    }

    /// Adds an alternative id for a customer; false when the customer is unknown or the alt id
    /// is taken by another customer.
    pub fn add_alt_id(&self, id: &str, alt: &str) -> Result<bool> {
        self.stored(|| {
            require_id("id", id)?;
            require_id("alt", alt)?;
            let Some(primary) = self.primary_id(id) else {
                return Ok(false);
            };
            if self.store.read(alt, |_| ()).is_some()
                || self.alt_ids.read().get(alt).is_some_and(|p| p != &primary)
            {
                return Ok(false);
            }
            let record = self.store.update(&primary, |c| {
                let p = c.profile_mut();
                if !p.alt_ids.iter().any(|a| a == alt) {
                    p.alt_ids.push(alt.to_string());
                }
                c.record()
            });
            self.register_alts(&primary, &[alt.to_string()]);
            if let (Some(r), true) = (record, self.emitting(true)) {
                self.handlers.dispatch(&[event("customer-set", r)]);
            }
            Ok(true)
        })
    }

    /// Moves a customer to another plan. Every meter is kept unless `reset_meters` (also meters
    /// of entitlements the new plan lacks, which count again on a later plan that has them); new
    /// meters start with the period of the kept ones. False when the
    /// customer is unknown or already on that plan, or the plan is unknown (`UNKNOWN_PLAN` when
    /// the engine is strict). Fires `customer-set` and `customer-plan-changed`.
    pub fn set_customer_plan(&self, id: &str, plan: &str, reset_meters: bool) -> Result<bool> {
        self.stored(|| {
            require_id("id", id)?;
            require_id("plan", plan)?;
            // an unknown plan answers false (strict: `UNKNOWN_PLAN`)
            let Ok(new_plan) = self.plan_name(plan) else {
                return self.unknown(|| Error::UnknownPlan(plan.into()), false);
            };
            let now = self.now();
            let Some(target) = self.policy.plan(&new_plan) else {
                return self.unknown(|| Error::UnknownPlan(plan.into()), false);
            };
            let Some(primary) = self.primary_id(id) else {
                return Ok(false);
            };
            let outcome = self.store.update(&primary, |c| {
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
                // every meter is kept (also of entitlements the new plan lacks: they count again
                // when a later plan has the entitlement), unless its credit changed or meters reset
                let same_credit = |m: &Meter| {
                    target
                        .entitlements
                        .get(&m.entitlement)
                        .and_then(|e| e.limit.as_ref())
                        .is_none_or(|l| l.credit == m.credit)
                };
                let mut meters: Meters = if reset_meters {
                    Meters::new()
                } else {
                    c.meters
                        .iter()
                        .filter(|m| same_credit(m))
                        .cloned()
                        .collect()
                };
                for e in target.entitlements.values() {
                    let Some(limit) = &e.limit else { continue };
                    if meters.iter().any(|m| m.entitlement == e.name) {
                        continue;
                    }
                    let started = if reset_meters {
                        now
                    } else {
                        kept_start.unwrap_or(now)
                    };
                    meters.push(Meter::new(e.name.clone(), limit.credit.clone(), started));
                }
                c.meters = meters;
                c.plan = new_plan.clone();
                // grants follow their top-ups (see `topup`)
                crate::topup::reconcile(c, target, now);
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
                    event("customer-set", record),
                    event("customer-plan-changed", Value::Object(changed)),
                ]);
            }
            Ok(true)
        })
    }

    /// Sets a per-customer override of an entitlement's limit. `fields` are limit fields (`value`,
    /// `mode`, `credit`, `resets`, `reset_inc`, …); the rest is inherited from the plan limit
    /// . It stops applying after `expires_on`. Replaces an existing override. False for an
    /// unknown customer, and for a `credit` the policy lacks (nothing stored; `UNKNOWN_CREDIT`
    /// when the engine is strict); an `INVALID_ARGUMENT` error names a bad field. Fires
    /// `customer-set`.
    pub fn create_customer_override(
        &self,
        id: &str,
        entitlement: &str,
        fields: &Map<String, Value>,
        expires_on: Option<Timestamp>,
    ) -> Result<bool> {
        self.stored(|| {
            require_id("id", id)?;
            require_id("entitlement", entitlement)?;
            let Some(primary) = self.primary_id(id) else {
                return Ok(false);
            };
            let Some(plan) = self.plan_for(&primary) else {
                return Ok(false);
            };
            // an unknown credit answers false and stores nothing (strict: `UNKNOWN_CREDIT`)
            if let Some(credit) = fields.get("credit").and_then(Value::as_str)
                && self.policy.credit(credit).is_none()
            {
                return self.unknown(|| Error::UnknownCredit(credit.into()), false);
            }
            let limit = self
                .policy
                .override_limit(&plan.name, entitlement, fields)
                .map_err(|m| Error::invalid("override", m))?;
            let ent = self.policy.intern(entitlement);
            let record = self.store.update(&primary, |c| {
                let p = c.profile_mut();
                p.overrides.retain(|o| o.entitlement != ent);
                p.overrides.push(Override {
                    entitlement: ent.clone(),
                    fields: fields.clone(),
                    limit: limit.clone(),
                    expires_on,
                });
                c.record()
            });
            if let (Some(r), true) = (&record, self.emitting(true)) {
                self.handlers.dispatch(&[event("customer-set", r.clone())]);
            }
            Ok(record.is_some())
        })
    }

    /// Removes a customer's override of an entitlement; true if there was one.
    pub fn remove_customer_override(&self, id: &str, entitlement: &str) -> Result<bool> {
        self.stored(|| {
            require_id("id", id)?;
            let Some(primary) = self.primary_id(id) else {
                return Ok(false);
            };
            let removed = self.store.update(&primary, |c| {
                let p = c.profile.as_mut()?;
                let before = p.overrides.len();
                p.overrides.retain(|o| &*o.entitlement != entitlement);
                (p.overrides.len() != before).then(|| c.record())
            });
            let Some(Some(record)) = removed else {
                return Ok(false);
            };
            if self.emitting(true) {
                self.handlers.dispatch(&[event("customer-set", record)]);
            }
            Ok(true)
        })
    }

    /// Grants a plan top-up to a customer. False for an unknown customer, and when the customer's
    /// plan has no such top-up (`UNKNOWN_TOPUP` when the engine is strict). Fires
    /// `customer-topup-granted`.
    pub fn apply_customer_topup(&self, customer: &str, topup: &str) -> Result<bool> {
        self.apply_customer_topup_with(customer, topup, None)
    }

    /// [`apply_customer_topup`](Self::apply_customer_topup) with an idempotency key: a retry with
    /// the same key grants nothing more, answers the first answer and fires nothing; the key with
    /// another top-up is [`Error::IdempotencyConflict`].
    pub fn apply_customer_topup_with(
        &self,
        customer: &str,
        topup: &str,
        idempotency_key: Option<&str>,
    ) -> Result<bool> {
        self.stored(|| {
            require_id("customer", customer)?;
            require_id("topup", topup)?;
            let keyed = self.keyed(idempotency_key, || {
                vec!["apply_customer_topup".into(), topup.into()]
            })?;
            let now = self.now();
            let Some(primary) = self.primary_id(customer) else {
                return Ok(false);
            };
            let Some(plan) = self.plan_for(&primary) else {
                return Ok(false);
            };
            // an unknown top-up answers false (strict: `UNKNOWN_TOPUP`)
            let Some(t) = plan.topups.get(topup) else {
                let error = || Error::UnknownTopup {
                    topup: topup.into(),
                    plan: plan.name.to_string(),
                };
                return self.unknown(error, false);
            };
            let outcome = self.store.update(&primary, |c| {
                let grant = |c: &mut Customer| {
                    let id = c.next_grant_id(now);
                    c.grants.push(Grant::from_topup(id, t, now));
                    Ok(c.record())
                };
                Keyed::run(keyed.as_ref(), c, now, grant, |_| Value::Bool(true))
            });
            let Some(outcome) = outcome else {
                return Ok(false);
            };
            let record = match outcome? {
                Outcome::Fresh(record) => record,
                Outcome::Replay(first) => return Ok(first.as_bool().unwrap_or(false)),
            };
            if self.emitting(true) {
                let mut p = Map::new();
                p.insert("customer".into(), record);
                p.insert("topup_name".into(), Value::String(topup.into()));
                p.insert("plan_name".into(), Value::String(plan.name.to_string()));
                p.insert("topup".into(), t.record.clone());
                self.handlers
                    .dispatch(&[event("customer-topup-granted", Value::Object(p))]);
            }
            Ok(true)
        })
    }

    /// Reconciles a customer's top-up grants with its plan: grants of a top-up the plan lacks, or
    /// of an included top-up the customer's type no longer qualifies for, are removed; the others
    /// take their top-up's current rules; missing included top-ups are granted. True when anything
    /// changed (then `customer-set` fires, unless `events` is false); false for an unknown
    /// customer. The same reconciliation runs before any call draws grants for its overage.
    pub fn ensure_included_topups(&self, id: &str, events: bool) -> Result<bool> {
        require_id("id", id)?;
        let now = self.now();
        let Some(primary) = self.primary_id(id) else {
            return Ok(false);
        };
        let Some(plan) = self.plan_for(&primary) else {
            return Ok(false);
        };
        let changed = self.store.update(&primary, |c| {
            crate::topup::reconcile(c, plan, now).then(|| c.record())
        });
        let Some(Some(record)) = changed else {
            return Ok(false);
        };
        if self.emitting(events) {
            self.handlers.dispatch(&[event("customer-set", record)]);
        }
        Ok(true)
    }

    /// Charges the plan's subscription entitlement once per period: when its meter is below 1 and
    /// the plan's trial period (counted from the meter's start) is over. True when it charged.
    pub fn ensure_plan_subscription(&self, id: &str) -> Result<bool> {
        self.stored(|| {
            require_id("id", id)?;
            let now = self.now();
            let Some(primary) = self.primary_id(id) else {
                return Ok(false);
            };
            let Some(plan) = self.plan_for(&primary) else {
                return Ok(false);
            };
            let Some(ent) = plan.entitlement(&plan.subscription) else {
                return Ok(false);
            };
            let due = self.store.read(&primary, |c| {
                let limit = c.limit_for(&ent.name, ent.limit.as_ref(), now);
                let meter = c.meter(&ent.name);
                let value = match (meter, limit) {
                    (Some(m), Some(l)) => m.current_value(l.reset.as_ref(), now),
                    _ => Decimal::ZERO,
                };
                let started = meter.map_or(now, |m| m.started);
                let trial_over = plan
                    .trial_period
                    .is_none_or(|t| now >= started.saturating_add(t));
                value < Decimal::ONE && trial_over
            });
            if due != Some(true) {
                return Ok(false);
            }
            self.increment(&primary, &plan.subscription, &CallOptions::default())
        })
    }
}
