//! Events cross to JS through a buffer: while collecting, a core handler appends each event's name
//! and payload JSON; the TypeScript face drains it with `takeEvents()` after every call and runs
//! the user's handlers there (so a throwing JS handler never unwinds through WASM).

use limitr_core::Event;
use parking_lot::Mutex;
use std::sync::Arc;

/// The name of the core handler that fills the buffer.
pub const COLLECTOR: &str = "__limitr_wasm_collector";

/// Flat `[name, payloadJson, name, payloadJson, …]`.
#[derive(Debug, Default, Clone)]
pub struct EventBuffer(Arc<Mutex<Vec<String>>>);

impl EventBuffer {
    /// A core handler appending to this buffer.
    pub fn handler(&self) -> impl Fn(&Event) -> Result<(), String> + Send + Sync + 'static {
        let buffer = self.0.clone();
        move |e: &Event| {
            let mut b = buffer.lock();
            b.push(e.name.to_string());
            b.push(e.payload_json().to_string());
            Ok(())
        }
    }

    /// Takes everything collected so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock())
    }
}
