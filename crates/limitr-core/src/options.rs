//! Call options from JSON option objects, once for every binding.
//!
//! Hosts that pass options as JSON (the Node and WASM bindings get `JSON.stringify` text) parse
//! the text into a [`Value`] and hand it here: [`CapOptions::from_json`],
//! [`ReserveOptions::from_json`], [`NewCustomer::from_json`], [`CallOptions::caps_from_json`],
//! [`idempotency_key_from_json`], [`override_fields_from_json`] and [`margin::usage_from_json`](crate::margin::usage_from_json).
//! `null` or a missing key means absent; a field of the wrong type is
//! [`Error::InvalidArgument`] naming the field.

use crate::engine::{CallOptions, CapOptions, NewCustomer, ReserveOptions};
use crate::error::{Error, Result};
use crate::number::{self, Decimal};
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// The fields of an options object named `name` (`null`: no options, so no fields).
fn fields<'a>(name: &'static str, v: &'a Value) -> Result<Fields<'a>> {
    match v {
        Value::Null => Ok(Fields(None)),
        Value::Object(m) => Ok(Fields(Some(m))),
        _ => Err(Error::invalid(name, "expected an object")),
    }
}

/// Typed reads of an options object's fields; `null` or a missing key is absent.
pub(crate) struct Fields<'a>(Option<&'a Map<String, Value>>);

impl<'a> Fields<'a> {
    /// The fields of a JSON object.
    pub(crate) fn of(m: &'a Map<String, Value>) -> Self {
        Fields(Some(m))
    }
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }
    fn text(&self, key: &'static str) -> Result<Option<String>> {
        self.get(key)
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| Error::invalid(key, "expected a string"))
            })
            .transpose()
    }
    /// A string, or a number taken as its text (durations in ms).
    fn text_or_number(&self, key: &'static str) -> Result<Option<String>> {
        self.get(key)
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(Error::invalid(key, "expected a string or a number")),
            })
            .transpose()
    }
    /// The `idempotency_key` field: a non-empty string of at most 255 bytes.
    fn idempotency_key(&self) -> Result<Option<String>> {
        let key = self.text("idempotency_key")?;
        if let Some(k) = &key {
            crate::idempotency::validate_key(k)?;
        }
        Ok(key)
    }
    fn flag(&self, key: &'static str) -> Result<Option<bool>> {
        self.get(key)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| Error::invalid(key, "expected a boolean"))
            })
            .transpose()
    }
    pub(crate) fn decimal(&self, key: &'static str) -> Result<Option<Decimal>> {
        self.get(key)
            .map(|v| number::from_value(v).ok_or_else(|| Error::invalid(key, "expected a number")))
            .transpose()
    }
    fn float(&self, key: &'static str) -> Result<Option<f64>> {
        self.get(key)
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| Error::invalid(key, "expected a number"))
            })
            .transpose()
    }
    /// Epoch (or duration) milliseconds, truncated toward zero.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a finite JSON double truncated toward zero; out-of-range values saturate"
    )]
    fn time(&self, key: &'static str) -> Result<Option<Timestamp>> {
        Ok(self.float(key)?.map(|x| x.trunc() as Timestamp))
    }
    /// A list of strings, absent when missing.
    fn list(&self, key: &'static str) -> Result<Option<Vec<String>>> {
        self.get(key)
            .map(|v| {
                v.as_array()
                    .and_then(|a| a.iter().map(|x| x.as_str().map(String::from)).collect())
                    .ok_or_else(|| Error::invalid(key, "expected an array of strings"))
            })
            .transpose()
    }
}

impl CapOptions {
    /// `add_customer_cap` options from a JSON object `{cap_id, credit, exchangeable,
    /// ignore_grants, overage_only, observe_only, overhead_cost, follow_decrements,
    /// hard_trailing, shared, shared_with, scope, resets, reset_inc, reset_sch, expires_on,
    /// events}`, each optional (`null` itself: the defaults).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `options` when `v` is not an object, or the field of the
    /// wrong type.
    ///
    /// ```
    /// use limitr_core::CapOptions;
    /// let o = CapOptions::from_json(&serde_json::json!({"credit": "usd", "shared": true})).unwrap();
    /// assert_eq!(o.credit.as_deref(), Some("usd"));
    /// assert!(o.shared);
    /// ```
    pub fn from_json(v: &Value) -> Result<CapOptions> {
        let f = fields("options", v)?;
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
            events: f.flag("events")?.unwrap_or(true),
        })
    }
}

