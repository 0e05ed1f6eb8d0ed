//! The backend contract of `npm/src/native.ts`, exported as free functions over an opaque handle
//! (the `Engine` class): the generated glue module *is* the `NativeBackend` the TypeScript face
//! drives. Every function converts its arguments, calls the core once, converts the answer.

use crate::clock::HostClock;
use crate::convert::{self, call_options, decimal, number_or_null, time_or_null};
use crate::error::js;
use crate::events::{COLLECTOR, EventBuffer};
use limitr_core::number::to_value;
use limitr_core::{Error, Limitr};
use serde_json::{Map, Value};
use std::sync::Arc;
use wasm_bindgen::prelude::*;

type JsResult<T> = Result<T, JsValue>;

/// A loaded policy with its customers, clock and event buffer (the backend's `Handle`).
#[wasm_bindgen(js_name = Engine)]
pub struct WasmLimitr {
    pub(crate) inner: Limitr,
    clock: Arc<HostClock>,
    events: EventBuffer,
}

/// Loads a document (`json`, `yaml` or `toml` text); the clock is `Date.now()` until `setNow`.
#[wasm_bindgen]
pub fn load(text: &str, format: &str, options: Option<String>) -> JsResult<WasmLimitr> {
    let clock = Arc::new(HostClock::default());
    let options = load_options(options.as_deref())?;
    let inner =
        js(Limitr::load_with(text, convert::format(format)?, options))?.with_clock(clock.clone());
    Ok(WasmLimitr {
        inner,
        clock,
        events: EventBuffer::default(),
    })
}

/// Releases an engine (the face calls it when its `Limitr` is garbage-collected).
#[wasm_bindgen]
pub fn free(h: WasmLimitr) {
    drop(h);
}

/// Every error code a call can fail with.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Vec<String> {
    Error::CODES.iter().map(|c| (*c).to_string()).collect()
}

/// Pins the clock to `ms` (epoch milliseconds), or back to `Date.now()` with `null`.
#[wasm_bindgen(js_name = setNow)]
pub fn set_now(h: &WasmLimitr, ms: Option<f64>) -> JsResult<()> {
    h.clock
        .set(ms.map(|x| convert::timestamp("now", x)).transpose()?);
    Ok(())
}

/// Starts (`true`) or stops collecting events: every event, or those named in `events` (an
/// unknown name is `INVALID_ARGUMENT` naming `events[i]`); no other event is built at all.
#[wasm_bindgen(js_name = collectEvents)]
pub fn collect_events(h: &WasmLimitr, on: bool, events: Option<Vec<String>>) -> JsResult<()> {
    if on {
        let handler = Arc::new(h.events.handler());
        js(h.inner
            .add_shared_handler(COLLECTOR, events.as_deref(), handler))
    } else {
        h.inner.remove_handler(COLLECTOR);
        h.events.take();
        Ok(())
    }
}

/// The address in linear memory of the engine's count of queued events (a `u32`).
#[wasm_bindgen(js_name = eventCounter)]
pub fn event_counter(h: &WasmLimitr) -> usize {
    h.events.counter_address()
}

/// The events since the last call, flat: `[name, payloadJson, name, payloadJson, …]`.
#[wasm_bindgen(js_name = takeEvents)]
pub fn take_events(h: &WasmLimitr) -> Vec<String> {
    h.events.take()
}

// ---- customers -----------------------------------------------------------------------------

/// Creates (or updates) a customer; returns its record as JSON. `profile`: JSON text
/// `{type?, label?, refs?, alt_ids?, metadata?}` or null.
#[wasm_bindgen(js_name = createCustomer)]
pub fn create_customer(
    h: &WasmLimitr,
    id: &str,
    plan: Option<String>,
    profile: Option<String>,
) -> JsResult<String> {
    let new = convert::new_customer(plan, profile.as_deref())?;
    Ok(js(h.inner.create_customer_with(id, &new))?.to_string())
}

