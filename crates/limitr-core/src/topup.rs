//! Grants follow their top-ups: reconciling a customer's top-up grants with its plan.
//!
//! Run when a customer is created or changes plan, by `ensure_included_topups`, and before a call
//! draws grants for its overage. A grant whose top-up the plan no longer has is removed; an
//! included grant whose `included_scopes` no longer contain the customer's type is removed; the
//! others take the top-up's current credit, starting value, refill rules and expiry; included
//! top-ups the customer qualifies for and lacks are granted.

use crate::customer::Customer;
use crate::grant::Grant;
use crate::policy::plan::{Plan, Topup};
use crate::time::Timestamp;

/// Whether an included top-up applies to customers of type `kind`.
fn fits(t: &Topup, kind: &str) -> bool {
    t.included_scopes
        .as_ref()
        .is_none_or(|s| s.iter().any(|k| k == kind))
}

/// Reconciles `c`'s top-up grants with `plan` (see the module docs); true when anything changed.
pub(crate) fn reconcile(c: &mut Customer, plan: &Plan, now: Timestamp) -> bool {
    let kind = c.kind().to_string();
    let before = c.grants.clone();
    c.grants.retain(|g| match &g.topup {
        None => true,
        Some(name) => plan
            .topups
            .get(name)
            .is_some_and(|t| !t.included || fits(t, &kind)),
    });
    for g in &mut c.grants {
        if let Some(t) = g.topup.as_ref().and_then(|name| plan.topups.get(name)) {
            follow(g, t);
        }
    }
    for t in plan
        .topups
        .values()
        .filter(|t| t.included && fits(t, &kind))
    {
        if !c.grants.iter().any(|g| g.topup.as_ref() == Some(&t.name)) {
            let id = c.next_grant_id(now);
            c.grants.push(Grant::from_topup(id, t, now));
        }
    }
    c.grants != before
}

/// A grant takes its top-up's current rules (its balance and clocks stay).
fn follow(g: &mut Grant, t: &Topup) {
    g.credit = t.credit.clone();
    g.starting_value = t.value;
    g.reset = t.reset.clone().map(Box::new);
    g.expires_on = t.expires_after.and_then(|ms| g.created_on.checked_add(ms));
}
