//! Spend caps: a ceiling on what a customer's calls consume, in runes or
//! any credit, across entitlements; optionally shared with related customers through refs.

use crate::exchange::{Exchange, RUNE};
use crate::number::{self, Decimal};
use crate::policy::reset::ResetRule;
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// A spend cap held by a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Cap {
    /// Its id within the holder (`tmp-<credit>` for call-scoped caps).
    pub id: String,
    /// Currency or credit of the ceiling (`rune` by default).
    pub credit: String,
    /// The ceiling (and the `cap-threshold-crossed` threshold).
    pub value: Decimal,
    /// Other credits count, converted through the exchange table; else only `credit` counts.
    pub exchangeable: bool,
    /// Only units past the plan limit count.
    pub overage_only: bool,
    /// Units paid by grants do not count.
    pub ignore_grants: bool,
    /// Never denies; only accumulates and fires thresholds.
    pub observe_only: bool,
    /// Counts provider overhead (runes) instead of list value.
    pub overhead_cost: bool,
    /// Decrements move it down (it can go negative).
    pub follow_decrements: bool,
    /// Allows while below the ceiling before the call; denies once crossed.
    pub hard_trailing: bool,
    /// Also applies to calls by customers whose refs reach the holder.
    pub shared: bool,
    /// Caller types a shared cap applies to (`None`: all).
    pub shared_with: Option<Vec<String>>,
    /// Entitlements it applies to (`None`: all that convert).
    pub scope: Option<Vec<String>>,
    /// Consumption so far, in `credit`.
    pub meter_value: Decimal,
    /// When it was created.
    pub created_on: Timestamp,
    /// Start of its current period.
    pub started: Timestamp,
    /// Periodic reset of `meter_value`, if any.
    pub reset: Option<ResetRule>,
    /// When it stops applying (removed after), if ever.
    pub expires_on: Option<Timestamp>,
}

/// What a call costs, as caps see it.
#[derive(Debug, Clone, Copy)]
pub struct CallCost<'a> {
    /// Entitlement of the call.
    pub entitlement: &'a str,
    /// Its credit.
    pub credit: &'a str,
    /// Units of the call (negative for decrements).
    pub units: Decimal,
    /// Units past the plan limit.
    pub overage: Decimal,
    /// Units paid by grants.
    pub covered: Decimal,
    /// Provider overhead of the call, in runes.
    pub overhead: Decimal,
    /// Billable position the call starts at (for tiered conversions).
    pub position: Decimal,
    /// Where the call starts relative to the limit (`meter - limit`; negative inside it, where
    /// tiered credits price at their first rate).
    pub start: Decimal,
}

impl Cap {
    /// Whether the cap still applies at `now`.
    pub fn live(&self, now: Timestamp) -> bool {
        self.expires_on.is_none_or(|e| now <= e)
    }

    /// The cap as it is at `now` (consumption zeroed when a new period began), if it changed.
    pub fn rolled(&self, now: Timestamp) -> Option<Cap> {
        let start = self.reset.as_ref()?.period_start(self.started, now);
        (start != self.started).then(|| Cap {
            meter_value: Decimal::ZERO,
            started: start,
            ..self.clone()
        })
    }

    /// Whether the cap applies to calls on `entitlement` metered in `credit`.
    pub fn applies(&self, entitlement: &str, credit: &str, exchange: &Exchange) -> bool {
        if self
            .scope
            .as_ref()
            .is_some_and(|s| !s.iter().any(|e| e == entitlement))
        {
            return false;
        }
        if self.overhead_cost {
            return self.credit == RUNE || exchange.resolves(&self.credit);
        }
        if !self.exchangeable {
            return self.credit == credit;
        }
        self.credit == credit || (exchange.resolves(&self.credit) && exchange.resolves(credit))
    }

    /// What the call adds to this cap, in the cap's credit (`None`: no conversion path).
    pub fn consumption(&self, call: &CallCost<'_>, exchange: &Exchange) -> Option<Decimal> {
        if self.overhead_cost {
            let runes = if self.overage_only {
                if call.units.is_zero() {
                    return Some(Decimal::ZERO); // overhead-only calls move plain overhead caps only
                }
                let rate = call.overhead.checked_div(call.units)?;
                number::floor0(call.overage).checked_mul(rate)?
            } else {
                call.overhead
            };
            return exchange.convert(runes, RUNE, &self.credit);
        }
        let mut units = if self.overage_only {
            number::floor0(call.overage)
        } else {
            call.units
        };
        if self.ignore_grants && number::positive(units) {
            units = number::floor0(units - call.covered);
        }
        if self.credit == call.credit {
            return Some(units);
        }
        let position = if self.overage_only {
            call.position
        } else {
            call.start
        };
        exchange.convert_at(units, call.credit, &self.credit, position, Decimal::ZERO)
    }

