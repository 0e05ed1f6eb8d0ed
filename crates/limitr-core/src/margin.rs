//! Margins: what usage earns (list price of the billable part) against what it costs (provider
//! overhead), per entitlement and in total.

use crate::customer::Customer;
use crate::number::{self, Decimal};
use crate::policy::Policy;
use crate::policy::plan::{Limit, Plan};
use crate::policy::reset::ResetRule;
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// Revenue, cost and margin of one entitlement or of a whole customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Margin {
    /// List price of the billable usage, in runes.
    pub revenue: Decimal,
    /// Provider cost, in runes.
    pub cost: Decimal,
    /// `(revenue − cost) / revenue × 100`, rounded to 2 places; `None` without revenue (the total
    /// is −100 then, as in the reference).
    pub margin: Option<Decimal>,
}

/// A margin breakdown: the total and each limited entitlement.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    /// The whole customer (or plan).
    pub total: Margin,
    /// By entitlement name, in plan order.
    pub entitlements: Vec<(String, Margin)>,
}

fn margin(revenue: Decimal, cost: Decimal) -> Option<Decimal> {
    if revenue.is_zero() {
        return None;
    }
    Some(
        ((revenue - cost) / revenue * Decimal::ONE_HUNDRED)
            .round_dp(2)
            .normalize(),
    )
}

impl Breakdown {
    fn from_parts(entitlements: Vec<(String, Decimal, Decimal)>) -> Breakdown {
        let revenue: Decimal = entitlements.iter().map(|e| e.1).sum();
        let cost: Decimal = entitlements.iter().map(|e| e.2).sum();
        Breakdown {
            total: Margin {
                revenue: revenue.normalize(),
                cost: cost.normalize(),
                margin: Some(
                    margin(revenue, cost).unwrap_or(Decimal::NEGATIVE_ONE * Decimal::ONE_HUNDRED),
                ),
            },
            entitlements: entitlements
                .into_iter()
                .map(|(n, r, c)| {
                    (
                        n,
                        Margin {
                            revenue: r.normalize(),
                            cost: c.normalize(),
                            margin: margin(r, c),
                        },
                    )
                })
                .collect(),
        }
    }

    /// As a value: `{revenue, cost, margin, entitlements: {name: {revenue, cost, margin}}}`.
    pub fn record(&self) -> Value {
        let m = |x: &Margin| {
            let mut o = Map::new();
            o.insert("revenue".into(), number::to_value(x.revenue));
            o.insert("cost".into(), number::to_value(x.cost));
            o.insert(
                "margin".into(),
                x.margin.map_or(Value::Null, number::to_value),
            );
            o
        };
        let mut out = m(&self.total);
        let ents: Map<String, Value> = self
            .entitlements
            .iter()
            .map(|(n, x)| (n.clone(), Value::Object(m(x))))
            .collect();
        out.insert("entitlements".into(), Value::Object(ents));
        Value::Object(out)
    }
}

fn revenue(policy: &Policy, limit: &Limit, value: Decimal) -> Decimal {
    let billable = (value - limit.value).max(Decimal::ZERO);
    policy
        .credit(&limit.credit)
        .and_then(|c| policy.price_units(c, billable, Decimal::ZERO))
        .unwrap_or_default()
}

/// A customer's margin this period, from its meters (usage past the limit at list price, against
/// the recorded overhead). Grants are ignored: they are prepaid.
pub fn customer(policy: &Policy, plan: &Plan, c: &Customer, now: Timestamp) -> Breakdown {
    let mut parts = Vec::new();
    for e in plan.entitlements.values() {
        let Some(limit) = c.limit_for(&e.name, e.limit.as_ref(), now) else {
            continue;
        };
        let Some(m) = c.meter(&e.name) else { continue };
        let (value, cost) = if m.pending_reset(limit.reset.as_ref(), now).is_some() {
            (Decimal::ZERO, Decimal::ZERO)
        } else {
            (m.value, m.overhead)
        };
        parts.push((e.name.to_string(), revenue(policy, limit, value), cost));
    }
    Breakdown::from_parts(parts)
}

