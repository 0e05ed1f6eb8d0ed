//! The load options a host passes as JSON (`{"journal": "./limitr-state", "sync": "batch",
//! "sync_ms": 5, "snapshot_every": 1000000, "max_document_bytes": …, "idempotency_ttl_ms": …,
//! "strict": true}`),
//! read once here for every binding. Unknown keys and wrong types are `INVALID_ARGUMENT` naming
//! the key. The journal options are data here; the `limitr-journal` crate opens the journal.

use crate::engine::LoadOptions;
use crate::error::Error;
use serde_json::Value;

/// The journal's sync modes, by name.
pub const SYNC_MODES: [&str; 3] = ["always", "batch", "os"];

/// What a host asked for when loading a document.
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// The journal directory; `None`: memory only.
    pub journal: Option<String>,
    /// `always`, `batch` or `os` (default `batch`).
    pub sync: Option<String>,
    /// The `batch` interval in ms (default 5).
    pub sync_ms: Option<u64>,
    /// Records between snapshots (default 1M; 0: only when asked).
    pub snapshot_every: Option<u64>,
    /// Largest document text accepted, in bytes.
    pub max_document_bytes: Option<usize>,
    /// How long idempotency keys are remembered, in ms (default: the policy's, else 24 h).
    pub idempotency_ttl_ms: Option<u64>,
    /// Unknown references raise their typed error (default false).
    pub strict: Option<bool>,
}

fn bad(name: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidArgument {
        name,
        message: message.into(),
    }
}

fn count(v: &Value, name: &'static str) -> Result<u64, Error> {
    v.as_u64()
        .ok_or_else(|| bad(name, format!("expected a non-negative integer, got `{v}`")))
}

impl HostOptions {
    /// Reads options from JSON text (an object; `null` or empty text: none).
    pub fn from_json(text: &str) -> Result<HostOptions, Error> {
        if text.trim().is_empty() {
            return Ok(HostOptions::default());
        }
        let v: Value = serde_json::from_str(text)
            .map_err(|e| bad("options", format!("not valid JSON: {e}")))?;
        let mut out = HostOptions::default();
        let Some(map) = v.as_object() else {
            return match v {
                Value::Null => Ok(out),
                _ => Err(bad("options", "expected an object")),
            };
        };
        for (k, v) in map {
            if v.is_null() {
                continue;
            }
            match k.as_str() {
                "journal" => {
                    let s = v
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| bad("journal", "expected a directory path"))?;
                    out.journal = Some(s.to_string());
                }
                "sync" => {
                    let s = v
                        .as_str()
                        .ok_or_else(|| bad("sync", "expected always, batch or os"))?;
                    if !SYNC_MODES.contains(&s) {
                        return Err(bad(
                            "sync",
                            format!("`{s}` is not a sync mode: use always, batch or os"),
                        ));
                    }
                    out.sync = Some(s.to_string());
                }
                "sync_ms" => out.sync_ms = Some(count(v, "sync_ms")?),
                "snapshot_every" => out.snapshot_every = Some(count(v, "snapshot_every")?),
                "max_document_bytes" => {
                    let n = count(v, "max_document_bytes")?;
                    out.max_document_bytes = Some(usize::try_from(n).unwrap_or(usize::MAX));
                }
                "idempotency_ttl_ms" => {
                    out.idempotency_ttl_ms = Some(count(v, "idempotency_ttl_ms")?);
                }
                "strict" => {
                    out.strict =
                        Some(v.as_bool().ok_or_else(|| {
                            bad("strict", format!("expected a boolean, got `{v}`"))
                        })?);
                }
                other => {
                    return Err(Error::InvalidArgument {
                        name: "options",
                        message: format!("unknown option `{other}`"),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Whether any journal option is set.
    pub fn wants_journal(&self) -> bool {
        self.journal.is_some()
            || self.sync.is_some()
            || self.sync_ms.is_some()
            || self.snapshot_every.is_some()
    }

    /// The options of reading the document itself.
    pub fn load_options(&self) -> LoadOptions {
        let mut o = LoadOptions::default();
        if let Some(n) = self.max_document_bytes {
            o.max_document_bytes = n;
        }
        o.idempotency_ttl_ms = self
            .idempotency_ttl_ms
            .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
        o.strict = self.strict.unwrap_or(false);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_wrong() {
        let e = HostOptions::from_json(r#"{"shard": true}"#).unwrap_err();
        assert_eq!(e.to_string(), "options: unknown option `shard`");
        let e = HostOptions::from_json(r#"{"sync": "sometimes"}"#).unwrap_err();
        assert!(e.to_string().starts_with("sync: `sometimes`"), "{e}");
        let e = HostOptions::from_json(r#"{"sync_ms": -1}"#).unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
        assert!(e.to_string().starts_with("sync_ms:"), "{e}");
        let o =
            HostOptions::from_json(r#"{"journal": "/x", "sync": "os", "sync_ms": null}"#).unwrap();
        assert_eq!(
            (o.journal.as_deref(), o.sync.as_deref()),
            (Some("/x"), Some("os"))
        );
    }
}
