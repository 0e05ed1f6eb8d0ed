//! Usage trends (`rate`, `acceleration`, `projected_exhaustion`) and `allowance`.

use super::{Limitr, require_id};
use crate::error::Result;
use crate::number::{self, Decimal};
use crate::reads;
use crate::store::Store;
use crate::time::Timestamp;

impl<S: Store> Limitr<S> {
    fn trend<R>(
        &self,
        customer: &str,
        entitlement: &str,
        f: impl Fn(&crate::meter::Trend, &crate::Customer, &crate::Entitlement, Timestamp) -> Option<R>,
    ) -> Result<Option<R>> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        let now = self.now();
        Ok(self
            .on_target(customer, entitlement, now, |_, ent, owner| {
                let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now)?;
                let m = owner.meter(&ent.name)?;
                if m.pending_reset(limit.reset.as_ref(), now).is_some() {
                    return None;
                }
                f(&m.trend, owner, ent, now)
            })
            .ok()
            .flatten())
    }

    /// Units per millisecond over the last two changes (`smoothed`: the exponentially weighted
    /// rate); 0 without enough history or after a reset.
    pub fn rate(&self, customer: &str, entitlement: &str, smoothed: bool) -> Result<Decimal> {
        let r = self.trend(customer, entitlement, |x, _, _, _| {
            if smoothed { x.ewma_rate } else { x.rate() }
        })?;
        Ok(r.and_then(number::from_f64).unwrap_or_default())
    }

    /// Change of the rate over the last three changes (units per ms²·ms); 0 without enough history.
    pub fn acceleration(&self, customer: &str, entitlement: &str) -> Result<Decimal> {
        let a = self.trend(customer, entitlement, |x, _, _, _| x.acceleration())?;
        Ok(a.and_then(number::from_f64).unwrap_or_default())
    }

    /// When, at the current rate, the limit (with grants when `grants`) runs out: an epoch-ms
    /// timestamp, or `None` when usage is not growing or nothing is left.
    pub fn projected_exhaustion(
        &self,
        customer: &str,
        entitlement: &str,
        smoothed: bool,
        grants: bool,
    ) -> Result<Option<Timestamp>> {
        use rust_decimal::prelude::ToPrimitive;
        self.trend(customer, entitlement, |x, owner, ent, now| {
            let rate = if smoothed { x.ewma_rate } else { x.rate() }?;
            if rate <= 0.0 || !rate.is_finite() {
                return None;
            }
            let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now);
            let left = reads::remaining(&self.policy, owner, &ent.name, limit, false, grants, now)?;
            if left <= Decimal::ZERO {
                return None;
            }
            let ms = left.to_f64()? / rate;
            if !ms.is_finite() {
                return None;
            }
            #[allow(
                clippy::cast_possible_truncation,
                reason = "bounded by the check below"
            )]
            let ms = ms.ceil().min(1e15) as i64;
            Some(now.saturating_add(ms))
        })
    }

    /// What may be used right now: `remaining`, or less when the rate governor's bucket holds
    /// fewer tokens. Before the first governed call (and after a reset) the bucket is not yet
    /// started and this is `remaining`, as in the reference.
    pub fn allowance(
        &self,
        customer: &str,
        entitlement: &str,
        grants: bool,
    ) -> Result<Option<Decimal>> {
        require_id("customer", customer)?;
        require_id("entitlement", entitlement)?;
        let now = self.now();
        Ok(self
            .on_target(customer, entitlement, now, |_, ent, owner| {
                let limit = owner.limit_for(&ent.name, ent.limit.as_ref(), now)?;
                let remaining = reads::remaining(
                    &self.policy,
                    owner,
                    &ent.name,
                    Some(limit),
                    false,
                    grants,
                    now,
                )?;
                let Some(g) = &limit.governor else {
                    return Some(remaining);
                };
                let m = owner.meter(&ent.name);
                let fresh = m.is_none_or(|m| m.pending_reset(limit.reset.as_ref(), now).is_some());
                let tokens = match m
                    .and_then(|m| m.extra.as_ref())
                    .and_then(|x| x.governor)
                    .filter(|_| !fresh)
                {
                    Some((tokens, at)) => g.refilled(tokens, at, now),
                    None => return Some(remaining),
                };
                Some(tokens.min(remaining).normalize())
            })
            .ok()
            .flatten())
    }
}
