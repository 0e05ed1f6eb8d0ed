//! Time: epoch milliseconds (UTC) and the injected [`Clock`].
//!
//! The engine never reads the system clock except through [`SystemClock`]; tests and hosts pass a
//! [`ManualClock`] (or any [`Clock`]) so resets and expiries are tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// A source of "now". Implementations must be cheap: the engine asks once per call.
pub trait Clock: Send + Sync {
    /// The current time in epoch milliseconds.
    fn now_ms(&self) -> Timestamp;
}

/// The host's wall clock. The only place in the crate that reads the system time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the single sanctioned read of the system clock"
    )]
    fn now_ms(&self) -> Timestamp {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to. Shareable between threads.
///
/// ```
/// use limitr_core::{Clock, ManualClock};
/// let clock = ManualClock::new(1_000);
/// clock.advance(500);
/// assert_eq!(clock.now_ms(), 1_500);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock stopped at `now` (epoch ms).
    pub fn new(now: Timestamp) -> Self {
        ManualClock(AtomicI64::new(now))
    }
    /// Sets the time.
    pub fn set(&self, now: Timestamp) {
        self.0.store(now, Ordering::SeqCst);
    }
    /// Moves the time forward (or back, with a negative `ms`).
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}
