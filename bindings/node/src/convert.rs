//! Host ⇄ core conversions: JS numbers to exact decimals and back, JSON text to values.

use crate::error::{CoreResult, Result, invalid};
use limitr_core::margin::{self, Usage};
use limitr_core::number::{self, Decimal};
use limitr_core::{CallOptions, CapOptions, NewCustomer, ReserveOptions, options};
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
pub fn timestamp(name: &str, x: f64) -> Result<i64> {
    if !x.is_finite() {
        return Err(invalid(
            name,
            &format!("`{x}` is not a finite number of ms"),
        ));
    }
    Ok(x.trunc() as i64)
}

/// JSON text (from `JSON.stringify`) as a value.
pub fn json(name: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| invalid(name, &format!("not valid JSON: {e}")))
}

/// Optional JSON text (`null`: absent) as a value, `Value::Null` when absent.
fn opt_json(name: &str, text: Option<&str>) -> Result<Value> {
    text.map_or(Ok(Value::Null), |t| json(name, t))
}

/// Customer creation options from the plan and the profile JSON (`{type, label, refs, alt_ids,
/// metadata}`, each optional); parsed by [`NewCustomer::from_json`].
pub fn new_customer(plan: Option<String>, profile: Option<&str>) -> Result<NewCustomer> {
    let mut new = NewCustomer::from_json(&opt_json("profile", profile)?).js()?;
    new.plan = plan;
    Ok(new)
}

/// Call-scoped caps from JSON `{credit: ceiling}` (null: none); see [`CallOptions::caps_from_json`].
pub fn call_caps(text: Option<&str>) -> Result<Vec<(String, Decimal)>> {
    CallOptions::caps_from_json(&opt_json("caps", text)?).js()
}

/// `add_customer_cap` options from JSON text (null: none); see [`CapOptions::from_json`].
pub fn cap_options(text: Option<&str>) -> Result<CapOptions> {
    CapOptions::from_json(&opt_json("options", text)?).js()
}

/// `reserve` options from JSON text (null: none); see [`ReserveOptions::from_json`].
pub fn reserve_options(text: Option<&str>) -> Result<ReserveOptions> {
    ReserveOptions::from_json(&opt_json("options", text)?).js()
}

/// `plan_margin` usage from JSON text; see [`margin::usage_from_json`].
pub fn usage(text: &str) -> Result<Vec<(String, Usage)>> {
    margin::usage_from_json(&json("usage", text)?).js()
}

/// Override limit fields from JSON text; see [`options::override_fields_from_json`].
pub fn override_fields(text: &str) -> Result<serde_json::Map<String, Value>> {
    options::override_fields_from_json(&json("fields", text)?).js()
}
