//! Grant balances: what a customer was given, in which credit, and the order they are drawn in.

use crate::exchange::{Exchange, GrantStrategy};
use crate::number::{self, Decimal};
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A balance granted to a customer (from a top-up, usually).
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// Unique id within the customer (`lgrnt_…`).
    pub id: Box<str>,
    /// Credit (or exchange currency) the balance is in.
    pub credit: Arc<str>,
    /// The top-up it came from.
    pub topup: Option<Arc<str>>,
    /// When it was granted.
    pub created_on: Timestamp,
    /// The amount granted.
    pub starting_value: Decimal,
    /// The balance left.
    pub value: Decimal,
    /// When it stops counting (exclusive), if ever.
    pub expires_on: Option<Timestamp>,
}

impl Grant {
    /// Whether the grant still counts at `now`.
    pub fn live(&self, now: Timestamp) -> bool {
        self.expires_on.is_none_or(|e| now <= e)
    }

    /// Reads a grant back from its record (`id` is its key in the customer's `grants`).
    pub fn from_record(id: &str, v: &Value, policy: &crate::Policy) -> Result<Grant, String> {
        let credit = v
            .get("credit")
            .and_then(Value::as_str)
            .ok_or("missing `credit`")?;
        let value = v
            .get("value")
            .and_then(number::from_value)
            .ok_or("`value` is not a number")?;
        Ok(Grant {
            id: id.into(),
            credit: policy.intern(credit),
            topup: v
                .get("topup")
                .and_then(Value::as_str)
                .map(|t| policy.intern(t)),
            created_on: v
                .get("created_on")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            starting_value: v
                .get("starting_value")
                .and_then(number::from_value)
                .unwrap_or(value),
            value,
            expires_on: v.get("expires_on").and_then(Value::as_i64),
        })
    }

    /// The grant's record.
    pub fn record(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id.to_string()));
        m.insert("credit".into(), Value::String(self.credit.to_string()));
        m.insert(
            "topup".into(),
            self.topup
                .as_ref()
                .map_or(Value::Null, |t| Value::String(t.to_string())),
        );
        m.insert("created_on".into(), Value::from(self.created_on));
        m.insert("granted_on".into(), Value::from(self.created_on));
        m.insert(
            "starting_value".into(),
            number::to_value(self.starting_value),
        );
        m.insert("value".into(), number::to_value(self.value));
        m.insert(
            "expires_on".into(),
            self.expires_on.map_or(Value::Null, Value::from),
        );
        Value::Object(m)
    }
}

/// Balance of all live grants, expressed in `credit`: exact-credit grants unit for unit, the others
/// through the exchange table.
pub fn balance(grants: &[Grant], credit: &str, exchange: &Exchange, now: Timestamp) -> Decimal {
    let mut exact = Decimal::ZERO;
    let mut runes = Decimal::ZERO;
    for g in grants
        .iter()
        .filter(|g| g.live(now) && g.value > Decimal::ZERO)
    {
        if &*g.credit == credit {
            exact += g.value;
        } else if let Some(r) = exchange.to_runes(g.value, &g.credit) {
            runes += r;
        }
    }
    let converted = if runes.is_zero() {
        Decimal::ZERO
    } else {
        exchange.from_runes(runes, credit).unwrap_or_default()
    };
    exact + converted
}

/// Index of the next grant to draw from for `credit`, by the policy's strategy.
fn next(grants: &[Grant], credit: &str, exchange: &Exchange, now: Timestamp) -> Option<usize> {
    let usable = |g: &Grant| {
        g.live(now)
            && g.value > Decimal::ZERO
            && (&*g.credit == credit || exchange.convert(Decimal::ONE, &g.credit, credit).is_some())
    };
    let candidates: Vec<usize> = (0..grants.len())
        .filter(|&i| grants.get(i).is_some_and(usable))
        .collect();
    let exact: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| grants.get(i).is_some_and(|g| &*g.credit == credit))
        .collect();
    let pool = if exact.is_empty() { candidates } else { exact };
    let key = |i: &usize| grants.get(*i);
    match exchange.strategy {
        GrantStrategy::ExpiresFirst => pool.into_iter().min_by_key(|i| {
            let g = key(i);
            // expiring grants first (soonest first), then never-expiring ones oldest first (index order)
            (g.and_then(|g| g.expires_on).unwrap_or(i64::MAX), *i)
        }),
        GrantStrategy::CheapestFirst | GrantStrategy::ValuableFirst => {
            let rate = |i: &usize| {
                key(i)
                    .and_then(|g| exchange.rate(&g.credit))
                    .unwrap_or_default()
            };
            let mut sorted = pool;
            sorted.sort_by(|a, b| {
                let o = rate(a).cmp(&rate(b));
                if exchange.strategy == GrantStrategy::ValuableFirst {
                    o.reverse()
                } else {
                    o
                }
                .then(a.cmp(b))
            });
            sorted.first().copied()
        }
    }
}

/// Draws `overage` units of `credit` from the grants; returns the units covered. Drained grants
/// are removed.
pub fn draw(
    grants: &mut Vec<Grant>,
    credit: &str,
    overage: Decimal,
    exchange: &Exchange,
    now: Timestamp,
) -> Decimal {
    let mut left = overage;
    let mut covered = Decimal::ZERO;
    for _ in 0..=grants.len() {
        if left <= Decimal::ZERO {
            break;
        }
        let Some(i) = next(grants, credit, exchange, now) else {
            break;
        };
        let Some(g) = grants.get_mut(i) else { break };
        let need = exchange
            .convert(left, credit, &g.credit)
            .unwrap_or_default()
            .max(Decimal::ZERO);
        if need < g.value {
            g.value -= need;
            covered += left;
            left = Decimal::ZERO;
        } else {
            let here = exchange
                .convert(g.value, &g.credit, credit)
                .unwrap_or_default()
                .min(left);
            covered += here;
            left -= here;
            g.value = Decimal::ZERO;
        }
    }
    grants.retain(|g| g.value > Decimal::ZERO);
    covered
}
