//! Duplicate keys in JSON text. A JSON parser keeps the last of `"value": 500000, "value": 5`, so a
//! document would silently mean something other than one of the lines it shows; YAML and TOML
//! refuse it, and so does the JSON reader: a second pass over valid text finds the first key
//! repeated within one object and names it with its path.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Where a node is: its parent and its key or index (the path is written only for an error).
#[derive(Clone, Copy)]
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Root => Ok(()),
            At::Key(At::Root, k) => write!(f, "{k}"),
            At::Index(At::Root, i) => write!(f, "{i}"),
            At::Key(parent, k) => write!(f, "{parent}.{k}"),
            At::Index(parent, i) => write!(f, "{parent}.{i}"),
        }
    }
}

/// Visits one node, refusing a repeated key in any object below it.
struct Node<'a>(At<'a>);

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Node(At::Index(&self.0, i)))?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: hashbrown::HashSet<String> = hashbrown::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                let at = At::Key(&self.0, &key);
                return Err(de::Error::custom(format!("{at}: duplicate key `{key}`")));
            }
            map.next_value_seed(Node(At::Key(&self.0, &key)))?;
            seen.insert(key);
        }
        Ok(())
    }
}

/// Checks JSON text (already known to parse) for a key repeated within one object; the error
/// message names the key and its dotted path (`policy.plans.pro.entitlements.chat.limit.value:
/// duplicate key `value` at line 1 column 80`).
pub(crate) fn check(text: &str) -> Result<(), String> {
    let mut d = serde_json::Deserializer::from_str(text);
    Node(At::Root)
        .deserialize(&mut d)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code fails loudly")]
    use super::check;

    #[test]
    fn names_the_repeated_key_and_its_path() {
        let text = r#"{"policy": {"plans": {"pro": {"entitlements": {"chat": {"limit":
            {"credit": "tok", "value": 500000, "value": 5}}}}}}}"#;
        let e = check(text).unwrap_err();
        assert!(
            e.starts_with("policy.plans.pro.entitlements.chat.limit.value: duplicate key `value`"),
            "{e}"
        );
        let e = check(r#"{"a": [{"x": 1}, {"y": 2, "y": 3}]}"#).unwrap_err();
        assert!(e.starts_with("a.1.y: duplicate key `y`"), "{e}");
        check(r#"{"a": {"x": 1}, "b": {"x": 1.5e300, "n": null, "t": [true, "s"]}}"#).unwrap();
    }
}
