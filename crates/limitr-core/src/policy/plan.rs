//! Plans, entitlements, limits and top-ups.

use super::reset::ResetRule;
use crate::number::Decimal;
use std::sync::Arc;

/// An insertion-ordered map from names to policy items, with a fast hasher (the hot path looks
/// names up on every call).
pub type NameMap<V> = indexmap::IndexMap<Arc<str>, V, hashbrown::DefaultHashBuilder>;

/// What happens at a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Deny past the limit (unless grants cover the whole overage of the call).
    Hard,
    /// Always allow; the part past the limit is overage (grants first, then billed).
    Soft,
    /// Never deny; only record.
    Observe,
}

/// A validated limit on an entitlement.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// Credit metered.
    pub credit: Arc<str>,
    /// Position of the credit in [`Policy::credits`](crate::Policy::credits) (no hashing per call).
    pub credit_index: usize,
    /// Hard, soft or observe.
    pub mode: Mode,
    /// The limit, in the credit's units.
    pub value: Decimal,
    /// Step of `increment`/`decrement`.
    pub increment: Decimal,
    /// Floor for new meter values.
    pub minimum: Option<Decimal>,
    /// Hard only: decide on the meter before the call.
    pub hard_trailing: bool,
    /// Whether grants may cover overage.
    pub grants_apply: bool,
    /// Periodic reset, if any.
    pub reset: Option<ResetRule>,
    /// Token-bucket rate limit under a hard limit, if enabled.
    pub governor: Option<Governor>,
    /// Smoothing of the exponentially weighted rate (0..1, default 0.2).
    pub ewma_alpha: f64,
    /// The limit as written in the document (overrides merge their fields into it).
    pub record: serde_json::Map<String, serde_json::Value>,
}

/// A token bucket: bursts up to `capacity`, refilled at `refill_per_ms` tokens per millisecond.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Governor {
    /// Bucket size.
    pub capacity: Decimal,
    /// Tokens added per millisecond.
    pub refill_per_ms: Decimal,
}

impl Governor {
    /// Tokens in the bucket at `now`, given `tokens` at `last`: refilled at the rate, up to capacity.
    pub fn refilled(&self, tokens: Decimal, last: i64, now: i64) -> Decimal {
        let elapsed = now.saturating_sub(last).max(0);
        let t = if elapsed == 0 {
            tokens
        } else {
            tokens.saturating_add(Decimal::from(elapsed).saturating_mul(self.refill_per_ms))
        };
        if crate::number::cmp(t, self.capacity).is_gt() {
            self.capacity
        } else {
            t
        }
    }
}

/// A validated entitlement.
#[derive(Debug, Clone)]
pub struct Entitlement {
    /// Its key in the plan.
    pub name: Arc<str>,
    /// Display text.
    pub description: String,
    /// Customer type whose meter this entitlement uses (reached through refs), if not the caller's.
    pub scope: Option<String>,
    /// Event-data field a call's size scales with (per-basis estimates), e.g. `input`.
    pub estimate_basis: Option<String>,
    /// Event-data field that picks the estimate segment, e.g. `model`.
    pub estimate_segment: Option<String>,
    /// No limit = a feature flag.
    pub limit: Option<Limit>,
}

/// How a resetting grant refills at each new period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetMode {
    /// Back to the starting value.
    Hard,
    /// Plus the starting value.
    Add,
    /// The starting value plus a carried share of what was left.
    Rollover,
}

impl ResetMode {
    /// The mode's name in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ResetMode::Hard => "hard",
            ResetMode::Add => "add",
            ResetMode::Rollover => "rollover",
        }
    }
}

/// The refill rules of a grant from a resetting top-up.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantReset {
    /// When it refills.
    pub rule: ResetRule,
    /// How it refills.
    pub mode: ResetMode,
    /// Share of the balance carried over (`rollover`; all of it when unset).
    pub rollover_pct: Option<Decimal>,
    /// Least carried over (`rollover`).
    pub rollover_min: Option<Decimal>,
    /// Most carried over (`rollover`).
    pub rollover_max: Option<Decimal>,
    /// Ceiling on the balance after a refill.
    pub max_balance: Option<Decimal>,
    /// Most refills applied at once when several periods passed (rolling periods).
    pub catchup_cap: Option<u32>,
}

/// A top-up offered on a plan.
#[derive(Debug, Clone)]
pub struct Topup {
    /// Its key in the plan.
    pub name: Arc<str>,
    /// Credit granted.
    pub credit: Arc<str>,
    /// Amount granted (cast to the credit's units).
    pub value: Decimal,
    /// Lifetime of a grant from this top-up, in ms.
    pub expires_after: Option<i64>,
    /// Refill rules, for resetting top-ups.
    pub reset: Option<GrantReset>,
    /// Granted automatically with the plan.
    pub included: bool,
    /// Customer types an included top-up is granted to (`None`: every type).
    pub included_scopes: Option<Vec<String>>,
    /// The top-up as written in the document; sent in events.
    pub record: serde_json::Value,
}

/// A validated plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Its key in `policy.plans`.
    pub name: Arc<str>,
    /// Display label.
    pub label: String,
    /// Whether this plan is a default candidate.
    pub default: bool,
    /// Entitlement charged by `ensure_plan_subscription` (default `subscription`).
    pub subscription: String,
    /// Delay before `ensure_plan_subscription` charges, in ms.
    pub trial_period: Option<i64>,
    /// Billing period in ms (`monthly` = 30 days by default), for plan margins.
    pub period_ms: i64,
    /// Entitlements by name.
    pub entitlements: NameMap<Entitlement>,
    /// Top-ups by name.
    pub topups: NameMap<Topup>,
}

/// Below this many entries a linear scan beats hashing the name.
const SCAN: usize = 8;

impl Plan {
    /// An entitlement by name (a linear scan for small plans: cheaper than hashing).
    pub fn entitlement(&self, name: &str) -> Option<&Entitlement> {
        if self.entitlements.len() <= SCAN {
            return self.entitlements.values().find(|e| *e.name == *name);
        }
        self.entitlements.get(name)
    }
}
