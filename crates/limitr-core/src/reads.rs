//! Reads: never meter, always show the period `now` falls in.

use crate::customer::Customer;
use crate::decision::plan_of;
use crate::grant;
use crate::number::Decimal;
use crate::policy::Policy;
use crate::policy::plan::{Limit, Mode};
use crate::time::Timestamp;

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

fn limit_of<'p>(policy: &'p Policy, c: &Customer, ent: &str) -> Option<Option<&'p Limit>> {
    Some(plan_of(policy, c)?.entitlement(ent)?.limit.as_ref())
}

fn current(c: &Customer, ent: &str, limit: &Limit, now: Timestamp) -> Decimal {
    c.meter(ent).map_or(Decimal::ZERO, |m| {
        m.current_value(limit.reset.as_ref(), now)
    })
}

fn grant_balance(policy: &Policy, c: &Customer, limit: &Limit, now: Timestamp) -> Decimal {
    if !limit.grants_apply {
        return Decimal::ZERO;
    }
    grant::balance(&c.grants, &limit.credit, &policy.exchange, now)
}

/// Usage this period (0 for feature flags); with `percent`, the share of the limit used.
pub(crate) fn value(
    policy: &Policy,
    c: &Customer,
    ent: &str,
    percent: bool,
    grants: bool,
    now: Timestamp,
) -> Option<Decimal> {
    let limit = limit_of(policy, c, ent)?;
    if percent {
        return remaining(policy, c, ent, true, grants, now).map(|r| (HUNDRED - r).normalize());
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
    percent: bool,
    grants: bool,
    now: Timestamp,
) -> Option<Decimal> {
    let limit = limit_of(policy, c, ent)??;
    if limit.mode == Mode::Observe {
        return None;
    }
    let val = current(c, ent, limit, now);
    let mut lval = limit.value;
    if grants {
        let r = grant_balance(policy, c, limit, now);
        if r > Decimal::ZERO {
            lval = val.max(limit.value) + r;
        }
    }
    let res = lval - val;
    if !percent {
        return Some(res.normalize());
    }
    if lval.is_zero() {
        return Some(Decimal::ZERO);
    }
    Some((res.max(Decimal::ZERO) / lval * HUNDRED).normalize())
}

/// The limit (plus the grant balance when `grants`); null for flags and observe limits.
pub(crate) fn limit(
    policy: &Policy,
    c: Option<&Customer>,
    plan: &str,
    ent: &str,
    grants: bool,
    now: Timestamp,
) -> Option<Decimal> {
    let limit = match c {
        Some(c) => limit_of(policy, c, ent)??,
        None => policy.entitlement(plan, ent)?.limit.as_ref()?,
    };
    if limit.mode == Mode::Observe {
        return None;
    }
    let extra = match (c, grants) {
        (Some(c), true) => grant_balance(policy, c, limit, now),
        _ => Decimal::ZERO,
    };
    Some((limit.value + extra).normalize())
}

/// When the entitlement's meter next resets (epoch ms); null when it does not reset.
pub(crate) fn resets(
    policy: &Policy,
    c: &Customer,
    ent: &str,
    now: Timestamp,
) -> Option<Timestamp> {
    let limit = limit_of(policy, c, ent)??;
    let rule = limit.reset.as_ref()?;
    Some(rule.next_reset(c.meter(ent).map(|m| m.started), now))
}
