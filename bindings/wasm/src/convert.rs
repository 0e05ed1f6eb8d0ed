//! JS ⇄ core conversions: numbers as `f64` (exact decimals inside), objects as JSON text,
//! absent values as `null`.

use crate::error::{invalid, js_error};
use limitr_core::margin::Usage;
use limitr_core::number::{self, Decimal};
use limitr_core::{CallOptions, CapOptions, Format, NewCustomer, ReserveOptions, Timestamp};
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

/// The options of a metering call, from their primitive parts (event data as JSON text; call-scoped
/// caps as JSON `{credit: ceiling}`).
pub fn call_options(
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
    caps: Option<String>,
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

/// The fields of an options argument (JSON text; `null` means no options).
fn fields(name: &'static str, text: Option<&str>) -> Result<Map<String, Value>, JsValue> {
    match text.map(|t| json(name, t)).transpose()? {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(invalid(name, "expected an object".into())),
    }
}

/// Typed reads of an options object's fields; `null` or a missing key is absent.
struct Fields(Map<String, Value>);

impl Fields {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
    fn text(&self, key: &'static str) -> Result<Option<String>, JsValue> {
        self.get(key)
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| invalid(key, "expected a string".into()))
            })
            .transpose()
    }
    /// A string, or a number taken as its text (durations in ms).
    fn text_or_number(&self, key: &'static str) -> Result<Option<String>, JsValue> {
        self.get(key)
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(invalid(key, "expected a string or a number".into())),
            })
            .transpose()
    }
    fn flag(&self, key: &'static str) -> Result<Option<bool>, JsValue> {
        self.get(key)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| invalid(key, "expected a boolean".into()))
            })
            .transpose()
    }
    fn decimal(&self, key: &'static str) -> Result<Option<Decimal>, JsValue> {
        self.get(key)
            .map(|v| number::from_value(v).ok_or_else(|| invalid(key, "expected a number".into())))
            .transpose()
    }
    fn float(&self, key: &'static str) -> Result<Option<f64>, JsValue> {
        self.get(key)
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| invalid(key, "expected a number".into()))
            })
            .transpose()
    }
    fn time(&self, key: &'static str) -> Result<Option<Timestamp>, JsValue> {
        self.float(key)?.map(timestamp).transpose()
    }
    fn list(&self, key: &'static str) -> Result<Option<Vec<String>>, JsValue> {
        self.get(key)
            .map(|v| {
                v.as_array()
                    .and_then(|a| a.iter().map(|x| x.as_str().map(String::from)).collect())
                    .ok_or_else(|| invalid(key, "expected an array of strings".into()))
            })
            .transpose()
    }
}

/// Call-scoped caps from JSON `{credit: ceiling}` (null: none).
pub fn call_caps(text: Option<&str>) -> Result<Vec<(String, Decimal)>, JsValue> {
    fields("caps", text)?
        .iter()
        .map(|(credit, v)| {
            number::from_value(v)
                .map(|d| (credit.clone(), d))
                .ok_or_else(|| invalid("caps", format!("`{credit}`: expected a number")))
        })
        .collect()
}

/// `add_customer_cap` options from JSON `{cap_id, credit, exchangeable, ignore_grants, …}`.
pub fn cap_options(text: Option<&str>) -> Result<CapOptions, JsValue> {
    let f = Fields(fields("options", text)?);
    Ok(CapOptions {
        cap_id: f.text("cap_id")?,
        credit: f.text("credit")?,
        exchangeable: f.flag("exchangeable")?,
        ignore_grants: f.flag("ignore_grants")?.unwrap_or(false),
        overage_only: f.flag("overage_only")?.unwrap_or(false),
        observe_only: f.flag("observe_only")?.unwrap_or(false),
        overhead_cost: f.flag("overhead_cost")?.unwrap_or(false),
        follow_decrements: f.flag("follow_decrements")?.unwrap_or(false),
        hard_trailing: f.flag("hard_trailing")?.unwrap_or(false),
        shared: f.flag("shared")?.unwrap_or(false),
        shared_with: f.list("shared_with")?,
        scope: f.list("scope")?,
        resets: f.flag("resets")?.unwrap_or(false),
        reset_inc: f.text_or_number("reset_inc")?,
        reset_sch: f.text("reset_sch")?,
        expires_on: f.time("expires_on")?,
    })
}

/// `reserve` options from JSON `{value, ttl, quantile, basis, segment, overhead, context}`.
pub fn reserve_options(text: Option<&str>) -> Result<ReserveOptions, JsValue> {
    let f = Fields(fields("options", text)?);
    Ok(ReserveOptions {
        value: f.decimal("value")?,
        ttl: f.time("ttl")?,
        quantile: f.float("quantile")?,
        basis: f.float("basis")?,
        segment: f.text("segment")?,
        overhead: f.decimal("overhead")?,
        event_data: f.get("context").cloned(),
    })
}

/// `plan_margin` usage from JSON `{entitlement: value | {value, overhead?, limit?}}`.
pub fn usage(text: &str) -> Result<Vec<(String, Usage)>, JsValue> {
    fields("usage", Some(text))?
        .into_iter()
        .map(|(ent, v)| {
            let u = match v {
                Value::Object(o) => {
                    let f = Fields(o);
                    Usage {
                        value: f.decimal("value")?.unwrap_or_default(),
                        overhead: f.decimal("overhead")?,
                        limit: f.decimal("limit")?,
                    }
                }
                other => Usage {
                    value: number::from_value(&other).ok_or_else(|| {
                        invalid("usage", format!("`{ent}`: expected a number or an object"))
                    })?,
                    overhead: None,
                    limit: None,
                },
            };
            Ok((ent, u))
        })
        .collect()
}
