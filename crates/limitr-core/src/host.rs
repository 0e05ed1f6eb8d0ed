//! The load options a host passes as JSON (`{"journal": "./limitr-state", "sync": "batch",
//! "sync_ms": 5, "snapshot_every": 1000000, "max_document_bytes": …, "idempotency_ttl_ms": …,
//! "strict": true}`),
//! read once here for every binding. Unknown keys and wrong types are `INVALID_ARGUMENT` naming
//! the key. The journal options are data here; the `limitr-journal` crate opens the journal.
//! `"store": {"redis": "redis://127.0.0.1:6379", "prefix": "limitr", "timeout_ms": 250, "mode":
//! "exact"}` asks for the shared store on Redis (the `limitr-redis` crate opens it).

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
    /// A shared store instead of memory or a journal.
    pub store: Option<StoreOptions>,
}

/// The shared store a host asked for (`"store": {…}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// The Redis server, `redis://[user:password@]host:port[/db]`.
    pub redis: String,
    /// The namespace of the customers' keys (default `limitr`).
    pub prefix: Option<String>,
    /// The call timeout in ms (default 250).
    pub timeout_ms: Option<u64>,
}

/// The store modes, by name: `exact` (every decision one commit on the store).
pub const STORE_MODES: [&str; 1] = ["exact"];

impl StoreOptions {
    /// Reads `{"redis": url, "prefix"?, "timeout_ms"?, "mode"?: "exact"}`; unknown keys and wrong
    /// types are `INVALID_ARGUMENT` naming them (`store.redis`, …).
    pub fn from_value(v: &Value) -> Result<StoreOptions, Error> {
        let map = v.as_object().ok_or_else(|| {
            bad(
                "store",
                "expected an object such as {\"redis\": \"redis://127.0.0.1:6379\"}",
            )
        })?;
        let mut out = StoreOptions::default();
        let mut redis = None;
        for (k, v) in map {
            if v.is_null() {
                continue;
            }
            match k.as_str() {
                "redis" => {
                    let url = v
                        .as_str()
                        .filter(|u| u.starts_with("redis://") || u.starts_with("rediss://"))
                        .ok_or_else(|| {
                            bad("store.redis", format!("expected a redis:// URL, got `{v}`"))
                        })?;
                    redis = Some(url.to_string());
                }
                "prefix" => {
                    let p = v
                        .as_str()
                        .filter(|p| !p.is_empty())
                        .ok_or_else(|| bad("store.prefix", "expected a non-empty string"))?;
                    out.prefix = Some(p.to_string());
                }
                "timeout_ms" => {
                    let ms = count(v, "store.timeout_ms")?;
                    if ms == 0 {
                        return Err(bad("store.timeout_ms", "must be at least 1"));
                    }
                    out.timeout_ms = Some(ms);
                }
                "mode" => {
                    let m = v.as_str().unwrap_or_default();
                    if !STORE_MODES.contains(&m) {
                        return Err(bad(
                            "store.mode",
                            format!("`{m}` is not available: the store runs in `exact` mode"),
                        ));
                    }
                }
                other => {
                    return Err(bad("store", format!("unknown option `{other}`")));
                }
            }
        }
        out.redis = redis.ok_or_else(|| bad("store.redis", "the Redis URL is required"))?;
        Ok(out)
    }
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
                "store" => out.store = Some(StoreOptions::from_value(v)?),
                other => {
                    return Err(Error::InvalidArgument {
                        name: "options",
                        message: format!("unknown option `{other}`"),
                    });
                }
            }
        }
        out.check()?;
        Ok(out)
    }

    /// Checks that the options go together (a shared store and a journal do not).
    pub fn check(&self) -> Result<(), Error> {
        if self.store.is_some() && self.wants_journal() {
            return Err(bad(
                "store",
                "a shared store and a journal cannot be combined: choose one",
            ));
        }
        Ok(())
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
    fn reads_a_store() {
        let o = HostOptions::from_json(
            r#"{"store": {"redis": "redis://127.0.0.1:6379", "prefix": "app", "timeout_ms": 100, "mode": "exact"}}"#,
        )
        .unwrap();
        assert_eq!(
            o.store,
            Some(StoreOptions {
                redis: "redis://127.0.0.1:6379".into(),
                prefix: Some("app".into()),
                timeout_ms: Some(100),
            })
        );
        for (text, starts) in [
            (
                r#"{"store": {"redis": "http://x"}}"#,
                "store.redis: expected a redis:// URL",
            ),
            (r#"{"store": {}}"#, "store.redis: the Redis URL is required"),
            (
                r#"{"store": {"redis": "redis://x", "mode": "lease"}}"#,
                "store.mode: `lease` is not available",
            ),
            (
                r#"{"store": {"redis": "redis://x", "shards": 3}}"#,
                "store: unknown option `shards`",
            ),
            (
                r#"{"store": {"redis": "redis://x", "timeout_ms": 0}}"#,
                "store.timeout_ms: must be at least 1",
            ),
            (r#"{"store": "redis://x"}"#, "store: expected an object"),
            (
                r#"{"store": {"redis": "redis://x"}, "journal": "/j"}"#,
                "store: a shared store and a journal",
            ),
        ] {
            let e = HostOptions::from_json(text).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT");
            assert!(e.to_string().starts_with(starts), "{text}: {e}");
        }
    }

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
