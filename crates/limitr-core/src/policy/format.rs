//! Document formats: JSON, YAML and TOML text to a JSON value tree, and back.
//!
//! The tree is `serde_json::Value` with exact (arbitrary-precision) numbers. YAML uses
//! `serde-saphyr` (maintained, panic-free, with alias/depth budgets against "billion laughs"),
//! chosen over the archived `serde_yaml`.
//!
//! YAML and TOML are behind the cargo features `yaml` and `toml` (both default). With a feature
//! off, [`Format::read`] and [`Format::write`] refuse that format with `FORMAT_UNSUPPORTED`; the
//! WASM build turns both off and converts YAML/TOML to and from JSON on the JavaScript side.

use crate::error::{Error, Result};
#[cfg(any(feature = "yaml", feature = "toml"))]
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JSON text.
    Json,
    /// YAML text.
    Yaml,
    /// TOML text.
    Toml,
}

/// Default maximum document size in bytes (32 MiB).
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;

impl Format {
    /// Parses a format name (`json`, `yaml`/`yml`, `toml`; case-insensitive).
    ///
    /// ```
    /// use limitr_core::Format;
    /// assert_eq!(Format::parse("YAML").unwrap(), Format::Yaml);
    /// assert_eq!(Format::parse("stof").unwrap_err().code(), "FORMAT_UNSUPPORTED");
    /// ```
    pub fn parse(name: &str) -> Result<Format> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "yaml" | "yml" => Ok(Format::Yaml),
            "toml" => Ok(Format::Toml),
            "stof" => Err(Error::FormatUnsupported(
                "stof` (the Stof text format; convert the policy to json, yaml or toml".into(),
            )),
            other => Err(Error::FormatUnsupported(other.to_string())),
        }
    }

    /// The format's lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Toml => "toml",
        }
    }

    /// Parses `text` into a value tree, refusing documents over `max_bytes`.
    pub fn read(self, text: &str, max_bytes: usize) -> Result<Value> {
        if text.len() > max_bytes {
            return Err(Error::DocumentTooLarge {
                size: text.len(),
                max: max_bytes,
            });
        }
        let parse_err = |message: String| Error::PolicyParse {
            format: self.name(),
            message,
        };
        match self {
            Format::Json => {
                let v = serde_json::from_str(text).map_err(|e| parse_err(e.to_string()))?;
                super::duplicates::check(text).map_err(parse_err)?;
                Ok(v)
            }
            #[cfg(feature = "yaml")]
            Format::Yaml => serde_saphyr::from_str::<Value>(text)
                .map_err(|e| parse_err(first_line(&e.to_string()))),
            #[cfg(feature = "toml")]
            Format::Toml => toml::from_str::<Value>(text)
                .map_err(|e| parse_err(e.to_string().trim().to_string())),
            #[allow(unreachable_patterns)]
            other => Err(other.not_built()),
        }
    }

    /// The error for a format whose cargo feature is off in this build.
    #[cfg_attr(all(feature = "yaml", feature = "toml"), allow(dead_code))]
    fn not_built(self) -> Error {
        let name = self.name();
        Error::FormatUnsupported(format!(
            "{name}` (limitr-core was built without its `{name}` cargo feature; enable it, \
             or convert the document to json"
        ))
    }

    /// Writes a value tree as text in this format.
    ///
    /// JSON keeps every number exactly. YAML and TOML write a number as a float when its shortest
    /// float text is the same decimal, and otherwise as a quoted decimal string (read back exactly).
    /// TOML has no null: null fields are left out.
    pub fn write(self, value: &Value) -> Result<String> {
        let ser_err = |message: String| Error::Serialize {
            format: self.name(),
            message,
        };
        match self {
            Format::Json => serde_json::to_string_pretty(value).map_err(|e| ser_err(e.to_string())),
            #[cfg(feature = "yaml")]
            Format::Yaml => serde_saphyr::to_string(&Plain {
                value,
                skip_null: false,
            })
            .map_err(|e| ser_err(e.to_string())),
            #[cfg(feature = "toml")]
            Format::Toml => toml::to_string_pretty(&Plain {
                value,
                skip_null: true,
            })
            .map_err(|e| ser_err(e.to_string())),
            #[allow(unreachable_patterns)]
            other => Err(other.not_built()),
        }
    }
}

