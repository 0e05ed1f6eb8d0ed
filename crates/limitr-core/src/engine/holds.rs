//! Reservations (`reserve`, `settle`, `release`, `held`) and learned estimates (`observe`,
//! `estimate`)
//!
//! A hold sets room aside on a meter for a call whose size is known only when it finishes: it
//! counts against hard limits until it is settled, released or expires. `settle` meters the real
//! size (past hard limits, as the reference does) and can keep part of the hold while a response
//! streams (`final: false`).

use super::{CallOptions, Limitr, require_amount, require_id};
use crate::customer::Customer;
use crate::decision::{self, Request};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, segment_key};
use crate::idempotency::{self, Outcome};
use crate::meter::{Hold, Meter};
use crate::number::{self, Decimal};
use crate::store::Store;
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// Options of `reserve`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReserveOptions {
    /// Units to hold; `None`: the learned estimate at `quantile`, else the limit's increment.
    pub value: Option<Decimal>,
    /// Hold lifetime in ms (default: the policy's `hold_ttl`).
    pub ttl: Option<i64>,
    /// Quantile of the estimate to hold (default 0.9).
    pub quantile: Option<f64>,
    /// The call's size basis (e.g. input tokens) for per-basis estimates.
    pub basis: Option<f64>,
    /// Estimate segment (e.g. the model).
    pub segment: Option<String>,
    /// Expected provider cost, in runes.
    pub overhead: Option<Decimal>,
    /// Event data the basis and segment may be read from.
    pub event_data: Option<Value>,
    /// Idempotency key: a second `reserve` with the same key (same customer, within the
    /// idempotency TTL) answers the first hold id (or `None`) and holds nothing more; with other
    /// arguments it is [`Error::IdempotencyConflict`].
    pub idempotency_key: Option<String>,
}

impl ReserveOptions {
    /// The options as fingerprint text (everything but the key).
    fn fingerprint(&self) -> String {
        let mut m = Map::new();
        let dec =
            |d: Option<Decimal>| d.map_or(Value::Null, |d| Value::String(idempotency::decimal(d)));
        let float = |f: Option<f64>| {
            f.and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number)
        };
        m.insert("value".into(), dec(self.value));
        m.insert("ttl".into(), self.ttl.map_or(Value::Null, Value::from));
        m.insert("quantile".into(), float(self.quantile));
        m.insert("basis".into(), float(self.basis));
        m.insert(
            "segment".into(),
            self.segment.clone().map_or(Value::Null, Value::String),
        );
        m.insert("overhead".into(), dec(self.overhead));
        m.insert(
            "event_data".into(),
            self.event_data.clone().unwrap_or(Value::Null),
        );
        idempotency::canonical(&Value::Object(m))
    }
}

/// An estimate answer: `{value, overhead, samples, source, scope}`.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateAnswer {
    /// Predicted units at the quantile.
    pub value: Decimal,
    /// Predicted provider cost, in runes.
    pub overhead: Decimal,
    /// Samples behind it.
    pub samples: u64,
    /// `local` or `cloud`.
    pub source: String,
    /// `customer` (the customer's own) or `policy` (everyone's).
    pub scope: &'static str,
}

impl EstimateAnswer {
    /// As a value.
    pub fn record(&self) -> Value {
        let mut m = Map::new();
        m.insert("value".into(), number::to_value(self.value));
        m.insert("overhead".into(), number::to_value(self.overhead));
        m.insert("samples".into(), Value::from(self.samples));
        m.insert("source".into(), Value::String(self.source.clone()));
        m.insert("scope".into(), Value::String(self.scope.into()));
        Value::Object(m)
    }
}

static HOLD_SEQ: AtomicU64 = AtomicU64::new(1);

fn hold_id(now: Timestamp) -> compact_str::CompactString {
    let seq = HOLD_SEQ.fetch_add(1, Ordering::Relaxed);
    compact_str::format_compact!("hold_{:010x}{:06x}", now.max(0), seq & 0xff_ffff)
}

/// Settles a hold inside the owner's lock: removes it, or (not `last`) reduces it by `value`.
pub(crate) fn settle_hold(
    c: &mut Customer,
    entitlement: &str,
    hold: &str,
    value: Decimal,
    last: bool,
) -> Option<Hold> {
    let m = c
        .meters
        .iter_mut()
        .find(|m| &*m.entitlement == entitlement)?;
    let x = m.extra.as_mut()?;
    let i = x.holds.iter().position(|h| &*h.id == hold)?;
    let h = x.holds.get_mut(i)?;
    if last || value >= h.value {
        return Some(x.holds.remove(i));
    }
    let found = h.clone();
    h.value -= value.max(Decimal::ZERO);
    Some(found)
}

