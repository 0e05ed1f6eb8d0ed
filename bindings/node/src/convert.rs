//! Host ⇄ core conversions: JS numbers to exact decimals and back, JSON text to values.

use crate::error::{Result, invalid};
use limitr_core::NewCustomer;
use limitr_core::number::{self, Decimal};
use serde_json::Value;

/// A JS number as an exact decimal; NaN and infinities are `INVALID_ARGUMENT`.
pub fn decimal(name: &str, x: f64) -> Result<Decimal> {
    number::from_f64(x).ok_or_else(|| invalid(name, &format!("`{x}` is not a finite number")))
}

/// An optional JS number as an optional decimal.
pub fn opt_decimal(name: &str, x: Option<f64>) -> Result<Option<Decimal>> {
    x.map(|x| decimal(name, x)).transpose()
}

/// A decimal as the nearest JS number.
pub fn num(d: Option<Decimal>) -> Option<f64> {
    d.map(number::to_f64)
}

/// Epoch milliseconds as a JS number.
#[allow(
    clippy::cast_precision_loss,
    reason = "epoch ms stay far below 2^53 for any date a policy can hold"
)]
pub fn ms(t: Option<i64>) -> Option<f64> {
    t.map(|t| t as f64)
}

/// A JS number of epoch milliseconds as a core timestamp.
#[allow(
    clippy::cast_possible_truncation,
    reason = "a finite double truncated toward zero; out-of-range values saturate"
)]
pub fn timestamp(x: f64) -> Result<i64> {
    if !x.is_finite() {
        return Err(invalid(
            "now",
            &format!("`{x}` is not a finite number of ms"),
        ));
    }
    Ok(x.trunc() as i64)
}

/// JSON text (from `JSON.stringify`) as a value.
pub fn json(name: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| invalid(name, &format!("not valid JSON: {e}")))
}

/// Customer creation options from the plan and the profile JSON (`{type, label, refs, alt_ids,
/// metadata}`, each optional).
pub fn new_customer(plan: Option<String>, profile: Option<&str>) -> Result<NewCustomer> {
    let mut new = NewCustomer {
        plan,
        ..NewCustomer::default()
    };
    let Some(text) = profile else {
        return Ok(new);
    };
    let Value::Object(p) = json("profile", text)? else {
        return Err(invalid("profile", "expected an object"));
    };
    let text_field = |key: &str| -> Result<Option<String>> {
        match p.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(key, "expected a string")),
        }
    };
    let list = |key: &str| -> Result<Vec<String>> {
        match p.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or_else(|| invalid(key, "expected an array of strings"))
                })
                .collect(),
            Some(_) => Err(invalid(key, "expected an array of strings")),
        }
    };
    new.kind = text_field("type")?;
    new.label = text_field("label")?;
    new.refs = list("refs")?;
    new.alt_ids = list("alt_ids")?;
    new.metadata = match p.get("metadata") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid("metadata", "expected an object")),
    };
    Ok(new)
}
