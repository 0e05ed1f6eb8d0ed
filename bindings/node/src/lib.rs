//! napi-rs binding of `limitr-core`: the native backend of the npm package `@formata/limitr`.
//!
//! Free functions over a `u32` engine handle (see `registry.rs`): napi class methods cost ~200 ns
//! more per call. Only primitives cross: strings, numbers, booleans,
//! null; objects cross as JSON text. It converts types and maps errors (see `error.rs`); every rule lives in the core.
//! The TypeScript face and the contract of each function are in `npm/src/native.ts`.

pub mod caps;
mod convert;
mod error;
mod fast;
pub mod holds;
mod key;
mod limitr;
pub mod offload;
mod registry;

use convert::{decimal, json, ms, num, opt_decimal, timestamp};
use error::{CoreResult, Result};
use key::Key;
use limitr::Engine;
use limitr_core::{CallOptions, Error, Format};
use napi_derive::napi;

/// The options of a metering call; `caps`: JSON `{credit: ceiling}` of call-scoped caps, or null;
/// `idempotency_key`: the call's key (checked by the core), or null.
pub(crate) fn options(
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
    caps: Option<String>,
    idempotency_key: Option<String>,
) -> Result<CallOptions> {
    Ok(CallOptions {
        events,
        overhead: opt_decimal("overhead", overhead)?,
        event_data: event_data.map(|t| json("eventData", &t)).transpose()?,
        caps: convert::call_caps(caps.as_deref())?,
        idempotency_key,
    })
}

/// Adds the raw hot-loop callbacks (`allowPlain`, `checkPlain`, see [`fast`]) to the exports.
#[napi(module_exports)]
pub fn exports(exports: napi::bindgen_prelude::Object) -> napi::Result<()> {
    use napi::JsValue;
    let v = exports.value();
    fast::register(v.env, v.value)
}

/// Loads a document (`json`, `yaml` or `toml` text) and returns the engine handle. `options`: JSON
/// of the load options (`journal`, `sync`, `sync_ms`, `snapshot_every`, `max_document_bytes`,
/// `strict`).
#[napi]
pub fn load(text: String, format: String, options: Option<String>) -> Result<u32> {
    let format = Format::parse(&format).js()?;
    let options =
        limitr_core::host::HostOptions::from_json(options.as_deref().unwrap_or("")).js()?;
    registry::insert(Engine::new(
        limitr_host::load(&options, &text, format).js()?,
    ))
}

/// Releases an engine (the face calls it from a `FinalizationRegistry`); unknown handles are ignored.
#[napi]
pub fn free(h: u32) {
    registry::remove(h);
}

/// Every error code the engine can throw.
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    Error::CODES.to_vec()
}

/// Fixes the engine's clock at `ms` (epoch milliseconds); `null` returns to the system clock.
#[napi]
pub fn set_now(h: u32, ms: Option<f64>) -> Result<()> {
    registry::with(h, |e| {
        e.set_now(ms.map(|x| timestamp("now", x)).transpose()?);
        Ok(())
    })
}

/// Creates (or updates) a customer; returns its record as JSON. `profile`: JSON text
/// `{type?, label?, refs?, alt_ids?, metadata?}` or null.
#[napi]
pub fn create_customer(
    h: u32,
    id: String,
    plan: Option<String>,
    profile: Option<String>,
) -> Result<String> {
    let new = convert::new_customer(plan, profile.as_deref())?;
    registry::with(h, |e| {
        Ok(e.core.create_customer_with(&id, &new).js()?.to_string())
    })
}

/// Sets a customer's override of an entitlement's limit (`fields`: JSON object of limit fields).
#[napi]
pub fn create_customer_override(
    h: u32,
    id: String,
    entitlement: String,
    fields: String,
    expires_on: Option<f64>,
) -> Result<bool> {
    let fields = convert::override_fields(&fields)?;
    let expires_on = expires_on.map(|x| timestamp("expires_on", x)).transpose()?;
    registry::with(h, |e| {
        e.core
            .create_customer_override(&id, &entitlement, &fields, expires_on)
            .js()
    })
}