impl ReserveOptions {
    /// `reserve` options from a JSON object `{value, ttl, quantile, basis, segment, overhead,
    /// context, idempotency_key}`, each optional (`null` itself: the defaults); `context` becomes the event data.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `options` when `v` is not an object, or the field of the
    /// wrong type.
    ///
    /// ```
    /// use limitr_core::ReserveOptions;
    /// let o = ReserveOptions::from_json(&serde_json::json!({"ttl": 5000, "segment": "gpt"})).unwrap();
    /// assert_eq!((o.ttl, o.segment.as_deref()), (Some(5000), Some("gpt")));
    /// ```
    pub fn from_json(v: &Value) -> Result<ReserveOptions> {
        let f = fields("options", v)?;
        Ok(ReserveOptions {
            value: f.decimal("value")?,
            ttl: f.time("ttl")?,
            quantile: f.float("quantile")?,
            basis: f.float("basis")?,
            segment: f.text("segment")?,
            overhead: f.decimal("overhead")?,
            event_data: f.get("context").cloned(),
            idempotency_key: f.idempotency_key()?,
        })
    }
}

impl NewCustomer {
    /// Customer creation options from a profile JSON object `{type, label, refs, alt_ids,
    /// metadata, idempotency_key}`, each optional (`null` itself: the defaults). The plan is not part of the
    /// profile: set [`NewCustomer::plan`] afterwards.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `profile` when `v` is not an object, or the field of the
    /// wrong type.
    ///
    /// ```
    /// use limitr_core::NewCustomer;
    /// let n = NewCustomer::from_json(&serde_json::json!({"type": "org", "refs": ["acme"]})).unwrap();
    /// assert_eq!((n.kind.as_deref(), n.refs.len()), (Some("org"), 1));
    /// ```
    pub fn from_json(v: &Value) -> Result<NewCustomer> {
        let f = fields("profile", v)?;
        Ok(NewCustomer {
            plan: None,
            kind: f.text("type")?,
            label: f.text("label")?,
            refs: f.list("refs")?.unwrap_or_default(),
            alt_ids: f.list("alt_ids")?.unwrap_or_default(),
            metadata: match f.get("metadata") {
                None => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(_) => return Err(Error::invalid("metadata", "expected an object")),
            },
            idempotency_key: f.idempotency_key()?,
        })
    }
}

impl CallOptions {
    /// Call-scoped caps from a JSON object `{credit: ceiling}` (`null`: none), for
    /// [`CallOptions::caps`]. A ceiling is a number or a string holding one.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `caps` (and the credit in its message) when `v` is not
    /// an object or a ceiling is not a number.
    ///
    /// ```
    /// use limitr_core::CallOptions;
    /// let caps = CallOptions::caps_from_json(&serde_json::json!({"usd": 2})).unwrap();
    /// assert_eq!(caps[0].0, "usd");
    /// ```
    pub fn caps_from_json(v: &Value) -> Result<Vec<(String, Decimal)>> {
        let Fields(m) = fields("caps", v)?;
        m.into_iter()
            .flatten()
            .map(|(credit, v)| {
                number::from_value(v)
                    .map(|d| (credit.clone(), d))
                    .ok_or_else(|| Error::invalid("caps", format!("`{credit}`: expected a number")))
            })
            .collect()
    }
}

/// The `idempotency_key` of any options object (`null` or a missing field: none), for the calls
/// whose other options are plain arguments (`allow`, `increment`, `decrement`, `set`, `settle`
/// through [`CallOptions::idempotency_key`], and `release_with`, `apply_customer_topup_with`).
///
/// # Errors
/// [`Error::InvalidArgument`] naming `options` when `v` is not an object, or `idempotency_key`
/// when it is not a non-empty string of at most 255 bytes.
///
/// ```
/// use limitr_core::options::idempotency_key_from_json;
/// let k = idempotency_key_from_json(&serde_json::json!({"idempotency_key": "req-1"})).unwrap();
/// assert_eq!(k.as_deref(), Some("req-1"));
/// assert_eq!(idempotency_key_from_json(&serde_json::Value::Null).unwrap(), None);
/// ```
pub fn idempotency_key_from_json(v: &Value) -> Result<Option<String>> {
    fields("options", v)?.idempotency_key()
}

