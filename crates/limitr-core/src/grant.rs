//! Grant balances: what a customer was given, in which credit, and the order they are drawn in.

use crate::exchange::{Exchange, GrantStrategy};
use crate::number::{self, Decimal};
use crate::policy::plan::{GrantReset, ResetMode, Topup};
use crate::policy::reset::ResetRule;
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A balance granted to a customer (from a top-up, usually).
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// Unique id within the customer (`lgrnt_…`).
    pub id: compact_str::CompactString,
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
    /// Refill rules (a resetting top-up's), if it refills.
    pub reset: Option<Box<GrantReset>>,
    /// Start of its current refill period.
    pub last_reset: Timestamp,
}

impl Grant {
    /// Whether the grant still counts at `now`.
    pub fn live(&self, now: Timestamp) -> bool {
        self.expires_on.is_none_or(|e| now <= e)
    }

    /// A new grant of `topup` made at `now`.
    pub fn from_topup(id: compact_str::CompactString, t: &Topup, now: Timestamp) -> Grant {
        Grant {
            id,
            credit: t.credit.clone(),
            topup: Some(t.name.clone()),
            created_on: now,
            starting_value: t.value,
            value: t.value,
            expires_on: t.expires_after.and_then(|ms| now.checked_add(ms)),
            reset: t.reset.clone().map(Box::new),
            last_reset: now,
        }
    }

    /// Whether the grant refills (and so stays, at 0, when drained).
    pub fn resets(&self) -> bool {
        self.reset.is_some()
    }

    /// The grant as it is at `now`: refilled for every period that began since `last_reset`
    /// (rolling periods: each one, up to the catch-up cap; calendar periods: once).
    pub fn rolled(&self, now: Timestamp) -> Option<Grant> {
        let r = self.reset.as_deref()?;
        let (count, last) = match r.rule {
            ResetRule::Rolling { inc_ms } if inc_ms > 0 => {
                let elapsed = now.saturating_sub(self.last_reset);
                if elapsed <= inc_ms {
                    return None;
                }
                let periods = (elapsed - 1) / inc_ms;
                (
                    periods,
                    self.last_reset
                        .saturating_add(periods.saturating_mul(inc_ms)),
                )
            }
            ResetRule::Rolling { .. } => return None,
            ResetRule::Calendar(s) => {
                let start = s.start_of_period(now);
                if start <= self.last_reset {
                    return None;
                }
                (1, start)
            }
        };
        let times = match r.catchup_cap {
            Some(cap) => count.min(i64::from(cap)),
            None => count,
        };
        let mut g = self.clone();
        for _ in 0..times.min(10_000) {
            g.value = refill(r, g.value, g.starting_value);
        }
        g.last_reset = last;
        Some(g)
    }