/// Removes a customer's override; true if there was one.
#[napi]
pub fn remove_customer_override(h: u32, id: String, entitlement: String) -> Result<bool> {
    registry::with(h, |e| {
        e.core.remove_customer_override(&id, &entitlement).js()
    })
}

/// Adds an alternative id for a customer.
#[napi]
pub fn add_alt_id(h: u32, id: String, alt: String) -> Result<bool> {
    registry::with(h, |e| e.core.add_alt_id(&id, &alt).js())
}

/// Charges the plan's subscription entitlement when due; true when it charged.
#[napi]
pub fn ensure_plan_subscription(h: u32, id: String) -> Result<bool> {
    registry::with(h, |e| e.core.ensure_plan_subscription(&id).js())
}

/// Creates the customer if missing; true if created.
#[napi]
pub fn ensure_customer(h: u32, id: String, plan: Option<String>) -> Result<bool> {
    registry::with(h, |e| e.core.ensure_customer(&id, plan.as_deref()).js())
}

/// A customer's record as JSON, or null.
#[napi]
pub fn customer(h: u32, id: String) -> Result<Option<String>> {
    registry::with(h, |e| {
        Ok(e.core.customer_record(&id).map(|v| v.to_string()))
    })
}

/// One customer's whole record as JSON (to move it to another engine), or null.
#[napi]
pub fn export_customer(h: u32, id: String) -> Result<Option<String>> {
    registry::with(h, |e| {
        Ok(e.core.export_customer(&id).js()?.map(|v| v.to_string()))
    })
}

/// Puts an exported customer record (JSON) into the engine; true if it replaced one.
#[napi]
pub fn import_customer(h: u32, record: String) -> Result<bool> {
    let record = convert::json("record", &record)?;
    registry::with(h, |e| e.core.import_customer(&record).js())
}

/// Every customer's record by id, as JSON.
#[napi]
pub fn customers(h: u32) -> Result<String> {
    registry::with(h, |e| {
        Ok(serde_json::Value::Object(e.core.customers()).to_string())
    })
}

/// Removes a customer; true if it existed.
#[napi]
pub fn remove_customer(h: u32, id: String) -> Result<bool> {
    registry::with(h, |e| e.core.remove_customer(&id).js())
}

/// Moves a customer to another plan.
#[napi]
pub fn set_customer_plan(h: u32, id: String, plan: String, reset_meters: bool) -> Result<bool> {
    registry::with(h, |e| {
        e.core.set_customer_plan(&id, &plan, reset_meters).js()
    })
}

/// Meters `value` if allowed, with an optional provider cost (`overhead`), event data (JSON
/// text) and call-scoped caps (JSON `{credit: ceiling}`). Without them the face calls
/// `allowPlain` (see [`fast`]).
#[napi]
#[allow(clippy::too_many_arguments, reason = "one primitive per call option")]
pub fn allow(
    h: u32,
    #[napi(ts_arg_type = "string")] customer: Key,
    #[napi(ts_arg_type = "string")] entitlement: Key,
    value: f64,
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
    caps: Option<String>,
    idempotency_key: Option<String>,
) -> Result<bool> {
    let value = decimal("value", value)?;
    let opts = options(events, overhead, event_data, caps, idempotency_key)?;
    registry::with(h, |e| {
        e.core
            .allow_with(&customer, &entitlement, value, &opts)
            .js()
    })
}

/// An amount written as text (`"500MB"`, `"1.5min"`, `"12"`) in the unit of the entitlement's
/// credit, as the nearest JS number; the face passes it on to the numeric call.
#[napi]
pub fn quantity(h: u32, customer: String, entitlement: String, text: String) -> Result<f64> {
    registry::with(h, |e| {
        Ok(limitr_core::number::to_f64(
            e.core.quantity(&customer, &entitlement, &text).js()?,
        ))
    })
}

