//! Spend caps on customers and margins: conversions around the core's `add_customer_cap`,
//! `customer_cap`, `reset_customer_cap`, `remove_customer_cap`, `customer_margin`, `plan_margin`.

use crate::convert::{self, decimal};
use crate::error::{CoreResult, Result};
use crate::registry;
use napi_derive::napi;

/// Adds a spend cap of `value` to a customer; `options`: JSON `{cap_id, credit, exchangeable,
/// ignore_grants, overage_only, observe_only, overhead_cost, follow_decrements, hard_trailing,
/// shared, shared_with, scope, resets, reset_inc, reset_sch, expires_on, events}` (each optional)
/// or null.
/// Returns the cap's record as JSON, or null (unknown customer, taken cap id).
#[napi]
pub fn add_customer_cap(
    h: u32,
    id: String,
    value: f64,
    options: Option<String>,
) -> Result<Option<String>> {
    let value = decimal("value", value)?;
    let options = convert::cap_options(options.as_deref())?;
    registry::with(h, |e| {
        Ok(e.core
            .add_customer_cap(&id, value, &options)
            .js()?
            .map(|v| v.to_string()))
    })
}

/// A cap's record as JSON, or null.
#[napi]
pub fn customer_cap(h: u32, id: String, cap_id: String) -> Result<Option<String>> {
    registry::with(h, |e| {
        Ok(e.core.customer_cap(&id, &cap_id).map(|v| v.to_string()))
    })
}

/// Zeroes a cap's consumption; true if the cap exists.
#[napi]
pub fn reset_customer_cap(h: u32, id: String, cap_id: String) -> Result<bool> {
    registry::with(h, |e| e.core.reset_customer_cap(&id, &cap_id).js())
}

/// Removes a cap; true if it existed. `events` false sends neither `customer-cap-removed` nor
/// `customer-set`.
#[napi]
pub fn remove_customer_cap(h: u32, id: String, cap_id: String, events: bool) -> Result<bool> {
    registry::with(h, |e| {
        e.core.remove_customer_cap_with(&id, &cap_id, events).js()
    })
}

/// A customer's margin this period as JSON `{revenue, cost, margin, entitlements}`, or null.
#[napi]
pub fn customer_margin(h: u32, customer: String) -> Result<Option<String>> {
    registry::with(h, |e| {
        Ok(e.core
            .customer_margin(&customer)
            .js()?
            .map(|b| b.record().to_string()))
    })
}

/// A plan's margin for hypothetical usage (`usage`: JSON `{entitlement: value | {value,
/// overhead?, limit?}}`), as JSON `{revenue, cost, margin, entitlements}`.
#[napi]
pub fn plan_margin(h: u32, plan: String, usage: String, scaled: bool) -> Result<String> {
    let usage = convert::usage(&usage)?;
    registry::with(h, |e| {
        Ok(e.core
            .plan_margin(&plan, &usage, scaled)
            .js()?
            .record()
            .to_string())
    })
}
