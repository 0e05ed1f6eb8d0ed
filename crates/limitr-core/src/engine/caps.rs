//! Spend caps on customers (`add_customer_cap`, `customer_cap`, `reset_customer_cap`,
//! `remove_customer_cap`) and the metering path that enforces them: the caller's own caps, shared
//! caps of customers its refs reach, and call-scoped caps, all locked together with the meter's
//! owner so a cap is never passed by concurrent calls.

use super::{CallOptions, Limitr, require_amount, require_id};
use crate::cap::{CallCost, Cap};
use crate::customer::Customer;
use crate::decision::{self, Reason, Request};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::exchange::RUNE;
use crate::idempotency::Keyed;
use crate::number::{self, Decimal};
use crate::policy::duration::parse_duration_ms;
use crate::policy::plan::{Entitlement, Plan};
use crate::policy::reset::{ResetRule, Schedule};
use crate::store::Store;
use crate::time::Timestamp;
use compact_str::CompactString;
use serde_json::{Map, Value};
use std::sync::atomic::Ordering;

/// Options of `add_customer_cap`. Everything is optional.
#[derive(Debug, Clone, PartialEq)]
pub struct CapOptions {
    /// Id of the cap (default `cap_<n>`).
    pub cap_id: Option<String>,
    /// Currency or credit of the ceiling (default `rune`).
    pub credit: Option<String>,
    /// Count other credits through the exchange (default: true for `rune` or a currency, false
    /// for a named credit).
    pub exchangeable: Option<bool>,
    /// Units paid by grants do not count.
    pub ignore_grants: bool,
    /// Only units past the plan limit count.
    pub overage_only: bool,
    /// Never deny; only accumulate and fire thresholds.
    pub observe_only: bool,
    /// Count provider overhead instead of list value.
    pub overhead_cost: bool,
    /// Decrements move the cap down.
    pub follow_decrements: bool,
    /// Allow while below the ceiling before the call.
    pub hard_trailing: bool,
    /// Apply to calls by customers whose refs reach the holder.
    pub shared: bool,
    /// Caller types a shared cap applies to.
    pub shared_with: Option<Vec<String>>,
    /// Entitlements it applies to.
    pub scope: Option<Vec<String>>,
    /// Reset the consumption periodically (30 days unless `reset_inc`/`reset_sch`).
    pub resets: bool,
    /// Rolling period (`30days`, `1day`, ms as text).
    pub reset_inc: Option<String>,
    /// Calendar schedule (`monthly:1`, …).
    pub reset_sch: Option<String>,
    /// When it stops applying (epoch ms).
    pub expires_on: Option<Timestamp>,
    /// Send `customer-cap-added` and `customer-set` (default true).
    pub events: bool,
}

impl Default for CapOptions {
    fn default() -> Self {
        CapOptions {
            cap_id: None,
            credit: None,
            exchangeable: None,
            ignore_grants: false,
            overage_only: false,
            observe_only: false,
            overhead_cost: false,
            follow_decrements: false,
            hard_trailing: false,
            shared: false,
            shared_with: None,
            scope: None,
            resets: false,
            reset_inc: None,
            reset_sch: None,
            expires_on: None,
            events: true,
        }
    }
}

/// The events of a cap change on its holder: the change's own event, then `customer-set` with
/// the holder's record.
fn cap_change(name: &'static str, customer: Value, field: (&str, Value)) -> [Event; 2] {
    let mut p = Map::new();
    p.insert("customer".into(), customer.clone());
    p.insert(field.0.into(), field.1);
    [
        event(name, Value::Object(p)),
        event("customer-set", customer),
    ]
}

/// A customer's record among locked parties (`null` when it is not among them).
fn record_of(cs: &[&mut Customer], id: &str) -> Value {
    cs.iter()
        .find(|c| *c.id == *id)
        .map_or(Value::Null, |c| c.record())
}

fn event(name: &'static str, payload: Value) -> Event {
    Event::new(name, payload)
}

/// Applicable caps, as (customer index, cap index): inline for the usual few.
type Applicable = smallvec::SmallVec<[(usize, usize); 4]>;
/// Applicable caps with what the call adds to each: inline for the usual few.
type Amounts = smallvec::SmallVec<[(usize, usize, Decimal); 4]>;

