//! JS ⇄ core conversions: numbers as `f64` (exact decimals inside), objects as JSON text,
//! absent values as `null`.

use crate::error::{invalid, js_error};
use limitr_core::number::{self, Decimal};
use limitr_core::{CallOptions, Format, NewCustomer, Timestamp};
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
pub fn timestamp(x: f64) -> Result<Timestamp, JsValue> {
    if !x.is_finite() {
        return Err(invalid(
            "now",
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

/// The options of a metering call, from their primitive parts (event data as JSON text).
pub fn call_options(
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
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
        caps: Vec::new(),
    })
}

/// JSON text as a value (`INVALID_ARGUMENT` naming `name` if it does not parse).
pub fn json(name: &'static str, text: &str) -> Result<Value, JsValue> {
    serde_json::from_str(text).map_err(|e| invalid(name, format!("not valid JSON: {e}")))
}

/// JSON text that must be an object.
pub fn object(name: &'static str, text: &str) -> Result<Map<String, Value>, JsValue> {
    match json(name, text)? {
        Value::Object(map) => Ok(map),
        _ => Err(invalid(name, "expected a JSON object".into())),
    }
}

/// Customer creation options from the plan and the profile JSON (`{type, label, refs, alt_ids,
/// metadata}`, each optional and `null` meaning absent).
pub fn new_customer(plan: Option<String>, profile: Option<&str>) -> Result<NewCustomer, JsValue> {
    let mut new = NewCustomer {
        plan,
        ..NewCustomer::default()
    };
    let Some(text) = profile else {
        return Ok(new);
    };
    let p = object("profile", text)?;
    let text_field = |key: &'static str| match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(key, "expected a string".into())),
    };
    let list = |key: &'static str| match p.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| invalid(key, "expected an array of strings".into()))
            })
            .collect(),
        Some(_) => Err(invalid(key, "expected an array of strings".into())),
    };
    new.kind = text_field("type")?;
    new.label = text_field("label")?;
    new.refs = list("refs")?;
    new.alt_ids = list("alt_ids")?;
    new.metadata = match p.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid("metadata", "expected an object".into())),
    };
    Ok(new)
}
