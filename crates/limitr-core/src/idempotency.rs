//! Idempotency keys: a mutating call made twice with the same key (for the same customer, within
//! the idempotency TTL) answers the first call's answer and changes nothing.
//!
//! A key is part of the customer's state ([`Profile::idempotency`](crate::Profile::idempotency),
//! the record's `idempotency_keys`): it is checked and recorded inside the same store closure as
//! the call's change, so a store that persists each closure's result keeps the effect and the key
//! together. The first call's arguments are kept as a fingerprint; the same key with other
//! arguments is [`Error::IdempotencyConflict`].

use crate::customer::Customer;
use crate::error::{Error, Result};
use crate::number::Decimal;
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// The idempotency TTL unless the policy (`idempotency_ttl`) or the load options set one: 24 h.
pub const DEFAULT_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// The most keys a customer keeps; recording one more forgets the oldest.
pub const MAX_KEYS: usize = 1_000;

/// The longest accepted key, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// Separates the parts of a fingerprint (the ASCII unit separator: never in a JSON text).
const SEP: char = '\u{1f}';

/// A recorded key: the first call's fingerprint and answer, and when it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyKey {
    /// The key, as the caller gave it.
    pub key: String,
    /// The first call's operation and arguments (`allow␟chat␟120000␟{…options}`).
    pub fingerprint: String,
    /// What the first call returned.
    pub answer: Value,
    /// When the first call was made (epoch ms); the key lives for the TTL from then.
    pub at: Timestamp,
}

impl IdempotencyKey {
    /// Whether the key still applies at `now` under `ttl` ms.
    pub fn live(&self, now: Timestamp, ttl: i64) -> bool {
        now < self.at.saturating_add(ttl)
    }

    /// The operation of the first call (the fingerprint's first part).
    pub fn operation(&self) -> &str {
        self.fingerprint.split(SEP).next().unwrap_or_default()
    }

    /// As a value: `{fingerprint, answer, at}` (the key names it in the record).
    pub fn record(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "fingerprint".into(),
            Value::String(self.fingerprint.clone()),
        );
        m.insert("answer".into(), self.answer.clone());
        m.insert("at".into(), Value::from(self.at));
        Value::Object(m)
    }

    /// Reads a key back from its record; `None` when `fingerprint` or `at` is missing.
    pub fn from_record(key: &str, v: &Value) -> Option<IdempotencyKey> {
        Some(IdempotencyKey {
            key: key.to_string(),
            fingerprint: v.get("fingerprint")?.as_str()?.to_string(),
            answer: v.get("answer").cloned().unwrap_or(Value::Null),
            at: v.get("at")?.as_i64()?,
        })
    }
}

/// A keyed call: its key, its fingerprint and the TTL in force.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Keyed {
    key: String,
    fingerprint: String,
    ttl: i64,
}

/// What a keyed closure did: ran the call, or found the key and answers the first call's answer.
pub(crate) enum Outcome<R> {
    /// The call ran (and, when keyed, its key was recorded).
    Fresh(R),
    /// The key was seen: the first call's answer; nothing changed.
    Replay(Value),
}

/// Checks a caller-given key: a non-empty string of at most [`MAX_KEY_BYTES`] bytes.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `idempotency_key`.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid(
            "idempotency_key",
            "must be a non-empty string",
        ));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::invalid(
            "idempotency_key",
            format!(
                "is {} bytes, over the maximum of {MAX_KEY_BYTES}",
                key.len()
            ),
        ));
    }
    Ok(())
}