/// Who a capped call involves.
struct Parties<'p> {
    plan: &'p Plan,
    ent: &'p Entitlement,
    caller: CompactString,
    kind: CompactString,
    owner: CompactString,
    holders: Vec<String>,
}

impl<S: Store> Limitr<S> {
    /// Adds a spend cap to a customer. Returns its record; `None` for an unknown customer, a
    /// taken cap id, or a credit that is neither `rune`, a credit nor an exchange currency
    /// (`UNKNOWN_CREDIT` when the engine is strict). Both `reset_inc` and `reset_sch` is an
    /// `INVALID_ARGUMENT` error. Fires `customer-cap-added`, then `customer-set` with the holder's
    /// record, unless `options.events` is false.
    pub fn add_customer_cap(
        &self,
        id: &str,
        value: Decimal,
        options: &CapOptions,
    ) -> Result<Option<Value>> {
        self.stored(|| {
            require_id("id", id)?;
            require_amount("value", value)?;
            let now = self.now();
            let credit = options.credit.clone().unwrap_or_else(|| RUNE.to_string());
            let is_credit = self.policy.credit(&credit).is_some();
            if credit != RUNE && !is_credit && !self.policy.exchange.resolves(&credit) {
                // an unknown credit answers null and stores nothing (strict: `UNKNOWN_CREDIT`)
                return self.unknown(|| Error::UnknownCredit(credit.clone()), None);
            }
            if options.reset_inc.is_some() && options.reset_sch.is_some() {
                return Err(Error::invalid(
                    "reset_sch",
                    "`reset_inc` and `reset_sch` are mutually exclusive",
                ));
            }
            let exchangeable = options.exchangeable.unwrap_or(!is_credit);
            if exchangeable
                && matches!(
                    self.policy.credit(&credit).and_then(|c| c.pricing.as_ref()),
                    Some(crate::pricing::Model::Stairstep(_))
                )
            {
                return Err(Error::invalid(
                    "credit",
                    format!("an exchangeable cap cannot be in stairstep-priced `{credit}`"),
                ));
            }
            let reset = if options.resets
                || options.reset_inc.is_some()
                || options.reset_sch.is_some()
            {
                Some(match (&options.reset_inc, &options.reset_sch) {
                    (Some(inc), _) => {
                        let ms = parse_duration_ms(inc)
                            .map_err(|e| Error::invalid("reset_inc", e.to_string()))?;
                        if ms <= 0 {
                            return Err(Error::invalid("reset_inc", "must be greater than zero"));
                        }
                        ResetRule::Rolling { inc_ms: ms }
                    }
                    (None, Some(sch)) => ResetRule::Calendar(
                        Schedule::parse(sch)
                            .map_err(|e| Error::invalid("reset_sch", e.to_string()))?,
                    ),
                    (None, None) => ResetRule::Rolling {
                        inc_ms: crate::policy::DEFAULT_RESET_MS,
                    },
                })
            } else {
                None
            };
            let Some(primary) = self.primary_id(id) else {
                return Ok(None);
            };
            let record = self.store.update(&primary, |c| {
                let p = c.profile_mut();
                let cap_id = options.cap_id.clone().unwrap_or_else(|| {
                    let mut n = p.caps.len() + 1;
                    while p.caps.iter().any(|k| k.id == format!("cap_{n}")) {
                        n += 1;
                    }
                    format!("cap_{n}")
                });
                if p.caps.iter().any(|k| k.id == cap_id) {
                    return None;
                }
                let cap = Cap {
                    id: cap_id,
                    credit: credit.clone(),
                    value,
                    exchangeable,
                    overage_only: options.overage_only,
                    ignore_grants: options.ignore_grants,
                    observe_only: options.observe_only,
                    overhead_cost: options.overhead_cost,
                    follow_decrements: options.follow_decrements,
                    hard_trailing: options.hard_trailing,
                    shared: options.shared,
                    shared_with: options.shared_with.clone(),
                    scope: options.scope.clone(),
                    meter_value: Decimal::ZERO,
                    created_on: now,
                    started: now,
                    reset,
                    expires_on: options.expires_on,
                };
                let rec = cap.record();
                p.caps.push(cap);
                Some((rec, c.record()))
            });
            let Some(Some((cap, customer))) = record else {
                return Ok(None);
            };
            self.any_caps.store(true, Ordering::Release);
            if self.emitting(options.events) {
                let events = cap_change("customer-cap-added", customer, ("cap", cap.clone()));
                self.handlers.dispatch(&events);
            }
            Ok(Some(cap))
        })
    }