/// The limit fields of a customer override (`create_customer_override`) from a JSON value, which
/// must be an object.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `fields` when `v` is not an object.
///
/// ```
/// let f = limitr_core::options::override_fields_from_json(&serde_json::json!({"value": 5})).unwrap();
/// assert_eq!(f["value"], 5);
/// ```
pub fn override_fields_from_json(v: &Value) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        _ => Err(Error::invalid(
            "fields",
            "expected an object of limit fields",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The name and message of an `InvalidArgument`.
    fn bad<T: std::fmt::Debug>(r: Result<T>) -> (&'static str, String) {
        match r {
            Err(Error::InvalidArgument { name, message }) => (name, message),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn cap_options_from_json() {
        let o = CapOptions::from_json(&json!({
            "cap_id": "c1", "credit": "usd", "exchangeable": false, "shared": true,
            "scope": ["chat"], "reset_inc": 86_400_000, "expires_on": 1_000.9, "hard_trailing": null
        }))
        .unwrap();
        assert_eq!(o.cap_id.as_deref(), Some("c1"));
        assert_eq!(o.exchangeable, Some(false));
        assert!(o.shared && !o.hard_trailing);
        assert_eq!(o.scope, Some(vec!["chat".to_string()]));
        assert_eq!(o.reset_inc.as_deref(), Some("86400000"));
        assert_eq!(o.expires_on, Some(1_000));
        assert_eq!(
            CapOptions::from_json(&Value::Null).unwrap(),
            CapOptions::default()
        );
        let (name, msg) = bad(CapOptions::from_json(&json!({"shared": "yes"})));
        assert_eq!((name, msg.as_str()), ("shared", "expected a boolean"));
        let (name, msg) = bad(CapOptions::from_json(&json!({"scope": ["a", 1]})));
        assert_eq!(
            (name, msg.as_str()),
            ("scope", "expected an array of strings")
        );
        let e = CapOptions::from_json(&json!([1])).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("INVALID_ARGUMENT", "options: expected an object")
        );
    }

    #[test]
    fn reserve_options_from_json() {
        let o = ReserveOptions::from_json(&json!({
            "value": "2.5", "ttl": 5000, "quantile": 0.5, "basis": 10, "segment": "gpt",
            "overhead": 0.25, "context": {"model": "gpt"}
        }))
        .unwrap();
        assert_eq!(o.value, number::parse_decimal("2.5"));
        assert_eq!(
            (o.ttl, o.quantile, o.basis),
            (Some(5000), Some(0.5), Some(10.0))
        );
        assert_eq!(o.event_data, Some(json!({"model": "gpt"})));
        assert_eq!(
            ReserveOptions::from_json(&Value::Null).unwrap(),
            ReserveOptions::default()
        );
        let e = ReserveOptions::from_json(&json!({"ttl": "soon"})).unwrap_err();
        assert_eq!(e.to_string(), "ttl: expected a number");
        assert_eq!(
            bad(ReserveOptions::from_json(&json!({"segment": 3}))).0,
            "segment"
        );
    }

    #[test]
    fn new_customer_from_json() {
        let n = NewCustomer::from_json(&json!({
            "type": "team", "label": "Team", "refs": ["acme"], "alt_ids": null, "metadata": {"a": 1}
        }))
        .unwrap();
        assert_eq!(
            (n.kind.as_deref(), n.label.as_deref()),
            (Some("team"), Some("Team"))
        );
        assert_eq!((n.refs.len(), n.alt_ids.len()), (1, 0));
        assert_eq!(n.metadata["a"], 1);
        assert_eq!(
            NewCustomer::from_json(&Value::Null).unwrap(),
            NewCustomer::default()
        );
        let (name, msg) = bad(NewCustomer::from_json(&json!({"metadata": [1]})));
        assert_eq!((name, msg.as_str()), ("metadata", "expected an object"));
        assert_eq!(
            bad(NewCustomer::from_json(&json!({"refs": "acme"}))).0,
            "refs"
        );
        assert_eq!(bad(NewCustomer::from_json(&json!("x"))).0, "profile");
    }

    #[test]
    fn call_caps_from_json() {
        let caps = CallOptions::caps_from_json(&json!({"usd": 2, "tok": "10.5"})).unwrap();
        assert_eq!(caps.len(), 2);
        assert!(
            CallOptions::caps_from_json(&Value::Null)
                .unwrap()
                .is_empty()
        );
        let e = CallOptions::caps_from_json(&json!({"usd": true})).unwrap_err();
        assert_eq!(e.to_string(), "caps: `usd`: expected a number");
    }

    #[test]
    fn idempotency_keys_from_json() {
        let o = ReserveOptions::from_json(&json!({"idempotency_key": "r1"})).unwrap();
        assert_eq!(o.idempotency_key.as_deref(), Some("r1"));
        let n = NewCustomer::from_json(&json!({"idempotency_key": "c1"})).unwrap();
        assert_eq!(n.idempotency_key.as_deref(), Some("c1"));
        assert_eq!(
            idempotency_key_from_json(&json!({"idempotency_key": null})).unwrap(),
            None
        );
        for bad_key in [json!(""), json!(7), json!("x".repeat(256))] {
            let v = json!({ "idempotency_key": bad_key });
            assert_eq!(bad(idempotency_key_from_json(&v)).0, "idempotency_key");
            assert_eq!(bad(ReserveOptions::from_json(&v)).0, "idempotency_key");
            assert_eq!(bad(NewCustomer::from_json(&v)).0, "idempotency_key");
        }
        assert_eq!(bad(idempotency_key_from_json(&json!(1))).0, "options");
    }

    #[test]
    fn override_fields() {
        assert_eq!(
            override_fields_from_json(&json!({"value": 1}))
                .unwrap()
                .len(),
            1
        );
        let e = override_fields_from_json(&json!(1)).unwrap_err();
        assert_eq!(e.to_string(), "fields: expected an object of limit fields");
    }
}
