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
    /// The last committed changes, for usage trends (inline: no allocation on the hot path).
    pub trend: Trend,
    /// The rate governor, holds and learned estimates (allocated on first use).
    pub extra: Option<Box<MeterExtra>>,
}

/// The last three committed changes of a meter and their exponentially weighted rate.
///
/// Deltas are kept as `f64`: trends are rates in floating point; the meter's value
/// itself stays exact.
///
/// ```
/// use limitr_core::meter::Trend;
/// let mut t = Trend::default();
/// t.push(1_000, 10.0, 0.5);
/// t.push(1_010, 20.0, 0.5);
/// assert_eq!(t.rate(), Some(2.0));
/// assert_eq!(t.changes().count(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Trend {
    at: [Timestamp; 3],
    delta: [f64; 3],
    len: u8,
    /// Exponentially weighted rate (units per ms), once two changes are known.
    pub ewma_rate: Option<f64>,
}

/// Room set aside on a meter by `reserve`, until settled, released or expired.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    /// `hold_…` id (inline: no allocation).
    pub id: compact_str::CompactString,
    /// Units held.
    pub value: Decimal,
    /// Provider cost expected for them (runes).
    pub overhead: Decimal,
    /// When it stops counting (epoch ms).
    pub expires: Timestamp,
    /// The call's size basis, for learning estimates at settle.
    pub basis: Option<f64>,
    /// The estimate segment, for learning estimates at settle.
    pub segment: Option<String>,
}

impl Hold {
    /// Whether it still counts at `now`.
    pub fn live(&self, now: Timestamp) -> bool {
        now < self.expires
    }
}

/// The less common state of a meter, boxed so plain meters stay small.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeterExtra {
    /// Governor bucket: tokens left and when it was last refilled.
    pub governor: Option<(Decimal, Timestamp)>,
    /// Outstanding holds.
    pub holds: Vec<Hold>,
    /// This customer's learned estimates, by segment.
    pub estimates: Vec<(String, crate::estimate::Estimate)>,
}

impl MeterExtra {
    /// Units held by unexpired holds at `now`.
    pub fn held(&self, now: Timestamp) -> Decimal {
        self.holds
            .iter()
            .filter(|h| h.live(now))
            .map(|h| h.value)
            .sum()
    }
}

impl Trend {
    /// Records a committed change and updates the smoothed rate.
    pub fn push(&mut self, now: Timestamp, delta: f64, alpha: f64) {
        let ([a0, a1, a2], [d0, d1, d2]) = (self.at, self.delta);
        (self.at, self.delta) = match self.len {
            0 => ([now, a1, a2], [delta, d1, d2]),
            1 => ([a0, now, a2], [d0, delta, d2]),
            2 => ([a0, a1, now], [d0, d1, delta]),
            _ => ([a1, a2, now], [d1, d2, delta]),
        };
        self.len = (self.len + 1).min(3);
        if let Some(rate) = self.rate() {
            self.ewma_rate = Some(match self.ewma_rate {
                Some(prev) => alpha * rate + (1.0 - alpha) * prev,
                None => rate,
            });
        }
    }

    /// The trend's state, for a store that writes it compactly: change times, deltas, how many
    /// are recorded, and the smoothed rate.
    pub fn parts(&self) -> ([Timestamp; 3], [f64; 3], u8, Option<f64>) {
        (self.at, self.delta, self.len, self.ewma_rate)
    }

    /// A trend from its [`parts`](Self::parts); `None` when `len` is over 3.
    pub fn from_parts(
        at: [Timestamp; 3],
        delta: [f64; 3],
        len: u8,
        ewma_rate: Option<f64>,
    ) -> Option<Trend> {
        (len <= 3).then_some(Trend {
            at,
            delta,
            len,
            ewma_rate,
        })
    }

    /// Forgets every change (a new period).
    pub fn clear(&mut self) {
        *self = Trend::default();
    }