    /// A cap's record, as it is now (`None`: no such customer or cap, or it expired).
    pub fn customer_cap(&self, id: &str, cap_id: &str) -> Option<Value> {
        let now = self.now();
        let primary = self.primary_id(id)?;
        self.store
            .read(&primary, |c| {
                let cap = c
                    .profile
                    .as_ref()?
                    .caps
                    .iter()
                    .find(|k| k.id == cap_id && k.live(now))?;
                Some(cap.rolled(now).unwrap_or_else(|| cap.clone()).record())
            })
            .flatten()
    }

    /// Zeroes a cap's consumption and starts a new period; true if the cap exists. Fires
    /// `customer-cap-reset`, then `customer-set` with the holder's record.
    pub fn reset_customer_cap(&self, id: &str, cap_id: &str) -> Result<bool> {
        self.stored(|| {
            require_id("id", id)?;
            let now = self.now();
            let Some(primary) = self.primary_id(id) else {
                return Ok(false);
            };
            let done = self.store.update(&primary, |c| {
                let cap = c
                    .profile
                    .as_mut()?
                    .caps
                    .iter_mut()
                    .find(|k| k.id == cap_id)?;
                cap.meter_value = Decimal::ZERO;
                cap.started = now;
                let rec = cap.record();
                Some((rec, c.record()))
            });
            let Some(Some((cap, customer))) = done else {
                return Ok(false);
            };
            if self.emitting(true) {
                let events = cap_change("customer-cap-reset", customer, ("cap", cap));
                self.handlers.dispatch(&events);
            }
            Ok(true)
        })
    }

    /// Removes a cap; true if it existed. Fires `customer-cap-removed`, then `customer-set` with
    /// the holder's record.
    pub fn remove_customer_cap(&self, id: &str, cap_id: &str) -> Result<bool> {
        self.remove_customer_cap_with(id, cap_id, true)
    }

    /// [`remove_customer_cap`](Self::remove_customer_cap); `events = false` sends neither event.
    pub fn remove_customer_cap_with(&self, id: &str, cap_id: &str, events: bool) -> Result<bool> {
        self.stored(|| {
            require_id("id", id)?;
            let Some(primary) = self.primary_id(id) else {
                return Ok(false);
            };
            let done = self.store.update(&primary, |c| {
                let p = c.profile.as_mut()?;
                let before = p.caps.len();
                p.caps.retain(|k| k.id != cap_id);
                (p.caps.len() != before).then(|| c.record())
            });
            let Some(Some(customer)) = done else {
                return Ok(false);
            };
            if self.emitting(events) {
                let id = Value::String(cap_id.into());
                let events = cap_change("customer-cap-removed", customer, ("id", id));
                self.handlers.dispatch(&events);
            }
            Ok(true)
        })
    }

    /// All customers reachable through refs from `start` (breadth first, excluding it).
    fn reachable(&self, start: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.walk_refs(start, |c| {
            out.push(c.id.to_string());
            None::<()>
        });
        out
    }