/// Sets a customer's override of an entitlement's limit (`fields`: JSON object of limit fields),
/// ending at `expiresOn` (epoch ms) if given; false for an unknown customer.
#[wasm_bindgen(js_name = createCustomerOverride)]
pub fn create_customer_override(
    h: &WasmLimitr,
    id: &str,
    entitlement: &str,
    fields: &str,
    expires_on: Option<f64>,
) -> JsResult<bool> {
    let fields = convert::override_fields(fields)?;
    let expires_on = expires_on
        .map(|x| convert::timestamp("expires_on", x))
        .transpose()?;
    js(h.inner
        .create_customer_override(id, entitlement, &fields, expires_on))
}

/// Removes a customer's override; true if there was one.
#[wasm_bindgen(js_name = removeCustomerOverride)]
pub fn remove_customer_override(h: &WasmLimitr, id: &str, entitlement: &str) -> JsResult<bool> {
    js(h.inner.remove_customer_override(id, entitlement))
}

/// Adds an alternative id for a customer.
#[wasm_bindgen(js_name = addAltId)]
pub fn add_alt_id(h: &WasmLimitr, id: &str, alt: &str) -> JsResult<bool> {
    js(h.inner.add_alt_id(id, alt))
}

/// Charges the plan's subscription entitlement when due; true when it charged.
#[wasm_bindgen(js_name = ensurePlanSubscription)]
pub fn ensure_plan_subscription(h: &WasmLimitr, id: &str) -> JsResult<bool> {
    js(h.inner.ensure_plan_subscription(id))
}

/// Reconciles a customer's included top-ups with its plan; true when its grants changed.
#[wasm_bindgen(js_name = ensureIncludedTopups)]
pub fn ensure_included_topups(h: &WasmLimitr, id: &str, events: bool) -> JsResult<bool> {
    js(h.inner.ensure_included_topups(id, events))
}

/// Whether `increment` would pass; changes nothing.
#[wasm_bindgen(js_name = checkIncrement)]
pub fn check_increment(h: &WasmLimitr, customer: &str, entitlement: &str) -> JsResult<bool> {
    js(h.inner.check_increment(customer, entitlement))
}

/// The limit's increment (`null` without a limit); `id` may be a plan name.
#[wasm_bindgen]
pub fn cost(h: &WasmLimitr, id: &str, entitlement: &str) -> JsResult<JsValue> {
    Ok(convert::number_or_null(js(h.inner.cost(id, entitlement))?))
}

/// Creates the customer if missing; true if created.
#[wasm_bindgen(js_name = ensureCustomer)]
pub fn ensure_customer(h: &WasmLimitr, id: &str, plan: Option<String>) -> JsResult<bool> {
    js(h.inner.ensure_customer(id, plan.as_deref()))
}

/// A customer's record as JSON, or `null`.
#[wasm_bindgen]
pub fn customer(h: &WasmLimitr, id: &str) -> JsValue {
    h.inner
        .customer_record(id)
        .map_or(JsValue::NULL, |r| JsValue::from_str(&r.to_string()))
}

/// One customer's whole record as JSON (to move it to another engine), or `null`.
#[wasm_bindgen(js_name = exportCustomer)]
pub fn export_customer(h: &WasmLimitr, id: &str) -> JsResult<JsValue> {
    Ok(js(h.inner.export_customer(id))?
        .map_or(JsValue::NULL, |r| JsValue::from_str(&r.to_string())))
}

/// Puts an exported customer record (JSON) into the engine; true if it replaced one.
#[wasm_bindgen(js_name = importCustomer)]
pub fn import_customer(h: &WasmLimitr, record: &str) -> JsResult<bool> {
    let record: Value = serde_json::from_str(record).map_err(|e| {
        crate::error::js_error(&Error::InvalidArgument {
            name: "record",
            message: format!("not valid JSON: {e}"),
        })
    })?;
    js(h.inner.import_customer(&record))
}