/// What a settle teaches the estimates: the hold's `(basis, segment)`; `None`: not a settle.
pub(crate) type Learn = Option<(Option<f64>, Option<String>)>;

/// The [`Learn`] of a settled hold (an unknown or expired hold teaches without basis or segment).
pub(crate) fn learns(hold: Option<&Hold>) -> Learn {
    Some(hold.map_or((None, None), |h| (h.basis, h.segment.clone())))
}

fn text_field(data: Option<&Value>, field: Option<&String>) -> Option<String> {
    let v = data?.get(field?)?;
    v.as_str()
        .map(String::from)
        .or_else(|| v.as_f64().map(|f| f.to_string()))
}

fn basis_field(data: Option<&Value>, field: Option<&String>) -> Option<f64> {
    data?.get(field?)?.as_f64()
}

impl<S: Store> Limitr<S> {
    /// Holds room on an entitlement for a call of unknown size. Returns the hold id, or `None`
    /// when the room is not there (or the size is not positive, or there is no limit). With
    /// [`ReserveOptions::idempotency_key`], a retry answers the first answer and holds nothing.
    pub fn reserve(
        &self,
        customer: &str,
        entitlement: &str,
        options: &ReserveOptions,
    ) -> Result<Option<String>> {
        self.stored(|| {
            require_id("customer", customer)?;
            require_id("entitlement", entitlement)?;
            if let Some(v) = options.value {
                require_amount("value", v)?;
            }
            let now = self.now();
            let quantile = options.quantile.unwrap_or(0.9);
            if !(0.0..=1.0).contains(&quantile) {
                return Err(Error::invalid(
                    "quantile",
                    format!("`{quantile}` must be between 0 and 1"),
                ));
            }
            let keyed = self.keyed(options.idempotency_key.as_deref(), || {
                vec!["reserve".into(), entitlement.into(), options.fingerprint()]
            })?;
            if let Some(ttl) = options.ttl.filter(|t| *t <= 0) {
                return Err(Error::invalid(
                    "ttl",
                    format!("must be greater than zero, found `{ttl}`"),
                ));
            }
            if let Some(o) = options.overhead {
                super::require_overhead(o)?;
            }
            let ttl = options.ttl.unwrap_or(self.policy.hold_ttl);
            let data = options.event_data.as_ref();
            let prediction = match options.value {
                Some(_) => None,
                None => self.estimate_with(
                    customer,
                    entitlement,
                    quantile,
                    options.basis,
                    options.segment.as_deref(),
                    data,
                )?,
            };
            let hold = |plan: &crate::Plan, ent: &crate::Entitlement, owner: &mut Customer| {
                let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now)?;
                let credit = self
                    .policy
                    .credits
                    .get_index(limit.credit_index)
                    .map(|(_, c)| c)?;
                let raw = options
                    .value
                    .or(prediction.as_ref().map(|p| p.value))
                    .unwrap_or(limit.increment);
                let value = credit.units.cast(raw);
                if value <= Decimal::ZERO {
                    return None;
                }
                let req = Request {
                    entitlement,
                    value,
                    overhead: None,
                    event_data: data,
                    events: crate::events::EventSet::NONE,
                    force: false,
                    cost: false,
                };
                let fits = decision::evaluate(&self.policy, plan, ent, owner, &req, now, false)
                    .ok()?
                    .allowed;
                if !fits {
                    return None;
                }
                let overhead = options
                    .overhead
                    .or(prediction.as_ref().map(|p| p.overhead))
                    .unwrap_or_else(|| credit.overhead_of(value, data));
                let id = hold_id(now);
                let hold = Hold {
                    id: id.clone(),
                    value,
                    overhead,
                    expires: now.saturating_add(ttl.max(0)),
                    basis: options
                        .basis
                        .or_else(|| basis_field(data, ent.estimate_basis.as_ref())),
                    segment: options
                        .segment
                        .clone()
                        .or_else(|| text_field(data, ent.estimate_segment.as_ref())),
                };
                let meter = match owner.meters.iter().position(|m| m.entitlement == ent.name) {
                    Some(i) => owner.meters.get_mut(i)?,
                    None => {
                        owner
                            .meters
                            .push(Meter::new(ent.name.clone(), limit.credit.clone(), now));
                        owner.meters.last_mut()?
                    }
                };
                let x = meter.extra.get_or_insert_with(Box::default);
                x.holds.retain(|h| h.live(now));
                x.holds.push(hold);
                Some(id.to_string())
            };
            let outcome = self.on_target_keyed(
                customer,
                entitlement,
                now,
                keyed.as_ref(),
                |plan, ent, owner| Ok(hold(plan, ent, owner)),
                |id| id.clone().map_or(Value::Null, Value::String),
            );
            match outcome {
                Err(_) => Ok(None),
                Ok(r) => Ok(match r? {
                    Outcome::Fresh(id) => id,
                    Outcome::Replay(v) => v.as_str().map(String::from),
                }),
            }
        })
    }

    /// Meters the real size of a reserved call and removes its hold (`last = false` keeps the rest
    /// of the hold for a response still streaming). The call is metered past hard limits, as the
    /// reference does; an unknown or expired hold is fine. Learns the estimate from it.
    pub fn settle(
        &self,
        customer: &str,
        entitlement: &str,
        hold: &str,
        value: Decimal,
        last: bool,
        options: &CallOptions,
    ) -> Result<bool> {
        self.stored(|| {
            require_id("hold", hold)?;
            let keyed = self.keyed(options.idempotency_key.as_deref(), || {
                let (v, o) = (
                    idempotency::decimal(value),
                    idempotency::call_options(options),
                );
                let last = if last { "final" } else { "partial" };
                vec![
                    "settle".into(),
                    entitlement.into(),
                    hold.into(),
                    v,
                    last.into(),
                    o,
                ]
            })?;
            Ok(self
                .call(
                    customer,
                    entitlement,
                    value,
                    options,
                    Some((hold, last)),
                    keyed.as_ref(),
                )?
                .unwrap_or(false))
        })
    }

    /// Drops a hold without metering; true if it was there.
    pub fn release(&self, customer: &str, entitlement: &str, hold: &str) -> Result<bool> {
        self.release_with(customer, entitlement, hold, None)
    }

    /// [`release`](Self::release) with an idempotency key: a retry with the same key answers the
    /// first answer and changes nothing; the key with another entitlement or hold is
    /// [`Error::IdempotencyConflict`].
    pub fn release_with(
        &self,
        customer: &str,
        entitlement: &str,
        hold: &str,
        idempotency_key: Option<&str>,
    ) -> Result<bool> {
        self.stored(|| {
            require_id("customer", customer)?;
            require_id("entitlement", entitlement)?;
            let keyed = self.keyed(idempotency_key, || {
                vec!["release".into(), entitlement.into(), hold.into()]
            })?;
            let outcome = self.on_target_keyed(
                customer,
                entitlement,
                self.now(),
                keyed.as_ref(),
                |_, ent, owner| {
                    Ok(settle_hold(owner, &ent.name, hold, Decimal::ZERO, true).is_some())
                },
                |released| Value::Bool(*released),
            );
            match outcome {
                Err(_) => Ok(false),
                Ok(r) => Ok(match r? {
                    Outcome::Fresh(released) => released,
                    Outcome::Replay(v) => v.as_bool().unwrap_or(false),
                }),
            }
        })
    }

    /// Units held by unexpired holds on an entitlement.
    pub fn held(&self, customer: &str, entitlement: &str) -> Result<Option<Decimal>> {
        self.stored(|| {
            require_id("customer", customer)?;
            require_id("entitlement", entitlement)?;
            let now = self.now();
            Ok(self
                .on_target(customer, entitlement, now, |_, ent, owner| {
                    owner
                        .meter(&ent.name)
                        .map_or(Decimal::ZERO, |m| m.held(now))
                        .normalize()
                })
                .ok())
        })
    }

    /// Learns the size (and provider cost) of a finished call, for everyone's estimate of the
    /// entitlement and for the customer's own. Per-basis estimates (entitlements with
    /// `estimate_basis`) need a positive basis. True when recorded.
    #[allow(clippy::too_many_arguments, reason = "the observation's fields")]
    pub fn observe(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        overhead: Option<Decimal>,
        basis: Option<f64>,
        segment: Option<&str>,
        event_data: Option<&Value>,
    ) -> Result<bool> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        require_amount("value", value)?;
        if let Some(o) = overhead {
            super::require_overhead(o)?;
        }
        let now = self.now();
        let result = self.on_target(customer, entitlement, now, |_, ent, owner| {
            self.learn(owner, ent, value, overhead, basis, segment, event_data, now)
        });
        Ok(result.unwrap_or(false))
    }

    /// Updates the customer's and everyone's estimate with one observation (under the owner's lock).
    #[allow(clippy::too_many_arguments, reason = "the observation's fields")]
    pub(crate) fn learn(
        &self,
        owner: &mut Customer,
        ent: &crate::Entitlement,
        value: Decimal,
        overhead: Option<Decimal>,
        basis: Option<f64>,
        segment: Option<&str>,
        event_data: Option<&Value>,
        now: Timestamp,
    ) -> bool {
        let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now);
        let credit = limit
            .and_then(|l| self.policy.credits.get_index(l.credit_index))
            .map(|(_, c)| c);
        let overhead = overhead
            .unwrap_or_else(|| credit.map_or(Decimal::ZERO, |c| c.overhead_of(value, event_data)));
        let per_basis = ent.estimate_basis.is_some();
        let basis = basis.or_else(|| basis_field(event_data, ent.estimate_basis.as_ref()));
        let seg = segment
            .map(String::from)
            .or_else(|| text_field(event_data, ent.estimate_segment.as_ref()));
        let key: compact_str::CompactString = match seg.as_deref() {
            None | Some("") => compact_str::CompactString::const_new("all"),
            Some(_) => segment_key(seg.as_deref()).into(),
        };
        // statistics, not money: a direct conversion is precise enough and cheap
        let f = |d: Decimal| rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(f64::NAN);
        let (x, o) = (f(value), f(overhead));
        let mut own_ok = false;
        if let Some(m) = owner.meters.iter_mut().find(|m| m.entitlement == ent.name) {
            let extra = m.extra.get_or_insert_with(Box::default);
            let slot = match extra.estimates.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    extra.estimates.push((
                        key.to_string(),
                        Estimate::default().with_per_basis(per_basis),
                    ));
                    extra.estimates.len() - 1
                }
            };
            if let Some((_, e)) = extra.estimates.get_mut(slot) {
                e.set_per_basis(per_basis);
                own_ok = e.observe(x, o, basis, now).is_ok();
            }
        }
        let mut shared = self.estimates.write();
        // the key fits inline for usual names: no allocation on the lookup
        let full = compact_str::format_compact!("{}.{key}", ent.name);
        let e = match shared.get_mut(full.as_str()) {
            Some(e) => e,
            None => shared
                .entry(full.to_string())
                .or_insert_with(|| Estimate::default().with_per_basis(per_basis)),
        };
        e.set_per_basis(per_basis);
        e.observe(x, o, basis, now).is_ok() || own_ok
    }

    /// The predicted size and cost of a call at `quantile`: the customer's own estimate once it has
    /// `estimate_min_samples`, else everyone's; `None` without samples.
    pub fn estimate(
        &self,
        customer: &str,
        entitlement: &str,
        quantile: f64,
        basis: Option<f64>,
        segment: Option<&str>,
    ) -> Result<Option<EstimateAnswer>> {
        self.estimate_with(customer, entitlement, quantile, basis, segment, None)
    }

    pub(crate) fn estimate_with(
        &self,
        customer: &str,
        entitlement: &str,
        quantile: f64,
        basis: Option<f64>,
        segment: Option<&str>,
        event_data: Option<&Value>,
    ) -> Result<Option<EstimateAnswer>> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        let min = self.policy.estimate_min_samples;
        let answer = self.on_target(customer, entitlement, self.now(), |_, ent, owner| {
            let basis = basis.or_else(|| basis_field(event_data, ent.estimate_basis.as_ref()));
            let seg = segment
                .map(String::from)
                .or_else(|| text_field(event_data, ent.estimate_segment.as_ref()));
            let key = segment_key(seg.as_deref());
            let own = owner
                .meter(&ent.name)
                .and_then(|m| m.extra.as_ref())
                .and_then(|x| {
                    x.estimates
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, e)| e.clone())
                })
                .filter(|e| e.samples >= min.max(1));
            let (e, scope) = match own {
                Some(e) => (e, "customer"),
                None => (
                    self.estimates
                        .read()
                        .get(&format!("{}.{key}", ent.name))
                        .cloned()?,
                    "policy",
                ),
            };
            let p = e.predict(basis, quantile)?;
            Some(EstimateAnswer {
                value: p.value,
                overhead: p.overhead,
                samples: e.samples,
                source: e.source.clone(),
                scope,
            })
        });
        Ok(answer.ok().flatten())
    }
}
