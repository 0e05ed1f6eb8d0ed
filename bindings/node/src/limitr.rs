//! The engine a JS handle points at: the core engine, a host-settable clock and an event queue.

use limitr_core::{Clock, Event, SystemClock, Timestamp};
use limitr_journal::JournalStore;

/// The core engine over the store every host shares: memory, or memory plus a journal.
pub type Limitr = limitr_core::Limitr<JournalStore>;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Name under which the event queue is registered as a core handler.
const QUEUE_HANDLER: &str = "@formata/limitr";

/// No time set by the host: read the system clock.
const SYSTEM: i64 = i64::MIN;

/// The system clock, or a fixed time once the host calls `setNow(ms)` (until `setNow(null)`).
#[derive(Debug)]
pub struct HostClock(AtomicI64);

impl Clock for HostClock {
    fn now_ms(&self) -> Timestamp {
        match self.0.load(Ordering::Relaxed) {
            SYSTEM => SystemClock.now_ms(),
            t => t,
        }
    }
}

/// Events waiting for the JS side, flat: name, payload JSON, name, payload JSON, …
type Queue = Arc<Mutex<Vec<String>>>;

/// What an `External` handle holds.
pub struct Engine {
    /// The core engine.
    pub core: Limitr,
    clock: Arc<HostClock>,
    queue: Queue,
}

impl Engine {
    /// Wraps a freshly loaded core engine.
    pub fn new(core: Limitr) -> Self {
        let clock = Arc::new(HostClock(AtomicI64::new(SYSTEM)));
        Engine {
            core: core.with_clock(clock.clone()),
            clock,
            queue: Arc::default(),
        }
    }

    /// Fixes the clock at `ms`, or returns it to the system clock with `None`.
    pub fn set_now(&self, ms: Option<i64>) {
        // `i64::MIN` means "system clock"; a host time of exactly that moves by 1 ms.
        let t = ms.map_or(SYSTEM, |t| t.max(SYSTEM + 1));
        self.clock.0.store(t, Ordering::Relaxed);
    }

    /// Starts (or stops) queueing events; the core builds events only while a handler is registered.
    pub fn collect_events(&self, on: bool) {
        if on {
            let queue = self.queue.clone();
            self.core.add_handler(QUEUE_HANDLER, move |e: &Event| {
                let mut q = queue.lock();
                q.push(e.name.to_string());
                q.push(e.payload_json().to_string());
                Ok(())
            });
        } else {
            self.core.remove_handler(QUEUE_HANDLER);
            self.queue.lock().clear();
        }
    }

    /// Takes the queued events.
    pub fn take_events(&self) -> Vec<String> {
        std::mem::take(&mut *self.queue.lock())
    }
}