/// Every customer's record by id, as JSON.
#[wasm_bindgen]
pub fn customers(h: &WasmLimitr) -> String {
    Value::Object(h.inner.customers()).to_string()
}

/// Removes a customer; true if it existed.
#[wasm_bindgen(js_name = removeCustomer)]
pub fn remove_customer(h: &WasmLimitr, id: &str) -> JsResult<bool> {
    js(h.inner.remove_customer(id))
}

/// Moves a customer to another plan (meters kept unless `resetMeters`).
#[wasm_bindgen(js_name = setCustomerPlan)]
pub fn set_customer_plan(
    h: &WasmLimitr,
    id: &str,
    plan: &str,
    reset_meters: bool,
) -> JsResult<bool> {
    js(h.inner.set_customer_plan(id, plan, reset_meters))
}

// ---- metering ------------------------------------------------------------------------------

/// Meters `value` if the policy allows it: events on/off, overhead (runes), event data (JSON),
/// call-scoped caps (JSON `{credit: ceiling}`).
#[wasm_bindgen]
#[allow(clippy::too_many_arguments, reason = "one primitive per call option")]
pub fn allow(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    value: f64,
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
    caps: Option<String>,
    idempotency_key: Option<String>,
) -> JsResult<bool> {
    let value = decimal("value", value)?;
    if events
        && overhead.is_none()
        && event_data.is_none()
        && caps.is_none()
        && idempotency_key.is_none()
    {
        return js(h.inner.allow(customer, entitlement, value));
    }
    let options = call_options(events, overhead, event_data, caps, idempotency_key)?;
    js(h.inner.allow_with(customer, entitlement, value, &options))
}

/// An amount written as text (`"500MB"`, `"1.5min"`, `"12"`) in the unit of the entitlement's
/// credit, as the nearest JS number; the face passes it on to the numeric call.
#[wasm_bindgen]
pub fn quantity(h: &WasmLimitr, customer: &str, entitlement: &str, text: &str) -> JsResult<f64> {
    Ok(limitr_core::number::to_f64(js(h.inner.quantity(
        customer,
        entitlement,
        text,
    ))?))
}

/// Whether `allow` would pass, changing nothing.
#[wasm_bindgen]
pub fn check(h: &WasmLimitr, customer: &str, entitlement: &str, value: f64) -> JsResult<bool> {
    js(h.inner
        .check(customer, entitlement, decimal("value", value)?))
}

/// `{allowed, reason, remaining, resets, retry_after}` as JSON.
#[wasm_bindgen(js_name = checkDetail)]
pub fn check_detail(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    value: f64,
    overhead: Option<f64>,
    caps: Option<String>,
) -> JsResult<String> {
    let value = decimal("value", value)?;
    let options = limitr_core::CallOptions {
        overhead: convert::opt_decimal("overhead", overhead)?,
        caps: convert::call_caps(caps.as_deref())?,
        ..limitr_core::CallOptions::default()
    };
    let d = js(h
        .inner
        .check_detail_with(customer, entitlement, value, &options))?;
    let mut o = Map::new();
    o.insert("allowed".into(), Value::Bool(d.allowed));
    o.insert("reason".into(), Value::String(d.reason.as_str().into()));
    o.insert(
        "remaining".into(),
        d.remaining.map_or(Value::Null, to_value),
    );
    o.insert("resets".into(), d.resets.map_or(Value::Null, Value::from));
    o.insert(
        "retry_after".into(),
        d.retry_after.map_or(Value::Null, Value::from),
    );
    Ok(Value::Object(o).to_string())
}

/// Meters the limit's increment.
#[wasm_bindgen]
pub fn increment(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    events: bool,
    idempotency_key: Option<String>,
) -> JsResult<bool> {
    let options = call_options(events, None, None, None, idempotency_key)?;
    js(h.inner.increment(customer, entitlement, &options))
}

