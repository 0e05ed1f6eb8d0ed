//! Host ⇄ core conversions: JS numbers to exact decimals and back, JSON text to values.

use crate::error::{Result, invalid};
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
