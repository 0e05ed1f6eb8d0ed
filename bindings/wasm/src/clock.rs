//! The clock of a WASM engine: `Date.now()` unless JS pinned the time with `setNow(ms)`.
//!
//! `SystemClock` reads `std::time`, which panics on `wasm32-unknown-unknown`, so the binding always
//! installs this one.

use limitr_core::{Clock, Timestamp};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// `Date.now()` (on the host target, when compiled for tests: the system clock), or a pinned time.
#[derive(Debug, Default)]
pub struct HostClock {
    pinned: AtomicBool,
    at: AtomicI64,
}

impl HostClock {
    /// Pins the time to `ms`, or returns to the wall clock with `None`.
    pub fn set(&self, ms: Option<Timestamp>) {
        if let Some(ms) = ms {
            self.at.store(ms, Ordering::Relaxed);
        }
        self.pinned.store(ms.is_some(), Ordering::Relaxed);
    }
}

impl Clock for HostClock {
    fn now_ms(&self) -> Timestamp {
        if self.pinned.load(Ordering::Relaxed) {
            return self.at.load(Ordering::Relaxed);
        }
        wall_ms()
    }
}

#[cfg(target_arch = "wasm32")]
fn wall_ms() -> Timestamp {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "Date.now() is an integral count of ms, far inside i64"
    )]
    let ms = js_sys::Date::now() as Timestamp;
    ms
}

#[cfg(not(target_arch = "wasm32"))]
fn wall_ms() -> Timestamp {
    limitr_core::SystemClock.now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_and_releases() {
        let c = HostClock::default();
        c.set(Some(42));
        assert_eq!(c.now_ms(), 42);
        c.set(None);
        assert!(c.now_ms() > 1_700_000_000_000);
    }
}
