//! Per-(customer, entitlement) usage state and its period arithmetic.

use crate::number::{self, Decimal};
use crate::policy::reset::ResetRule;
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A customer's meters, stored inline for the usual handful (no extra allocation to chase).
pub type Meters = smallvec::SmallVec<[Meter; 3]>;

/// Usage of one entitlement by one customer in the current period.
#[derive(Debug, Clone, PartialEq)]
pub struct Meter {
    /// The entitlement metered.
    pub entitlement: Arc<str>,
    /// The credit the value is counted in.
    pub credit: Arc<str>,
    /// Start of the recorded period (epoch ms).
    pub started: Timestamp,
    /// Usage this period, in credit units.
    pub value: Decimal,
    /// Provider cost this period, in runes.
    pub overhead: Decimal,
}

impl Meter {
    /// A zero meter starting at `now`.
    pub fn new(entitlement: Arc<str>, credit: Arc<str>, now: Timestamp) -> Self {
        Meter {
            entitlement,
            credit,
            started: now,
            value: Decimal::ZERO,
            overhead: Decimal::ZERO,
        }
    }

    /// The start of the period `now` falls in, when it differs from the recorded one (a reset is due).
    pub fn pending_reset(&self, rule: Option<&ResetRule>, now: Timestamp) -> Option<Timestamp> {
        let start = rule?.period_start(self.started, now);
        (start != self.started).then_some(start)
    }

    /// Usage in the period `now` falls in: 0 when a reset is due (reads never mutate).
    pub fn current_value(&self, rule: Option<&ResetRule>, now: Timestamp) -> Decimal {
        if self.pending_reset(rule, now).is_some() {
            Decimal::ZERO
        } else {
            self.value
        }
    }

    /// This meter as it is after the reset that `now` makes due (or unchanged).
    pub fn rolled(&self, rule: Option<&ResetRule>, now: Timestamp) -> (Meter, bool) {
        match self.pending_reset(rule, now) {
            Some(started) => (
                Meter {
                    started,
                    value: Decimal::ZERO,
                    overhead: Decimal::ZERO,
                    ..self.clone()
                },
                true,
            ),
            None => (self.clone(), false),
        }
    }

    /// The meter's record: `{credit, started, value, overhead}`.
    pub fn record(&self) -> Value {
        let mut m = Map::new();
        m.insert("credit".into(), Value::String(self.credit.to_string()));
        m.insert("started".into(), Value::from(self.started));
        m.insert("value".into(), number::to_value(self.value));
        m.insert("overhead".into(), number::to_value(self.overhead));
        Value::Object(m)
    }
}
