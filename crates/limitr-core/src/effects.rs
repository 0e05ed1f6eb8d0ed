//! What a decision changed in a customer, as data: [`Effects::between`] the customer before and
//! after a store closure, [`Effects::apply`] onto the one before to get the one after.
//!
//! Most calls only move counters: a meter's value, overhead, period start and trend, a grant's
//! balance and refill time. Those are [`Counter`] changes, small enough for a store to write or
//! send instead of the whole customer (the journal writes them as a compact record; a shared store
//! can commit them as increments with guards, `value_delta` being the increment). Anything else
//! (a plan switch, a grant added or removed, a cap, an override, a hold, an idempotency key, a
//! new meter) is structural: the effects are then the whole post-image ([`Effects::Replace`]).
//!
//! The counters are carried as post-values (replaying them is idempotent, as replaying a
//! post-image is) with the decimal increment beside each value.

use crate::customer::Customer;
use crate::meter::Trend;
use crate::number::Decimal;
use crate::time::Timestamp;

/// A counter that moved.
#[derive(Debug, Clone, PartialEq)]
pub enum Counter {
    /// The meter at `index` (in the customer's meter order).
    Meter {
        /// Position in [`Customer::meters`].
        index: usize,
        /// Usage after the call.
        value: Decimal,
        /// `value` after minus before: the increment a shared store would apply.
        value_delta: Decimal,
        /// Provider cost after the call.
        overhead: Decimal,
        /// Period start after the call (a reset moves it).
        started: Timestamp,
        /// The usage trend after the call.
        trend: Trend,
    },
    /// The grant at `index` (in the customer's grant order).
    Grant {
        /// Position in [`Customer::grants`].
        index: usize,
        /// Balance after the call.
        value: Decimal,
        /// `value` after minus before.
        value_delta: Decimal,
        /// Start of its refill period after the call.
        last_reset: Timestamp,
    },
}

/// What one closure changed in one customer.
#[derive(Debug, Clone, PartialEq)]
pub enum Effects {
    /// Nothing changed.
    None,
    /// Only counters moved (in meter, then grant, order).
    Counters(Vec<Counter>),
    /// A structural change: the customer after the call, whole.
    Replace(Box<Customer>),
}

impl Effects {
    /// The effects that turn `before` into `after` (the same customer before and after a call).
    pub fn between(before: &Customer, after: &Customer) -> Effects {
        if before == after {
            return Effects::None;
        }
        match counters(before, after) {
            Some(list) if !list.is_empty() => Effects::Counters(list),
            _ => Effects::Replace(Box::new(after.clone())),
        }
    }

    /// Applies the effects onto the customer they were taken from (or a copy of it): the result
    /// equals the customer after the call. `Err` names what does not fit (a counter past the
    /// customer's meters or grants), and then `c` is unchanged.
    pub fn apply(&self, c: &mut Customer) -> Result<(), String> {
        match self {
            Effects::None => Ok(()),
            Effects::Replace(after) => {
                *c = (**after).clone();
                Ok(())
            }
            Effects::Counters(list) => apply_counters(list, c),
        }
    }
}

/// Applies counter changes onto `c`, all or none.
pub fn apply_counters(list: &[Counter], c: &mut Customer) -> Result<(), String> {
    for change in list {
        match change {
            Counter::Meter { index, .. } if *index >= c.meters.len() => {
                return Err(format!("meter {index} of {}", c.meters.len()));
            }
            Counter::Grant { index, .. } if *index >= c.grants.len() => {
                return Err(format!("grant {index} of {}", c.grants.len()));
            }
            _ => {}
        }
    }
    for change in list {
        match *change {
            Counter::Meter {
                index,
                value,
                overhead,
                started,
                trend,
                ..
            } => {
                if let Some(m) = c.meters.get_mut(index) {
                    m.value = value;
                    m.overhead = overhead;
                    m.started = started;
                    m.trend = trend;
                }
            }
            Counter::Grant {
                index,
                value,
                last_reset,
                ..
            } => {
                if let Some(g) = c.grants.get_mut(index) {
                    g.value = value;
                    g.last_reset = last_reset;
                }
            }
        }
    }
    Ok(())
}

/// The counter changes from `before` to `after`, or `None` when something else changed too
/// (what [`Effects::between`] answers, without cloning the customer for a structural change).
pub fn counters(before: &Customer, after: &Customer) -> Option<Vec<Counter>> {
    if before.plan != after.plan
        || before.profile != after.profile
        || before.grant_seq != after.grant_seq
        || before.meters.len() != after.meters.len()
        || before.grants.len() != after.grants.len()
    {
        return None;
    }
    let mut out = Vec::new();
    for (index, (b, a)) in before.meters.iter().zip(&after.meters).enumerate() {
        if b == a {
            continue;
        }
        if b.entitlement != a.entitlement || b.credit != a.credit || b.extra != a.extra {
            return None;
        }
        out.push(Counter::Meter {
            index,
            value: a.value,
            value_delta: a.value.checked_sub(b.value)?,
            overhead: a.overhead,
            started: a.started,
            trend: a.trend,
        });
    }
    for (index, (b, a)) in before.grants.iter().zip(&after.grants).enumerate() {
        if b == a {
            continue;
        }
        let mut moved = b.clone();
        moved.value = a.value;
        moved.last_reset = a.last_reset;
        if moved != *a {
            return None;
        }
        out.push(Counter::Grant {
            index,
            value: a.value,
            value_delta: a.value.checked_sub(b.value)?,
            last_reset: a.last_reset,
        });
    }
    Some(out)
}