/// Meters minus the limit's increment.
#[wasm_bindgen]
pub fn decrement(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    events: bool,
    idempotency_key: Option<String>,
) -> JsResult<bool> {
    let options = call_options(events, None, None, None, idempotency_key)?;
    js(h.inner.decrement(customer, entitlement, &options))
}

/// Sets the meter to `value`.
#[wasm_bindgen]
pub fn set(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    value: f64,
    events: bool,
    idempotency_key: Option<String>,
) -> JsResult<bool> {
    let options = call_options(events, None, None, None, idempotency_key)?;
    let value = decimal("value", value)?;
    js(h.inner.set(customer, entitlement, value, &options))
}

// ---- reads ---------------------------------------------------------------------------------

/// Usage this period (or its share of the limit with `percent`), or `null`.
#[wasm_bindgen]
pub fn value(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    percent: bool,
    grants: bool,
) -> JsResult<JsValue> {
    let v = js(h.inner.value(customer, entitlement, percent, grants))?;
    Ok(number_or_null(v))
}

/// What is left this period, or `null`.
#[wasm_bindgen]
pub fn remaining(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    percent: bool,
    grants: bool,
) -> JsResult<JsValue> {
    let v = js(h.inner.remaining(customer, entitlement, percent, grants))?;
    Ok(number_or_null(v))
}

/// The limit of a customer's (or a plan's) entitlement, or `null`.
#[wasm_bindgen]
pub fn limit(h: &WasmLimitr, id: &str, entitlement: &str, grants: bool) -> JsResult<JsValue> {
    Ok(number_or_null(js(h.inner.limit(id, entitlement, grants))?))
}

/// When the entitlement next resets (epoch ms), or `null`.
#[wasm_bindgen]
pub fn resets(h: &WasmLimitr, customer: &str, entitlement: &str) -> JsResult<JsValue> {
    Ok(time_or_null(js(h.inner.resets(customer, entitlement))?))
}

// ---- grants and exchange -------------------------------------------------------------------

/// Grants a plan top-up; false for an unknown customer.
#[wasm_bindgen(js_name = applyCustomerTopup)]
pub fn apply_customer_topup(
    h: &WasmLimitr,
    customer: &str,
    topup: &str,
    idempotency_key: Option<String>,
) -> JsResult<bool> {
    js(h.inner
        .apply_customer_topup_with(customer, topup, idempotency_key.as_deref()))
}

/// A customer's grant balance in `credit`, or `null`.
#[wasm_bindgen(js_name = remainingCredit)]
pub fn remaining_credit(h: &WasmLimitr, customer: &str, credit: &str) -> JsResult<JsValue> {
    Ok(number_or_null(js(h
        .inner
        .remaining_credit(customer, credit))?))
}

/// `value` units of `from` in `to`, or `null` without an exchange path.
#[wasm_bindgen(js_name = creditExchange)]
pub fn credit_exchange(h: &WasmLimitr, from: &str, to: &str, value: f64) -> JsResult<JsValue> {
    let value = decimal("value", value)?;
    Ok(number_or_null(h.inner.credit_exchange(from, to, value)))
}

// ---- spend caps and margins ---------------------------------------------------------------

/// Adds a spend cap of `value` to a customer (`options`: JSON of snake_case cap options, or null);
/// its record as JSON, or `null` (unknown customer, taken cap id).
#[wasm_bindgen(js_name = addCustomerCap)]
pub fn add_customer_cap(
    h: &WasmLimitr,
    id: &str,
    value: f64,
    options: Option<String>,
) -> JsResult<JsValue> {
    let value = decimal("value", value)?;
    let options = convert::cap_options(options.as_deref())?;
    Ok(json_or_null(js(h
        .inner
        .add_customer_cap(id, value, &options))?))
}