/// Whether `allow` would pass; changes nothing.
#[napi]
pub fn check(
    h: u32,
    #[napi(ts_arg_type = "string")] customer: Key,
    #[napi(ts_arg_type = "string")] entitlement: Key,
    value: f64,
) -> Result<bool> {
    registry::with(h, |e| {
        e.core
            .check(&customer, &entitlement, decimal("value", value)?)
            .js()
    })
}

/// `check` with `{allowed, reason, remaining, resets, retry_after}` as JSON; `caps`: JSON
/// `{credit: ceiling}` of call-scoped caps, or null.
#[napi]
pub fn check_detail(
    h: u32,
    customer: String,
    entitlement: String,
    value: f64,
    overhead: Option<f64>,
    caps: Option<String>,
) -> Result<String> {
    let value = decimal("value", value)?;
    let opts = options(false, overhead, None, caps, None)?;
    let d = registry::with(h, |e| {
        e.core
            .check_detail_with(&customer, &entitlement, value, &opts)
            .js()
    })?;
    Ok(serde_json::json!({
        "allowed": d.allowed,
        "reason": d.reason.as_str(),
        "remaining": d.remaining.map(limitr_core::number::to_value),
        "resets": d.resets,
        "retry_after": d.retry_after,
    })
    .to_string())
}

/// Whether `increment` would pass; changes nothing.
#[napi]
pub fn check_increment(h: u32, customer: String, entitlement: String) -> Result<bool> {
    registry::with(h, |e| e.core.check_increment(&customer, &entitlement).js())
}

/// The limit's increment (null without a limit); `id` may be a plan name.
#[napi]
pub fn cost(h: u32, id: String, entitlement: String) -> Result<Option<f64>> {
    registry::with(h, |e| {
        Ok(convert::num(e.core.cost(&id, &entitlement).js()?))
    })
}

/// Reconciles a customer's included top-ups with its plan; true when its grants changed.
#[napi]
pub fn ensure_included_topups(h: u32, id: String, events: bool) -> Result<bool> {
    registry::with(h, |e| e.core.ensure_included_topups(&id, events).js())
}

/// Meters the limit's increment.
#[napi]
pub fn increment(
    h: u32,
    customer: String,
    entitlement: String,
    events: bool,
    idempotency_key: Option<String>,
) -> Result<bool> {
    registry::with(h, |e| {
        let opts = options(events, None, None, None, idempotency_key)?;
        e.core.increment(&customer, &entitlement, &opts).js()
    })
}

/// Meters minus the limit's increment.
#[napi]
pub fn decrement(
    h: u32,
    customer: String,
    entitlement: String,
    events: bool,
    idempotency_key: Option<String>,
) -> Result<bool> {
    registry::with(h, |e| {
        let opts = options(events, None, None, None, idempotency_key)?;
        e.core.decrement(&customer, &entitlement, &opts).js()
    })
}

/// Sets the meter to `value`.
#[napi]
pub fn set(
    h: u32,
    customer: String,
    entitlement: String,
    value: f64,
    events: bool,
    idempotency_key: Option<String>,
) -> Result<bool> {
    registry::with(h, |e| {
        let opts = options(events, None, None, None, idempotency_key)?;
        e.core
            .set(&customer, &entitlement, decimal("value", value)?, &opts)
            .js()
    })
}

/// Usage this period, or null.
#[napi]
pub fn value(
    h: u32,
    #[napi(ts_arg_type = "string")] customer: Key,
    #[napi(ts_arg_type = "string")] entitlement: Key,
    percent: bool,
    grants: bool,
) -> Result<Option<f64>> {
    registry::with(h, |e| {
        Ok(num(e
            .core
            .value(&customer, &entitlement, percent, grants)
            .js()?))
    })
}

/// What is left this period, or null.
#[napi]
pub fn remaining(
    h: u32,
    #[napi(ts_arg_type = "string")] customer: Key,
    #[napi(ts_arg_type = "string")] entitlement: Key,
    percent: bool,
    grants: bool,
) -> Result<Option<f64>> {
    registry::with(h, |e| {
        Ok(num(e
            .core
            .remaining(&customer, &entitlement, percent, grants)
            .js()?))
    })
}

