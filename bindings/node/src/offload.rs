//! `allowAsync` / `checkAsync`: the metering calls run on a libuv worker thread, for engines on a
//! network store (Redis), so the round trip never blocks the JS event loop. The promise resolves
//! to text the face reads: `t` / `f`, or `!<code>\n<message JSON>` for an error (a task's
//! rejection cannot carry the core's code; the face turns this into the same `LimitrError` a sync
//! call throws).

use crate::error::{JsError, Result};
use crate::registry;
use limitr_core::CallOptions;
use limitr_core::number::Decimal;
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;

/// What a task answers: a verdict or the error it met.
type Answer = std::result::Result<bool, JsError>;

fn text(answer: &Answer) -> String {
    match answer {
        Ok(true) => "t".into(),
        Ok(false) => "f".into(),
        Err(e) => format!("!{}\n{}", e.status.0, e.reason),
    }
}

/// One metering call, run off the event loop.
pub struct Metering {
    h: u32,
    customer: String,
    entitlement: String,
    value: Decimal,
    options: Option<CallOptions>,
}

impl Task for Metering {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        let answer: Answer = registry::with(self.h, |e| {
            use crate::error::CoreResult;
            match &self.options {
                Some(o) => e
                    .core
                    .allow_with(&self.customer, &self.entitlement, self.value, o)
                    .js(),
                None => e
                    .core
                    .check(&self.customer, &self.entitlement, self.value)
                    .js(),
            }
        });
        Ok(text(&answer))
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// `allow` on a worker thread (arguments as for `allow`); resolves to `t`, `f` or `!code\n…`.
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
) -> Result<AsyncTask<Metering>> {
    let value = crate::convert::decimal("value", value)?;
    let options = crate::options(events, overhead, event_data, caps, idempotency_key)?;
    Ok(AsyncTask::new(Metering {
        h,
        customer,
        entitlement,
        value,
        options: Some(options),
    }))
}

/// `check` on a worker thread; resolves to `t`, `f` or `!code\n…`.
#[napi(ts_return_type = "Promise<string>")]
pub fn check_async(
    h: u32,
    customer: String,
    entitlement: String,
    value: f64,
) -> Result<AsyncTask<Metering>> {
    Ok(AsyncTask::new(Metering {
        h,
        customer,
        entitlement,
        value: crate::convert::decimal("value", value)?,
        options: None,
    }))
}

/// Whether the engine's store does network I/O (the face then runs its metering calls through
/// the tasks above).
#[napi]
pub fn is_network(h: u32) -> Result<bool> {
    registry::with(h, |e| Ok(e.core.store().is_network()))
}
