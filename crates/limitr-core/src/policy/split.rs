//! A JSON document split without building its tree: the policy's own fields and each customer
//! record stay slices of the text until they are read, one at a time.
//!
//! Two uses. The size cap ([`Format::read_document`]) counts the text outside `policy.customers`: that is
//! the policy a person writes, while the customers section is state the engine wrote (a snapshot
//! of any size must load back). And the loader reads customers one record at a time, so a large
//! snapshot never holds a whole value tree beside the customers built from it.

use super::format::Format;
use crate::error::{Error, Result};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::fmt;

/// An object's entries as unparsed text, in document order.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn entries(raw: &str) -> Option<Vec<(String, &RawValue)>> {
    let t = raw.trim_start();
    if !t.starts_with('{') {
        return None;
    }
    serde_json::from_str::<Entries<'_>>(raw).ok().map(|e| e.0)
}

/// An object's entries, unparsed.
type Fields<'a> = Vec<(String, &'a RawValue)>;

/// The customers section of a split document.
pub(crate) enum Customers<'a> {
    /// No section (absent or null).
    None,
    /// Each customer's id and unparsed record.
    Records(Vec<(String, &'a RawValue)>),
    /// Something other than an object (reported by the loader).
    Other,
}

/// A JSON document as its root without customers (`{"policy": {…}}`) and its customers.
pub(crate) struct Split<'a> {
    pub root: Value,
    pub customers: Customers<'a>,
}

/// Bytes of the document outside `policy.customers` and the text of that section, for valid
/// JSON whose root and policy are objects (`None` otherwise: the tree reader reports it).
fn customers_text(text: &str) -> Option<(usize, Option<&RawValue>, Fields<'_>)> {
    let top = entries(text)?;
    let policy = top.iter().rev().find(|(k, _)| k == "policy")?.1;
    let fields = entries(policy.get())?;
    let customers = fields
        .iter()
        .rev()
        .find(|(k, _)| k == "customers")
        .map(|e| e.1);
    let outside = text.len() - customers.map_or(0, |c| c.get().len());
    Some((outside, customers, fields))
}

fn too_large(size: usize, max: usize) -> Error {
    Error::DocumentTooLarge { size, max }
}

/// Splits JSON text, refusing it when its part outside `policy.customers` is over `max_bytes`;
/// `Ok(None)` for text the split does not apply to (malformed, or a root or policy that is not
/// an object), which the tree reader then reads and reports as before.
pub(crate) fn split(text: &str, max_bytes: usize) -> Result<Option<Split<'_>>> {
    let Some((outside, customers, fields)) = customers_text(text) else {
        return if text.len() > max_bytes {
            Err(too_large(text.len(), max_bytes))
        } else {
            Ok(None)
        };
    };
    if outside > max_bytes {
        return Err(too_large(outside, max_bytes));
    }
    super::duplicates::check(text).map_err(|message| Error::PolicyParse {
        format: "json",
        message,
    })?;
    let mut policy = Map::new();
    for (k, v) in fields {
        if k != "customers" {
            let value: Value = serde_json::from_str(v.get()).map_err(|e| Error::PolicyParse {
                format: "json",
                message: e.to_string(),
            })?;
            policy.insert(k, value);
        }
    }
    let customers = match customers {
        None => Customers::None,
        Some(raw) if raw.get().trim() == "null" => Customers::None,
        Some(raw) => match entries(raw.get()) {
            Some(records) => Customers::Records(records),
            None => Customers::Other,
        },
    };
    let mut root = Map::new();
    root.insert("policy".into(), Value::Object(policy));
    Ok(Some(Split {
        root: Value::Object(root),
        customers,
    }))
}

impl Format {
    /// Reads a document's text into a value tree, with the size cap counted outside
    /// `policy.customers` in JSON (YAML and TOML count the whole text): what loaders of
    /// documents that may hold the engine's own state use instead of [`Format::read`].
    pub fn read_document(self, text: &str, max_bytes: usize) -> Result<Value> {
        if self != Format::Json || text.len() <= max_bytes {
            return self.read(text, max_bytes);
        }
        match customers_text(text) {
            Some((outside, _, _)) if outside <= max_bytes => self.read(text, usize::MAX),
            Some((outside, _, _)) => Err(too_large(outside, max_bytes)),
            None => Err(too_large(text.len(), max_bytes)),
        }
    }
}
