//! Reads: never meter, always show the period `now` falls in. They take the owner of the meter and
//! the limit in force (an override or the plan's), resolved by the engine.

use crate::customer::Customer;
use crate::grant;
use crate::number::Decimal;
use crate::policy::Policy;
use crate::policy::plan::{Limit, Mode};
use crate::time::Timestamp;

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

fn current(c: &Customer, ent: &str, limit: &Limit, now: Timestamp) -> Decimal {
    c.meter(ent).map_or(Decimal::ZERO, |m| {
        m.current_value(limit.reset.as_ref(), now)
    })
}

/// The grant balance in the limit's credit, from the billable position of the current value.
/// Reads count it also when the limit has `grants_apply: false` (only metering then leaves the
/// grants alone).
fn grant_balance(
    policy: &Policy,
    c: &Customer,
    ent: &str,
    limit: &Limit,
    now: Timestamp,
) -> Decimal {
    let position = current(c, ent, limit, now)
        .saturating_sub(limit.value)
        .max(Decimal::ZERO);
    grant::balance(&c.grants, &limit.credit, &policy.exchange, now, position)
}

/// Usage this period (0 for feature flags); with `percent`, the share of the limit used.
pub(crate) fn value(
    policy: &Policy,
    c: &Customer,
    ent: &str,
    limit: Option<&Limit>,
    percent: bool,
    grants: bool,
    now: Timestamp,
) -> Option<Decimal> {
    if percent {
        return remaining(policy, c, ent, limit, true, grants, now)
            .map(|r| (HUNDRED - r).normalize());
    }
    Some(
        limit
            .map_or(Decimal::ZERO, |l| current(c, ent, l, now))
            .normalize(),
    )
}

/// What is left before the limit, grants included when `grants`; null for flags and observe limits.
pub(crate) fn remaining(
    policy: &Policy,
    c: &Customer,
    ent: &str,
    limit: Option<&Limit>,
    percent: bool,
    grants: bool,
    now: Timestamp,
) -> Option<Decimal> {
    let limit = limit?;
    if limit.mode == Mode::Observe {
        return None;
    }
    let val = current(c, ent, limit, now);
    let mut lval = limit.value;
    if grants {
        let r = grant_balance(policy, c, ent, limit, now);
        if r > Decimal::ZERO {
            lval = val.max(limit.value).saturating_add(r);
        }
    }
    let res = lval.saturating_sub(val);
    if !percent {
        return Some(res.normalize());
    }
    if lval.is_zero() {
        return Some(Decimal::ZERO);
    }
    let share = res
        .max(Decimal::ZERO)
        .checked_div(lval)?
        .checked_mul(HUNDRED)?;
    Some(share.normalize())
}

/// The limit (plus the owner's grant balance when `grants` and there is an owner); null for flags
/// and observe limits.
pub(crate) fn limit(
    policy: &Policy,
    c: Option<&Customer>,
    ent: &str,
    limit: Option<&Limit>,
    grants: bool,
    now: Timestamp,
) -> Option<Decimal> {
    let limit = limit?;
    if limit.mode == Mode::Observe {
        return None;
    }
    let extra = match (c, grants) {
        (Some(c), true) => grant_balance(policy, c, ent, limit, now),
        _ => Decimal::ZERO,
    };
    Some(limit.value.saturating_add(extra).normalize())
}

/// When the entitlement's meter next resets (epoch ms); null when it does not reset.
pub(crate) fn resets(
    c: &Customer,
    ent: &str,
    limit: Option<&Limit>,
    now: Timestamp,
) -> Option<Timestamp> {
    let rule = limit?.reset.as_ref()?;
    Some(rule.next_reset(c.meter(ent).map(|m| m.started), now))
}