/// A cap's record as JSON, or `null`.
#[wasm_bindgen(js_name = customerCap)]
pub fn customer_cap(h: &WasmLimitr, id: &str, cap_id: &str) -> JsValue {
    json_or_null(h.inner.customer_cap(id, cap_id))
}

/// Zeroes a cap's consumption; true if the cap exists.
#[wasm_bindgen(js_name = resetCustomerCap)]
pub fn reset_customer_cap(h: &WasmLimitr, id: &str, cap_id: &str) -> JsResult<bool> {
    js(h.inner.reset_customer_cap(id, cap_id))
}

/// Removes a cap; true if it existed.
#[wasm_bindgen(js_name = removeCustomerCap)]
pub fn remove_customer_cap(h: &WasmLimitr, id: &str, cap_id: &str, events: bool) -> JsResult<bool> {
    js(h.inner.remove_customer_cap_with(id, cap_id, events))
}

/// A customer's margin this period as JSON, or `null`.
#[wasm_bindgen(js_name = customerMargin)]
pub fn customer_margin(h: &WasmLimitr, customer: &str) -> JsResult<JsValue> {
    Ok(json_or_null(
        js(h.inner.customer_margin(customer))?.map(|b| b.record()),
    ))
}

/// A plan's margin for hypothetical usage (JSON `{entitlement: value | {value, overhead?,
/// limit?}}`), as JSON.
#[wasm_bindgen(js_name = planMargin)]
pub fn plan_margin(h: &WasmLimitr, plan: &str, usage: &str, scaled: bool) -> JsResult<String> {
    let usage = convert::usage(usage)?;
    Ok(js(h.inner.plan_margin(plan, &usage, scaled))?
        .record()
        .to_string())
}

// ---- reservations, estimates, trends -------------------------------------------------------

/// Holds room for a call of unknown size (`options`: JSON `{value?, ttl?, quantile?, basis?,
/// segment?, overhead?, context?}` or null); the hold id, or `null`.
#[wasm_bindgen]
pub fn reserve(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    options: Option<String>,
) -> JsResult<Option<String>> {
    let options = convert::reserve_options(options.as_deref())?;
    js(h.inner.reserve(customer, entitlement, &options))
}

/// Meters the real size of a reserved call and removes its hold (`last = false` keeps the rest).
#[wasm_bindgen]
#[allow(clippy::too_many_arguments, reason = "one primitive per call option")]
pub fn settle(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    hold: &str,
    value: f64,
    last: bool,
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
    caps: Option<String>,
    idempotency_key: Option<String>,
) -> JsResult<bool> {
    let value = decimal("value", value)?;
    let options = call_options(events, overhead, event_data, caps, idempotency_key)?;
    js(h.inner
        .settle(customer, entitlement, hold, value, last, &options))
}

/// Drops a hold without metering; true if it was there.
#[wasm_bindgen]
pub fn release(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    hold: &str,
    idempotency_key: Option<String>,
) -> JsResult<bool> {
    js(h.inner
        .release_with(customer, entitlement, hold, idempotency_key.as_deref()))
}

/// Units held by unexpired holds, or `null`.
#[wasm_bindgen]
pub fn held(h: &WasmLimitr, customer: &str, entitlement: &str) -> JsResult<JsValue> {
    Ok(number_or_null(js(h.inner.held(customer, entitlement))?))
}

/// Learns the size (and provider cost) of a finished call (`eventData`: JSON or null).
#[wasm_bindgen]
#[allow(clippy::too_many_arguments, reason = "the observation's fields")]
pub fn observe(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    value: f64,
    overhead: Option<f64>,
    basis: Option<f64>,
    segment: Option<String>,
    event_data: Option<String>,
) -> JsResult<bool> {
    let value = decimal("value", value)?;
    let overhead = convert::opt_decimal("overhead", overhead)?;
    let data = event_data
        .map(|t| convert::json("context", &t))
        .transpose()?;
    js(h.inner.observe(
        customer,
        entitlement,
        value,
        overhead,
        basis,
        segment.as_deref(),
        data.as_ref(),
    ))
}

