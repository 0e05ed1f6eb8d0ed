//! Host ⇄ core conversions: JS numbers to exact decimals and back, JSON text to values.

use crate::error::{Result, invalid};
use limitr_core::margin::Usage;
use limitr_core::number::{self, Decimal};
use limitr_core::{CapOptions, NewCustomer, ReserveOptions};
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

/// The object fields of an options argument (JSON text; `null` means no options).
fn fields(name: &str, text: Option<&str>) -> Result<serde_json::Map<String, Value>> {
    match text.map(|t| json(name, t)).transpose()? {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(invalid(name, "expected an object")),
    }
}

/// Typed reads of an options object's fields; `null` or a missing key is absent.
struct Fields(serde_json::Map<String, Value>);

impl Fields {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
    fn text(&self, key: &str) -> Result<Option<String>> {
        self.get(key)
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| invalid(key, "expected a string"))
            })
            .transpose()
    }
    /// A string, or a number taken as its text (durations in ms).
    fn text_or_number(&self, key: &str) -> Result<Option<String>> {
        self.get(key)
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(invalid(key, "expected a string or a number")),
            })
            .transpose()
    }
    fn flag(&self, key: &str) -> Result<Option<bool>> {
        self.get(key)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| invalid(key, "expected a boolean"))
            })
            .transpose()
    }
    fn decimal(&self, key: &str) -> Result<Option<Decimal>> {
        self.get(key)
            .map(|v| number::from_value(v).ok_or_else(|| invalid(key, "expected a number")))
            .transpose()
    }
    fn float(&self, key: &str) -> Result<Option<f64>> {
        self.get(key)
            .map(|v| v.as_f64().ok_or_else(|| invalid(key, "expected a number")))
            .transpose()
    }
    fn time(&self, key: &str) -> Result<Option<i64>> {
        self.float(key)?.map(timestamp).transpose()
    }
    fn list(&self, key: &str) -> Result<Option<Vec<String>>> {
        self.get(key)
            .map(|v| {
                v.as_array()
                    .and_then(|a| a.iter().map(|x| x.as_str().map(String::from)).collect())
                    .ok_or_else(|| invalid(key, "expected an array of strings"))
            })
            .transpose()
    }
}

/// Call-scoped caps from JSON `{credit: ceiling}` (null: none).
pub fn call_caps(text: Option<&str>) -> Result<Vec<(String, Decimal)>> {
    fields("caps", text)?
        .iter()
        .map(|(credit, v)| {
            number::from_value(v)
                .map(|d| (credit.clone(), d))
                .ok_or_else(|| invalid("caps", &format!("`{credit}`: expected a number")))
        })
        .collect()
}

/// `add_customer_cap` options from JSON `{cap_id, credit, exchangeable, ignore_grants, …}`.
pub fn cap_options(text: Option<&str>) -> Result<CapOptions> {
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
pub fn reserve_options(text: Option<&str>) -> Result<ReserveOptions> {
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
pub fn usage(text: &str) -> Result<Vec<(String, Usage)>> {
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
                        invalid("usage", &format!("`{ent}`: expected a number or an object"))
                    })?,
                    overhead: None,
                    limit: None,
                },
            };
            Ok((ent, u))
        })
        .collect()
}