impl Keyed {
    /// A keyed call, the key validated; `parts` are the operation and its arguments, in order.
    pub(crate) fn new(key: &str, parts: &[&str], ttl: i64) -> Result<Keyed> {
        validate_key(key)?;
        let mut fingerprint = String::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                fingerprint.push(SEP);
            }
            fingerprint.push_str(p);
        }
        Ok(Keyed {
            key: key.to_string(),
            fingerprint,
            ttl,
        })
    }

    /// The first call's answer when `c` holds this key (live), `None` when it does not.
    ///
    /// # Errors
    /// [`Error::IdempotencyConflict`] when the key was first used with other arguments.
    pub(crate) fn replay(&self, c: &Customer, now: Timestamp) -> Result<Option<Value>> {
        let Some(p) = c.profile.as_deref() else {
            return Ok(None);
        };
        let Some(k) = p
            .idempotency
            .iter()
            .rev()
            .find(|k| k.key == self.key && k.live(now, self.ttl))
        else {
            return Ok(None);
        };
        if k.fingerprint != self.fingerprint {
            return Err(Error::IdempotencyConflict {
                key: self.key.clone(),
                operation: k.operation().to_string(),
            });
        }
        Ok(Some(k.answer.clone()))
    }

    /// Records the key on `c` with the call's answer: expired keys (and an expired use of this
    /// one) are dropped first, then the oldest while the customer holds [`MAX_KEYS`].
    pub(crate) fn record(&self, c: &mut Customer, answer: Value, now: Timestamp) {
        let keys = &mut c.profile_mut().idempotency;
        keys.retain(|k| k.key != self.key && k.live(now, self.ttl));
        if keys.len() >= MAX_KEYS {
            let excess = keys.len() + 1 - MAX_KEYS;
            keys.drain(..excess);
        }
        keys.push(IdempotencyKey {
            key: self.key.clone(),
            fingerprint: self.fingerprint.clone(),
            answer,
            at: now,
        });
    }

    /// Runs `f` on `keeper` (the customer holding the key) unless the key is there: then the first
    /// answer, and nothing changes. An error from `f` records nothing.
    pub(crate) fn run<R>(
        keyed: Option<&Keyed>,
        keeper: &mut Customer,
        now: Timestamp,
        f: impl FnOnce(&mut Customer) -> Result<R>,
        answer: impl FnOnce(&R) -> Value,
    ) -> Result<Outcome<R>> {
        let Some(k) = keyed else {
            return f(keeper).map(Outcome::Fresh);
        };
        if let Some(v) = k.replay(keeper, now)? {
            return Ok(Outcome::Replay(v));
        }
        let r = f(keeper)?;
        k.record(keeper, answer(&r), now);
        Ok(Outcome::Fresh(r))
    }
}

/// A decimal in a fingerprint: normalised, so `120000` and `120000.0` are the same argument.
pub(crate) fn decimal(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A value as canonical JSON text (object keys sorted at every level), so the same arguments give
/// the same fingerprint whatever order a host wrote them in.
pub(crate) fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The options of a metering call as fingerprint text (everything but the key itself).
pub(crate) fn call_options(o: &crate::CallOptions) -> String {
    let mut m = Map::new();
    m.insert("events".into(), Value::Bool(o.events));
    m.insert(
        "overhead".into(),
        o.overhead
            .map_or(Value::Null, |d| Value::String(decimal(d))),
    );
    m.insert(
        "event_data".into(),
        o.event_data.clone().unwrap_or(Value::Null),
    );
    m.insert(
        "caps".into(),
        Value::Array(
            o.caps
                .iter()
                .map(|(credit, v)| {
                    Value::Array(vec![
                        Value::String(credit.clone()),
                        Value::String(decimal(*v)),
                    ])
                })
                .collect(),
        ),
    );
    canonical(&Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_at_every_level() {
        let a = canonical(&json!({"b": 1, "a": {"d": [1, {"z": 2, "y": 3}], "c": null}}));
        assert_eq!(a, r#"{"a":{"c":null,"d":[1,{"y":3,"z":2}]},"b":1}"#);
    }

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("k").is_ok());
        assert_eq!(
            validate_key("").map_err(|e| e.code()),
            Err("INVALID_ARGUMENT")
        );
        let long = "x".repeat(MAX_KEY_BYTES + 1);
        let e = validate_key(&long).unwrap_err();
        assert!(e.to_string().starts_with("idempotency_key: "), "{e}");
        assert!(validate_key(&"x".repeat(MAX_KEY_BYTES)).is_ok());
    }

    #[test]
    fn record_bounds_and_expires() {
        let mut c = Customer::new("u", std::sync::Arc::from("p"));
        for i in 0..MAX_KEYS + 5 {
            let k = Keyed::new(&format!("k{i}"), &["allow"], 100).unwrap();
            k.record(&mut c, Value::Bool(true), 0);
        }
        let keys = &c.profile.as_ref().unwrap().idempotency;
        assert_eq!(keys.len(), MAX_KEYS);
        assert_eq!(keys[0].key, "k5");
        // past the TTL every earlier key is dropped when one is recorded
        Keyed::new("late", &["allow"], 100)
            .unwrap()
            .record(&mut c, Value::Null, 100);
        assert_eq!(c.profile.as_ref().unwrap().idempotency.len(), 1);
    }
}