    /// Whether no change is recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.ewma_rate.is_none()
    }

    /// The recorded changes `(time, delta)`, oldest first.
    pub fn changes(&self) -> impl Iterator<Item = (Timestamp, f64)> + '_ {
        self.at
            .iter()
            .copied()
            .zip(self.delta.iter().copied())
            .take(usize::from(self.len))
    }

    /// Units per ms over the last two changes (`None` with fewer than two).
    pub fn rate(&self) -> Option<f64> {
        let ([a0, a1, a2], [_, d1, d2]) = (self.at, self.delta);
        let (t1, t2, d2) = match self.len {
            2 => (a0, a1, d1),
            3 => (a1, a2, d2),
            _ => return None,
        };
        let dt = t2.saturating_sub(t1);
        if dt <= 0 {
            return None;
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "a millisecond span as a rate divisor"
        )]
        Some(d2 / dt as f64)
    }

    /// Change of the rate over the last three changes (`None` with fewer than three).
    pub fn acceleration(&self) -> Option<f64> {
        if self.len < 3 {
            return None;
        }
        let ([t0, t1, t2], [_, d1, d2]) = (self.at, self.delta);
        let (dt1, dt2) = (t1.saturating_sub(t0), t2.saturating_sub(t1));
        if dt1 <= 0 || dt2 <= 0 {
            return None;
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "millisecond spans as rate divisors"
        )]
        Some(d2 / dt2 as f64 - d1 / dt1 as f64)
    }
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
            trend: Trend::default(),
            extra: None,
        }
    }

    /// Units held on this meter at `now`.
    pub fn held(&self, now: Timestamp) -> Decimal {
        self.extra.as_ref().map_or(Decimal::ZERO, |x| x.held(now))
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

    /// The meter's record: `{credit, started, value, overhead}`.
    pub fn record(&self) -> Value {
        let mut m = Map::new();
        m.insert("credit".into(), Value::String(self.credit.to_string()));
        m.insert("started".into(), Value::from(self.started));
        m.insert("value".into(), number::to_value(self.value));
        m.insert("overhead".into(), number::to_value(self.overhead));
        if !self.trend.is_empty() {
            let history: Vec<Value> = self
                .trend
                .changes()
                .map(|(ts, d)| {
                    let mut h = Map::new();
                    h.insert("ts".into(), Value::from(ts));
                    h.insert(
                        "delta".into(),
                        number::from_f64(d).map_or(Value::Null, number::to_value),
                    );
                    Value::Object(h)
                })
                .collect();
            m.insert("history".into(), Value::Array(history));
            m.insert(
                "ewma_rate".into(),
                self.trend
                    .ewma_rate
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number),
            );
        }
        if let Some(x) = &self.extra {
            if let Some((tokens, at)) = x.governor {
                m.insert("governor_tokens".into(), number::to_value(tokens));
                m.insert("governor_last_refill".into(), Value::from(at));
            }
            if !x.holds.is_empty() {
                let holds: Map<String, Value> = x
                    .holds
                    .iter()
                    .map(|h| {
                        let mut o = Map::new();
                        o.insert("value".into(), number::to_value(h.value));
                        o.insert("overhead".into(), number::to_value(h.overhead));
                        o.insert("expires".into(), Value::from(h.expires));
                        o.insert(
                            "basis".into(),
                            h.basis
                                .and_then(serde_json::Number::from_f64)
                                .map_or(Value::Null, Value::Number),
                        );
                        o.insert(
                            "segment".into(),
                            h.segment.clone().map_or(Value::Null, Value::String),
                        );
                        (h.id.to_string(), Value::Object(o))
                    })
                    .collect();
                m.insert("holds".into(), Value::Object(holds));
            }
            if !x.estimates.is_empty() {
                let est: Map<String, Value> = x
                    .estimates
                    .iter()
                    .map(|(k, e)| (k.clone(), e.record()))
                    .collect();
                m.insert("estimates".into(), Value::Object(est));
            }
        }
        Value::Object(m)
    }

    /// Reads the trend of a meter record (`history`, `ewma_rate`).
    pub fn trend_from_record(v: &Value) -> Trend {
        let mut t = Trend::default();
        let changes: Vec<(Timestamp, f64)> = v
            .get("history")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|h| Some((h.get("ts")?.as_i64()?, h.get("delta")?.as_f64()?)))
            .collect();
        for (ts, d) in changes.iter().rev().take(3).rev() {
            t.push(*ts, *d, 0.0);
        }
        t.ewma_rate = v.get("ewma_rate").and_then(Value::as_f64);
        t
    }

    /// Reads the optional state of a meter record (governor, holds, estimates).
    pub fn extra_from_record(v: &Value) -> Option<Box<MeterExtra>> {
        let mut x = MeterExtra::default();
        if let (Some(t), Some(at)) = (
            v.get("governor_tokens").and_then(number::from_value),
            v.get("governor_last_refill").and_then(Value::as_i64),
        ) {
            x.governor = Some((t, at));
        }
        for (id, h) in v
            .get("holds")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let (Some(value), Some(expires)) = (
                h.get("value").and_then(number::from_value),
                h.get("expires").and_then(Value::as_i64),
            ) else {
                continue;
            };
            x.holds.push(Hold {
                id: id.as_str().into(),
                value,
                overhead: h
                    .get("overhead")
                    .and_then(number::from_value)
                    .unwrap_or_default(),
                expires,
                basis: h.get("basis").and_then(Value::as_f64),
                segment: h.get("segment").and_then(Value::as_str).map(String::from),
            });
        }
        for (k, e) in v
            .get("estimates")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(e) = crate::estimate::Estimate::from_record(e) {
                x.estimates.push((k.clone(), e));
            }
        }
        (x != MeterExtra::default()).then(|| Box::new(x))
    }
}
