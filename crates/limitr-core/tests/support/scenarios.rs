//! The scenario corpus runner (`tests/scenarios/*.json`, see `tests/SCENARIOS.md`), generic over
//! the store: the core replays it on the memory store, store crates on theirs, with the same
//! expectations. Included with `#[path]` by each test that replays the corpus.

use limitr_core::margin::Usage;
use limitr_core::number::{self, Decimal};
use limitr_core::{
    CallOptions, CapOptions, Error, Event, Format, Limitr, LoadOptions, ManualClock, NewCustomer,
    ReserveOptions, Store,
};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const DEFAULT_NOW: i64 = 1_767_225_600_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests")
}

type Log = Arc<Mutex<Vec<Event>>>;

/// Where a replay's engines keep their customers.
pub trait Backend {
    /// The store of the engines it opens.
    type Store: Store;
    /// An engine on a new, empty store (one per scenario).
    fn fresh(&mut self, text: &str, format: Format) -> Result<Limitr<Self::Store>, Error>;
    /// An engine on the store of the last [`fresh`](Backend::fresh) one, as a restart opens it
    /// (the `reload` step).
    fn reopen(&mut self, text: &str, format: Format) -> Result<Limitr<Self::Store>, Error>;
}

struct Run<'b, B: Backend> {
    backend: &'b mut B,
    engine: Limitr<B::Store>,
    clock: Arc<ManualClock>,
    log: Log,
    /// Values saved by steps with `"as": "name"` (hold ids), used as `"$name"` in later args.
    saved: Map<String, Value>,
    /// The scenario's load options, also used by `reload`.
    options: LoadOptions,
}

fn attach<S: Store>(engine: Limitr<S>, clock: &Arc<ManualClock>, log: &Log) -> Limitr<S> {
    let engine = engine.with_clock(clock.clone());
    let sink = log.clone();
    engine.add_handler("scenario", move |e: &Event| {
        sink.lock().map_err(|e| e.to_string())?.push(e.clone());
        Ok(())
    });
    engine
}

