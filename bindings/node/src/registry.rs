//! Engines by handle: a JS `number` indexes this table. A free function taking a `u32` is the cheapest
//! napi call; an `External` costs a locked hash lookup in napi-rs per call.

use crate::error::{Result, invalid};
use crate::limitr::Engine;
use parking_lot::RwLock;

static ENGINES: RwLock<Vec<Option<Engine>>> = RwLock::new(Vec::new());

/// Stores an engine; returns its handle (a free slot is reused).
pub fn insert(engine: Engine) -> Result<u32> {
    let mut table = ENGINES.write();
    let slot = match table.iter().position(Option::is_none) {
        Some(i) => i,
        None => {
            table.push(None);
            table.len() - 1
        }
    };
    let handle = u32::try_from(slot).map_err(|_| invalid("load", "too many engines"))?;
    if let Some(s) = table.get_mut(slot) {
        *s = Some(engine);
    }
    Ok(handle)
}

/// Drops the engine behind `handle`.
pub fn remove(handle: u32) {
    let taken = ENGINES
        .write()
        .get_mut(handle as usize)
        .and_then(Option::take);
    drop(taken); // outside the lock
}

/// Runs `f` on the engine behind `handle`. The read lock is shared: calls never wait on each other,
/// only on `load`/`free`. `f` must not call back into JS (the event queue does not).
pub fn with<T>(handle: u32, f: impl FnOnce(&Engine) -> Result<T>) -> Result<T> {
    let table = ENGINES.read();
    match table.get(handle as usize) {
        Some(Some(engine)) => f(engine),
        _ => Err(invalid("handle", "no such engine (freed)")),
    }
}
