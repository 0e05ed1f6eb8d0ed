//! napi-rs binding of `limitr-core`: the native backend of the npm package `@formata/limitr`.
//!
//! Free functions over an opaque engine handle (napi class methods cost ~200 ns more per call,
//! TOOLCHAIN.md pitfall 11). Only primitives cross: strings, numbers, booleans, null; objects cross
//! as JSON text. It converts types and maps errors (see `error.rs`); every rule lives in the core.
//! The TypeScript face and the contract of each function are in `npm/src/native.ts`.

mod convert;
mod error;
mod limitr;

use convert::{decimal, json, ms, num, opt_decimal, timestamp};
use error::{CoreResult, Result};
use limitr::Engine;
use limitr_core::{CallOptions, Error, Format, Limitr};
use napi::bindgen_prelude::External;
use napi_derive::napi;

fn options(events: bool, overhead: Option<f64>, event_data: Option<String>) -> Result<CallOptions> {
    Ok(CallOptions {
        events,
        overhead: opt_decimal("overhead", overhead)?,
        event_data: event_data.map(|t| json("eventData", &t)).transpose()?,
    })
}

/// Loads a document (`json`, `yaml` or `toml` text) and returns the engine handle.
#[napi]
pub fn load(text: String, format: String) -> Result<External<Engine>> {
    let format = Format::parse(&format).js()?;
    Ok(External::new(Engine::new(
        Limitr::load(&text, format).js()?,
    )))
}

/// Every error code the engine can throw.
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    Error::CODES.to_vec()
}

/// Fixes the engine's clock at `ms` (epoch milliseconds); `null` returns to the system clock.
#[napi]
pub fn set_now(h: &External<Engine>, ms: Option<f64>) -> Result<()> {
    h.set_now(ms.map(timestamp).transpose()?);
    Ok(())
}

/// Creates (or updates) a customer; returns its record as JSON.
#[napi]
pub fn create_customer(h: &External<Engine>, id: String, plan: Option<String>) -> Result<String> {
    Ok(h.core
        .create_customer(&id, plan.as_deref())
        .js()?
        .to_string())
}

/// Creates the customer if missing; true if created.
#[napi]
pub fn ensure_customer(h: &External<Engine>, id: String, plan: Option<String>) -> Result<bool> {
    h.core.ensure_customer(&id, plan.as_deref()).js()
}

/// A customer's record as JSON, or null.
#[napi]
pub fn customer(h: &External<Engine>, id: String) -> Option<String> {
    h.core.customer_record(&id).map(|v| v.to_string())
}

/// Every customer's record by id, as JSON.
#[napi]
pub fn customers(h: &External<Engine>) -> String {
    serde_json::Value::Object(h.core.customers()).to_string()
}

/// Removes a customer; true if it existed.
#[napi]
pub fn remove_customer(h: &External<Engine>, id: String) -> Result<bool> {
    h.core.remove_customer(&id).js()
}

/// Moves a customer to another plan.
#[napi]
pub fn set_customer_plan(
    h: &External<Engine>,
    id: String,
    plan: String,
    reset_meters: bool,
) -> Result<bool> {
    h.core.set_customer_plan(&id, &plan, reset_meters).js()
}

/// Meters `value` if allowed (`eventData`: JSON text or null).
#[napi]
pub fn allow(
    h: &External<Engine>,
    customer: String,
    entitlement: String,
    value: f64,
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
) -> Result<bool> {
    let value = decimal("value", value)?;
    let opts = options(events, overhead, event_data)?;
    h.core
        .allow_with(&customer, &entitlement, value, &opts)
        .js()
}

/// Whether `allow` would pass; changes nothing.
#[napi]
pub fn check(
    h: &External<Engine>,
    customer: String,
    entitlement: String,
    value: f64,
) -> Result<bool> {
    h.core
        .check(&customer, &entitlement, decimal("value", value)?)
        .js()
}

/// `check` with `{allowed, reason, remaining, resets}` as JSON.
#[napi]
pub fn check_detail(
    h: &External<Engine>,
    customer: String,
    entitlement: String,
    value: f64,
    overhead: Option<f64>,
) -> Result<String> {
    let d = h
        .core
        .check_detail(
            &customer,
            &entitlement,
            decimal("value", value)?,
            opt_decimal("overhead", overhead)?,
        )
        .js()?;
    Ok(serde_json::json!({
        "allowed": d.allowed,
        "reason": d.reason.as_str(),
        "remaining": d.remaining.map(limitr_core::number::to_value),
        "resets": d.resets,
    })
    .to_string())
}

