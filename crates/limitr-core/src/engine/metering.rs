//! Decisions (`allow`, `check`, `increment`, `decrement`, `set`) and reads (`value`, `remaining`,
//! `limit`, `resets`, `remaining_credit`).

use super::{CallOptions, Limitr, require_amount, require_id};
use crate::decision::{self, CheckDetail, Draft, Reason, Request, Transition};
use crate::error::{Error, Result};
use crate::grant;
use crate::idempotency::{self, Keyed, Outcome};
use crate::notify;
use crate::number::Decimal;
use crate::reads;
use crate::store::Store;
use crate::time::Timestamp;
use serde_json::Value;

impl<S: Store> Limitr<S> {
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
        self.stored(|| {
            let keyed = self.keyed(options.idempotency_key.as_deref(), || {
                let v = idempotency::decimal(value);
                let o = idempotency::call_options(options);
                vec!["allow".into(), entitlement.into(), v, o]
            })?;
            Ok(self
                .call(customer, entitlement, value, options, None, keyed.as_ref())?
                .unwrap_or(false))
        })
    }

    /// Meters a call; with `settle = Some((hold, final))` the hold is first settled (removed, or
    /// reduced by `value` when not final) and the call is forced past hard limits, atomically.
    /// `None` when the customer or entitlement is unknown. With `keyed`, the key is checked and
    /// recorded on the caller under the same lock as the call's change.
    pub(crate) fn call(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        options: &CallOptions,
        settle: Option<(&str, bool)>,
        keyed: Option<&Keyed>,
    ) -> Result<Option<bool>> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        require_amount("value", value)?;
        if let Some(o) = options.overhead {
            super::require_overhead(o)?;
        }
        let now = self.now();
        let req = Request {
            entitlement,
            value,
            overhead: options.overhead,
            event_data: options.event_data.as_ref(),
            events: self.listening(options.events),
            force: settle.is_some(),
            cost: false,
        };
        let capped =
            !options.caps.is_empty() || self.any_caps.load(std::sync::atomic::Ordering::Acquire);
        if capped {
            return self.call_capped(customer, entitlement, &req, options, settle, keyed, now);
        }
        if let Some(k) = keyed {
            return self.call_keyed(customer, entitlement, &req, settle, k, now);
        }
        let outcome = self.on_target(customer, entitlement, now, |plan, ent, owner| {
            if settle.is_none()
                && let Some(p) = decision::plain(&self.policy, ent, owner, &req, now)
            {
                p.apply(owner);
                return Ok((true, None));
            }
            self.metered(plan, ent, owner, &req, settle, now)
                .map(|(allowed, events)| (allowed, Some(events)))
        });
        let Ok(outcome) = outcome else {
            return Ok(None);
        };
        let (allowed, events) = outcome?;
        if let Some(events) = events {
            self.handlers.dispatch(&events);
        }
        Ok(Some(allowed))
    }

    /// A metering call past the plain lane, under the owner's lock: settles the hold (when
    /// settling), evaluates and commits. The answer and the events to send.
    #[inline]
    fn metered(
        &self,
        plan: &crate::Plan,
        ent: &crate::Entitlement,
        owner: &mut crate::Customer,
        req: &Request<'_>,
        settle: Option<(&str, bool)>,
        now: Timestamp,
    ) -> Result<(bool, Vec<crate::Event>)> {
        let learn = settle.and_then(|(hold, last)| {
            super::holds::learns(
                super::holds::settle_hold(owner, &ent.name, hold, req.value, last).as_ref(),
            )
        });
        let mut t = self.evaluate_drawing(plan, ent, owner, req, now)?;
        let events = self.commit(owner, ent, &mut t, req, learn, now);
        Ok((t.allowed, events))
    }

    /// The commit transition of a call, with the owner's top-up grants reconciled with its plan
    /// first when the call goes past the limit (it draws grants, or needs them to pass): the
    /// decision is pure, so it is evaluated again on the reconciled grants.
    pub(crate) fn evaluate_drawing(
        &self,
        plan: &crate::Plan,
        ent: &crate::Entitlement,
        owner: &mut crate::Customer,
        req: &Request<'_>,
        now: Timestamp,
    ) -> Result<Transition> {
        let t = decision::evaluate(&self.policy, plan, ent, owner, req, now, true)?;
        if !t.past_limit {
            return Ok(t);
        }
        // the owner's own plan; an inheriting owner of an unscoped call is the caller
        let theirs = decision::own_plan(&self.policy, owner)
            .or_else(|| (ent.scope.is_none() && owner.plan.is_empty()).then_some(plan));
        match theirs {
            Some(p) if crate::topup::reconcile(owner, p, now) => {
                decision::evaluate(&self.policy, plan, ent, owner, req, now, true)
            }
            _ => Ok(t),
        }
    }

    /// [`call`](Self::call) with an idempotency key, off the cap path: the key is checked on the
    /// caller, and recorded there with the answer, in the lock of the call's change.
    fn call_keyed(
        &self,
        customer: &str,
        entitlement: &str,
        req: &Request<'_>,
        settle: Option<(&str, bool)>,
        keyed: &Keyed,
        now: Timestamp,
    ) -> Result<Option<bool>> {
        let outcome = self.on_target_keyed(
            customer,
            entitlement,
            now,
            Some(keyed),
            |plan, ent, owner| {
                if settle.is_none()
                    && let Some(p) = decision::plain(&self.policy, ent, owner, req, now)
                {
                    p.apply(owner);
                    return Ok((true, Vec::new()));
                }
                self.metered(plan, ent, owner, req, settle, now)
            },
            |(allowed, _)| Value::Bool(*allowed),
        );
        let Ok(outcome) = outcome else {
            return Ok(None);
        };
        match outcome? {
            Outcome::Replay(v) => Ok(Some(v.as_bool().unwrap_or(false))),
            Outcome::Fresh((allowed, events)) => {
                self.handlers.dispatch(&events);
                Ok(Some(allowed))
            }
        }
    }

    /// Commits a transition on the meter's owner, under its lock: the state, what a settle teaches
    /// the estimates, notification rules, and the events with the owner's record.
    pub(crate) fn commit(
        &self,
        owner: &mut crate::Customer,
        ent: &crate::Entitlement,
        t: &mut Transition,
        req: &Request<'_>,
        learn: super::holds::Learn,
        now: Timestamp,
    ) -> Vec<crate::Event> {
        let mut drafts = std::mem::take(&mut t.drafts);
        t.apply(owner);
        if let (true, Some((basis, segment))) = (t.allowed && req.value > Decimal::ZERO, learn) {
            let (v, o, data) = (req.value, req.overhead, req.event_data);
            self.learn(owner, ent, v, o, basis, segment.as_deref(), data, now);
        }
        if !drafts.is_empty() && !self.policy.notifications.is_empty() {
            self.notifications(&mut drafts, owner, ent, now);
        }
        let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now);
        self.finish(drafts, owner, &ent.name, limit, now)
    }

    /// Whether `allow` with the same arguments would pass, changing nothing and sending no event.
    pub fn check(&self, customer: &str, entitlement: &str, value: Decimal) -> Result<bool> {
        self.stored(|| Ok(self.verdict(customer, entitlement, value, None, &[])?.0))
    }

    /// [`check`](Self::check) with a call's options: its `overhead` and its call-scoped `caps`
    /// (each starting at 0, as for `allow`); events and idempotency keys do not apply.
    pub fn check_with(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        options: &CallOptions,
    ) -> Result<bool> {
        let (o, caps) = (options.overhead, &options.caps);
        self.stored(|| Ok(self.verdict(customer, entitlement, value, o, caps)?.0))
    }

    /// Whether [`increment`](Self::increment) would pass (false when there is no limit).
    pub fn check_increment(&self, customer: &str, entitlement: &str) -> Result<bool> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        match self.step(customer, entitlement) {
            Some(step) => self.check(customer, entitlement, step),
            None => Ok(false),
        }
    }

    /// The limit's `increment` (the step of `increment`/`decrement`, 1 by default); `None` without
    /// a limit or for an unknown entitlement. `id` may be a customer or a plan name.
    pub fn cost(&self, id: &str, entitlement: &str) -> Result<Option<Decimal>> {
        self.stored(|| {
            require_id("id", id)?;
            require_id("entitlement", entitlement)?;
            if let Some(step) = self.step(id, entitlement) {
                return Ok(Some(step.normalize()));
            }
            if self.primary_id(id).is_some() {
                return Ok(None);
            }
            Ok(self
                .policy
                .entitlement(id, entitlement)
                .and_then(|e| e.limit.as_ref())
                .map(|l| l.increment.normalize()))
        })
    }

    /// The verdict of `check`: allowed, why, and for a rate denial when to retry.
    pub(crate) fn verdict(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        overhead: Option<Decimal>,
        caps: &[(String, Decimal)],
    ) -> Result<(bool, Reason, Option<i64>)> {
        require_id("customer", customer)?;
        for (credit, ceiling) in caps {
            require_id("caps", credit)?;
            require_amount("caps", *ceiling)?;
        }
        require_id("entitlement", entitlement)?;
        require_amount("value", value)?;
        if let Some(o) = overhead {
            super::require_overhead(o)?;
        }
        let now = self.now();
        let req = Request {
            entitlement,
            value,
            overhead,
            event_data: None,
            events: crate::events::EventSet::NONE,
            force: false,
            cost: false,
        };
        if !caps.is_empty() || self.any_caps.load(std::sync::atomic::Ordering::Acquire) {
            return self.verdict_capped(customer, entitlement, &req, caps, now);
        }
        match self.on_target(customer, entitlement, now, |plan, ent, owner| {
            if decision::plain(&self.policy, ent, owner, &req, now).is_some() {
                return Ok((true, Reason::Ok, None));
            }
            decision::evaluate(&self.policy, plan, ent, owner, &req, now, false)
                .map(|t| (t.allowed, t.reason, t.retry_after))
        }) {
            Ok(verdict) => verdict,
            Err(reason) => Ok((false, reason, None)),
        }
    }

    /// [`check`](Self::check) with the reason, what remains and when it resets.
    pub fn check_detail(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        overhead: Option<Decimal>,
    ) -> Result<CheckDetail> {
        let options = CallOptions {
            overhead,
            ..CallOptions::default()
        };
        self.check_detail_with(customer, entitlement, value, &options)
    }

    /// [`check_detail`](Self::check_detail) with a call's options (its `overhead` and call-scoped
    /// `caps`).
    pub fn check_detail_with(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        options: &CallOptions,
    ) -> Result<CheckDetail> {
        let (o, caps) = (options.overhead, &options.caps);
        self.stored(|| {
            let (allowed, reason, retry_after) =
                self.verdict(customer, entitlement, value, o, caps)?;
            let now = self.now();
            let (remaining, resets) = self
                .on_target(customer, entitlement, now, |_, ent, owner| {
                    let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now);
                    (
                        reads::remaining(&self.policy, owner, &ent.name, limit, false, true, now),
                        reads::resets(owner, &ent.name, limit, now),
                    )
                })
                .unwrap_or((None, None));
            Ok(CheckDetail {
                allowed,
                reason,
                remaining,
                resets,
                retry_after,
            })
        })
    }

    fn step(&self, customer: &str, entitlement: &str) -> Option<Decimal> {
        let now = self.now();
        self.on_target(customer, entitlement, now, |_, ent, owner| {
            owner
                .limit_for(&ent.name, ent.limit.as_ref(), now)
                .map(|l| l.increment)
        })
        .ok()
        .flatten()
    }

    /// Meters the limit's `increment` (1 by default). False when there is no limit.
    pub fn increment(
        &self,
        customer: &str,
        entitlement: &str,
        options: &CallOptions,
    ) -> Result<bool> {
        self.stored(|| {
            require_id("customer", customer)?;
            let keyed = self.keyed(options.idempotency_key.as_deref(), || {
                let o = idempotency::call_options(options);
                vec!["increment".into(), entitlement.into(), o]
            })?;
            match self.step(customer, entitlement) {
                Some(step) => Ok(self
                    .call(customer, entitlement, step, options, None, keyed.as_ref())?
                    .unwrap_or(false)),
                None => Ok(false),
            }
        })
    }

    /// Meters minus the limit's `increment`. False when there is no limit.
    pub fn decrement(
        &self,
        customer: &str,
        entitlement: &str,
        options: &CallOptions,
    ) -> Result<bool> {
        self.stored(|| {
            require_id("customer", customer)?;
            let keyed = self.keyed(options.idempotency_key.as_deref(), || {
                let o = idempotency::call_options(options);
                vec!["decrement".into(), entitlement.into(), o]
            })?;
            match self.step(customer, entitlement) {
                Some(step) => Ok(self
                    .call(customer, entitlement, -step, options, None, keyed.as_ref())?
                    .unwrap_or(false)),
                None => Ok(false),
            }
        })
    }

    /// Sets the meter to `value` (meters the difference, with the same rules as `allow`).
    pub fn set(
        &self,
        customer: &str,
        entitlement: &str,
        value: Decimal,
        options: &CallOptions,
    ) -> Result<bool> {
        self.stored(|| {
            require_amount("value", value)?;
            let keyed = self.keyed(options.idempotency_key.as_deref(), || {
                let (v, o) = (
                    idempotency::decimal(value),
                    idempotency::call_options(options),
                );
                vec!["set".into(), entitlement.into(), v, o]
            })?;
            let Some(current) = self.value(customer, entitlement, false, true)? else {
                return Ok(false);
            };
            // a retry finds the meter already at `value`: the key answers before the difference counts
            let diff = value - current;
            Ok(self
                .call(customer, entitlement, diff, options, None, keyed.as_ref())?
                .unwrap_or(false))
        })
    }

    fn read<R>(
        &self,
        customer: &str,
        entitlement: &str,
        f: impl Fn(&crate::Customer, &str, Option<&crate::Limit>, Timestamp) -> Option<R>,
    ) -> Result<Option<R>> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        let now = self.now();
        Ok(self
            .on_target(customer, entitlement, now, |_, ent, owner| {
                f(
                    owner,
                    &ent.name,
                    owner.limit_for(&ent.name, ent.limit.as_ref(), now),
                    now,
                )
            })
            .ok()
            .flatten())
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
        self.stored(|| {
            self.read(customer, entitlement, |c, e, l, now| {
                reads::value(&self.policy, c, e, l, percent, grants, now)
            })
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
        self.stored(|| {
            self.read(customer, entitlement, |c, e, l, now| {
                reads::remaining(&self.policy, c, e, l, percent, grants, now)
            })
        })
    }

    /// The limit (plus grants when `grants`). `id` may be a customer or a plan name.
    pub fn limit(&self, id: &str, entitlement: &str, grants: bool) -> Result<Option<Decimal>> {
        self.stored(|| {
            require_id("id", id)?;
            require_id("entitlement", entitlement)?;
            let now = self.now();
            match self.on_target(id, entitlement, now, |_, ent, owner| {
                reads::limit(
                    &self.policy,
                    Some(owner),
                    &ent.name,
                    owner.limit_for(&ent.name, ent.limit.as_ref(), now),
                    grants,
                    now,
                )
            }) {
                Ok(v) => Ok(v),
                Err(Reason::UnknownCustomer) => {
                    let limit = self
                        .policy
                        .entitlement(id, entitlement)
                        .and_then(|e| e.limit.as_ref());
                    Ok(reads::limit(
                        &self.policy,
                        None,
                        entitlement,
                        limit,
                        grants,
                        now,
                    ))
                }
                Err(_) => Ok(None),
            }
        })
    }

    /// When the entitlement next resets (epoch ms); `None` when it does not reset.
    pub fn resets(&self, customer: &str, entitlement: &str) -> Result<Option<Timestamp>> {
        self.stored(|| {
            self.read(customer, entitlement, |c, e, l, now| {
                reads::resets(c, e, l, now)
            })
        })
    }

    /// A customer's grant balance expressed in `credit` (through the exchange table).
    pub fn remaining_credit(&self, customer: &str, credit: &str) -> Result<Option<Decimal>> {
        self.stored(|| {
            require_id("customer", customer)?;
            require_id("credit", credit)?;
            let now = self.now();
            let Some(id) = self.primary_id(customer) else {
                return Ok(None);
            };
            Ok(self.store.update(&id, |c| {
                if grant::untidy(&c.grants, now) {
                    c.grants = grant::tidy(&c.grants, now);
                }
                grant::balance(&c.grants, credit, &self.policy.exchange, now, Decimal::ZERO)
                    .normalize()
            }))
        })
    }

    /// Converts `value` units of `from` into `to` through the exchange table; `None` without a path.
    pub fn credit_exchange(&self, from: &str, to: &str, value: Decimal) -> Option<Decimal> {
        self.policy.exchange.convert(value, from, to)
    }

    /// A customer's margin this period: list price of usage past each limit against the recorded
    /// provider overhead (`None` for an unknown customer).
    pub fn customer_margin(&self, customer: &str) -> Result<Option<crate::margin::Breakdown>> {
        self.stored(|| {
            require_id("customer", customer)?;
            let now = self.now();
            let Some(id) = self.primary_id(customer) else {
                return Ok(None);
            };
            let Some(plan) = self.plan_for(&id) else {
                return Ok(None);
            };
            Ok(self
                .store
                .read(&id, |c| crate::margin::customer(&self.policy, plan, c, now)))
        })
    }

    /// A plan's margin for hypothetical usage per entitlement (`scaled`: rolling limits counted
    /// per plan period). An unknown plan is an error.
    pub fn plan_margin(
        &self,
        plan: &str,
        usage: &[(String, crate::margin::Usage)],
        scaled: bool,
    ) -> Result<crate::margin::Breakdown> {
        let p = self
            .policy
            .plan(plan)
            .ok_or_else(|| Error::UnknownPlan(plan.to_string()))?;
        Ok(crate::margin::plan(&self.policy, p, usage, scaled))
    }

    /// Appends the notification rules that fire for this call's meter events, and marks them
    /// fired for the meter's period (rules are evaluated when events are built).
    pub(crate) fn notifications(
        &self,
        drafts: &mut Vec<Draft>,
        owner: &mut crate::Customer,
        ent: &crate::Entitlement,
        now: Timestamp,
    ) {
        let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now).cloned();
        let percent = reads::value(
            &self.policy,
            owner,
            &ent.name,
            limit.as_ref(),
            true,
            true,
            now,
        );
        let value = reads::value(
            &self.policy,
            owner,
            &ent.name,
            limit.as_ref(),
            false,
            true,
            now,
        )
        .unwrap_or_default();
        let period = owner.meter(&ent.name).map_or(now, |m| m.started);
        let seen: Vec<notify::Seen<'_>> = drafts
            .iter()
            .map(|d| notify::Seen {
                event: d.name,
                fields: &d.fields,
            })
            .collect();
        let marks = owner
            .profile
            .as_ref()
            .map(|p| p.notified.clone())
            .unwrap_or_default();
        let fired = notify::evaluate(
            &self.policy.notifications,
            &seen,
            &ent.name,
            period,
            percent,
            value,
            &marks,
        );
        for (name, fields) in fired {
            let p = owner.profile_mut();
            p.notified.retain(|(n, _)| n != name);
            p.notified.push((name.to_string(), period));
            drafts.push(Draft { name, fields });
        }
    }

    /// Reads an amount written as text for an entitlement: a number in its credit's units, or, for
    /// credits kept in a size or time unit, a number with a unit (`"500MB"`, `"1GB"`, `"-3MB"`,
    /// `"10MiB"`), converted and cast. For an unknown customer or entitlement a plain number is read
    /// as is and anything else counts as 0 (the call is refused anyway). Bad text is
    /// `INVALID_ARGUMENT`.
    pub fn quantity(&self, customer: &str, entitlement: &str, text: &str) -> Result<Decimal> {
        let now = self.now();
        let units = self
            .on_target(customer, entitlement, now, |_, ent, owner| {
                let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now)?;
                self.policy
                    .credits
                    .get_index(limit.credit_index)
                    .map(|(_, c)| c.units)
            })
            .ok()
            .flatten();
        match units {
            Some(u) => u.amount(text).map_err(|m| Error::invalid("value", m)),
            None => Ok(crate::number::parse_decimal(text).unwrap_or_default()),
        }
    }
}
