//! Raw document → validated [`Policy`], collecting every problem with its path.

use super::credit::{Credit, OverheadRates, Pricing, Units};
use super::duration::parse_duration_ms;
use super::issue::{Issue, Severity};
use super::plan::NameMap;
use super::plan::{Entitlement, Governor, GrantReset, Limit, Mode, Plan, ResetMode, Topup};
use super::reset::{ResetRule, Schedule};
use crate::exchange::{Exchange, GrantStrategy, Pair};
use crate::notify::{METER_EVENTS, Rule, When};
use crate::number::{self, Decimal};
use crate::pricing::Tier;
use hashbrown::HashMap;
use serde_json::{Map, Value};
use std::sync::Arc;

const POLICY_FIELDS: &[&str] = &[
    "version",
    "credits",
    "plans",
    "exchange",
    "notifications",
    "customers",
    "alt_customer_ids",
    "capabilities",
    "estimates",
    "estimate_min_samples",
    "hold_ttl",
    "idempotency_ttl",
];
const CREDIT_FIELDS: &[&str] = &[
    "package_size",
    "unit",
    "label",
    "description",
    "resets",
    "overhead_cost",
    "pricing_model",
    "price",
    "tiers",
    "stof_units",
    "overhead_rates",
    "name",
];
const PLAN_FIELDS: &[&str] = &[
    "name",
    "label",
    "description",
    "period",
    "subscription",
    "trial_period",
    "entitlements",
    "topups",
    "hidden",
    "default",
];
const ENTITLEMENT_FIELDS: &[&str] = &[
    "name",
    "description",
    "limit",
    "scope",
    "hidden",
    "estimate_basis",
    "estimate_segment",
];
const LIMIT_FIELDS: &[&str] = &[
    "credit",
    "mode",
    "value",
    "increment",
    "minimum",
    "hard_trailing",
    "grants_apply",
    "resets",
    "reset_inc",
    "reset_sch",
    "override_expires_on",
    "governor_enabled",
    "governor_capacity",
    "governor_refill_rate",
    "ewma_alpha",
];
const TOPUP_FIELDS: &[&str] = &[
    "name",
    "description",
    "credit",
    "value",
    "price",
    "included",
    "included_scopes",
    "resets",
    "reset_inc",
    "reset_sch",
    "reset_mode",
    "rollover_min",
    "rollover_max",
    "rollover_pct",
    "max_balance",
    "expires_after",
    "reset_catchup_cap",
];
const PAIR_FIELDS: &[&str] = &["value", "currency"];

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Thirty days in ms: the period of `resets: true` without an interval.
pub const DEFAULT_RESET_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// The outcome of reading a policy: the model (when it has no errors) and every issue found.
pub(crate) struct Checked {
    pub hold_ttl: i64,
    pub idempotency_ttl: i64,
    pub estimate_min_samples: u64,
    pub credits: NameMap<Credit>,
    pub plans: NameMap<Plan>,
    pub exchange: Exchange,
    pub notifications: Vec<Rule>,
    pub issues: Vec<Issue>,
}

struct Ctx {
    issues: Vec<Issue>,
}

impl Ctx {
    fn error(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.issues.push(Issue {
            path: path.to_string(),
            code,
            message: message.into(),
            severity: Severity::Error,
        });
    }
    /// Reports a map key that is the empty string (no call can name it); true when it is.
    fn empty_name(&mut self, name: &str, path: &str, what: &str) -> bool {
        if name.is_empty() {
            self.error(
                path,
                "INVALID_VALUE",
                format!("a {what} name must not be empty"),
            );
        }
        name.is_empty()
    }