#[cfg(feature = "yaml")]
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}

/// Serializes a value tree with plain numbers, for serializers other than serde_json.
#[cfg(any(feature = "yaml", feature = "toml"))]
struct Plain<'a> {
    value: &'a Value,
    skip_null: bool,
}

#[cfg(any(feature = "yaml", feature = "toml"))]
impl Serialize for Plain<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.value {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::String(t) => s.serialize_str(t),
            Value::Number(n) => {
                let text = n.to_string();
                if let Ok(i) = text.parse::<i64>() {
                    return s.serialize_i64(i);
                }
                match text.parse::<f64>() {
                    Ok(f) if crate::number::from_f64(f) == crate::number::parse_decimal(&text) => {
                        s.serialize_f64(f)
                    }
                    _ => s.serialize_str(&text),
                }
            }
            Value::Array(items) => {
                let kept: Vec<&Value> = items
                    .iter()
                    .filter(|v| !(self.skip_null && v.is_null()))
                    .collect();
                let mut seq = s.serialize_seq(Some(kept.len()))?;
                for v in kept {
                    seq.serialize_element(&Plain {
                        value: v,
                        skip_null: self.skip_null,
                    })?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut m = s.serialize_map(None)?;
                for (k, v) in map {
                    if self.skip_null && v.is_null() {
                        continue;
                    }
                    m.serialize_entry(
                        k,
                        &Plain {
                            value: v,
                            skip_null: self.skip_null,
                        },
                    )?;
                }
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_numbers_through_every_format() {
        let v: Value = serde_json::from_str(
            r#"{"a": 0.000004, "b": 500000, "c": "x", "d": {"e": [1, 2.5]}, "f": 0.1234567890123456789}"#,
        )
        .unwrap();
        let formats = [
            Some(Format::Json),
            cfg!(feature = "yaml").then_some(Format::Yaml),
            cfg!(feature = "toml").then_some(Format::Toml),
        ];
        for f in formats.into_iter().flatten() {
            let text = f.write(&v).unwrap();
            let back = f.read(&text, usize::MAX).unwrap();
            for key in ["a", "b", "f"] {
                assert_eq!(
                    crate::number::from_value(&back[key]),
                    crate::number::from_value(&v[key]),
                    "{f:?} {key}: {text}"
                );
            }
            assert_eq!(back["d"]["e"][1].to_string().parse::<f64>().unwrap(), 2.5);
        }
    }

    #[test]
    fn rejects_large_and_malformed() {
        assert_eq!(
            Format::Json.read("{}", 1).unwrap_err().code(),
            "DOCUMENT_TOO_LARGE"
        );
        assert_eq!(
            Format::Json.read("{", 100).unwrap_err().code(),
            "POLICY_PARSE"
        );
    }

    #[cfg(feature = "toml")]
    #[test]
    fn rejects_malformed_toml() {
        assert_eq!(
            Format::Toml.read("a = ", 100).unwrap_err().code(),
            "POLICY_PARSE"
        );
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn rejects_malformed_yaml() {
        assert_eq!(
            Format::Yaml.read("a: [", 100).unwrap_err().code(),
            "POLICY_PARSE"
        );
    }

    #[test]
    fn formats_without_their_feature_are_refused() {
        let v = Value::Null;
        for (f, built) in [
            (Format::Yaml, cfg!(feature = "yaml")),
            (Format::Toml, cfg!(feature = "toml")),
        ] {
            if built {
                continue;
            }
            for err in [f.read("a", 100).unwrap_err(), f.write(&v).unwrap_err()] {
                assert_eq!(err.code(), "FORMAT_UNSUPPORTED");
                assert!(err.to_string().contains("cargo feature"), "{err}");
            }
        }
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn yaml_alias_bomb_is_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = Format::Yaml.read(&doc, usize::MAX).unwrap_err();
        assert_eq!(err.code(), "POLICY_PARSE");
    }
}