/// Hypothetical usage of a plan for one of its billing periods.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// Usage per entitlement period.
    pub value: Decimal,
    /// Provider cost, instead of `value × overhead_cost`.
    pub overhead: Option<Decimal>,
    /// A limit to assume instead of the plan's.
    pub limit: Option<Decimal>,
}

/// `plan_margin` usage from a JSON object `{entitlement: value | {value?, overhead?, limit?}}`,
/// numbers or strings holding numbers (a missing `value` is 0; `null`: no usage).
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming `usage` (and the entitlement
/// in its message) when `v` is not an object or an entry is neither a number nor an object, or
/// naming the field (`value`, `overhead`, `limit`) that is not a number.
///
/// ```
/// let u = limitr_core::margin::usage_from_json(&serde_json::json!({"chat": 10})).unwrap();
/// assert_eq!(u[0].0, "chat");
/// ```
pub fn usage_from_json(v: &Value) -> crate::Result<Vec<(String, Usage)>> {
    let m = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Object(m) => m,
        _ => return Err(crate::Error::invalid("usage", "expected an object")),
    };
    m.iter()
        .map(|(ent, v)| {
            let u = match v {
                Value::Object(o) => {
                    let f = crate::options::Fields::of(o);
                    Usage {
                        value: f.decimal("value")?.unwrap_or_default(),
                        overhead: f.decimal("overhead")?,
                        limit: f.decimal("limit")?,
                    }
                }
                other => Usage {
                    value: number::from_value(other).ok_or_else(|| {
                        crate::Error::invalid(
                            "usage",
                            format!("`{ent}`: expected a number or an object"),
                        )
                    })?,
                    overhead: None,
                    limit: None,
                },
            };
            Ok((ent.clone(), u))
        })
        .collect()
}

/// Margin of a plan for hypothetical usage. With `scaled`, the usage and limits of entitlements
/// that reset on a rolling period are multiplied by `plan period / reset period` (a daily limit
/// over a 30-day month counts 30 times).
pub fn plan(policy: &Policy, plan: &Plan, usage: &[(String, Usage)], scaled: bool) -> Breakdown {
    let mut parts = Vec::new();
    for e in plan.entitlements.values() {
        let Some(limit) = &e.limit else { continue };
        let Some((_, u)) = usage.iter().find(|(n, _)| **n == *e.name) else {
            continue;
        };
        let factor = match (&limit.reset, scaled) {
            (Some(ResetRule::Rolling { inc_ms }), true) if *inc_ms > 0 => {
                Decimal::from(plan.period_ms) / Decimal::from(*inc_ms)
            }
            _ => Decimal::ONE,
        };
        let mut l = limit.clone();
        l.value = u.limit.unwrap_or(limit.value).saturating_mul(factor);
        let value = u.value.saturating_mul(factor);
        let cost = match u.overhead {
            Some(o) => o.saturating_mul(factor),
            None => policy
                .credit(&limit.credit)
                .map_or(Decimal::ZERO, |c| value.saturating_mul(c.overhead_cost)),
        };
        parts.push((e.name.to_string(), revenue(policy, &l, value), cost));
    }
    Breakdown::from_parts(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_from_json_reads_numbers_and_objects() {
        let u = usage_from_json(&json!({"chat": 10, "img": {"value": "2", "limit": 5}})).unwrap();
        assert_eq!(u.len(), 2);
        let img = &u.iter().find(|(n, _)| n == "img").unwrap().1;
        assert_eq!(
            (img.value, img.overhead, img.limit),
            (Decimal::from(2), None, Some(Decimal::from(5)))
        );
        match usage_from_json(&json!({"img": {"overhead": true}})) {
            Err(crate::Error::InvalidArgument { name, message }) => {
                assert_eq!((name, message.as_str()), ("overhead", "expected a number"));
            }
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
        let e = usage_from_json(&json!({"chat": [1]})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "usage: `chat`: expected a number or an object"
        );
        assert!(usage_from_json(&json!(null)).unwrap().is_empty());
        let e = usage_from_json(&json!(3)).unwrap_err();
        assert_eq!(e.to_string(), "usage: expected an object");
    }
}
