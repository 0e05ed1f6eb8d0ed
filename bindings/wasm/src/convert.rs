//! JS ⇄ core conversions: numbers as `f64` (exact decimals inside), objects as JSON text,
//! absent values as `null`.

use crate::error::{invalid, js, js_error};
use limitr_core::margin::{self, Usage};
use limitr_core::number::{self, Decimal};
use limitr_core::{
    CallOptions, CapOptions, Format, NewCustomer, ReserveOptions, Timestamp, options,
};
use serde_json::{Map, Value};
use wasm_bindgen::JsValue;

/// A JS number as an exact decimal; NaN and infinities are an `INVALID_ARGUMENT` error.
pub fn decimal(name: &'static str, x: f64) -> Result<Decimal, JsValue> {
    number::from_f64(x).ok_or_else(|| invalid(name, format!("`{x}` is not a finite number")))
}

/// An optional JS number (`null`/`undefined` → `None`).
pub fn opt_decimal(name: &'static str, x: Option<f64>) -> Result<Option<Decimal>, JsValue> {
    x.map(|x| decimal(name, x)).transpose()
}

/// A JS epoch-ms number as a timestamp.
pub fn timestamp(name: &'static str, x: f64) -> Result<Timestamp, JsValue> {
    if !x.is_finite() {
        return Err(invalid(
            name,
            format!("`{x}` is not a finite number of milliseconds"),
        ));
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "saturating cast of a finite ms count, as intended"
    )]
    Ok(x.trunc() as Timestamp)
}

/// A decimal as a JS number, `None` as `null`.
pub fn number_or_null(d: Option<Decimal>) -> JsValue {
    d.map_or(JsValue::NULL, |d| JsValue::from_f64(number::to_f64(d)))
}

/// A timestamp as a JS number, `None` as `null`.
pub fn time_or_null(t: Option<Timestamp>) -> JsValue {
    #[allow(
        clippy::cast_precision_loss,
        reason = "epoch ms fit a double exactly for any realistic date"
    )]
    t.map_or(JsValue::NULL, |t| JsValue::from_f64(t as f64))
}

/// A format name (`json`, `yaml`, `toml`).
pub fn format(name: &str) -> Result<Format, JsValue> {
    Format::parse(name).map_err(|e| js_error(&e))
}

/// The options of a metering call, from their primitive parts (event data as JSON text; call-scoped
/// caps as JSON `{credit: ceiling}`).
pub fn call_options(
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
    caps: Option<String>,
    idempotency_key: Option<String>,
) -> Result<CallOptions, JsValue> {
    let event_data = match event_data {
        None => None,
        Some(text) => Some(
            serde_json::from_str::<Value>(&text)
                .map_err(|e| invalid("event", format!("not JSON: {e}")))?,
        ),
    };
    Ok(CallOptions {
        events,
        overhead: opt_decimal("overhead", overhead)?,
        event_data,
        caps: call_caps(caps.as_deref())?,
        idempotency_key,
    })
}

/// JSON text as a value (`INVALID_ARGUMENT` naming `name` if it does not parse).
pub fn json(name: &'static str, text: &str) -> Result<Value, JsValue> {
    serde_json::from_str(text).map_err(|e| invalid(name, format!("not valid JSON: {e}")))
}

/// Optional JSON text (`null`: absent) as a value, `Value::Null` when absent.
fn opt_json(name: &'static str, text: Option<&str>) -> Result<Value, JsValue> {
    text.map_or(Ok(Value::Null), |t| json(name, t))
}

/// Customer creation options from the plan and the profile JSON (`{type, label, refs, alt_ids,
/// metadata}`, each optional and `null` meaning absent); parsed by [`NewCustomer::from_json`].
pub fn new_customer(plan: Option<String>, profile: Option<&str>) -> Result<NewCustomer, JsValue> {
    let mut new = js(NewCustomer::from_json(&opt_json("profile", profile)?))?;
    new.plan = plan;
    Ok(new)
}

/// Call-scoped caps from JSON `{credit: ceiling}` (null: none); see [`CallOptions::caps_from_json`].
pub fn call_caps(text: Option<&str>) -> Result<Vec<(String, Decimal)>, JsValue> {
    js(CallOptions::caps_from_json(&opt_json("caps", text)?))
}

/// `add_customer_cap` options from JSON text (null: none); see [`CapOptions::from_json`].
pub fn cap_options(text: Option<&str>) -> Result<CapOptions, JsValue> {
    js(CapOptions::from_json(&opt_json("options", text)?))
}

/// `reserve` options from JSON text (null: none); see [`ReserveOptions::from_json`].
pub fn reserve_options(text: Option<&str>) -> Result<ReserveOptions, JsValue> {
    js(ReserveOptions::from_json(&opt_json("options", text)?))
}

/// `plan_margin` usage from JSON text; see [`margin::usage_from_json`].
pub fn usage(text: &str) -> Result<Vec<(String, Usage)>, JsValue> {
    js(margin::usage_from_json(&json("usage", text)?))
}

/// Override limit fields from JSON text; see [`options::override_fields_from_json`].
pub fn override_fields(text: &str) -> Result<Map<String, Value>, JsValue> {
    js(options::override_fields_from_json(&json("fields", text)?))
}
