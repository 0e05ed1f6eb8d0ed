//! The policy document: formats, validation, and the validated model (credits, plans, exchange).

pub mod credit;
mod duplicates;
pub mod duration;
pub mod format;
pub mod issue;
pub mod measure;
pub mod plan;
pub mod reset;
pub(crate) mod split;
mod validate;

use crate::error::{Error, Result};
use crate::exchange::Exchange;
use crate::number::Decimal;
use credit::Credit;
use issue::{Issue, Severity};
use plan::NameMap;
use plan::{Entitlement, Plan};
use serde_json::{Map, Value};
use std::sync::Arc;

pub use validate::DEFAULT_RESET_MS;

/// A validated policy: the rules, and the document they were read from (unknown fields kept).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Credits by name.
    pub credits: NameMap<Credit>,
    /// Plans by name.
    pub plans: NameMap<Plan>,
    /// The resolved exchange table.
    pub exchange: Exchange,
    /// The first plan with `default: true`.
    pub default_plan: Option<Arc<str>>,
    /// Lifetime of a reservation hold, in ms (`hold_ttl`, 10 minutes by default).
    pub hold_ttl: i64,
    /// How long an idempotency key is remembered, in ms (`idempotency_ttl`, 24 hours by default).
    pub idempotency_ttl: i64,
    /// Samples a customer's own estimate needs before it is used (`estimate_min_samples`, 5).
    pub estimate_min_samples: u64,
    /// Declarative notification rules.
    pub notifications: Vec<crate::notify::Rule>,
    /// Warnings found while loading (unknown fields, settings without effect).
    pub warnings: Vec<Issue>,
    raw: Map<String, Value>,
}

impl Policy {
    /// Reads a document root `{ "policy": { … } }`. Returns the policy and its `customers` map
    /// (engine state kept in the document). Every error is reported at once.
    pub fn from_root(root: &Value) -> Result<(Policy, Option<Value>)> {
        let Some(policy) = root.as_object().and_then(|o| o.get("policy")) else {
            let found = root.as_object().map_or("not an object".to_string(), |o| {
                let keys: Vec<&str> = o.keys().map(String::as_str).take(5).collect();
                format!(
                    "top-level keys: {}",
                    if keys.is_empty() {
                        "none".into()
                    } else {
                        keys.join(", ")
                    }
                )
            });
            return Err(Error::PolicyInvalid(vec![Issue {
                path: "policy".into(),
                code: "MISSING_FIELD",
                message: format!("the document must have a top-level `policy` object ({found})"),
                severity: Severity::Error,
            }]));
        };
        let Some(map) = policy.as_object() else {
            return Err(Error::PolicyInvalid(vec![Issue {
                path: "policy".into(),
                code: "INVALID_TYPE",
                message: "expected an object".into(),
                severity: Severity::Error,
            }]));
        };
        let checked = validate::check(map);
        let (errors, warnings): (Vec<Issue>, Vec<Issue>) = checked
            .issues
            .into_iter()
            .partition(|i| i.severity == Severity::Error);
        if !errors.is_empty() {
            return Err(Error::PolicyInvalid(errors));
        }
        let default_plan = checked
            .plans
            .values()
            .find(|p| p.default)
            .map(|p| p.name.clone());
        let mut raw = map.clone();
        let customers = raw.shift_remove("customers");
        let policy = Policy {
            credits: checked.credits,
            plans: checked.plans,
            exchange: checked.exchange,
            default_plan,
            notifications: checked.notifications,
            hold_ttl: checked.hold_ttl,
            idempotency_ttl: checked.idempotency_ttl,
            estimate_min_samples: checked.estimate_min_samples,
            warnings,
            raw,
        };
        Ok((policy, customers))
    }

    /// A plan by name.
    pub fn plan(&self, name: &str) -> Option<&Plan> {
        self.plans.get(name)
    }

    /// A credit by name.
    pub fn credit(&self, name: &str) -> Option<&Credit> {
        self.credits.get(name)
    }

    /// An entitlement of a plan.
    pub fn entitlement(&self, plan: &str, entitlement: &str) -> Option<&Entitlement> {
        self.plan(plan)?.entitlements.get(entitlement)
    }

    /// The list price of `q` units of `credit` starting at billable position `pos`, in runes: the
    /// credit's own price when it has one, else its exchange rate; `None` without either.
    pub fn price_units(&self, credit: &Credit, q: Decimal, pos: Decimal) -> Option<Decimal> {
        match &credit.pricing {
            Some(p) => p.price_of(q, pos),
            None => self.exchange.to_runes(q, &credit.name),
        }
        .map(|d| d.normalize())
    }

    /// Validates an override: the plan limit of `entitlement` with `fields` laid over it (every
    /// field the override does not set is inherited). Errors name the field.
    pub fn override_limit(
        &self,
        plan: &str,
        entitlement: &str,
        fields: &Map<String, Value>,
    ) -> std::result::Result<plan::Limit, String> {
        let base = self
            .entitlement(plan, entitlement)
            .ok_or_else(|| format!("plan `{plan}` has no entitlement `{entitlement}`"))?;
        let mut merged = base
            .limit
            .as_ref()
            .map(|l| l.record.clone())
            .unwrap_or_default();
        for (k, v) in fields {
            merged.insert(k.clone(), v.clone());
        }
        validate::limit_from(&Value::Object(merged), "override", &self.credits).map_err(|issues| {
            issues
                .iter()
                .map(|i| format!("{}: {}", i.path.trim_start_matches("override."), i.message))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The shared string for a plan, entitlement or credit name (falls back to a new one).
    pub fn intern(&self, name: &str) -> Arc<str> {
        if let Some((k, _)) = self.plans.get_key_value(name) {
            return k.clone();
        }
        if let Some((k, _)) = self.credits.get_key_value(name) {
            return k.clone();
        }
        for p in self.plans.values() {
            if let Some((k, _)) = p.entitlements.get_key_value(name) {
                return k.clone();
            }
            if let Some((k, _)) = p.topups.get_key_value(name) {
                return k.clone();
            }
        }
        Arc::from(name)
    }

    /// The policy object as written (without customers).
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }
}