/// The scenario's load options (`"options": {"strict": true}`).
fn load_options(s: &Value) -> LoadOptions {
    let strict = s
        .get("options")
        .and_then(|o| o.get("strict"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    LoadOptions {
        strict,
        ..LoadOptions::default()
    }
}

fn load<B: Backend>(backend: &mut B, s: &Value) -> Result<Limitr<B::Store>, Error> {
    let options = load_options(s);
    let engine = if let Some(text) = s.get("policy_text").and_then(Value::as_str) {
        let format = Format::parse(s.get("format").and_then(Value::as_str).unwrap_or("json"))?;
        backend.fresh(text, format)?
    } else {
        match &s["policy"] {
            Value::String(name) => {
                let text =
                    std::fs::read_to_string(root().join("policies").join(format!("{name}.json")))
                        .unwrap();
                backend.fresh(&text, Format::Json)?
            }
            doc => backend.fresh(&doc.to_string(), Format::Json)?,
        }
    };
    engine.with_load_options(&options)
}

/// Subset match with exact decimal numbers; an expected null matches null or a missing key.
fn matches(expected: &Value, actual: Option<&Value>, at: &str) -> Result<(), String> {
    let fail = || {
        Err(format!(
            "{at}: expected {expected}, got {}",
            actual.map_or("nothing".into(), Value::to_string)
        ))
    };
    match (expected, actual) {
        (Value::Null, None | Some(Value::Null)) => Ok(()),
        (Value::Number(_), Some(a @ Value::Number(_))) => {
            if number::from_value(expected) == number::from_value(a) {
                Ok(())
            } else {
                fail()
            }
        }
        (Value::Object(e), Some(Value::Object(a))) => {
            for (k, v) in e {
                matches(v, a.get(k), &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Some(Value::Array(a))) => {
            if e.len() != a.len() {
                return fail();
            }
            for (i, (x, y)) in e.iter().zip(a).enumerate() {
                matches(x, Some(y), &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (e, Some(a)) if e == a => Ok(()),
        _ => fail(),
    }
}

fn dec(v: Option<&Value>) -> Decimal {
    v.and_then(number::from_value).unwrap_or_default()
}

fn num(d: Option<Decimal>) -> Value {
    d.map_or(Value::Null, number::to_value)
}

fn s<'a>(args: &'a Value, key: &str) -> &'a str {
    args.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn b(args: &Value, key: &str, default: bool) -> bool {
    args.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn customer_view(record: Option<Value>, expected: &Value) -> Option<Value> {
    let mut record = record?;
    if let (Some(by), Some(grants)) = (
        expected.get("grants_by_topup"),
        record.get("grants").cloned(),
    ) {
        let mut view = Map::new();
        for topup in by.as_object().into_iter().flat_map(|m| m.keys()) {
            let found = grants
                .as_object()
                .and_then(|g| g.values().find(|g| g["topup"] == topup.as_str()).cloned());
            view.insert(topup.clone(), found.unwrap_or(Value::Null));
        }
        if let Some(obj) = record.as_object_mut() {
            obj.insert("grants_by_topup".into(), Value::Object(view));
        }
    }
    Some(record)
}

fn step<B: Backend>(run: &mut Run<'_, B>, st: &Value) -> Result<Option<Value>, Error> {
    let mut args = st.get("args").cloned().unwrap_or(Value::Null);
    if let Some(obj) = args.as_object_mut() {
        for v in obj.values_mut() {
            if let Some(name) = v.as_str().and_then(|t| t.strip_prefix('$')) {
                *v = run.saved.get(name).cloned().unwrap_or(Value::Null);
            }
        }
    }
    let e = &run.engine;
    // amounts written with units ("500MB") are read through the engine
    if let (Some(Value::String(text)), Some(c), Some(ent)) = (
        args.get("value").cloned(),
        args.get("customer")
            .and_then(Value::as_str)
            .map(String::from),
        args.get("entitlement")
            .and_then(Value::as_str)
            .map(String::from),
    ) {
        let q = e.quantity(&c, &ent, &text)?;
        if let Some(obj) = args.as_object_mut() {
            obj.insert("value".into(), number::to_value(q));
        }
    }
    let opts = CallOptions {
        events: true,
        overhead: args.get("overhead").and_then(number::from_value),
        event_data: args.get("event_data").cloned(),
        caps: args
            .get("caps")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), dec(Some(v)))).collect())
            .unwrap_or_default(),
        idempotency_key: None,
    };
    let plan = args.get("plan").and_then(Value::as_str);
    Ok(Some(match s(st, "op") {
        "create_customer" => {
            let list = |key: &str| -> Vec<String> {
                args.get(key)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let new = NewCustomer {
                plan: plan.map(String::from),
                kind: args.get("type").and_then(Value::as_str).map(String::from),
                label: args.get("label").and_then(Value::as_str).map(String::from),
                refs: list("refs"),
                alt_ids: list("alt_ids"),
                metadata: args
                    .get("metadata")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
                idempotency_key: None,
            };
            e.create_customer_with(s(&args, "id"), &new)?;
            return Ok(None);
        }
        "create_customer_override" => {
            let fields = args
                .get("fields")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let expires = args.get("expires_on").and_then(Value::as_i64);
            Value::Bool(e.create_customer_override(
                s(&args, "id"),
                s(&args, "entitlement"),
                &fields,
                expires,
            )?)
        }
        "remove_customer_override" => {
            Value::Bool(e.remove_customer_override(s(&args, "id"), s(&args, "entitlement"))?)
        }
        "add_alt_id" => Value::Bool(e.add_alt_id(s(&args, "id"), s(&args, "alt"))?),
        "customer_margin" => e
            .customer_margin(s(&args, "customer"))?
            .map_or(Value::Null, |b| b.record()),
        "plan_margin" => {
            let usage: Vec<(String, Usage)> = args
                .get("usage")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let u = match v {
                        Value::Object(o) => Usage {
                            value: dec(o.get("value")),
                            overhead: o.get("overhead").and_then(number::from_value),
                            limit: o.get("limit").and_then(number::from_value),
                        },
                        other => Usage {
                            value: dec(Some(other)),
                            overhead: None,
                            limit: None,
                        },
                    };
                    (k.clone(), u)
                })
                .collect();
            e.plan_margin(s(&args, "plan"), &usage, b(&args, "scaled", true))?
                .record()
        }
        "reserve" => {
            let opts = ReserveOptions {
                value: args.get("value").and_then(number::from_value),
                ttl: args.get("ttl").and_then(Value::as_i64),
                quantile: args.get("quantile").and_then(Value::as_f64),
                basis: args.get("basis").and_then(Value::as_f64),
                segment: args
                    .get("segment")
                    .and_then(Value::as_str)
                    .map(String::from),
                overhead: args.get("overhead").and_then(number::from_value),
                event_data: args.get("event_data").cloned(),
                idempotency_key: None,
            };
            let id = e.reserve(s(&args, "customer"), s(&args, "entitlement"), &opts)?;
            if let (Some(name), Some(id)) = (st.get("as").and_then(Value::as_str), &id) {
                run.saved
                    .insert(name.to_string(), Value::String(id.clone()));
            }
            // the id is random-looking: expect `true` for "a hold was made", `null` for none
            id.map_or(Value::Null, |_| Value::Bool(true))
        }
        "settle" => Value::Bool(e.settle(
            s(&args, "customer"),
            s(&args, "entitlement"),
            s(&args, "hold"),
            dec(args.get("value")),
            b(&args, "final", true),
            &opts,
        )?),
        "release" => Value::Bool(e.release(
            s(&args, "customer"),
            s(&args, "entitlement"),
            s(&args, "hold"),
        )?),
        "held" => num(e.held(s(&args, "customer"), s(&args, "entitlement"))?),
        "observe" => Value::Bool(e.observe(
            s(&args, "customer"),
            s(&args, "entitlement"),
            dec(args.get("value")),
            args.get("overhead").and_then(number::from_value),
            args.get("basis").and_then(Value::as_f64),
            args.get("segment").and_then(Value::as_str),
            args.get("event_data"),
        )?),
        "estimate" => e
            .estimate(
                s(&args, "customer"),
                s(&args, "entitlement"),
                args.get("quantile").and_then(Value::as_f64).unwrap_or(0.9),
                args.get("basis").and_then(Value::as_f64),
                args.get("segment").and_then(Value::as_str),
            )?
            .map_or(Value::Null, |a| a.record()),
        "rate" => number::to_value(e.rate(
            s(&args, "customer"),
            s(&args, "entitlement"),
            b(&args, "smoothed", false),
        )?),
        "acceleration" => {
            number::to_value(e.acceleration(s(&args, "customer"), s(&args, "entitlement"))?)
        }
        "projected_exhaustion" => e
            .projected_exhaustion(
                s(&args, "customer"),
                s(&args, "entitlement"),
                b(&args, "smoothed", false),
                b(&args, "grants", true),
            )?
            .map_or(Value::Null, Value::from),
        "allowance" => num(e.allowance(
            s(&args, "customer"),
            s(&args, "entitlement"),
            b(&args, "grants", true),
        )?),
        "add_customer_cap" => {
            let list = |key: &str| {
                args.get(key).and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
            };
            let flag = |key: &str| b(&args, key, false);
            let text = |key: &str| {
                args.get(key)
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
            };
            let o = CapOptions {
                cap_id: args.get("cap_id").and_then(Value::as_str).map(String::from),
                credit: args.get("credit").and_then(Value::as_str).map(String::from),
                exchangeable: args.get("exchangeable").and_then(Value::as_bool),
                ignore_grants: flag("ignore_grants"),
                overage_only: flag("overage_only"),
                observe_only: flag("observe_only"),
                overhead_cost: flag("overhead_cost"),
                follow_decrements: flag("follow_decrements"),
                hard_trailing: flag("hard_trailing"),
                shared: flag("shared"),
                shared_with: list("shared_with"),
                scope: list("scope"),
                resets: flag("resets"),
                reset_inc: text("reset_inc"),
                reset_sch: text("reset_sch"),
                expires_on: args.get("expires_on").and_then(Value::as_i64),
                events: b(&args, "events", true),
            };
            e.add_customer_cap(s(&args, "id"), dec(args.get("value")), &o)?
                .unwrap_or(Value::Null)
        }
        "customer_cap" => e
            .customer_cap(s(&args, "id"), s(&args, "cap_id"))
            .unwrap_or(Value::Null),
        "reset_customer_cap" => {
            Value::Bool(e.reset_customer_cap(s(&args, "id"), s(&args, "cap_id"))?)
        }
        "remove_customer_cap" => Value::Bool(e.remove_customer_cap_with(
            s(&args, "id"),
            s(&args, "cap_id"),
            b(&args, "events", true),
        )?),
        "ensure_included_topups" => {
            Value::Bool(e.ensure_included_topups(s(&args, "id"), b(&args, "events", true))?)
        }
        "cost" => num(e.cost(s(&args, "customer"), s(&args, "entitlement"))?),
        "check_increment" => {
            Value::Bool(e.check_increment(s(&args, "customer"), s(&args, "entitlement"))?)
        }
        "ensure_plan_subscription" => Value::Bool(e.ensure_plan_subscription(s(&args, "id"))?),
        "ensure_customer" => Value::Bool(e.ensure_customer(s(&args, "id"), plan)?),
        "remove_customer" => Value::Bool(e.remove_customer(s(&args, "id"))?),
        "set_customer_plan" => Value::Bool(e.set_customer_plan(
            s(&args, "id"),
            s(&args, "plan"),
            b(&args, "reset_meters", false),
        )?),
        "allow" => Value::Bool(e.allow_with(
            s(&args, "customer"),
            s(&args, "entitlement"),
            dec(args.get("value")),
            &opts,
        )?),
        "check" => Value::Bool(e.check_with(
            s(&args, "customer"),
            s(&args, "entitlement"),
            dec(args.get("value")),
            &opts,
        )?),
        "check_detail" => {
            let d = e.check_detail(
                s(&args, "customer"),
                s(&args, "entitlement"),
                dec(args.get("value")),
                None,
            )?;
            serde_json::json!({"allowed": d.allowed, "reason": d.reason.as_str(), "remaining": num(d.remaining), "resets": d.resets, "retry_after": d.retry_after})
        }
        "increment" => {
            Value::Bool(e.increment(s(&args, "customer"), s(&args, "entitlement"), &opts)?)
        }
        "decrement" => {
            Value::Bool(e.decrement(s(&args, "customer"), s(&args, "entitlement"), &opts)?)
        }
        "set" => Value::Bool(e.set(
            s(&args, "customer"),
            s(&args, "entitlement"),
            dec(args.get("value")),
            &opts,
        )?),
        "value" => num(e.value(
            s(&args, "customer"),
            s(&args, "entitlement"),
            b(&args, "percent", false),
            b(&args, "grants", true),
        )?),
        "remaining" => num(e.remaining(
            s(&args, "customer"),
            s(&args, "entitlement"),
            b(&args, "percent", false),
            b(&args, "grants", true),
        )?),
        "limit" => num(e.limit(
            s(&args, "customer"),
            s(&args, "entitlement"),
            b(&args, "grants", true),
        )?),
        "resets" => e
            .resets(s(&args, "customer"), s(&args, "entitlement"))?
            .map_or(Value::Null, Value::from),
        "apply_customer_topup" => {
            Value::Bool(e.apply_customer_topup(s(&args, "customer"), s(&args, "topup"))?)
        }
        "remaining_credit" => num(e.remaining_credit(s(&args, "customer"), s(&args, "credit"))?),
        "credit_exchange" => {
            let to = args.get("to").and_then(Value::as_str).unwrap_or("rune");
            let value = args.get("value").map_or(Decimal::ONE, |v| dec(Some(v)));
            num(e.credit_exchange(s(&args, "from"), to, value))
        }
        "customer" => customer_view(
            e.customer_record(s(&args, "id")),
            st.get("expect").unwrap_or(&Value::Null),
        )
        .unwrap_or(Value::Null),
        "advance" => {
            run.clock.advance(st["ms"].as_i64().unwrap());
            return Ok(None);
        }
        "set_now" => {
            run.clock.set(st["now"].as_i64().unwrap());
            return Ok(None);
        }
        "reload" => {
            let format = Format::parse(s(st, "format"))?;
            let text = e.stringify(format)?;
            let engine = run
                .backend
                .reopen(&text, format)
                .and_then(|engine| engine.with_load_options(&run.options))
                .unwrap_or_else(|err| panic!("reload failed: {err}\n{text}"));
            run.engine = attach(engine, &run.clock, &run.log);
            return Ok(None);
        }
        other => panic!("unknown op {other}"),
    }))
}

fn replay<B: Backend>(backend: &mut B, path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let sc: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let loaded = load(backend, &sc);
    if let Some(want) = sc.get("expect_load_error") {
        let err = match loaded {
            Ok(_) => return Err("expected a load error, the policy loaded".into()),
            Err(e) => e,
        };
        if err.code() != want["code"] {
            return Err(format!(
                "load error code {} ({err}), expected {}",
                err.code(),
                want["code"]
            ));
        }
        if let Some(paths) = want.get("paths").and_then(Value::as_array) {
            let mut got: Vec<String> = err.issues().iter().map(|i| i.path.clone()).collect();
            let mut exp: Vec<String> = paths
                .iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect();
            got.sort();
            got.dedup();
            exp.sort();
            if got != exp {
                return Err(format!("paths {got:?}, expected {exp:?} ({err})"));
            }
        }
        return Ok(());
    }
    let engine = loaded.map_err(|e| format!("load: {e}"))?;
    let clock = Arc::new(ManualClock::new(
        sc.get("now").and_then(Value::as_i64).unwrap_or(DEFAULT_NOW),
    ));
    let log: Log = Arc::default();
    let mut run = Run {
        backend,
        engine: attach(engine, &clock, &log),
        clock,
        log,
        saved: Map::new(),
        options: load_options(&sc),
    };
    for (i, st) in sc["steps"].as_array().into_iter().flatten().enumerate() {
        let at = format!("step {i} ({})", s(st, "op"));
        run.log.lock().unwrap().clear();
        let before = st
            .get("args")
            .and_then(|a| a.get("customer").or(a.get("id")))
            .and_then(Value::as_str)
            .map(|id| run.engine.customer_record(id));
        let result = step(&mut run, st);
        let expected = st.get("expect");
        match (result, expected) {
            (Err(err), Some(Value::Object(want))) if want.contains_key("error") => {
                if err.code() != want["error"] {
                    return Err(format!(
                        "{at}: error {} ({err}), expected {}",
                        err.code(),
                        want["error"]
                    ));
                }
                let after = st
                    .get("args")
                    .and_then(|a| a.get("customer").or(a.get("id")))
                    .and_then(Value::as_str)
                    .map(|id| run.engine.customer_record(id));
                if before != after {
                    return Err(format!("{at}: a refused call changed state"));
                }
            }
            (Err(err), _) => return Err(format!("{at}: unexpected error {}: {err}", err.code())),
            (Ok(_), Some(Value::Object(want))) if want.contains_key("error") => {
                return Err(format!("{at}: expected error {}", want["error"]));
            }
            (Ok(got), Some(want)) => matches(want, got.as_ref(), &at)?,
            (Ok(_), None) => {}
        }
        if let Some(events) = st.get("events").and_then(Value::as_array) {
            let seen = run.log.lock().unwrap().clone();
            let names: Vec<&str> = seen.iter().map(|e| e.name).collect();
            let want: Vec<&str> = events
                .iter()
                .map(|e| e["name"].as_str().unwrap_or_default())
                .collect();
            if names != want {
                return Err(format!("{at}: events {names:?}, expected {want:?}"));
            }
            for (j, (ev, w)) in seen.iter().zip(events).enumerate() {
                if let Some(p) = w.get("payload") {
                    matches(
                        p,
                        Some(&ev.payload()),
                        &format!("{at} event {j} {}", ev.name),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Replays every scenario of the corpus on `backend`; panics listing the ones that failed.
pub fn corpus<B: Backend>(backend: &mut B) {
    let dir = root().join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "corpus has {} scenarios", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            replay(backend, f)
                .err()
                .map(|e| format!("{}: {e}", f.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    println!("{} scenarios, {} failed", files.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