/// Meters the limit's increment.
#[napi]
pub fn increment(
    h: &External<Engine>,
    customer: String,
    entitlement: String,
    events: bool,
) -> Result<bool> {
    let opts = options(events, None, None)?;
    h.core.increment(&customer, &entitlement, &opts).js()
}

/// Meters minus the limit's increment.
#[napi]
pub fn decrement(
    h: &External<Engine>,
    customer: String,
    entitlement: String,
    events: bool,
) -> Result<bool> {
    let opts = options(events, None, None)?;
    h.core.decrement(&customer, &entitlement, &opts).js()
}

/// Sets the meter to `value`.
#[napi]
pub fn set(
    h: &External<Engine>,
    customer: String,
    entitlement: String,
    value: f64,
    events: bool,
) -> Result<bool> {
    let opts = options(events, None, None)?;
    h.core
        .set(&customer, &entitlement, decimal("value", value)?, &opts)
        .js()
}

/// Usage this period, or null.
#[napi]
pub fn value(
    h: &External<Engine>,
    customer: String,
    entitlement: String,
    percent: bool,
    grants: bool,
) -> Result<Option<f64>> {
    Ok(num(h
        .core
        .value(&customer, &entitlement, percent, grants)
        .js()?))
}

/// What is left this period, or null.
#[napi]
pub fn remaining(
    h: &External<Engine>,
    customer: String,
    entitlement: String,
    percent: bool,
    grants: bool,
) -> Result<Option<f64>> {
    Ok(num(h
        .core
        .remaining(&customer, &entitlement, percent, grants)
        .js()?))
}

/// The limit of a customer's (or a plan's) entitlement, or null.
#[napi]
pub fn limit(
    h: &External<Engine>,
    id: String,
    entitlement: String,
    grants: bool,
) -> Result<Option<f64>> {
    Ok(num(h.core.limit(&id, &entitlement, grants).js()?))
}

/// When the entitlement next resets (epoch ms), or null.
#[napi]
pub fn resets(h: &External<Engine>, customer: String, entitlement: String) -> Result<Option<f64>> {
    Ok(ms(h.core.resets(&customer, &entitlement).js()?))
}

/// Grants a plan top-up.
#[napi]
pub fn apply_customer_topup(h: &External<Engine>, customer: String, topup: String) -> Result<bool> {
    h.core.apply_customer_topup(&customer, &topup).js()
}

/// A customer's grant balance in `credit`, or null.
#[napi]
pub fn remaining_credit(
    h: &External<Engine>,
    customer: String,
    credit: String,
) -> Result<Option<f64>> {
    Ok(num(h.core.remaining_credit(&customer, &credit).js()?))
}

/// Converts `value` units of `from` into `to`, or null without an exchange path.
#[napi]
pub fn credit_exchange(
    h: &External<Engine>,
    from: String,
    to: String,
    value: f64,
) -> Result<Option<f64>> {
    Ok(num(h.core.credit_exchange(
        &from,
        &to,
        decimal("value", value)?,
    )))
}

/// The whole document (rules and customers) as JSON.
#[napi]
pub fn record(h: &External<Engine>) -> String {
    h.core.record().to_string()
}

/// The whole document as `json`, `yaml` or `toml` text.
#[napi]
pub fn stringify(h: &External<Engine>, format: String) -> Result<String> {
    h.core.stringify(Format::parse(&format).js()?).js()
}

/// Warnings about the document, as a JSON array of `{path, code, message, severity}`.
#[napi]
pub fn lint(h: &External<Engine>) -> String {
    serde_json::to_string(h.core.lint()).unwrap_or_else(|_| "[]".into())
}

/// Starts or stops queueing events for `takeEvents`.
#[napi]
pub fn collect_events(h: &External<Engine>, on: bool) {
    h.collect_events(on);
}

/// The queued events, flat: `[name, payloadJson, name, payloadJson, …]`.
#[napi]
pub fn take_events(h: &External<Engine>) -> Vec<String> {
    h.take_events()
}