/// The predicted size and cost of a call as JSON, or `null` without samples.
#[wasm_bindgen]
pub fn estimate(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    quantile: f64,
    basis: Option<f64>,
    segment: Option<String>,
) -> JsResult<JsValue> {
    let a = js(h
        .inner
        .estimate(customer, entitlement, quantile, basis, segment.as_deref()))?;
    Ok(json_or_null(a.map(|a| a.record())))
}

/// Units per millisecond (`smoothed`: the exponentially weighted rate).
#[wasm_bindgen]
pub fn rate(h: &WasmLimitr, customer: &str, entitlement: &str, smoothed: bool) -> JsResult<f64> {
    Ok(limitr_core::number::to_f64(js(h.inner.rate(
        customer,
        entitlement,
        smoothed,
    ))?))
}

/// Change of the rate over the last three changes.
#[wasm_bindgen]
pub fn acceleration(h: &WasmLimitr, customer: &str, entitlement: &str) -> JsResult<f64> {
    Ok(limitr_core::number::to_f64(js(h
        .inner
        .acceleration(customer, entitlement))?))
}

/// When, at the current rate, the limit runs out (epoch ms), or `null`.
#[wasm_bindgen(js_name = projectedExhaustion)]
pub fn projected_exhaustion(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    smoothed: bool,
    grants: bool,
) -> JsResult<JsValue> {
    Ok(time_or_null(js(h.inner.projected_exhaustion(
        customer,
        entitlement,
        smoothed,
        grants,
    ))?))
}

/// What may be used right now (`remaining`, or less under a rate governor), or `null`.
#[wasm_bindgen]
pub fn allowance(
    h: &WasmLimitr,
    customer: &str,
    entitlement: &str,
    grants: bool,
) -> JsResult<JsValue> {
    Ok(number_or_null(js(h.inner.allowance(
        customer,
        entitlement,
        grants,
    ))?))
}

/// A JSON value as text, `None` as `null`.
fn json_or_null(v: Option<Value>) -> JsValue {
    v.map_or(JsValue::NULL, |v| JsValue::from_str(&v.to_string()))
}

// ---- the document --------------------------------------------------------------------------

/// The whole document (rules and customers) as JSON.
#[wasm_bindgen]
pub fn record(h: &WasmLimitr) -> String {
    h.inner.record().to_string()
}

/// The whole document as `json`, `yaml` or `toml` text.
#[wasm_bindgen]
pub fn stringify(h: &WasmLimitr, format: &str) -> JsResult<String> {
    js(h.inner.stringify(convert::format(format)?))
}

/// Warnings about the document (unknown fields, …) as a JSON array.
#[wasm_bindgen]
pub fn lint(h: &WasmLimitr) -> String {
    serde_json::to_string(h.inner.lint()).unwrap_or_else(|_| "[]".into())
}

/// The load options, read by the core. A journal needs a filesystem and a Redis store sockets,
/// which this build has not: their options are refused by name.
fn load_options(text: Option<&str>) -> JsResult<limitr_core::LoadOptions> {
    let options = js(limitr_core::host::HostOptions::from_json(
        text.unwrap_or(""),
    ))?;
    if options.wants_journal() {
        return Err(crate::error::js_error(&Error::InvalidArgument {
            name: "journal",
            message: "durable state needs a filesystem, which the WASM build has not: keep state \
                      with `doc.stringify('json')` in KV or a Durable Object"
                .into(),
        }));
    }
    if options.store.is_some() {
        return Err(crate::error::js_error(&Error::InvalidArgument {
            name: "store",
            message: "a Redis store needs sockets, which the WASM build has not: it keeps \
                      customers in memory"
                .into(),
        }));
    }
    Ok(options.load_options())
}