    fn parties(&self, caller: &str, entitlement: &str) -> std::result::Result<Parties<'_>, Reason> {
        let primary = self.primary_id(caller).ok_or(Reason::UnknownCustomer)?;
        let plan = self.plan_for(&primary).ok_or(Reason::UnknownEntitlement)?;
        let ent = plan
            .entitlement(entitlement)
            .ok_or(Reason::UnknownEntitlement)?;
        let kind = self
            .store
            .read(&primary, |c| c.kind().to_string())
            .ok_or(Reason::UnknownCustomer)?;
        let owner = match ent.scope.as_deref() {
            Some(scope) if scope != kind => self
                .walk_refs(&primary, |c| (c.kind() == scope).then(|| c.id.to_string()))
                .ok_or(Reason::Scope)?,
            _ => primary.clone(),
        };
        let holders: Vec<String> = self
            .reachable(&primary)
            .into_iter()
            .filter(|id| {
                self.store
                    .read(id, |c| {
                        c.profile.as_ref().is_some_and(|p| {
                            p.caps.iter().any(|k| {
                                k.shared && k.shared_with.as_ref().is_none_or(|w| w.contains(&kind))
                            })
                        })
                    })
                    .unwrap_or(false)
            })
            .collect();
        Ok(Parties {
            plan,
            ent,
            caller: primary.into(),
            kind: kind.into(),
            owner: owner.into(),
            holders,
        })
    }

    /// The parties of a call that involves the caller alone (its own plan, no refs, an unscoped
    /// entitlement): the one-lock path of `allow` and `check`. `None` otherwise.
    fn alone(&self, c: &Customer, entitlement: &str) -> Option<Parties<'_>> {
        let plan = decision::own_plan(&self.policy, c)?;
        let ent = plan.entitlement(entitlement)?;
        if !c.refs().is_empty() || ent.scope.as_deref().is_some_and(|s| s != c.kind()) {
            return None;
        }
        Some(Parties {
            plan,
            ent,
            caller: CompactString::from(&*c.id),
            kind: CompactString::from(c.kind()),
            owner: CompactString::from(&*c.id),
            holders: Vec::new(),
        })
    }

    /// Metering through the cap path (see the module docs). `None`: unknown customer/entitlement.
    /// With `keyed`, the key is checked and recorded on the caller inside the same lock.
    #[allow(clippy::too_many_arguments, reason = "the call's parts")]
    pub(crate) fn call_capped(
        &self,
        caller: &str,
        entitlement: &str,
        req: &Request<'_>,
        options: &CallOptions,
        settle: Option<(&str, bool)>,
        keyed: Option<&Keyed>,
        now: Timestamp,
    ) -> Result<Option<bool>> {
        let temp = self.temp_caps(&options.caps);
        // fast path: a caller with its own plan, no refs and an unscoped entitlement involves
        // nobody else: one lock
        let single = self.store.update(caller, |c| {
            let parties = self.alone(c, entitlement)?;
            Some(match keyed {
                None => self.capped_commit(&mut [c], &parties, req, settle, &temp, now),
                Some(k) => self.capped_keyed(&mut [c], &parties, req, settle, &temp, k, now),
            })
        });
        if let Some(Some(outcome)) = single {
            let (allowed, events) = outcome?;
            self.handlers.dispatch(&events);
            return Ok(Some(allowed));
        }
        let parties = match self.parties(caller, entitlement) {
            Ok(p) => p,
            Err(reason) => {
                if let Some(seen) = keyed.and_then(|k| self.unrouted(caller, k, now)) {
                    return Ok(Some(seen?.as_bool().unwrap_or(false)));
                }
                return Ok((reason == Reason::Scope).then_some(false));
            }
        };
        let mut ids: Vec<&str> = vec![parties.owner.as_str(), parties.caller.as_str()];
        ids.extend(parties.holders.iter().map(String::as_str));
        let outcome = self.store.update_many(&ids, |cs| match keyed {
            None => self.capped_commit(cs, &parties, req, settle, &temp, now),
            Some(k) => self.capped_keyed(cs, &parties, req, settle, &temp, k, now),
        });
        let Some(outcome) = outcome else {
            return Ok(None);
        };
        let (allowed, events) = outcome?;
        self.handlers.dispatch(&events);
        Ok(Some(allowed))
    }

    /// [`capped_commit`](Self::capped_commit) with an idempotency key, on locked parties: a key
    /// the caller holds answers the first answer (no change, no event); otherwise the call
    /// commits and the key is recorded on the caller with its answer. An error records nothing.
    #[allow(clippy::too_many_arguments, reason = "the call's parts")]
    fn capped_keyed(
        &self,
        cs: &mut [&mut Customer],
        parties: &Parties<'_>,
        req: &Request<'_>,
        settle: Option<(&str, bool)>,
        temp: &[Cap],
        keyed: &Keyed,
        now: Timestamp,
    ) -> Result<(bool, Vec<Event>)> {
        let caller = cs
            .iter()
            .position(|c| *c.id == *parties.caller)
            .ok_or_else(|| Error::UnknownCustomer(parties.caller.to_string()))?;
        if let Some(c) = cs.get(caller)
            && let Some(v) = keyed.replay(c, now)?
        {
            return Ok((v.as_bool().unwrap_or(false), Vec::new()));
        }
        let (allowed, events) = self.capped_commit(cs, parties, req, settle, temp, now)?;
        if let Some(c) = cs.get_mut(caller) {
            keyed.record(c, Value::Bool(allowed), now);
        }
        Ok((allowed, events))
    }

    /// `check` through the cap path: the limit's verdict, then the caps' (reason `cap`).
    pub(crate) fn verdict_capped(
        &self,
        caller: &str,
        entitlement: &str,
        req: &Request<'_>,
        caps: &[(String, Decimal)],
        now: Timestamp,
    ) -> Result<(bool, Reason, Option<i64>)> {
        let temp = self.temp_caps(caps);
        // fast path, as for `allow`: a caller with its own plan, no refs and an unscoped
        // entitlement involves nobody else: one lock
        let single = self.store.update(caller, |c| {
            let parties = self.alone(c, entitlement)?;
            Some(self.capped_verdict(&mut [c], &parties, req, &temp, now))
        });
        if let Some(Some(verdict)) = single {
            return verdict;
        }
        let parties = match self.parties(caller, entitlement) {
            Ok(p) => p,
            Err(reason) => return Ok((false, reason, None)),
        };
        let mut ids: Vec<&str> = vec![parties.owner.as_str(), parties.caller.as_str()];
        ids.extend(parties.holders.iter().map(String::as_str));
        self.store
            .update_many(&ids, |cs| {
                self.capped_verdict(cs, &parties, req, &temp, now)
            })
            .unwrap_or(Ok((false, Reason::UnknownCustomer, None)))
    }

    /// The verdict of `check` on locked parties: the limit's (through the plain lane when it
    /// answers), then the caps' (reason `cap`).
    fn capped_verdict(
        &self,
        cs: &mut [&mut Customer],
        parties: &Parties<'_>,
        req: &Request<'_>,
        temp: &[Cap],
        now: Timestamp,
    ) -> Result<(bool, Reason, Option<i64>)> {
        tidy_caps(cs, now);
        let Some(o) = cs.iter().find(|c| *c.id == *parties.owner) else {
            return Ok((false, Reason::UnknownCustomer, None));
        };
        let mut creq = *req;
        creq.cost = true;
        let cost = match decision::plain(&self.policy, parties.ent, o, &creq, now) {
            Some(p) => p.cost(),
            None => {
                let pre = decision::evaluate(
                    &self.policy,
                    parties.plan,
                    parties.ent,
                    o,
                    &creq,
                    now,
                    false,
                )?;
                if !pre.allowed {
                    return Ok((false, pre.reason, pre.retry_after));
                }
                pre.cost.as_deref().copied().unwrap_or_default()
            }
        };
        let amounts = self.cap_amounts(cs, parties, &cost);
        let blocked = self
            .blocking_cap(cs, parties, &cost, &amounts, temp)
            .is_some();
        Ok(if blocked {
            (false, Reason::Cap, None)
        } else {
            (true, Reason::Ok, None)
        })
    }

    fn temp_caps(&self, caps: &[(String, Decimal)]) -> Vec<Cap> {
        if caps.is_empty() {
            return Vec::new();
        }
        caps.iter()
            .map(|(credit, value)| Cap {
                id: format!("tmp-{credit}"),
                credit: credit.clone(),
                value: *value,
                // a call-scoped ceiling counts every credit through the exchange
                exchangeable: true,
                overage_only: false,
                ignore_grants: false,
                observe_only: false,
                overhead_cost: false,
                follow_decrements: false,
                hard_trailing: false,
                shared: false,
                shared_with: None,
                scope: None,
                meter_value: Decimal::ZERO,
                created_on: 0,
                started: 0,
                reset: None,
                expires_on: None,
            })
            .collect()
    }

    /// Applicable caps as (customer index, cap index): the caller's own, and shared ones.
    fn applicable(&self, cs: &[&mut Customer], parties: &Parties<'_>, credit: &str) -> Applicable {
        let mut out = Applicable::new();
        for (ci, c) in cs.iter().enumerate() {
            let own = *c.id == *parties.caller;
            let Some(p) = c.profile.as_ref() else {
                continue;
            };
            for (ki, k) in p.caps.iter().enumerate() {
                let shared_ok = k.shared
                    && k.shared_with
                        .as_ref()
                        .is_none_or(|w| w.iter().any(|k| *k == *parties.kind));
                if (own || shared_ok) && k.applies(&parties.ent.name, credit, &self.policy.exchange)
                {
                    out.push((ci, ki));
                }
            }
        }
        out
    }

    fn call_cost<'a>(
        &self,
        f: &decision::CostFigures,
        parties: &'a Parties<'_>,
        credit: &'a str,
    ) -> CallCost<'a> {
        CallCost {
            entitlement: &parties.ent.name,
            credit,
            units: f.units,
            overage: f.overage,
            covered: f.covered,
            overhead: f.overhead,
            position: f.position,
            start: f.start,
        }
    }

    /// The first cap (standing or call-scoped) without room for the call, with its holder index
    /// (`None` for a call-scoped cap).
    /// Every applicable standing cap with what the call adds to it: (customer, cap, amount).
    fn cap_amounts(
        &self,
        cs: &[&mut Customer],
        parties: &Parties<'_>,
        t: &decision::CostFigures,
    ) -> Amounts {
        let Some(credit) = parties.ent.limit.as_ref().map(|l| &*l.credit) else {
            return Amounts::new();
        };
        let cost = self.call_cost(t, parties, credit);
        let mut out = Amounts::new();
        for (ci, ki) in self.applicable(cs, parties, credit) {
            let Some(k) = cs
                .get(ci)
                .and_then(|c| c.profile.as_ref())
                .and_then(|p| p.caps.get(ki))
            else {
                continue;
            };
            let mut c = cost;
            if !k.ignore_grants {
                c.covered = Decimal::ZERO;
            }
            if let Some(amount) = k.consumption(&c, &self.policy.exchange) {
                out.push((ci, ki, amount));
            }
        }
        out
    }

    /// The first cap (standing or call-scoped) without room for the call, with its holder index
    /// (`None` for a call-scoped cap).
    fn blocking_cap(
        &self,
        cs: &[&mut Customer],
        parties: &Parties<'_>,
        t: &decision::CostFigures,
        amounts: &[(usize, usize, Decimal)],
        temp: &[Cap],
    ) -> Option<(Option<usize>, Cap)> {
        let credit = parties.ent.limit.as_ref().map(|l| &*l.credit)?;
        let cost = self.call_cost(t, parties, credit);
        if !crate::number::positive(cost.units) {
            return None;
        }
        // the gate counts the holds on the call's meter on top of the call
        let gate = t.gate();
        let held = (!t.held.is_zero()).then(|| self.call_cost(&gate, parties, credit));
        for &(ci, ki, amount) in amounts {
            let k = cs.get(ci)?.profile.as_ref()?.caps.get(ki)?;
            let amount = match held {
                None => amount,
                Some(mut c) => {
                    if !k.ignore_grants {
                        c.covered = Decimal::ZERO;
                    }
                    k.consumption(&c, &self.policy.exchange).unwrap_or(amount)
                }
            };
            if !k.observe_only && !k.has_room(amount) {
                return Some((Some(ci), k.clone()));
            }
        }
        let cost = held.unwrap_or(cost);
        for k in temp
            .iter()
            .filter(|k| k.applies(&parties.ent.name, credit, &self.policy.exchange))
        {
            let mut c = cost;
            c.covered = Decimal::ZERO;
            if let Some(amount) = k.consumption(&c, &self.policy.exchange)
                && !k.has_room(amount)
            {
                return Some((None, k.clone()));
            }
        }
        None
    }

    fn capped_commit(
        &self,
        cs: &mut [&mut Customer],
        parties: &Parties<'_>,
        req: &Request<'_>,
        settle: Option<(&str, bool)>,
        temp: &[Cap],
        now: Timestamp,
    ) -> Result<(bool, Vec<Event>)> {
        tidy_caps(cs, now);
        let owner = cs
            .iter()
            .position(|c| *c.id == *parties.owner)
            .ok_or_else(|| Error::UnknownCustomer(parties.owner.to_string()))?;
        let learn = match (settle, cs.get_mut(owner)) {
            (Some((hold, last)), Some(o)) => {
                let h = super::holds::settle_hold(o, &parties.ent.name, hold, req.value, last);
                super::holds::learns(h.as_ref())
            }
            _ => None,
        };
        let mut creq = *req;
        creq.cost = true;
        // the plain lane, when the call needs nothing else and no cap blocks it
        if settle.is_none()
            && let Some(p) = cs
                .get(owner)
                .and_then(|o| decision::plain(&self.policy, parties.ent, o, &creq, now))
        {
            let cost = p.cost();
            let amounts = self.cap_amounts(cs, parties, &cost);
            if self
                .blocking_cap(cs, parties, &cost, &amounts, temp)
                .is_none()
                && let Some(o) = cs.get_mut(owner)
            {
                p.apply(o);
                let events = self.move_caps(cs, parties, &cost, amounts, temp, req, Vec::new());
                return Ok((true, events));
            }
        }
        let Some(o) = cs.get_mut(owner) else {
            return Ok((false, Vec::new()));
        };
        // the commit transition is pure until applied: gate the caps on its own figures
        let mut t = self.evaluate_drawing(parties.plan, parties.ent, o, &creq, now)?;
        let figures = t.cost.as_deref().copied().unwrap_or_default();
        let amounts = if t.allowed {
            self.cap_amounts(cs, parties, &figures)
        } else {
            Amounts::new()
        };
        if t.allowed
            && !req.force
            && let Some((holder, cap)) = self.blocking_cap(cs, parties, &figures, &amounts, temp)
        {
            let mut events = Vec::new();
            if req.events.has(crate::events::EventKind::CapLimit) {
                events.push(self.cap_limit_event(cs, parties, owner, holder, &cap, &t, req));
            }
            return Ok((false, events));
        }
        let Some(o) = cs.get_mut(owner) else {
            return Ok((false, Vec::new()));
        };
        let events = self.commit(o, parties.ent, &mut t, req, learn, now);
        if !t.allowed {
            return Ok((false, events));
        }
        let figures = t.cost.as_deref().copied().unwrap_or_default();
        Ok((
            true,
            self.move_caps(cs, parties, &figures, amounts, temp, req, events),
        ))
    }

    /// Commits an allowed call's consumption on every applicable cap (observe-only included),
    /// appending threshold and `customer-set` events to `events`. A call-scoped cap starts at 0
    /// and is dropped after the call: it crosses its threshold when the call reaches its ceiling.
    #[allow(clippy::too_many_arguments, reason = "the call's parts")]
    fn move_caps(
        &self,
        cs: &mut [&mut Customer],
        parties: &Parties<'_>,
        figures: &decision::CostFigures,
        amounts: Amounts,
        temp: &[Cap],
        req: &Request<'_>,
        mut events: Vec<Event>,
    ) -> Vec<Event> {
        let credit = parties.ent.limit.as_ref().map_or("", |l| &*l.credit);
        let cost = self.call_cost(figures, parties, credit);
        let mut moved: Vec<usize> = Vec::new();
        for (ci, ki, amount) in amounts {
            let Some(k) = cs
                .get_mut(ci)
                .and_then(|c| c.profile.as_mut())
                .and_then(|p| p.caps.get_mut(ki))
            else {
                continue;
            };
            // decrements move only follow_decrements caps; a volume-band reprice (a positive call
            // that costs less than nothing) moves every cap
            if amount.is_zero()
                || (cost.units.is_sign_negative() && !cost.units.is_zero() && !k.follow_decrements)
            {
                continue;
            }
            let before = k.meter_value;
            k.meter_value = k.meter_value.saturating_add(amount);
            let crossed = crate::number::cmp(before, k.value).is_lt()
                && crate::number::cmp(k.meter_value, k.value).is_ge();
            let cap_record = (crossed
                && req
                    .events
                    .has(crate::events::EventKind::CapThresholdCrossed))
            .then(|| k.record());
            if req.events.has(crate::events::EventKind::CustomerSet) && !moved.contains(&ci) {
                moved.push(ci);
            }
            if let Some(cap_record) = cap_record {
                let mut p = Map::new();
                p.insert(
                    "customer".into(),
                    cs.get(ci).map_or(Value::Null, |c| c.record()),
                );
                p.insert("caller".into(), record_of(cs, &parties.caller));
                p.insert(
                    "entitlement".into(),
                    Value::String(parties.ent.name.to_string()),
                );
                p.insert("cap".into(), cap_record);
                events.push(event("cap-threshold-crossed", Value::Object(p)));
            }
        }
        if req
            .events
            .has(crate::events::EventKind::CapThresholdCrossed)
            && crate::number::positive(cost.units)
        {
            for k in temp
                .iter()
                .filter(|k| k.applies(&parties.ent.name, credit, &self.policy.exchange))
            {
                let mut c = cost;
                c.covered = Decimal::ZERO;
                let Some(amount) = k.consumption(&c, &self.policy.exchange) else {
                    continue;
                };
                if crate::number::cmp(k.value, Decimal::ZERO).is_le()
                    || crate::number::cmp(amount, k.value).is_lt()
                {
                    continue;
                }
                let mut moved = k.clone();
                moved.meter_value = amount;
                let caller = record_of(cs, &parties.caller);
                let mut p = Map::new();
                p.insert("customer".into(), caller.clone());
                p.insert("caller".into(), caller);
                p.insert(
                    "entitlement".into(),
                    Value::String(parties.ent.name.to_string()),
                );
                p.insert("cap".into(), moved.record());
                events.push(event("cap-threshold-crossed", Value::Object(p)));
            }
        }
        if req.events.has(crate::events::EventKind::CustomerSet) {
            for ci in moved {
                if let Some(c) = cs.get(ci).filter(|c| *c.id != *parties.owner) {
                    events.push(event("customer-set", c.record()));
                }
            }
        }
        events
    }

    #[allow(clippy::too_many_arguments, reason = "the event's parts")]
    fn cap_limit_event(
        &self,
        cs: &[&mut Customer],
        parties: &Parties<'_>,
        owner: usize,
        holder: Option<usize>,
        cap: &Cap,
        pre: &decision::Transition,
        req: &Request<'_>,
    ) -> Event {
        let f = pre.cost.as_deref().copied().unwrap_or_default();
        let holder_record = match holder {
            Some(i) => cs.get(i).map_or(Value::Null, |c| c.record()),
            None => cs
                .iter()
                .find(|c| *c.id == *parties.caller)
                .map_or(Value::Null, |c| c.record()),
        };
        let overhead_total = cs
            .get(owner)
            .and_then(|o| o.meter(&parties.ent.name))
            .map_or(Decimal::ZERO, |m| m.overhead);
        let mut meter = Map::new();
        meter.insert("value".into(), number::to_value(f.meter_value));
        meter.insert("limit".into(), number::to_value(f.limit));
        meter.insert("diff".into(), number::to_value(f.units));
        meter.insert("overhead".into(), number::to_value(overhead_total));
        meter.insert("overhead_diff".into(), number::to_value(f.overhead));
        meter.insert(
            "price_diff".into(),
            f.price_diff.map_or(Value::Null, number::to_value),
        );
        let credit = parties
            .ent
            .limit
            .as_ref()
            .and_then(|l| self.policy.credit(&l.credit))
            .map_or(Value::Null, |c| c.record.clone());
        let mut p = Map::new();
        p.insert("customer".into(), holder_record);
        p.insert("caller".into(), record_of(cs, &parties.caller));
        p.insert(
            "entitlement".into(),
            Value::String(parties.ent.name.to_string()),
        );
        p.insert("plan".into(), Value::String(parties.plan.name.to_string()));
        p.insert("credit".into(), credit);
        p.insert("cap".into(), cap.record());
        p.insert("meter".into(), Value::Object(meter));
        p.insert(
            "event_data".into(),
            req.event_data.cloned().unwrap_or(Value::Null),
        );
        event("cap-limit", Value::Object(p))
    }
}

/// Drops expired caps and rolls periodic ones forward.
fn tidy_caps(cs: &mut [&mut Customer], now: Timestamp) {
    for c in cs.iter_mut() {
        if let Some(p) = c.profile.as_mut() {
            p.caps.retain(|k| k.live(now));
            for k in &mut p.caps {
                if let Some(r) = k.rolled(now) {
                    *k = r;
                }
            }
        }
    }
}
