//! Credits: units of consumption with a provider cost and a list price.

use crate::number::Decimal;
use serde_json::Value;
use std::sync::Arc;

/// How incoming amounts of a credit are cast (`stof_units`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    /// No cast (the default, `"float"`).
    Float,
    /// Truncate toward zero, per call (`"int"`): 120000 / 2.2 → 54545.
    Int,
    /// A size or time unit (`"MB"`, `"s"`): amounts are kept in it; text such as `"2GB"` converts.
    Measure(super::measure::Measure),
}

impl Units {
    /// Casts an amount into these units.
    ///
    /// ```
    /// use limitr_core::{Units, number::Decimal};
    /// use std::str::FromStr;
    /// assert_eq!(Units::Int.cast(Decimal::from_str("-2.9").unwrap()), Decimal::from(-2));
    /// ```
    pub fn cast(self, v: Decimal) -> Decimal {
        match self {
            Units::Float | Units::Measure(_) => v,
            Units::Int => crate::number::trunc(v),
        }
    }
}

impl Units {
    /// Reads an amount written as text: a number (in these units), or for measured credits a
    /// number with a unit (`"500MB"`, `"1GB"`, `"-3MB"`), converted; then cast.
    pub fn amount(self, text: &str) -> Result<Decimal, String> {
        let v = match self {
            Units::Measure(m) => super::measure::convert(text, m)?,
            _ => crate::number::parse_decimal(text)
                .ok_or_else(|| format!("`{text}` is not a number"))?,
        };
        Ok(self.cast(v))
    }
}

/// A credit's own list price: flat, tiered, volume, stairstep or package (see [`crate::pricing`]).
pub use crate::pricing::Model as Pricing;

/// A declarative per-call cost table: the rate is `rates[event_data[by]]`, else `overhead_cost`.
///
/// ```json
/// "overhead_rates": { "by": "model", "rates": { "sonnet": 0.000003, "haiku": 0.000001 } }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OverheadRates {
    /// The event-data field holding the key.
    pub by: String,
    /// Rate (runes per unit) by key.
    pub rates: Vec<(String, Decimal)>,
}

impl OverheadRates {
    /// The rate for a call's event data, if its `by` field names a known key.
    pub fn rate(&self, event_data: Option<&Value>) -> Option<Decimal> {
        let key = event_data?.get(&self.by)?.as_str()?;
        self.rates.iter().find(|(k, _)| k == key).map(|(_, r)| *r)
    }
}

impl Credit {
    /// Provider cost of `units` of this credit for a call with `event_data`.
    pub fn overhead_of(&self, units: Decimal, event_data: Option<&Value>) -> Decimal {
        let rate = self
            .overhead_rates
            .as_ref()
            .and_then(|r| r.rate(event_data))
            .unwrap_or(self.overhead_cost);
        units.checked_mul(rate).unwrap_or_default()
    }
}

/// A validated credit.
#[derive(Debug, Clone)]
pub struct Credit {
    /// Its key in `policy.credits`.
    pub name: Arc<str>,
    /// Display text, shown in events.
    pub description: String,
    /// Provider cost per unit, in runes (≥ 0).
    pub overhead_cost: Decimal,
    /// Cast applied to incoming amounts.
    pub units: Units,
    /// Own list price, if any.
    pub pricing: Option<Pricing>,
    /// Provider cost per unit looked up in the call's event data (`overhead_rates`), if declared.
    pub overhead_rates: Option<OverheadRates>,
    /// The credit as written in the document (unknown fields kept), with `name` added; sent in events.
    pub record: Value,
}
