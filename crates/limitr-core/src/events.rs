//! Events: values with stable kebab-case names, produced by transitions and delivered to handlers
//! after the change is committed, outside any lock.

use parking_lot::RwLock;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A committed change (or a denial) worth telling the host about.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Stable name: `meter-changed`, `meter-overage`, `meter-limit`, `meter-reset`, `customer-set`,
    /// `customer-removed`, `customer-plan-changed`, `customer-topup-granted`.
    pub name: &'static str,
    /// The payload, with snake_case fields as in the reference engine.
    pub payload: Value,
}

impl Event {
    /// The payload as JSON text (exact numbers).
    pub fn payload_json(&self) -> String {
        self.payload.to_string()
    }
}

/// Receives events. Implemented for closures `Fn(&Event) -> Result<(), String>`.
pub trait Handler: Send + Sync {
    /// Handles one event. An error does not undo the decision nor stop other handlers; it is
    /// passed to the engine's error reporter.
    fn handle(&self, event: &Event) -> Result<(), String>;
}

impl<F> Handler for F
where
    F: Fn(&Event) -> Result<(), String> + Send + Sync,
{
    fn handle(&self, event: &Event) -> Result<(), String> {
        self(event)
    }
}

/// Called with (handler name, event name, error) when a handler fails.
pub type ErrorReporter = Arc<dyn Fn(&str, &str, &str) + Send + Sync>;

/// Named handlers, run in registration order.
#[derive(Default)]
pub struct Handlers {
    list: RwLock<Vec<(String, Arc<dyn Handler>)>>,
    any: AtomicBool,
    reporter: RwLock<Option<ErrorReporter>>,
}

impl Handlers {
    /// Adds (or replaces, keeping its place) the handler called `name`.
    pub fn add(&self, name: &str, handler: Arc<dyn Handler>) {
        let mut list = self.list.write();
        match list.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = handler,
            None => list.push((name.to_string(), handler)),
        }
        self.any.store(true, Ordering::Release);
    }
    /// Removes the handler called `name`; true if there was one.
    pub fn remove(&self, name: &str) -> bool {
        let mut list = self.list.write();
        let before = list.len();
        list.retain(|(n, _)| n != name);
        self.any.store(!list.is_empty(), Ordering::Release);
        list.len() != before
    }
    /// Removes every handler.
    pub fn clear(&self) {
        self.list.write().clear();
        self.any.store(false, Ordering::Release);
    }
    /// Whether any handler is registered (events are only built when one is).
    pub fn active(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }
    /// Sets the function told about handler failures (by default they are dropped: the core does no I/O).
    pub fn set_error_reporter(&self, reporter: Option<ErrorReporter>) {
        *self.reporter.write() = reporter;
    }
    /// Delivers events in order to every handler in registration order. Call with no lock held.
    pub fn dispatch(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let list: Vec<(String, Arc<dyn Handler>)> = self.list.read().clone();
        let reporter = self.reporter.read().clone();
        for event in events {
            for (name, h) in &list {
                if let (Err(e), Some(r)) = (h.handle(event), &reporter) {
                    r(name, event.name, &e);
                }
            }
        }
    }
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.list.read().iter().map(|(n, _)| n.clone()).collect();
        f.debug_struct("Handlers").field("names", &names).finish()
    }
}
