//! `limitr explain`: why a call would pass or fail against a saved state, without metering it:
//! the limit in force, usage this period, grants, caps, and the binding constraint. Everything
//! comes from the engine's reads (`check_detail`, `value`, `limit`, `remaining`,
//! `remaining_credit`, `held`, the customer record) and its pricing.

use crate::document::{self, Document};
use crate::failure::outln;
use crate::failure::{Failure, Result};
use crate::money::Currency;
use crate::usage::parse_timestamp;
use limitr_core::cap::CallCost;
use limitr_core::number::{self, Decimal};
use limitr_core::policy::reset::ResetRule;
use limitr_core::{Format, Limitr, ManualClock, Mode, Reason};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `limitr explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy (its rules; customers come from --state).
    pub policy: PathBuf,
    /// A saved state: a document written by the engine's `stringify` (or `simulate --state`).
    #[arg(long)]
    pub state: PathBuf,
    /// The customer's id.
    #[arg(long)]
    pub customer: String,
    /// The entitlement.
    #[arg(long)]
    pub entitlement: String,
    /// The call's amount (a number, or with a unit for measured credits: `500MB`).
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    pub value: String,
    /// When the call would happen (ISO 8601 or epoch ms; default now).
    #[arg(long)]
    pub at: Option<String>,
    /// The documents' format, when the extensions do not say it.
    #[arg(long, value_parser = document::parse_format)]
    pub format: Option<Format>,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
}

fn dec(d: Decimal) -> Value {
    number::to_value(d.normalize())
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or(ms.to_string(), |d| {
        d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    })
}

/// A duration in the largest whole unit (`1 day`, `6 hours`, `90 s`).
fn span(ms: i64) -> String {
    let units = [(86_400_000, "day"), (3_600_000, "hour"), (60_000, "minute")];
    for (size, name) in units {
        if ms >= size && ms % size == 0 {
            let n = ms / size;
            return format!("{n} {name}{}", if n == 1 { "" } else { "s" });
        }
    }
    format!("{} ms", ms)
}

fn reset_text(r: Option<&ResetRule>) -> String {
    match r {
        None => "no reset".into(),
        Some(ResetRule::Rolling { inc_ms }) => format!("resets every {}", span(*inc_ms)),
        Some(ResetRule::Calendar(s)) => format!("resets on a calendar schedule ({s:?})"),
    }
}

/// Runs the command.
pub fn run(args: &Args) -> Result<ExitCode> {
    let policy = Document::read(&args.policy, args.format)?;
    let state = Document::read(&args.state, args.format)?;
    let engine = policy.load_with_state(&state)?;
    let now = match &args.at {
        Some(t) => parse_timestamp(t).ok_or_else(|| {
            Failure::new(format!(
                "--at: `{t}` is not an ISO 8601 date-time or epoch milliseconds"
            ))
        })?,
        None => limitr_core::Clock::now_ms(&limitr_core::SystemClock),
    };
    let engine = engine.with_clock(Arc::new(ManualClock::new(now)));
    let out = explain(&engine, args, now)?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| Failure::new(e.to_string()))?
        );
    } else if let Some(lines) = out.get("text").and_then(Value::as_array) {
        for l in lines {
            outln!("{}", l.as_str().unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(engine: &Limitr, args: &Args, now: i64) -> Result<Value> {
    let (id, ent) = (args.customer.as_str(), args.entitlement.as_str());
    let policy = engine.policy();
    let fail = |e: limitr_core::Error| Failure::new(e.to_string());
    let mut text: Vec<String> = Vec::new();
    let mut out = Map::new();
    out.insert("customer".into(), json!(id));
    out.insert("entitlement".into(), json!(ent));
    out.insert("at".into(), json!(when(now)));
    let Some(c) = engine.customer(id) else {
        let known: Vec<String> = engine.customers().keys().take(10).cloned().collect();
        return Err(Failure::new(format!(
            "`{}`: no customer `{id}` in the state (customers: {})",
            args.state.display(),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        )));
    };
    let value = engine.quantity(id, ent, &args.value).map_err(fail)?;
    let plan_name = if c.plan.is_empty() {
        policy
            .default_plan
            .as_deref()
            .unwrap_or_default()
            .to_string()
    } else {
        c.plan.to_string()
    };
    out.insert("plan".into(), json!(plan_name));
    out.insert("value".into(), dec(value));
    let detail = engine.check_detail(id, ent, value, None).map_err(fail)?;
    out.insert("allowed".into(), json!(detail.allowed));
    out.insert("reason".into(), json!(detail.reason.as_str()));
    text.push(format!(
        "{id} (plan {plan_name}) · {ent} · {} at {}: {}",
        value.normalize(),
        when(now),
        if detail.allowed {
            "ALLOWED".to_string()
        } else {
            format!("DENIED ({})", detail.reason.as_str())
        }
    ));
    let plan = policy.plan(&plan_name);
    let entitlement = plan.and_then(|p| p.entitlement(ent));
    let Some(entitlement) = entitlement else {
        let names: Vec<&str> = plan
            .map(|p| p.entitlements.keys().map(|k| &**k).collect())
            .unwrap_or_default();
        let why = format!(
            "plan `{plan_name}` has no entitlement `{ent}` (it has: {})",
            names.join(", ")
        );
        text.push(format!("binding constraint: {why}"));
        out.insert(
            "binding".into(),
            json!({"kind": "entitlement", "text": why}),
        );
        out.insert("text".into(), json!(text));
        return Ok(Value::Object(out));
    };
    let Some(limit) = c.limit_for(ent, entitlement.limit.as_ref(), now) else {
        let why = "a feature flag (no limit): allowed while the plan has it".to_string();
        text.push(format!("binding constraint: {why}"));
        out.insert("binding".into(), json!({"kind": "flag", "text": why}));
        out.insert("text".into(), json!(text));
        return Ok(Value::Object(out));
    };
    let credit = policy.credit(&limit.credit);
    let cast = credit.map_or(value, |c| c.units.cast(value));
    let used = engine
        .value(id, ent, false, false)
        .map_err(fail)?
        .unwrap_or_default();
    let with_grants = engine.limit(id, ent, true).map_err(fail)?;
    let grants = engine
        .remaining_credit(id, &limit.credit)
        .map_err(fail)?
        .unwrap_or_default();
    let held = engine.held(id, ent).map_err(fail)?.unwrap_or_default();
    let after = used + cast;
    let past = number::floor0(after - limit.value) - number::floor0(used - limit.value);
    let overridden = c.override_for(ent, now).is_some();
    let mode = match limit.mode {
        Mode::Hard => "hard",
        Mode::Soft => "soft",
        Mode::Observe => "observe",
    };
    out.insert(
        "limit".into(),
        json!({
            "mode": mode,
            "value": dec(limit.value),
            "credit": &*limit.credit,
            "with_grants": with_grants.map_or(Value::Null, dec),
            "override": overridden,
            "reset": reset_text(limit.reset.as_ref()),
            "resets_at": detail.resets.map(when),
        }),
    );
    out.insert("used".into(), dec(used));
    out.insert("after".into(), dec(after));
    out.insert("held".into(), dec(held));
    out.insert(
        "remaining".into(),
        detail.remaining.map_or(Value::Null, dec),
    );
    text.push(format!(
        "limit: {mode} {} {} ({}{}){}",
        limit.value.normalize(),
        limit.credit,
        reset_text(limit.reset.as_ref()),
        detail
            .resets
            .map_or(String::new(), |r| format!(", next at {}", when(r))),
        if overridden {
            "; a customer override"
        } else {
            ""
        }
    ));
    text.push(format!(
        "used this period: {}; after this call: {}{}",
        used.normalize(),
        after.normalize(),
        if held.is_zero() {
            String::new()
        } else {
            format!("; held by reservations: {}", held.normalize())
        }
    ));
    let live: Vec<&limitr_core::Grant> = c.grants.iter().filter(|g| g.live(now)).collect();
    let grant_list: Vec<Value> = live
        .iter()
        .map(|g| {
            json!({"id": g.id.as_str(), "credit": &*g.credit, "value": dec(g.value),
                   "topup": g.topup.as_deref(), "expires_on": g.expires_on.map(when)})
        })
        .collect();
    out.insert(
        "grants".into(),
        json!({"balance": dec(grants), "applies": limit.grants_apply, "live": grant_list}),
    );
    text.push(if live.is_empty() {
        "grants: none".into()
    } else {
        let each: Vec<String> = live
            .iter()
            .map(|g| {
                format!(
                    "{} {} {}",
                    g.topup.as_deref().unwrap_or(&g.id),
                    g.value.normalize(),
                    g.credit
                )
            })
            .collect();
        format!(
            "grants: {} (balance {} {}{})",
            each.join(", "),
            grants.normalize(),
            limit.credit,
            if limit.grants_apply {
                ""
            } else {
                "; this limit does not draw grants"
            }
        )
    });
    // caps: what this call would add to each, against its room
    let covered = if limit.grants_apply {
        grants.min(past)
    } else {
        Decimal::ZERO
    };
    let overhead = credit.map_or(Decimal::ZERO, |c| c.overhead_of(cast, None));
    let call = CallCost {
        entitlement: ent,
        credit: &limit.credit,
        units: cast,
        overage: past,
        covered,
        overhead,
        position: number::floor0(used - limit.value),
        start: used - limit.value,
    };
    let caps: Vec<&limitr_core::cap::Cap> = c
        .profile
        .iter()
        .flat_map(|p| p.caps.iter())
        .filter(|k| k.live(now) && k.applies(ent, &limit.credit, &policy.exchange))
        .collect();
    let mut cap_list = Vec::new();
    let mut tight_cap = None;
    for k in &caps {
        let k = k.rolled(now).unwrap_or_else(|| (*k).clone());
        let adds = k.consumption(&call, &policy.exchange);
        let room = k.value - k.meter_value;
        let fits = adds.is_some_and(|a| k.has_room(a));
        text.push(format!(
            "cap {}: {} of {} {} used; this call adds {}{}",
            k.id,
            k.meter_value.normalize(),
            k.value.normalize(),
            k.credit,
            adds.map_or("(no conversion)".into(), |a| a.normalize().to_string()),
            if k.observe_only {
                " (observe only)"
            } else if fits {
                ""
            } else {
                " — over the ceiling"
            }
        ));
        cap_list.push(
            json!({"id": k.id, "credit": k.credit, "ceiling": dec(k.value),
            "used": dec(k.meter_value), "adds": adds.map(dec), "fits": fits,
            "observe_only": k.observe_only}),
        );
        if !fits && !k.observe_only && tight_cap.is_none() {
            tight_cap = Some((
                k.id.clone(),
                adds.unwrap_or_default(),
                room,
                k.credit.clone(),
            ));
        }
    }
    if caps.is_empty() {
        text.push("caps: none".into());
    }
    out.insert("caps".into(), Value::Array(cap_list));
    let (kind, why) = binding(
        engine, &detail, limit, used, after, past, grants, held, cast, tight_cap, credit,
    );
    text.push(format!("binding constraint: {why}"));
    out.insert("binding".into(), json!({"kind": kind, "text": why}));
    out.insert("text".into(), json!(text));
    Ok(Value::Object(out))
}

/// The constraint that decides the call, in words.
#[allow(
    clippy::too_many_arguments,
    reason = "the figures gathered above, once"
)]
fn binding(
    engine: &Limitr,
    detail: &limitr_core::CheckDetail,
    limit: &limitr_core::Limit,
    used: Decimal,
    after: Decimal,
    past: Decimal,
    grants: Decimal,
    held: Decimal,
    cast: Decimal,
    tight_cap: Option<(String, Decimal, Decimal, String)>,
    credit: Option<&limitr_core::Credit>,
) -> (&'static str, String) {
    let l = limit.value.normalize();
    let c = &limit.credit;
    match detail.reason {
        Reason::Cap => match tight_cap {
            Some((id, adds, room, credit)) => (
                "cap",
                format!(
                    "spend cap `{id}`: the call adds {} {credit} with {} left",
                    adds.normalize(),
                    room.normalize()
                ),
            ),
            None => (
                "cap",
                "a spend cap (shared through refs) has no room for the call".into(),
            ),
        },
        Reason::Rate => (
            "rate",
            format!(
                "the rate governor: not enough tokens in the bucket{}",
                detail
                    .retry_after
                    .map_or(String::new(), |ms| format!(", retry after {ms} ms"))
            ),
        ),
        Reason::Held => (
            "held",
            format!(
                "reservations hold {} of the room under the limit of {l} {c}",
                held.normalize()
            ),
        ),
        Reason::Limit if limit.hard_trailing => (
            "limit",
            format!(
                "hard limit (trailing): the meter is already at {} of {l} {c}",
                used.normalize()
            ),
        ),
        Reason::Limit => (
            "limit",
            format!(
                "hard limit: {} + {} = {} is past {l} {c} by {}, and grants cover {} of it{}",
                used.normalize(),
                cast.normalize(),
                after.normalize(),
                past.normalize(),
                grants.min(past).normalize(),
                if limit.grants_apply {
                    ""
                } else {
                    " (this limit does not draw grants)"
                }
            ),
        ),
        Reason::UnknownCustomer | Reason::UnknownEntitlement | Reason::Scope => (
            "scope",
            format!("no meter owner for the call ({})", detail.reason.as_str()),
        ),
        Reason::Ok => match limit.mode {
            Mode::Observe => (
                "observe",
                format!("an observe limit ({l} {c}): never denies"),
            ),
            _ if !number::positive(past) => (
                "limit",
                format!(
                    "within the limit: {} of {l} {c} after the call, {} left",
                    after.normalize(),
                    (limit.value - after).normalize()
                ),
            ),
            Mode::Hard => (
                "grants",
                format!(
                    "past the hard limit by {}, paid by grants ({} available)",
                    past.normalize(),
                    grants.normalize()
                ),
            ),
            Mode::Soft => {
                let covered = if limit.grants_apply {
                    grants.min(past)
                } else {
                    Decimal::ZERO
                };
                let billed = past - covered;
                let position = number::floor0(used - limit.value) + covered;
                let price = credit
                    .and_then(|cr| engine.policy().price_units(cr, billed, position))
                    .unwrap_or_default();
                let money = Currency::of(engine, None);
                (
                    "overage",
                    format!(
                        "past the soft limit of {l} {c} by {}: grants cover {}, {} billed as overage ({} {})",
                        past.normalize(),
                        covered.normalize(),
                        billed.normalize(),
                        money.of_runes(price),
                        money.code
                    ),
                )
            }
        },
    }
}