    fn warn(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.issues.push(Issue {
            path: path.to_string(),
            code,
            message: message.into(),
            severity: Severity::Warning,
        });
    }
    fn known(&mut self, map: &Map<String, Value>, path: &str, fields: &[&str]) {
        for key in map.keys() {
            if !fields.contains(&key.as_str()) {
                self.warn(
                    &format!("{path}.{key}"),
                    "UNKNOWN_FIELD",
                    format!("unknown field `{key}` (kept as is)"),
                );
            }
        }
    }
    fn object<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.error(
                    path,
                    "INVALID_TYPE",
                    format!("expected an object, found {}", kind(other)),
                );
                None
            }
        }
    }
    /// An optional map field (`null`/absent = empty).
    fn map_field<'a>(
        &mut self,
        m: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => self.object(v, &format!("{path}.{key}")),
        }
    }
    fn string(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.error(
                    &format!("{path}.{key}"),
                    "INVALID_TYPE",
                    format!("expected a string, found {}", kind(other)),
                );
                None
            }
        }
    }
    fn boolean(&mut self, m: &Map<String, Value>, key: &str, path: &str, default: bool) -> bool {
        match m.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.error(
                    &format!("{path}.{key}"),
                    "INVALID_TYPE",
                    format!("expected true or false, found {}", kind(other)),
                );
                default
            }
        }
    }
    fn number(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Option<Decimal> {
        let v = m.get(key)?;
        if v.is_null() {
            return None;
        }
        let parsed = number::from_value(v);
        if parsed.is_none() {
            self.error(
                &format!("{path}.{key}"),
                "INVALID_NUMBER",
                format!("`{}` is not a valid number", display(v)),
            );
        }
        parsed
    }
    fn non_negative(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Option<Decimal> {
        let n = self.number(m, key, path)?;
        if n.is_sign_negative() && !n.is_zero() {
            self.error(
                &format!("{path}.{key}"),
                "INVALID_VALUE",
                format!("must not be negative, found `{n}`"),
            );
            return None;
        }
        Some(n)
    }
    fn duration(&mut self, m: &Map<String, Value>, key: &str, path: &str) -> Option<i64> {
        let v = m.get(key)?;
        let p = format!("{path}.{key}");
        let ms = match v {
            Value::Null => return None,
            Value::String(s) => match parse_duration_ms(s) {
                Ok(ms) => ms,
                Err(e) => {
                    self.error(&p, "INVALID_RESET", e.to_string());
                    return None;
                }
            },
            Value::Number(_) => {
                match number::from_value(v).and_then(|d| i64::try_from(d.trunc()).ok()) {
                    Some(ms) => ms,
                    None => {
                        self.error(
                            &p,
                            "INVALID_NUMBER",
                            format!("`{}` is not a valid duration", display(v)),
                        );
                        return None;
                    }
                }
            }
            other => {
                self.error(
                    &p,
                    "INVALID_TYPE",
                    format!("expected a duration, found {}", kind(other)),
                );
                return None;
            }
        };
        if ms <= 0 {
            self.error(
                &p,
                "INVALID_VALUE",
                format!("duration must be greater than zero, found `{}`", display(v)),
            );
            return None;
        }
        Some(ms)
    }
    /// `resets`, `reset_inc`, `reset_sch` → a reset rule.
    fn reset(&mut self, m: &Map<String, Value>, path: &str) -> Option<ResetRule> {
        let resets = self.boolean(m, "resets", path, false);
        let inc = self.duration(m, "reset_inc", path);
        let sch = match self.string(m, "reset_sch", path) {
            Some(text) => match Schedule::parse(&text) {
                Ok(s) => Some(s),
                Err(e) => {
                    self.error(&format!("{path}.reset_sch"), "INVALID_RESET", e.to_string());
                    None
                }
            },
            None => None,
        };
        let has_inc = !matches!(m.get("reset_inc"), None | Some(Value::Null));
        let has_sch = !matches!(m.get("reset_sch"), None | Some(Value::Null));
        if has_inc && has_sch {
            self.error(
                &format!("{path}.reset_sch"),
                "CONFLICT",
                "`reset_inc` and `reset_sch` are mutually exclusive",
            );
            return None;
        }
        if !resets {
            if has_inc || has_sch {
                self.warn(
                    &format!("{path}.resets"),
                    "NO_EFFECT",
                    "`reset_inc`/`reset_sch` have no effect without `resets: true`",
                );
            }
            return None;
        }
        match (inc, sch) {
            (Some(inc_ms), _) => Some(ResetRule::Rolling { inc_ms }),
            (None, Some(s)) => Some(ResetRule::Calendar(s)),
            (None, None) if !has_inc && !has_sch => Some(ResetRule::Rolling {
                inc_ms: DEFAULT_RESET_MS,
            }),
            _ => None,
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads and checks the `policy` object.
pub(crate) fn check(policy: &Map<String, Value>) -> Checked {
    let mut cx = Ctx { issues: Vec::new() };
    cx.known(policy, "policy", POLICY_FIELDS);
    let credits = credits(&mut cx, policy);
    let exchange = exchange(&mut cx, policy, &credits);
    let plans = plans(&mut cx, policy, &credits, &exchange);
    let notifications = notifications(&mut cx, policy, &plans);
    let hold_ttl = cx
        .duration(policy, "hold_ttl", "policy")
        .unwrap_or(10 * 60 * 1000);
    let idempotency_ttl = cx
        .duration(policy, "idempotency_ttl", "policy")
        .unwrap_or(crate::idempotency::DEFAULT_TTL_MS);
    let estimate_min_samples = cx
        .non_negative(policy, "estimate_min_samples", "policy")
        .and_then(|d| u64::try_from(d.trunc()).ok())
        .unwrap_or(5);
    Checked {
        hold_ttl,
        idempotency_ttl,
        estimate_min_samples,
        credits,
        plans,
        exchange,
        notifications,
        issues: cx.issues,
    }
}

fn credits(cx: &mut Ctx, policy: &Map<String, Value>) -> NameMap<Credit> {
    let mut out = NameMap::default();
    let Some(map) = cx.map_field(policy, "credits", "policy") else {
        return out;
    };
    for (name, v) in map {
        let path = format!("policy.credits.{name}");
        if cx.empty_name(name, &path, "credit") {
            continue;
        }
        let Some(m) = cx.object(v, &path) else {
            continue;
        };
        cx.known(m, &path, CREDIT_FIELDS);
        let overhead_cost = cx
            .non_negative(m, "overhead_cost", &path)
            .unwrap_or_default();
        let units = match cx.string(m, "stof_units", &path).as_deref() {
            None | Some("float") => Units::Float,
            Some("int") => Units::Int,
            Some(other) if super::measure::measure(other).is_some() => {
                super::measure::measure(other).map_or(Units::Float, Units::Measure)
            }
            Some(other) => {
                cx.error(
                    &format!("{path}.stof_units"),
                    "INVALID_VALUE",
                    format!("unsupported units `{other}` (use `int`, `float`, a size such as `MB` or a time such as `s`)"),
                );
                Units::Float
            }
        };
        let model = cx
            .string(m, "pricing_model", &path)
            .unwrap_or_else(|| "flat".into());
        let pricing = match model.as_str() {
            "flat" => price_amount(cx, m, &path).map(Pricing::Flat),
            "package" => {
                let size = cx.number(m, "package_size", &path);
                match (price_amount(cx, m, &path), size) {
                    (Some(price), Some(size)) => Pricing::package(size, price)
                        .map_err(|e| {
                            cx.error(
                                &format!("{path}.package_size"),
                                "INVALID_VALUE",
                                e.to_lowercase(),
                            )
                        })
                        .ok(),
                    (_, None) => {
                        cx.error(
                            &format!("{path}.package_size"),
                            "MISSING_FIELD",
                            "a `package` price needs a `package_size`",
                        );
                        None
                    }
                    _ => {
                        cx.error(
                            &format!("{path}.price"),
                            "MISSING_FIELD",
                            "a `package` price needs a `price`",
                        );
                        None
                    }
                }
            }
            "tiered" | "volume" | "stairstep" => {
                if !matches!(m.get("price"), None | Some(Value::Null)) {
                    cx.error(
                        &format!("{path}.price"),
                        "CONFLICT",
                        format!("a `{model}` pricing model takes `tiers`, not `price`"),
                    );
                }
                tiers(cx, m, &path).and_then(|t| {
                    Pricing::tiers(&model, t)
                        .map_err(|e| cx.error(&format!("{path}.tiers"), "INVALID_VALUE", e))
                        .ok()
                })
            }
            other => {
                cx.error(
                    &format!("{path}.pricing_model"),
                    "INVALID_VALUE",
                    format!(
                        "`{other}` is not a pricing model: use flat, tiered, volume or stairstep"
                    ),
                );
                None
            }
        };
        let overhead_rates = overhead_rates(cx, m, &path);
        let mut record = m.clone();
        record.insert("name".into(), Value::String(name.clone()));
        let key: Arc<str> = Arc::from(name.as_str());
        out.insert(
            key.clone(),
            Credit {
                name: key,
                description: cx.string(m, "description", &path).unwrap_or_default(),
                overhead_cost,
                units,
                pricing,
                overhead_rates,
                record: Value::Object(record),
            },
        );
    }
    out
}

/// `policy.notifications`: declarative rules.
fn notifications(cx: &mut Ctx, policy: &Map<String, Value>, plans: &NameMap<Plan>) -> Vec<Rule> {
    let mut out = Vec::new();
    let Some(map) = cx.map_field(policy, "notifications", "policy") else {
        return out;
    };
    for (name, v) in map {
        let path = format!("policy.notifications.{name}");
        let Some(m) = cx.object(v, &path) else {
            continue;
        };
        cx.known(m, &path, &["on", "entitlement", "when", "description"]);
        let on = match cx.string(m, "on", &path) {
            None => None,
            Some(e) => match METER_EVENTS.iter().find(|x| **x == e) {
                Some(x) => Some(*x),
                None => {
                    cx.error(
                        &format!("{path}.on"),
                        "INVALID_VALUE",
                        format!(
                            "`{e}` is not a meter event: use {}",
                            METER_EVENTS.join(", ")
                        ),
                    );
                    continue;
                }
            },
        };
        let entitlement = cx.string(m, "entitlement", &path);
        if let Some(e) = &entitlement
            && !plans
                .values()
                .any(|p| p.entitlements.contains_key(e.as_str()))
        {
            cx.error(
                &format!("{path}.entitlement"),
                "UNKNOWN_ENTITLEMENT",
                format!("no plan has an entitlement `{e}`"),
            );
        }
        let wpath = format!("{path}.when");
        let Some(w) = cx.map_field(m, "when", &path) else {
            cx.error(
                &wpath,
                "MISSING_FIELD",
                "a notification needs `when`: `{percent_used: N}` or `{value: N}`",
            );
            continue;
        };
        let when = if w.contains_key("percent_used") {
            match cx.non_negative(w, "percent_used", &wpath) {
                Some(p) if p > Decimal::ZERO && p <= Decimal::ONE_HUNDRED => When::PercentUsed(p),
                Some(p) => {
                    cx.error(
                        &format!("{wpath}.percent_used"),
                        "INVALID_VALUE",
                        format!("`{p}` must be above 0 and at most 100"),
                    );
                    continue;
                }
                None => continue,
            }
        } else if w.contains_key("value") {
            match cx.number(w, "value", &wpath) {
                Some(v) => When::Value(v),
                None => continue,
            }
        } else {
            cx.error(
                &wpath,
                "MISSING_FIELD",
                "`when` needs `percent_used` or `value`",
            );
            continue;
        };
        out.push(Rule {
            name: crate::notify::intern(name),
            on,
            entitlement,
            when,
        });
    }
    out
}

/// A credit's `overhead_rates` table.
fn overhead_rates(cx: &mut Ctx, m: &Map<String, Value>, path: &str) -> Option<OverheadRates> {
    let rpath = format!("{path}.overhead_rates");
    let r = cx.map_field(m, "overhead_rates", path)?;
    let Some(by) = cx.string(r, "by", &rpath).filter(|b| !b.is_empty()) else {
        cx.error(
            &format!("{rpath}.by"),
            "MISSING_FIELD",
            "`overhead_rates` needs `by`: the event-data field to look rates up with",
        );
        return None;
    };
    let table = cx.map_field(r, "rates", &rpath)?;
    let mut rates = Vec::new();
    for key in table.keys() {
        if let Some(rate) = cx.non_negative(table, key, &format!("{rpath}.rates")) {
            rates.push((key.clone(), rate));
        }
    }
    Some(OverheadRates { by, rates })
}

/// The `price.amount` of a credit, if it has one.
fn price_amount(cx: &mut Ctx, m: &Map<String, Value>, path: &str) -> Option<Decimal> {
    let p = match m.get("price") {
        None | Some(Value::Null) => return None,
        Some(p) => p,
    };
    let ppath = format!("{path}.price");
    let pm = cx.object(p, &ppath)?;
    if pm.get("amount").is_none_or(Value::is_null) {
        cx.error(
            &format!("{ppath}.amount"),
            "MISSING_FIELD",
            "a price needs an `amount`",
        );
        return None;
    }
    cx.non_negative(pm, "amount", &ppath)
}

/// The `tiers` list of a tiered/volume/stairstep credit.
fn tiers(cx: &mut Ctx, m: &Map<String, Value>, path: &str) -> Option<Vec<Tier>> {
    let tpath = format!("{path}.tiers");
    let Some(list) = m.get("tiers").and_then(Value::as_array) else {
        cx.error(
            &tpath,
            "MISSING_FIELD",
            "a tiered, volume or stairstep price needs a `tiers` list",
        );
        return None;
    };
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let ipath = format!("{tpath}.{i}");
        let tm = cx.object(t, &ipath)?;
        let up_to = cx.number(tm, "up_to", &ipath);
        let price = price_amount(cx, tm, &ipath);
        if price.is_none() && tm.get("price").is_none() {
            cx.error(
                &format!("{ipath}.price"),
                "MISSING_FIELD",
                "a tier needs a `price`",
            );
        }
        out.push(Tier::new(up_to, price?));
    }
    Some(out)
}

fn exchange(cx: &mut Ctx, policy: &Map<String, Value>, credits: &NameMap<Credit>) -> Exchange {
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    pairs.insert(
        "usd".into(),
        Pair {
            value: Decimal::ONE,
            currency: "rune".into(),
        },
    );
    let mut strategy = GrantStrategy::default();
    if let Some(map) = cx.map_field(policy, "exchange", "policy") {
        for (name, v) in map {
            let path = format!("policy.exchange.{name}");
            if name == "grant_strategy" {
                strategy = match v.as_str() {
                    Some("expires_first") => GrantStrategy::ExpiresFirst,
                    Some("cheapest_first") => GrantStrategy::CheapestFirst,
                    Some("valuable_first") => GrantStrategy::ValuableFirst,
                    _ => {
                        cx.error(&path, "INVALID_VALUE", format!("`{}` is not a grant strategy: use expires_first, cheapest_first or valuable_first", display(v)));
                        strategy
                    }
                };
                continue;
            }
            let Some(m) = cx.object(v, &path) else {
                continue;
            };
            if name == "rune" {
                continue; // the base currency's own pair is never followed
            }
            cx.known(m, &path, PAIR_FIELDS);
            let value = if m.contains_key("value") {
                cx.non_negative(m, "value", &path)
            } else {
                Some(Decimal::ONE)
            };
            let currency = match cx.string(m, "currency", &path) {
                Some(c) if !c.trim().is_empty() => Some(c),
                None if !m.contains_key("currency") => Some("usd".to_string()),
                _ => {
                    cx.error(
                        &format!("{path}.currency"),
                        "INVALID_VALUE",
                        "an exchange pair needs a non-empty `currency`",
                    );
                    None
                }
            };
            if let (Some(value), Some(currency)) = (value, currency) {
                pairs.insert(name.clone(), Pair { value, currency });
            } else {
                pairs.remove(name.as_str());
            }
        }
    }
    let priced: HashMap<String, Pricing> = credits
        .values()
        .filter_map(|c| Some((c.name.to_string(), c.pricing.clone()?)))
        .collect();
    let (ex, broken) = Exchange::build(&pairs, &priced, strategy);
    for name in broken {
        cx.error(
            &format!("policy.exchange.{name}.currency"),
            "BROKEN_EXCHANGE",
            format!("`{name}` does not convert to runes (unknown currency or a cycle)"),
        );
    }
    ex
}

fn plans(
    cx: &mut Ctx,
    policy: &Map<String, Value>,
    credits: &NameMap<Credit>,
    exchange: &Exchange,
) -> NameMap<Plan> {
    let mut out = NameMap::default();
    let Some(map) = cx.map_field(policy, "plans", "policy") else {
        return out;
    };
    for (name, v) in map {
        let path = format!("policy.plans.{name}");
        if cx.empty_name(name, &path, "plan") {
            continue;
        }
        let Some(m) = cx.object(v, &path) else {
            continue;
        };
        cx.known(m, &path, PLAN_FIELDS);
        let mut entitlements = NameMap::default();
        if let Some(ents) = cx.map_field(m, "entitlements", &path) {
            for (ename, ev) in ents {
                let epath = format!("{path}.entitlements.{ename}");
                if cx.empty_name(ename, &epath, "entitlement") {
                    continue;
                }
                let Some(em) = cx.object(ev, &epath) else {
                    continue;
                };
                cx.known(em, &epath, ENTITLEMENT_FIELDS);
                let limit = match em.get("limit") {
                    None | Some(Value::Null) => None,
                    Some(lv) => limit(cx, lv, &format!("{epath}.limit"), credits),
                };
                let key: Arc<str> = Arc::from(ename.as_str());
                entitlements.insert(
                    key.clone(),
                    Entitlement {
                        name: key,
                        description: cx.string(em, "description", &epath).unwrap_or_default(),
                        scope: cx.string(em, "scope", &epath).filter(|s| !s.is_empty()),
                        estimate_basis: cx
                            .string(em, "estimate_basis", &epath)
                            .filter(|s| !s.is_empty()),
                        estimate_segment: cx
                            .string(em, "estimate_segment", &epath)
                            .filter(|s| !s.is_empty()),
                        limit,
                    },
                );
            }
        }
        let mut topups = NameMap::default();
        if let Some(tops) = cx.map_field(m, "topups", &path) {
            for (tname, tv) in tops {
                let tpath = format!("{path}.topups.{tname}");
                if cx.empty_name(tname, &tpath, "top-up") {
                    continue;
                }
                if let Some(t) = topup(cx, tname, tv, &tpath, credits, exchange) {
                    topups.insert(t.name.clone(), t);
                }
            }
        }
        let key: Arc<str> = Arc::from(name.as_str());
        out.insert(
            key.clone(),
            Plan {
                name: key,
                label: cx.string(m, "label", &path).unwrap_or_default(),
                default: cx.boolean(m, "default", &path, false),
                subscription: cx
                    .string(m, "subscription", &path)
                    .unwrap_or_else(|| "subscription".into()),
                trial_period: cx.duration(m, "trial_period", &path),
                period_ms: match cx.string(m, "period", &path).as_deref() {
                    None | Some("monthly") => 30 * DAY_MS,
                    Some("yearly") => 365 * DAY_MS,
                    Some("weekly") => 7 * DAY_MS,
                    Some("daily") => DAY_MS,
                    Some(other) => {
                        cx.error(&format!("{path}.period"), "INVALID_VALUE", format!("`{other}` is not a plan period: use yearly, monthly, weekly or daily"));
                        30 * DAY_MS
                    }
                },
                entitlements,
                topups,
            },
        );
    }
    out
}

fn credit_ref<'a>(
    cx: &mut Ctx,
    m: &Map<String, Value>,
    path: &str,
    credits: &'a NameMap<Credit>,
) -> Option<&'a Credit> {
    match m.get("credit") {
        None | Some(Value::Null) => {
            cx.error(
                &format!("{path}.credit"),
                "MISSING_FIELD",
                "a `credit` is required",
            );
            None
        }
        Some(Value::String(c)) => {
            let found = credits.get(c.as_str());
            if found.is_none() {
                cx.error(
                    &format!("{path}.credit"),
                    "UNKNOWN_CREDIT",
                    format!("unknown credit `{c}`"),
                );
            }
            found
        }
        Some(other) => {
            cx.error(
                &format!("{path}.credit"),
                "INVALID_TYPE",
                format!("expected a credit name, found {}", kind(other)),
            );
            None
        }
    }
}

fn limit(cx: &mut Ctx, v: &Value, path: &str, credits: &NameMap<Credit>) -> Option<Limit> {
    let m = cx.object(v, path)?;
    cx.known(m, path, LIMIT_FIELDS);
    let credit = credit_ref(cx, m, path, credits);
    let mode = match cx.string(m, "mode", path).as_deref() {
        None | Some("hard") => Some(Mode::Hard),
        Some("soft") => Some(Mode::Soft),
        Some("observe") => Some(Mode::Observe),
        Some(other) => {
            cx.error(
                &format!("{path}.mode"),
                "INVALID_VALUE",
                format!("`{other}` is not a limit mode: use hard, soft or observe"),
            );
            None
        }
    };
    // measured credits take values with units (`"2GB"` on an `MB` credit)
    let measured = |cx: &mut Ctx, key: &str| -> Option<Option<Decimal>> {
        let (Some(Units::Measure(unit)), Some(Value::String(text))) =
            (credit.map(|c| c.units), m.get(key))
        else {
            return None;
        };
        Some(match super::measure::convert(text, unit) {
            Ok(v) => Some(v),
            Err(e) => {
                cx.error(&format!("{path}.{key}"), "INVALID_NUMBER", e);
                None
            }
        })
    };
    let value = match measured(cx, "value") {
        Some(v) => v.unwrap_or_default(),
        None => cx.non_negative(m, "value", path).unwrap_or_default(),
    };
    if value.is_sign_negative() && !value.is_zero() {
        cx.error(
            &format!("{path}.value"),
            "INVALID_VALUE",
            format!("must not be negative, found `{value}`"),
        );
    }
    let increment = match measured(cx, "increment") {
        Some(v) => v.unwrap_or(Decimal::ONE),
        None => cx.number(m, "increment", path).unwrap_or(Decimal::ONE),
    };
    let minimum = match measured(cx, "minimum") {
        Some(v) => v,
        None => cx.number(m, "minimum", path),
    };
    let hard_trailing = cx.boolean(m, "hard_trailing", path, false);
    if hard_trailing && mode != Some(Mode::Hard) {
        cx.error(
            &format!("{path}.hard_trailing"),
            "CONFLICT",
            "`hard_trailing` only applies to hard limits",
        );
    }
    let governor = if cx.boolean(m, "governor_enabled", path, false) {
        let capacity = cx.non_negative(m, "governor_capacity", path);
        let refill = cx.non_negative(m, "governor_refill_rate", path);
        for (key, got) in [
            ("governor_capacity", capacity.is_some()),
            ("governor_refill_rate", refill.is_some()),
        ] {
            if !got && m.get(key).is_none_or(Value::is_null) {
                cx.error(
                    &format!("{path}.{key}"),
                    "MISSING_FIELD",
                    format!("`{key}` is required when `governor_enabled` is true"),
                );
            }
        }
        if mode != Some(Mode::Hard) {
            cx.error(
                &format!("{path}.governor_enabled"),
                "CONFLICT",
                "the governor applies to hard limits only",
            );
        }
        match (capacity, refill) {
            (Some(capacity), Some(refill_per_ms)) => Some(Governor {
                capacity,
                refill_per_ms,
            }),
            _ => None,
        }
    } else {
        None
    };
    let ewma_alpha = match cx.number(m, "ewma_alpha", path) {
        None => 0.2,
        Some(a) if a >= Decimal::ZERO && a <= Decimal::ONE => number::to_f64(a),
        Some(a) => {
            cx.error(
                &format!("{path}.ewma_alpha"),
                "INVALID_VALUE",
                format!("`{a}` must be between 0 and 1"),
            );
            0.2
        }
    };
    let grants_apply = cx.boolean(m, "grants_apply", path, true);
    let reset = cx.reset(m, path);
    let (credit, mode) = (credit?, mode?);
    Some(Limit {
        credit: credit.name.clone(),
        credit_index: credits.get_index_of(&credit.name).unwrap_or_default(),
        mode,
        value: credit.units.cast(value),
        increment,
        minimum,
        hard_trailing,
        grants_apply,
        reset,
        governor,
        ewma_alpha,
        record: m.clone(),
    })
}

/// Validates a limit object (an override merged over its plan limit) against the credits.
pub(crate) fn limit_from(
    value: &Value,
    path: &str,
    credits: &NameMap<Credit>,
) -> Result<Limit, Vec<Issue>> {
    let mut cx = Ctx { issues: Vec::new() };
    let limit = limit(&mut cx, value, path, credits);
    let errors: Vec<Issue> = cx
        .issues
        .into_iter()
        .filter(|i| i.severity == Severity::Error)
        .collect();
    match limit {
        Some(l) if errors.is_empty() => Ok(l),
        _ => Err(errors),
    }
}

fn topup(
    cx: &mut Ctx,
    name: &str,
    v: &Value,
    path: &str,
    credits: &NameMap<Credit>,
    exchange: &Exchange,
) -> Option<Topup> {
    let m = cx.object(v, path)?;
    cx.known(m, path, TOPUP_FIELDS);
    // a top-up grants a credit, or any currency of the exchange table (`usd`, `rune`, …)
    let credit: Option<(Arc<str>, Units)> = match m.get("credit") {
        Some(Value::String(c)) if credits.contains_key(c.as_str()) => credits
            .get_key_value(c.as_str())
            .map(|(k, cr)| (k.clone(), cr.units)),
        Some(Value::String(c)) if exchange.resolves(c) => {
            Some((Arc::from(c.as_str()), Units::Float))
        }
        _ => {
            credit_ref(cx, m, path, credits);
            None
        }
    };
    let value = cx.non_negative(m, "value", path).unwrap_or_default();
    let expires_after = cx.duration(m, "expires_after", path);
    let reset = cx.reset(m, path).map(|rule| {
        let mode = match cx.string(m, "reset_mode", path).as_deref() {
            None | Some("hard") => ResetMode::Hard,
            Some("add") => ResetMode::Add,
            Some("rollover") => ResetMode::Rollover,
            Some(other) => {
                cx.error(
                    &format!("{path}.reset_mode"),
                    "INVALID_VALUE",
                    format!("`{other}` is not a reset mode: use hard, add or rollover"),
                );
                ResetMode::Hard
            }
        };
        let catchup = cx
            .non_negative(m, "reset_catchup_cap", path)
            .and_then(|d| u32::try_from(d.trunc()).ok());
        GrantReset {
            rule,
            mode,
            rollover_pct: cx.non_negative(m, "rollover_pct", path),
            rollover_min: cx.non_negative(m, "rollover_min", path),
            rollover_max: cx.non_negative(m, "rollover_max", path),
            max_balance: cx.non_negative(m, "max_balance", path),
            catchup_cap: catchup,
        }
    });
    let included = cx.boolean(m, "included", path, false);
    let included_scopes = match m.get("included_scopes") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
        ),
        Some(_) => {
            cx.error(
                &format!("{path}.included_scopes"),
                "INVALID_TYPE",
                "expected a list of customer types",
            );
            None
        }
    };
    let (credit, units) = credit?;
    let mut record = m.clone();
    record.insert("name".into(), Value::String(name.to_string()));
    Some(Topup {
        name: Arc::from(name),
        credit,
        value: units.cast(value),
        expires_after,
        reset,
        included,
        included_scopes,
        record: Value::Object(record),
    })
}
