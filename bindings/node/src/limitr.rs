//! The engine a JS handle points at: the core engine, a host-settable clock and an event queue.

use limitr_core::{Clock, Event, SystemClock, Timestamp};
use limitr_host::HostStore;

/// The core engine over the store the host chose: memory, a journal, or Redis.
pub type Limitr = limitr_core::Limitr<HostStore>;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

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
    /// Events queued since the last `take_events`, shared with JS through an external
    /// `ArrayBuffer` (`eventCounter`): the face takes events only when it is not zero.
    pub queued: Arc<AtomicU32>,
}

impl Engine {
    /// Wraps a freshly loaded core engine.
    pub fn new(core: Limitr) -> Self {
        let clock = Arc::new(HostClock(AtomicI64::new(SYSTEM)));
        Engine {
            core: core.with_clock(clock.clone()),
            clock,
            queue: Arc::default(),
            queued: Arc::default(),
        }
    }

    /// Fixes the clock at `ms`, or returns it to the system clock with `None`.
    pub fn set_now(&self, ms: Option<i64>) {
        // `i64::MIN` means "system clock"; a host time of exactly that moves by 1 ms.
        let t = ms.map_or(SYSTEM, |t| t.max(SYSTEM + 1));
        self.clock.0.store(t, Ordering::Relaxed);
    }

    /// Starts (or stops) queueing events, all of them or those named in `events`; the core
    /// builds only the events queued here. An unknown name is `INVALID_ARGUMENT` (`events[i]`).
    pub fn collect_events(&self, on: bool, events: Option<&[String]>) -> limitr_core::Result<()> {
        if on {
            let queue = self.queue.clone();
            let queued = self.queued.clone();
            let handler = move |e: &Event| {
                let mut q = queue.lock();
                q.push(e.name.to_string());
                q.push(e.payload_json().to_string());
                queued.fetch_add(1, Ordering::Release);
                Ok(())
            };
            self.core
                .add_shared_handler(QUEUE_HANDLER, events, Arc::new(handler))
        } else {
            self.core.remove_handler(QUEUE_HANDLER);
            self.queue.lock().clear();
            self.queued.store(0, Ordering::Release);
            Ok(())
        }
    }

    /// Takes the queued events.
    pub fn take_events(&self) -> Vec<String> {
        let mut q = self.queue.lock();
        self.queued.store(0, Ordering::Release);
        std::mem::take(&mut *q)
    }
}