/// The limit of a customer's (or a plan's) entitlement, or null.
#[napi]
pub fn limit(h: u32, id: String, entitlement: String, grants: bool) -> Result<Option<f64>> {
    registry::with(h, |e| {
        Ok(num(e.core.limit(&id, &entitlement, grants).js()?))
    })
}

/// When the entitlement next resets (epoch ms), or null.
#[napi]
pub fn resets(h: u32, customer: String, entitlement: String) -> Result<Option<f64>> {
    registry::with(h, |e| {
        Ok(ms(e.core.resets(&customer, &entitlement).js()?))
    })
}

/// Grants a plan top-up.
#[napi]
pub fn apply_customer_topup(
    h: u32,
    customer: String,
    topup: String,
    idempotency_key: Option<String>,
) -> Result<bool> {
    registry::with(h, |e| {
        e.core
            .apply_customer_topup_with(&customer, &topup, idempotency_key.as_deref())
            .js()
    })
}

/// A customer's grant balance in `credit`, or null.
#[napi]
pub fn remaining_credit(h: u32, customer: String, credit: String) -> Result<Option<f64>> {
    registry::with(h, |e| {
        Ok(num(e.core.remaining_credit(&customer, &credit).js()?))
    })
}

/// Converts `value` units of `from` into `to`, or null without an exchange path.
#[napi]
pub fn credit_exchange(h: u32, from: String, to: String, value: f64) -> Result<Option<f64>> {
    registry::with(h, |e| {
        Ok(num(e.core.credit_exchange(
            &from,
            &to,
            decimal("value", value)?,
        )))
    })
}

/// The whole document (rules and customers) as JSON.
#[napi]
pub fn record(h: u32) -> Result<String> {
    registry::with(h, |e| Ok(e.core.record().to_string()))
}

/// The whole document as `json`, `yaml` or `toml` text.
#[napi]
pub fn stringify(h: u32, format: String) -> Result<String> {
    registry::with(h, |e| e.core.stringify(Format::parse(&format).js()?).js())
}

/// Warnings about the document, as a JSON array of `{path, code, message, severity}`.
#[napi]
pub fn lint(h: u32) -> Result<String> {
    registry::with(h, |e| {
        Ok(serde_json::to_string(e.core.lint()).unwrap_or_else(|_| "[]".into()))
    })
}

/// Starts or stops queueing events for `takeEvents`: every event, or only those named in
/// `events` (an unknown name is `INVALID_ARGUMENT` naming `events[i]`).
#[napi]
pub fn collect_events(h: u32, on: bool, events: Option<Vec<String>>) -> Result<()> {
    registry::with(h, |e| e.collect_events(on, events.as_deref()).js())
}

/// The count of queued events, over the engine's own counter (an external `ArrayBuffer` of 4
/// bytes, read as a `Uint32Array`): the face reads it after a call and calls `takeEvents` only
/// when it is not zero.
#[napi(ts_return_type = "ArrayBuffer")]
#[allow(
    unsafe_code,
    reason = "an external ArrayBuffer over the engine's counter"
)]
pub fn event_counter(env: &napi::Env, h: u32) -> Result<napi::bindgen_prelude::ArrayBuffer<'_>> {
    let counter = registry::with(h, |e| Ok(e.queued.clone()))?;
    let ptr = std::sync::Arc::as_ptr(&counter).cast_mut().cast::<u8>();
    // SAFETY: `ptr` points at the 4 bytes of an `AtomicU32` kept alive by the `Arc` moved into the
    // finalizer, which drops it when JS collects the buffer.
    unsafe {
        napi::bindgen_prelude::ArrayBuffer::from_external(env, ptr, 4, counter, |_, counter| {
            drop(counter);
        })
    }
    .map_err(|e| error::invalid("eventCounter", &e.to_string()))
}

/// The queued events, flat: `[name, payloadJson, name, payloadJson, …]`.
#[napi]
pub fn take_events(h: u32) -> Result<Vec<String>> {
    registry::with(h, |e| Ok(e.take_events()))
}
