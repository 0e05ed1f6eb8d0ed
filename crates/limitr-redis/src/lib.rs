//! # limitr-redis
//!
//! One limit across many instances: a [`RedisStore`] keeps a [`Limitr`] engine's customers on
//! Redis (≥ 7, or Valkey), so every process, container or worker that opens the same server and
//! prefix enforces the same meters. This is **exact mode**: each decision is made in process by
//! the pure core on a cached copy of the customer, then committed with one server-side function
//! call that checks the version the decision read. A decision made on stale state is never
//! committed: the reply carries the fresh record and the decision is made again on it. So a hard
//! limit is never overspent, however many instances share it, as long as Redis keeps what it
//! acknowledged (run it with `appendfsync always` for hard limits).
//!
//! An uncontended decision costs one round trip (allowed or denied: a denial is checked against
//! the store's version too). Customers are restored from Redis on open: the rules come from the
//! document each instance loads, the customers from the store (the document's customers are
//! added only where Redis has none of the same id).
//!
//! ```no_run
//! use limitr_core::Format;
//! use limitr_redis::Redis;
//!
//! let doc = r#"{"policy": {"credits": {"tok": {}}, "plans": {"free": {"default": true,
//!   "entitlements": {"chat": {"limit": {"credit": "tok", "value": 100}}}}}}}"#;
//! let policy = Redis::at("redis://127.0.0.1:6379").prefix("lim").load(doc, Format::Json)?;
//! policy.ensure_customer("ada", None)?;
//! // every instance that opens the same server and prefix shares ada's 100 tokens
//! let allowed = policy.allow("ada", "chat", 60.into())?;
//! # let _ = allowed;
//! # Ok::<(), limitr_core::Error>(())
//! ```
//!
//! Calls are synchronous and block the calling thread for at most the timeout (default 250 ms)
//! per round trip; an unreachable or silent server makes the call fail with a `STORAGE` error
//! naming the server, never hang. From async code, run calls on a blocking thread (the Node and
//! Python bindings' async calls already run off the event loop).

mod link;
mod store;

pub use link::Calls;
pub use store::RedisStore;

use limitr_core::{Error, Format, Limitr, LoadOptions, Policy};
use std::time::Duration;

/// The call timeout, by default: a round trip with no reply by then fails the call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);
/// Commits tried on a customer that other instances keep changing, by default.
pub const DEFAULT_TRIES: usize = 64;

/// Opens a Redis store: a builder over the options, ending in [`Redis::load`].
#[derive(Debug, Clone)]
pub struct Redis {
    url: String,
    prefix: String,
    timeout: Duration,
    tries: usize,
    calls: Option<Calls>,
    load: LoadOptions,
}

impl Redis {
    /// A store on the server at `url` (`redis://[user:password@]host:port[/db]`), prefix `limitr`.
    pub fn at(url: &str) -> Redis {
        Redis {
            url: url.to_string(),
            prefix: "limitr".into(),
            timeout: DEFAULT_TIMEOUT,
            tries: DEFAULT_TRIES,
            calls: None,
            load: LoadOptions::default(),
        }
    }

    /// The namespace of the customers' keys (`{<prefix>:<id>}:c`): engines with the same prefix
    /// share customers. One prefix must not be another's start followed by `:`.
    pub fn prefix(mut self, prefix: &str) -> Redis {
        self.prefix = prefix.to_string();
        self
    }

    /// How long one round trip may take before the call fails (at least 1 ms).
    pub fn timeout(mut self, timeout: Duration) -> Redis {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many commits one call tries while other instances keep changing its customer.
    pub fn tries(mut self, tries: usize) -> Redis {
        self.tries = tries.max(1);
        self
    }

    /// Forces how commits reach the server (by default the function library, and `EVALSHA`
    /// when the server refuses to load it).
    pub fn calls(mut self, calls: Calls) -> Redis {
        self.calls = Some(calls);
        self
    }

    /// Options for reading the document.
    pub fn load_options(mut self, options: LoadOptions) -> Redis {
        self.load = options;
        self
    }

    /// Reads the document, connects, restores the customers Redis holds under the prefix, and
    /// returns the engine.
    ///
    /// # Errors
    /// The document's errors; `STORAGE` when Redis cannot be reached or holds a record that does
    /// not read against the document's rules (it names the key).
    pub fn load(self, text: &str, format: Format) -> Result<Limitr<RedisStore>, Error> {
        let doc = format.read_document(text, self.load.max_document_bytes)?;
        let (policy, _) = Policy::from_root(&doc)?;
        let ttl = self.load.idempotency_ttl_ms;
        let store = self.open(&policy)?;
        let engine = Limitr::with_store(&doc, store)?;
        match ttl {
            Some(ms) => engine.with_idempotency_ttl(ms),
            None => Ok(engine),
        }
    }

    /// Connects and loads the function library; the store decodes records against `policy`.
    ///
    /// # Errors
    /// `STORAGE` when the address is bad or the server cannot be reached.
    pub fn open(self, policy: &Policy) -> Result<RedisStore, Error> {
        if self.prefix.is_empty() || self.prefix.contains(['{', '}']) {
            return Err(Error::InvalidArgument {
                name: "prefix",
                message: format!(
                    "`{}` must be non-empty and hold no `{{` or `}}` (it is inside the keys' hash tag)",
                    self.prefix
                ),
            });
        }
        let link = link::Link::open(&self.url, self.timeout, self.calls)?;
        Ok(RedisStore::new(
            link,
            self.prefix,
            policy.clone(),
            self.tries,
        ))
    }
}
