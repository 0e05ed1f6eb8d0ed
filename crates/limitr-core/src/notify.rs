//! Declarative notification rules: fire a named event when a meter crosses a share of
//! its limit or an absolute value, once per period per rule.
//!
//! ```json
//! "notifications": {
//!   "chat-80": { "on": "meter-changed", "entitlement": "ai-chat-input", "when": { "percent_used": 80 } },
//!   "big-spender": { "when": { "value": 1000000 } }
//! }
//! ```
//! `on` is a meter event name (`meter-changed`, `meter-overage`, `meter-limit`, `meter-reset`) or
//! omitted for any of them. The fired event carries the triggering event's payload plus
//! `notification` (the rule's name), `trigger` (the event that matched) and `threshold`.

use crate::number::{self, Decimal};
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// The meter events a rule may listen to.
pub const METER_EVENTS: &[&str] = &[
    "meter-changed",
    "meter-overage",
    "meter-limit",
    "meter-reset",
];

/// What a rule waits for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// The meter's share of its limit (grants included) reaches this percentage.
    PercentUsed(Decimal),
    /// The meter's value reaches this amount.
    Value(Decimal),
}

/// A validated notification rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule's name: the name of the event it fires.
    pub name: &'static str,
    /// The meter event it listens to (`None`: any).
    pub on: Option<&'static str>,
    /// Only this entitlement, if set.
    pub entitlement: Option<String>,
    /// The condition.
    pub when: When,
}

/// Event names are `&'static str`; rule names are interned once per distinct name for the life of
/// the process (a policy declares a handful).
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = match NAMES.get_or_init(Mutex::default).lock() {
        Ok(set) => set,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(found) = set.get(name) {
        return found;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

impl Rule {
    fn threshold(&self) -> Value {
        let mut m = Map::new();
        match self.when {
            When::PercentUsed(p) => m.insert("percent_used".into(), number::to_value(p)),
            When::Value(v) => m.insert("value".into(), number::to_value(v)),
        };
        Value::Object(m)
    }

    fn met(&self, percent_used: Option<Decimal>, value: Decimal) -> bool {
        match self.when {
            When::PercentUsed(p) => percent_used.is_some_and(|u| u >= p),
            When::Value(v) => value >= v,
        }
    }
}

/// One meter event of a call, as the rules see it.
pub(crate) struct Seen<'a> {
    pub event: &'static str,
    pub fields: &'a Map<String, Value>,
}

/// The rules that fire for a call's events on `entitlement`, given the meter's state after the
/// call, and the (rule, period start) marks that record they fired. `fired` holds the marks
/// already recorded on the customer.
pub(crate) fn evaluate(
    rules: &[Rule],
    seen: &[Seen<'_>],
    entitlement: &str,
    period: Timestamp,
    percent_used: Option<Decimal>,
    value: Decimal,
    fired: &[(String, Timestamp)],
) -> Vec<(&'static str, Map<String, Value>)> {
    let mut out = Vec::new();
    for rule in rules {
        if rule
            .entitlement
            .as_deref()
            .is_some_and(|e| e != entitlement)
        {
            continue;
        }
        if fired.iter().any(|(n, p)| n == rule.name && *p == period)
            || !rule.met(percent_used, value)
        {
            continue;
        }
        let Some(trigger) = seen.iter().find(|s| rule.on.is_none_or(|on| on == s.event)) else {
            continue;
        };
        let mut fields = trigger.fields.clone();
        fields.insert("notification".into(), Value::String(rule.name.to_string()));
        fields.insert("trigger".into(), Value::String(trigger.event.to_string()));
        fields.insert("threshold".into(), rule.threshold());
        out.push((rule.name, fields));
    }
    out
}