    /// Whether `amount` more fits under the ceiling.
    pub fn has_room(&self, amount: Decimal) -> bool {
        if self.observe_only {
            return true;
        }
        if self.hard_trailing {
            return !number::positive(amount) || number::cmp(self.meter_value, self.value).is_lt();
        }
        number::cmp(self.meter_value.saturating_add(amount), self.value).is_le()
    }

    /// The cap's record.
    pub fn record(&self) -> Value {
        let mut m = Map::new();
        let list = |v: &Option<Vec<String>>| {
            v.as_ref().map_or(Value::Null, |l| {
                Value::Array(l.iter().map(|s| Value::String(s.clone())).collect())
            })
        };
        m.insert("id".into(), Value::String(self.id.clone()));
        m.insert("credit".into(), Value::String(self.credit.clone()));
        m.insert("value".into(), number::to_value(self.value));
        for (k, b) in [
            ("exchangeable", self.exchangeable),
            ("overage_only", self.overage_only),
            ("ignore_grants", self.ignore_grants),
            ("observe_only", self.observe_only),
            ("overhead_cost", self.overhead_cost),
            ("follow_decrements", self.follow_decrements),
            ("hard_trailing", self.hard_trailing),
            ("shared", self.shared),
        ] {
            m.insert(k.into(), Value::Bool(b));
        }
        m.insert("shared_with".into(), list(&self.shared_with));
        m.insert("scope".into(), list(&self.scope));
        m.insert("meter_value".into(), number::to_value(self.meter_value));
        m.insert("created_on".into(), Value::from(self.created_on));
        m.insert("started".into(), Value::from(self.started));
        m.insert("resets".into(), Value::Bool(self.reset.is_some()));
        match &self.reset {
            Some(ResetRule::Rolling { inc_ms }) => {
                m.insert("reset_inc".into(), Value::from(*inc_ms))
            }
            Some(ResetRule::Calendar(s)) => {
                m.insert("reset_sch".into(), Value::String(s.to_string()))
            }
            None => None,
        };
        m.insert(
            "expires_on".into(),
            self.expires_on.map_or(Value::Null, Value::from),
        );
        Value::Object(m)
    }

    /// Reads a cap back from its record.
    pub fn from_record(id: &str, v: &Value) -> Option<Cap> {
        let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        let list = |k: &str| {
            v.get(k).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
        };
        let reset = if flag("resets") {
            match (
                v.get("reset_inc").and_then(Value::as_i64),
                v.get("reset_sch").and_then(Value::as_str),
            ) {
                (Some(inc_ms), _) => Some(ResetRule::Rolling { inc_ms }),
                (None, Some(s)) => crate::policy::reset::Schedule::parse(s)
                    .ok()
                    .map(ResetRule::Calendar),
                _ => Some(ResetRule::Rolling {
                    inc_ms: crate::policy::DEFAULT_RESET_MS,
                }),
            }
        } else {
            None
        };
        Some(Cap {
            id: id.to_string(),
            credit: v
                .get("credit")
                .and_then(Value::as_str)
                .unwrap_or(RUNE)
                .to_string(),
            value: v.get("value").and_then(number::from_value)?,
            exchangeable: flag("exchangeable"),
            overage_only: flag("overage_only"),
            ignore_grants: flag("ignore_grants"),
            observe_only: flag("observe_only"),
            overhead_cost: flag("overhead_cost"),
            follow_decrements: flag("follow_decrements"),
            hard_trailing: flag("hard_trailing"),
            shared: flag("shared"),
            shared_with: list("shared_with"),
            scope: list("scope"),
            meter_value: v
                .get("meter_value")
                .and_then(number::from_value)
                .unwrap_or_default(),
            created_on: v
                .get("created_on")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            started: v.get("started").and_then(Value::as_i64).unwrap_or_default(),
            reset,
            expires_on: v.get("expires_on").and_then(Value::as_i64),
        })
    }
}
