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
            Units::Float => v,
            Units::Int => v.trunc(),
        }
    }
}

/// A credit's own list price: flat, tiered, volume, stairstep or package (see [`crate::pricing`]).
pub use crate::pricing::Model as Pricing;

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
    /// The credit as written in the document (unknown fields kept), with `name` added; sent in events.
    pub record: Value,
}
