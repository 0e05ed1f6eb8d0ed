//! Events cross to JS through a buffer: while collecting, a core handler appends each event's name
//! and payload JSON; the TypeScript face drains it with `takeEvents()` after a call that queued some and runs
//! the user's handlers there (so a throwing JS handler never unwinds through WASM).

use limitr_core::Event;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// The name of the core handler that fills the buffer.
pub const COLLECTOR: &str = "__limitr_wasm_collector";

/// Flat `[name, payloadJson, name, payloadJson, …]`, and how many events it holds (a counter the
/// face reads in linear memory, so that it calls `takeEvents()` only when there are some).
#[derive(Debug, Default, Clone)]
pub struct EventBuffer {
    events: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicU32>,
}

impl EventBuffer {
    /// A core handler appending to this buffer.
    pub fn handler(&self) -> impl Fn(&Event) -> Result<(), String> + Send + Sync + 'static {
        let buffer = self.events.clone();
        let count = self.count.clone();
        move |e: &Event| {
            let mut b = buffer.lock();
            b.push(e.name.to_string());
            b.push(e.payload_json().to_string());
            count.fetch_add(1, Ordering::Release);
            Ok(())
        }
    }

    /// Takes everything collected so far.
    pub fn take(&self) -> Vec<String> {
        let mut b = self.events.lock();
        self.count.store(0, Ordering::Release);
        std::mem::take(&mut *b)
    }

    /// The counter's address in linear memory (stable: it lives as long as the engine).
    pub fn counter_address(&self) -> usize {
        Arc::as_ptr(&self.count) as usize
    }
}
