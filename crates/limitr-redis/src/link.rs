//! The connections to Redis: a small pool of blocking connections, each call bounded by the
//! timeout, and the commit function (a Redis Function library, or the same Lua through `EVALSHA`
//! where functions are refused).

use limitr_core::Error;
use parking_lot::Mutex;
use redis::{Connection, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The Lua of both entry points.
const BODY: &str = include_str!("commit.lua");
/// The library's name: a new version of the Lua gets a new name, so engines of two versions
/// sharing one Redis each call their own.
const LIBRARY: &str = "limitr_v1";
const COMMIT: &str = "limitr_v1_commit";
const REMOVE: &str = "limitr_v1_remove";

/// How the commit reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calls {
    /// `FCALL` of the library loaded at open (functions persist and replicate with the data).
    Function,
    /// `EVALSHA` of the same Lua, loaded again when the server answers `NOSCRIPT`.
    Eval,
}

/// One customer of a commit: its key, the version the decision read (`None`: it read no
/// customer), and its post-image (`None`: unchanged).
pub(crate) type Part<'a> = (&'a str, Option<u64>, Option<&'a [u8]>);
/// A customer as the store holds it: its version and its record (`None`: no customer).
pub(crate) type Row = (u64, Option<Vec<u8>>);

/// A reply of the commit function.
pub(crate) enum Reply {
    /// Every version matched; the versions after the commit, in key order.
    Committed(Vec<u64>),
    /// Some version did not: the fresh `(version, record)` of every key (`None`: no customer).
    Stale(Vec<Row>),
}

pub(crate) struct Link {
    client: redis::Client,
    /// What the errors name: the server's address (never its password).
    pub(crate) name: String,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    calls: Mutex<Calls>,
    commit_script: redis::Script,
    remove_script: redis::Script,
    /// Round trips made (commits, reads, removes, scans), for tests and benches.
    pub(crate) trips: AtomicU64,
    /// Whether the library is known to be loaded on the server (else the next call loads it).
    loaded: AtomicBool,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("server", &self.name)
            .field("timeout", &self.timeout)
            .field("calls", &*self.calls.lock())
            .finish()
    }
}

/// Whether a server error means the library is not there (a restarted server without
/// persistence, a flushed one).
fn missing_function(e: &redis::RedisError) -> bool {
    e.to_string().contains("Function not found")
}

fn storage(name: &str, what: &str) -> Error {
    Error::Storage(format!("redis `{name}`: {what}"))
}

