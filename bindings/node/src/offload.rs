//! Calls run on a libuv worker thread, for engines on a network store (Redis), so the round trip
//! never blocks the JS event loop: the metering, hold and read calls (`allowAsync`, `checkAsync`,
//! `incrementAsync`, …). Each runs the same function as its sync export. The promise resolves to
//! text the face reads: `=<JSON answer>`, or `!<code>\n<message JSON>` for an error (a task's
//! rejection cannot carry the core's code; the face turns it into the same `LimitrError` a sync
//! call throws).

use crate::error::Result;
use crate::registry;
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;
use serde_json::Value;

type Call = Box<dyn FnOnce() -> Result<Value> + Send>;

/// One call, run off the event loop.
pub struct Offload(Option<Call>);

impl Task for Offload {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        let answer = match self.0.take() {
            Some(call) => call(),
            None => Ok(Value::Null),
        };
        Ok(match answer {
            Ok(v) => format!("={v}"),
            Err(e) => format!("!{}\n{}", e.status.0, e.reason),
        })
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

fn offload<T: Into<Value>>(
    call: impl FnOnce() -> Result<T> + Send + 'static,
) -> AsyncTask<Offload> {
    AsyncTask::new(Offload(Some(Box::new(move || call().map(Into::into)))))
}

fn number(v: Option<f64>) -> Value {
    v.and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// `allow` on a worker thread (arguments as for `allow`).
#[napi(ts_return_type = "Promise<string>")]
#[allow(clippy::too_many_arguments, reason = "one primitive per call option")]
pub fn allow_async(
    h: u32,
    customer: String,
    entitlement: String,
    value: f64,
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
    caps: Option<String>,
    idempotency_key: Option<String>,
) -> Result<AsyncTask<Offload>> {
    let value = crate::convert::decimal("value", value)?;
    let options = crate::options(events, overhead, event_data, caps, idempotency_key)?;
    Ok(offload(move || {
        use crate::error::CoreResult;
        registry::with(h, |e| {
            e.core
                .allow_with(&customer, &entitlement, value, &options)
                .js()
        })
    }))
}

/// `check` on a worker thread.
#[napi(ts_return_type = "Promise<string>")]
pub fn check_async(
    h: u32,
    customer: String,
    entitlement: String,
    value: f64,
) -> Result<AsyncTask<Offload>> {
    let value = crate::convert::decimal("value", value)?;
    Ok(offload(move || {
        use crate::error::CoreResult;
        registry::with(h, |e| e.core.check(&customer, &entitlement, value).js())
    }))
}

/// `increment` on a worker thread.
#[napi(ts_return_type = "Promise<string>")]
pub fn increment_async(
    h: u32,
    customer: String,
    entitlement: String,
    events: bool,
    idempotency_key: Option<String>,
) -> AsyncTask<Offload> {
    offload(move || crate::increment(h, customer, entitlement, events, idempotency_key))
}

/// `decrement` on a worker thread.
#[napi(ts_return_type = "Promise<string>")]
pub fn decrement_async(
    h: u32,
    customer: String,
    entitlement: String,
    events: bool,
    idempotency_key: Option<String>,
) -> AsyncTask<Offload> {
    offload(move || crate::decrement(h, customer, entitlement, events, idempotency_key))
}

/// `set` on a worker thread.
#[napi(ts_return_type = "Promise<string>")]
pub fn set_async(
    h: u32,
    customer: String,
    entitlement: String,
    value: f64,
    events: bool,
    idempotency_key: Option<String>,
) -> AsyncTask<Offload> {
    offload(move || crate::set(h, customer, entitlement, value, events, idempotency_key))
}

/// A meter read (`value` or `remaining`) of the engine.
type MeterRead = fn(
    &crate::limitr::Limitr,
    &str,
    &str,
    bool,
    bool,
) -> limitr_core::Result<Option<limitr_core::number::Decimal>>;

/// A meter read on a worker thread (null: unknown).
fn meter_read(
    h: u32,
    customer: String,
    entitlement: String,
    percent: bool,
    grants: bool,
    read: MeterRead,
) -> AsyncTask<Offload> {
    offload(move || {
        use crate::error::CoreResult;
        registry::with(h, |e| {
            let v = read(&e.core, &customer, &entitlement, percent, grants).js()?;
            Ok(number(crate::convert::num(v)))
        })
    })
}

/// `value` on a worker thread (null: unknown).
#[napi(ts_return_type = "Promise<string>")]
pub fn value_async(
    h: u32,
    customer: String,
    entitlement: String,
    percent: bool,
    grants: bool,
) -> AsyncTask<Offload> {
    meter_read(
        h,
        customer,
        entitlement,
        percent,
        grants,
        |l, c, e, p, g| l.value(c, e, p, g),
    )
}

/// `remaining` on a worker thread (null: unknown).
#[napi(ts_return_type = "Promise<string>")]
pub fn remaining_async(
    h: u32,
    customer: String,
    entitlement: String,
    percent: bool,
    grants: bool,
) -> AsyncTask<Offload> {
    meter_read(
        h,
        customer,
        entitlement,
        percent,
        grants,
        |l, c, e, p, g| l.remaining(c, e, p, g),
    )
}

/// `reserve` on a worker thread (the hold id, or null).
#[napi(ts_return_type = "Promise<string>")]
pub fn reserve_async(
    h: u32,
    customer: String,
    entitlement: String,
    options: Option<String>,
) -> AsyncTask<Offload> {
    offload(move || crate::holds::reserve(h, customer, entitlement, options))
}

/// `settle` on a worker thread.
#[napi(ts_return_type = "Promise<string>")]
#[allow(clippy::too_many_arguments, reason = "one primitive per call option")]
pub fn settle_async(
    h: u32,
    customer: String,
    entitlement: String,
    hold: String,
    value: f64,
    last: bool,
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
    caps: Option<String>,
    idempotency_key: Option<String>,
) -> AsyncTask<Offload> {
    offload(move || {
        crate::holds::settle(
            h,
            customer,
            entitlement,
            hold,
            value,
            last,
            events,
            overhead,
            event_data,
            caps,
            idempotency_key,
        )
    })
}

/// `release` on a worker thread.
#[napi(ts_return_type = "Promise<string>")]
pub fn release_async(
    h: u32,
    customer: String,
    entitlement: String,
    hold: String,
    idempotency_key: Option<String>,
) -> AsyncTask<Offload> {
    offload(move || crate::holds::release(h, customer, entitlement, hold, idempotency_key))
}

/// Whether the engine's store does network I/O (the face then runs these calls through the
/// tasks above).
#[napi]
pub fn is_network(h: u32) -> Result<bool> {
    registry::with(h, |e| Ok(e.core.store().is_network()))
}