    /// Reads a grant back from its record (`id` is its key in the customer's `grants`). Its refill
    /// rules come from its top-up on `plan` (grants follow their top-up).
    pub fn from_record(
        id: &str,
        v: &Value,
        policy: &crate::Policy,
        plan: Option<&crate::Plan>,
    ) -> Result<Grant, String> {
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
            reset: v
                .get("topup")
                .and_then(Value::as_str)
                .and_then(|t| plan?.topups.get(t)?.reset.clone())
                .map(Box::new),
            last_reset: v
                .get("last_reset")
                .and_then(Value::as_i64)
                .or_else(|| v.get("created_on").and_then(Value::as_i64))
                .unwrap_or_default(),
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

fn refill(r: &GrantReset, value: Decimal, starting: Decimal) -> Decimal {
    let v = match r.mode {
        ResetMode::Hard => starting,
        ResetMode::Add => value.saturating_add(starting),
        ResetMode::Rollover => {
            let mut carry = value.max(Decimal::ZERO);
            if let Some(pct) = r.rollover_pct {
                carry = carry.saturating_mul(pct);
            }
            if let Some(min) = r.rollover_min {
                carry = carry.max(min);
            }
            if let Some(max) = r.rollover_max {
                carry = carry.min(max);
            }
            starting.saturating_add(carry)
        }
    };
    match r.max_balance {
        Some(max) => v.min(max),
        None => v,
    }
}

/// The grants as they are at `now`: expired ones dropped, resetting ones refilled.
pub fn tidy(grants: &[Grant], now: Timestamp) -> Vec<Grant> {
    grants
        .iter()
        .filter(|g| g.live(now))
        .map(|g| g.rolled(now).unwrap_or_else(|| g.clone()))
        .collect()
}

/// Whether [`tidy`] would change anything.
pub fn untidy(grants: &[Grant], now: Timestamp) -> bool {
    grants
        .iter()
        .any(|g| !g.live(now) || g.rolled(now).is_some())
}

/// Balance of all live grants, expressed in `credit` from billable position `position`:
/// exact-credit grants unit for unit, the others pooled in runes and converted through the exchange
/// table (on a tiered credit, from where the exact grants leave off).
pub fn balance(
    grants: &[Grant],
    credit: &str,
    exchange: &Exchange,
    now: Timestamp,
    position: Decimal,
) -> Decimal {
    let mut exact = Decimal::ZERO;
    let mut runes = Decimal::ZERO;
    for g in grants.iter().filter(|g| g.live(now)) {
        let rolled = g.rolled(now);
        let g = rolled.as_ref().unwrap_or(g);
        if !crate::number::positive(g.value) {
            continue;
        }
        if &*g.credit == credit {
            exact = exact.saturating_add(g.value);
        } else if let Some(r) = exchange.to_runes(g.value, &g.credit) {
            runes = runes.saturating_add(r);
        }
    }
    let converted = if runes.is_zero() {
        Decimal::ZERO
    } else {
        let from = crate::number::floor0(position).saturating_add(exact);
        exchange
            .from_runes_at(runes, credit, from)
            .unwrap_or_default()
    };
    exact.saturating_add(converted)
}

/// Index of the next grant to draw from for `credit`, by the policy's strategy.
fn next(grants: &[Grant], credit: &str, exchange: &Exchange, now: Timestamp) -> Option<usize> {
    // The order of the strategy: true when grant `a` goes before grant `b` (`a` has the lower
    // index, so equal keys keep index order).
    let before = |a: &Grant, b: &Grant| match exchange.strategy {
        // expiring grants first (soonest first), then never-expiring ones oldest first
        GrantStrategy::ExpiresFirst => {
            a.expires_on.unwrap_or(i64::MAX) <= b.expires_on.unwrap_or(i64::MAX)
        }
        GrantStrategy::CheapestFirst | GrantStrategy::ValuableFirst => {
            let rate = |g: &Grant| exchange.rate(&g.credit).unwrap_or_default();
            let o = rate(a).cmp(&rate(b));
            if exchange.strategy == GrantStrategy::ValuableFirst {
                o.is_ge()
            } else {
                o.is_le()
            }
        }
    };
    // one pass: the first in strategy order among exact-credit grants, else among the others
    // that convert (whether a credit converts is asked once per distinct credit in a row)
    let mut exact: Option<usize> = None;
    let mut other: Option<usize> = None;
    let mut converts: Option<(&Arc<str>, bool)> = None;
    for (i, g) in grants.iter().enumerate() {
        if !g.live(now) || !crate::number::positive(g.value) {
            continue;
        }
        let slot = if &*g.credit == credit {
            &mut exact
        } else {
            let ok = match converts {
                Some((c, ok)) if Arc::ptr_eq(c, &g.credit) => ok,
                _ => exchange.can_convert(&g.credit, credit),
            };
            converts = Some((&g.credit, ok));
            if !ok {
                continue;
            }
            &mut other
        };
        let better = match slot.and_then(|j| grants.get(j)) {
            Some(best) => !before(best, g),
            None => true,
        };
        if better {
            *slot = Some(i);
        }
    }
    exact.or(other)
}

/// Draws `overage` units of `credit` (starting at billable position `position`) from the grants;
/// returns the units covered. Drained grants are removed.
pub fn draw(
    grants: &mut Vec<Grant>,
    credit: &str,
    overage: Decimal,
    exchange: &Exchange,
    now: Timestamp,
    position: Decimal,
) -> Decimal {
    let mut left = overage;
    let mut covered = Decimal::ZERO;
    let mut pos = crate::number::floor0(position);
    for _ in 0..=grants.len() {
        if !crate::number::positive(left) {
            break;
        }
        let Some(i) = next(grants, credit, exchange, now) else {
            break;
        };
        let Some(g) = grants.get_mut(i) else { break };
        let need = exchange
            .convert_at(left, credit, &g.credit, pos, Decimal::ZERO)
            .map(crate::number::floor0)
            .unwrap_or_default();
        if crate::number::cmp(need, g.value).is_lt() {
            g.value -= need;
            covered += left;
            left = Decimal::ZERO;
        } else {
            let here = exchange
                .convert_at(g.value, &g.credit, credit, Decimal::ZERO, pos)
                .unwrap_or_default()
                .min(left);
            covered += here;
            left -= here;
            pos = pos.saturating_add(here);
            g.value = Decimal::ZERO;
        }
    }
    grants.retain(|g| crate::number::positive(g.value) || g.resets());
    covered
}