impl Link {
    pub(crate) fn open(url: &str, timeout: Duration, calls: Option<Calls>) -> Result<Link, Error> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::Storage(format!("redis: `{url}` is not a Redis address: {e}")))?;
        let info = client.get_connection_info();
        let name = info.addr().to_string();
        let link = Link {
            client,
            name,
            timeout,
            idle: Mutex::new(Vec::new()),
            calls: Mutex::new(calls.unwrap_or(Calls::Function)),
            commit_script: redis::Script::new(&format!("{BODY}\nreturn commit(KEYS, ARGV)")),
            remove_script: redis::Script::new(&format!("{BODY}\nreturn remove(KEYS, ARGV)")),
            trips: AtomicU64::new(0),
            loaded: AtomicBool::new(false),
        };
        let mut con = link.connect()?;
        match calls {
            Some(Calls::Eval) => {}
            Some(Calls::Function) => link.load_library(&mut con)?,
            None => {
                if link.load_library(&mut con).is_err() {
                    // the host refuses functions (ACLs, an old server): the same Lua through EVALSHA
                    *link.calls.lock() = Calls::Eval;
                }
            }
        }
        link.idle.lock().push(con);
        Ok(link)
    }

    /// How commits reach the server.
    pub(crate) fn calls(&self) -> Calls {
        *self.calls.lock()
    }

    fn load_library(&self, con: &mut Connection) -> Result<(), Error> {
        let library = format!(
            "#!lua name={LIBRARY}\n{BODY}\nredis.register_function('{COMMIT}', commit)\n\
             redis.register_function('{REMOVE}', remove)\n"
        );
        redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg("REPLACE")
            .arg(library)
            .query::<Value>(con)
            .map_err(|e| self.failed(&e, "cannot load the function library"))?;
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    fn connect(&self) -> Result<Connection, Error> {
        let con = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(|e| self.failed(&e, "cannot connect"))?;
        con.set_read_timeout(Some(self.timeout))
            .and_then(|()| con.set_write_timeout(Some(self.timeout)))
            .map_err(|e| self.failed(&e, "cannot set the timeout"))?;
        Ok(con)
    }

    /// A connection from the pool, or a new one.
    fn take(&self) -> Result<Connection, Error> {
        match self.idle.lock().pop() {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    fn failed(&self, e: &redis::RedisError, what: &str) -> Error {
        if e.is_timeout() {
            return storage(
                &self.name,
                &format!(
                    "{what}: no reply within {} ms (a change it carried may or may not be \
                     applied: retry with an idempotency key)",
                    self.timeout.as_millis()
                ),
            );
        }
        storage(&self.name, &format!("{what}: {e}"))
    }

    /// Runs `op` on a pooled connection. A connection that failed is dropped (a late reply must
    /// never be read as the answer to a later call), and with it every idle one (they were opened
    /// before the same failure). `retry`: the call changes nothing, so it is sent again once on a
    /// new connection when a pooled one turns out to be dead.
    fn with<T>(
        &self,
        what: &str,
        retry: bool,
        op: impl Fn(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, Error> {
        let mut tries = if retry { 2 } else { 1 };
        loop {
            tries -= 1;
            let mut con = self.take()?;
            self.trips.fetch_add(1, Ordering::Relaxed);
            match op(&mut con) {
                Ok(v) => {
                    self.idle.lock().push(con);
                    return Ok(v);
                }
                Err(e) => {
                    self.idle.lock().clear();
                    if tries > 0
                        && (e.is_io_error() || e.is_connection_dropped())
                        && !e.is_timeout()
                    {
                        continue;
                    }
                    return Err(self.failed(&e, what));
                }
            }
        }
    }

    /// One commit: `(key, version read or None, post-image or None)` per customer.
    pub(crate) fn commit(&self, parts: &[Part<'_>]) -> Result<Reply, Error> {
        let writes = parts.iter().any(|p| p.2.is_some());
        let keys: Vec<&str> = parts.iter().map(|p| p.0).collect();
        let mut args: Vec<Vec<u8>> = parts
            .iter()
            .map(|p| {
                p.1.map_or_else(|| b"-".to_vec(), |v| v.to_string().into_bytes())
            })
            .collect();
        args.extend(
            parts
                .iter()
                .map(|p| p.2.map(<[u8]>::to_vec).unwrap_or_default()),
        );
        let value = self.call(COMMIT, &self.commit_script, &keys, &args, !writes)?;
        self.parse_commit(value, parts.len())
    }

    /// Removes a customer; its record, if it had one.
    pub(crate) fn remove(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        match self.call(REMOVE, &self.remove_script, &[key], &[], false)? {
            Value::BulkString(b) if !b.is_empty() => Ok(Some(b)),
            _ => Ok(None),
        }
    }

    fn call(
        &self,
        function: &str,
        script: &redis::Script,
        keys: &[&str],
        args: &[Vec<u8>],
        retry: bool,
    ) -> Result<Value, Error> {
        let calls = self.calls();
        self.with("commit", retry, |con| {
            if calls == Calls::Eval {
                let mut inv = script.prepare_invoke();
                for k in keys {
                    inv.key(*k);
                }
                for a in args {
                    inv.arg(a.as_slice());
                }
                return inv.invoke(con);
            }
            let fcall = || {
                let mut c = redis::cmd("FCALL");
                c.arg(function).arg(keys.len()).arg(keys).arg(args);
                c
            };
            match fcall().query::<Value>(con) {
                Err(e) if missing_function(&e) => {
                    // the server lost the library (restarted without persistence, flushed):
                    // load it again and call once more; nothing ran
                    self.loaded.store(false, Ordering::Release);
                    self.load_library(con).map_err(|e| {
                        redis::RedisError::from(std::io::Error::other(e.to_string()))
                    })?;
                    fcall().query(con)
                }
                r => r,
            }
        })
    }

    fn parse_commit(&self, value: Value, n: usize) -> Result<Reply, Error> {
        let bad = || {
            storage(
                &self.name,
                "the commit function answered something unexpected",
            )
        };
        let Value::Array(items) = value else {
            return Err(bad());
        };
        let mut it = items.into_iter();
        let ok = match it.next() {
            Some(Value::Int(i)) => i == 1,
            _ => return Err(bad()),
        };
        let version = |v: Option<Value>| -> Result<u64, Error> {
            match v {
                Some(Value::BulkString(b)) => std::str::from_utf8(&b)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(bad),
                Some(Value::Int(i)) => u64::try_from(i).map_err(|_| bad()),
                _ => Err(bad()),
            }
        };
        if ok {
            let versions: Vec<u64> = it.map(|v| version(Some(v))).collect::<Result<_, _>>()?;
            if versions.len() != n {
                return Err(bad());
            }
            return Ok(Reply::Committed(versions));
        }
        let mut fresh = Vec::with_capacity(n);
        for _ in 0..n {
            let v = version(it.next())?;
            let r = match it.next() {
                Some(Value::BulkString(b)) if !b.is_empty() => Some(b),
                Some(Value::BulkString(_)) => None,
                _ => return Err(bad()),
            };
            fresh.push((v, r));
        }
        Ok(Reply::Stale(fresh))
    }

    /// Every key matching `pattern` (a `SCAN`, so the server is never blocked by it).
    pub(crate) fn scan(&self, pattern: &str) -> Result<Vec<String>, Error> {
        self.with("scan", true, |con| {
            let mut keys = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query(con)?;
                keys.extend(batch);
                if next == 0 {
                    return Ok(keys);
                }
                cursor = next;
            }
        })
    }

    /// `(version, record)` of each key, read in one `MULTI`/`EXEC` (one cut).
    pub(crate) fn read_all(&self, keys: &[String]) -> Result<Vec<Row>, Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.with("read", true, |con| {
            let mut p = redis::pipe();
            p.atomic();
            for k in keys {
                p.cmd("HMGET").arg(k).arg("v").arg("r");
            }
            let rows: Vec<(Option<u64>, Option<Vec<u8>>)> = p.query(con)?;
            Ok(rows
                .into_iter()
                .map(|(v, r)| (v.unwrap_or(0), r.filter(|r| !r.is_empty())))
                .collect())
        })
    }
}
