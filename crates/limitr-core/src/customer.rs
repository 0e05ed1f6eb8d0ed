//! The serialisable customer state: what stores persist and `customer()` returns.

use crate::grant::Grant;
use crate::meter::{Meter, Meters};
use crate::number;
use crate::policy::Policy;
use crate::policy::plan::Limit;
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A per-customer replacement of a plan limit. Fields it does not set come from the plan limit
///; it stops applying after `expires_on`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The entitlement it applies to.
    pub entitlement: Arc<str>,
    /// The limit fields the override sets, as given.
    pub fields: Map<String, Value>,
    /// The plan limit merged with `fields`, validated.
    pub limit: Limit,
    /// When it stops applying (epoch ms), if ever.
    pub expires_on: Option<Timestamp>,
}

/// The parts of a customer that most customers leave at their defaults (kept out of line so a
/// plain customer stays small).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// Customer type (`user` by default; `team`, `org`, … for scopes).
    pub kind: Option<String>,
    /// Display label (`User` by default).
    pub label: Option<String>,
    /// Related customers (user → team → org), for scopes, shared plans and caps.
    pub refs: Vec<String>,
    /// Other ids that resolve to this customer.
    pub alt_ids: Vec<String>,
    /// Free-form data.
    pub metadata: Map<String, Value>,
    /// Per-entitlement limit overrides.
    pub overrides: Vec<Override>,
    /// Spend caps held by this customer.
    pub caps: Vec<crate::cap::Cap>,
    /// Notification rules already fired, with the meter period they fired in.
    pub notified: Vec<(String, Timestamp)>,
    /// Idempotency keys of the customer's recent mutating calls, oldest first (the record's
    /// `idempotency_keys`).
    pub idempotency: Vec<crate::idempotency::IdempotencyKey>,
    /// Unknown fields of the record, kept for round trips.
    pub extra: Map<String, Value>,
}

/// A customer's state: plan, meters, grants and profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Unique id.
    pub id: Box<str>,
    /// The plan's name (empty: inherited through refs, else the default plan).
    pub plan: Arc<str>,
    /// One meter per metered entitlement, in creation order.
    pub meters: Meters,
    /// Grants, oldest first.
    pub grants: Vec<Grant>,
    /// Type, label, refs, alt ids, metadata, overrides (None: all defaults).
    pub profile: Option<Box<Profile>>,
    /// Counter used to mint grant ids.
    pub(crate) grant_seq: u32,
}

impl Customer {
    /// A new customer on `plan`, without meters.
    pub fn new(id: &str, plan: Arc<str>) -> Self {
        Customer {
            id: id.into(),
            plan,
            meters: Meters::new(),
            grants: Vec::new(),
            profile: None,
            grant_seq: 0,
        }
    }

    /// The customer's type (`user` unless set).
    pub fn kind(&self) -> &str {
        self.profile
            .as_ref()
            .and_then(|p| p.kind.as_deref())
            .unwrap_or("user")
    }

    /// Whether the customer holds spend caps.
    pub fn has_caps(&self) -> bool {
        self.profile.as_ref().is_some_and(|p| !p.caps.is_empty())
    }

    /// The customer's references.
    pub fn refs(&self) -> &[String] {
        self.profile.as_ref().map_or(&[], |p| p.refs.as_slice())
    }

    /// The profile, created on first write.
    pub fn profile_mut(&mut self) -> &mut Profile {
        self.profile.get_or_insert_with(Box::default)
    }

    /// The unexpired override of an entitlement.
    pub fn override_for(&self, entitlement: &str, now: Timestamp) -> Option<&Override> {
        let p = self.profile.as_ref()?;
        p.overrides
            .iter()
            .find(|o| &*o.entitlement == entitlement && o.expires_on.is_none_or(|e| now <= e))
    }

    /// The limit in force for an entitlement: an unexpired override, else the plan's.
    pub fn limit_for<'a>(
        &'a self,
        entitlement: &str,
        plan_limit: Option<&'a Limit>,
        now: Timestamp,
    ) -> Option<&'a Limit> {
        match &self.profile {
            Some(_) => self
                .override_for(entitlement, now)
                .map(|o| &o.limit)
                .or(plan_limit),
            None => plan_limit,
        }
    }

    /// The meter of an entitlement.
    pub fn meter(&self, entitlement: &str) -> Option<&Meter> {
        self.meters.iter().find(|m| &*m.entitlement == entitlement)
    }

    /// A fresh grant id, unique within this customer.
    pub(crate) fn next_grant_id(&mut self, now: Timestamp) -> compact_str::CompactString {
        loop {
            self.grant_seq = self.grant_seq.wrapping_add(1);
            let id = compact_str::format_compact!("lgrnt_{now:x}{:04x}", self.grant_seq);
            if !self.grants.iter().any(|g| g.id == id) {
                return id;
            }
        }
    }

    /// Appends [`record`](Self::record) as JSON text to `out`: the text `record().to_string()`
    /// prints, written straight from the customer (no value tree) for the common customer
    /// without a profile.
    pub fn write_record(&self, out: &mut Vec<u8>) {
        let mut j = crate::payload::Json(std::mem::take(out));
        crate::payload::customer_into(self, &mut j);
        *out = j.0;
    }

    /// The customer's record (`{id, plan, type, label, alt_ids, refs, meters, overrides, grants,
    /// caps, metadata}`, and `notified` and `idempotency_keys` when there are any), maps in a
    /// stable order.
    pub fn record(&self) -> Value {
        let p = self.profile.as_deref();
        let strings = |v: Option<&Vec<String>>| {
            Value::Array(
                v.into_iter()
                    .flatten()
                    .map(|s| Value::String(s.clone()))
                    .collect(),
            )
        };
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id.to_string()));
        m.insert("plan".into(), Value::String(self.plan.to_string()));
        m.insert("type".into(), Value::String(self.kind().to_string()));
        m.insert(
            "label".into(),
            Value::String(
                p.and_then(|p| p.label.clone())
                    .unwrap_or_else(|| "User".into()),
            ),
        );
        m.insert("alt_ids".into(), strings(p.map(|p| &p.alt_ids)));
        m.insert("refs".into(), strings(p.map(|p| &p.refs)));
        let meters: Map<String, Value> = self
            .meters
            .iter()
            .map(|x| (x.entitlement.to_string(), x.record()))
            .collect();
        m.insert("meters".into(), Value::Object(meters));
        let mut overrides = Map::new();
        for o in p.map(|p| p.overrides.as_slice()).unwrap_or_default() {
            let mut fields = o.fields.clone();
            fields.insert(
                "override_expires_on".into(),
                o.expires_on.map_or(Value::Null, Value::from),
            );
            overrides.insert(o.entitlement.to_string(), Value::Object(fields));
        }
        m.insert("overrides".into(), Value::Object(overrides));
        let grants: Map<String, Value> = self
            .grants
            .iter()
            .map(|g| (g.id.to_string(), g.record()))
            .collect();
        m.insert("grants".into(), Value::Object(grants));
        let caps: Map<String, Value> = p
            .map(|p| p.caps.iter().map(|c| (c.id.clone(), c.record())).collect())
            .unwrap_or_default();
        m.insert("caps".into(), Value::Object(caps));
        m.insert(
            "metadata".into(),
            Value::Object(p.map(|p| p.metadata.clone()).unwrap_or_default()),
        );
        if self.grant_seq > 0 {
            // the grant-id counter: a reloaded customer mints the ids an uninterrupted one would
            m.insert("grant_seq".into(), Value::from(self.grant_seq));
        }
        if let Some(p) = p.filter(|p| !p.notified.is_empty()) {
            let marks: Map<String, Value> = p
                .notified
                .iter()
                .map(|(n, t)| (n.clone(), Value::from(*t)))
                .collect();
            m.insert("notified".into(), Value::Object(marks));
        }
        if let Some(p) = p.filter(|p| !p.idempotency.is_empty()) {
            let keys: Map<String, Value> = p
                .idempotency
                .iter()
                .map(|k| (k.key.clone(), k.record()))
                .collect();
            m.insert("idempotency_keys".into(), Value::Object(keys));
        }
        if let Some(p) = p {
            for (k, v) in &p.extra {
                m.insert(k.clone(), v.clone());
            }
        }
        Value::Object(m)
    }

    /// Reads a customer back from its record, against the policy (names are interned, overrides
    /// validated). Errors are `(field path, message)`.
    pub fn from_record(v: &Value, policy: &Policy) -> Result<Customer, (String, String)> {
        let err = |field: &str, msg: &str| (field.to_string(), msg.to_string());
        let m = v.as_object().ok_or_else(|| err("", "expected an object"))?;
        let id = m
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err("id", "missing customer id"))?;
        let plan = m.get("plan").and_then(Value::as_str).unwrap_or_default();
        if !plan.is_empty() && policy.plan(plan).is_none() {
            // no call could move this customer's meters: refuse the document instead
            return Err(err("plan", &format!("unknown plan `{plan}`")));
        }
        let mut c = Customer::new(id, policy.intern(plan));
        if let Some(seq) = m.get("grant_seq") {
            c.grant_seq = seq
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| err("grant_seq", "expected a non-negative integer"))?;
        }
        if let Some(meters) = m.get("meters").and_then(Value::as_object) {
            for (ent, mv) in meters {
                let path = format!("meters.{ent}");
                if ent.is_empty() {
                    return Err(err(&path, "an entitlement name must not be empty"));
                }
                let credit = mv
                    .get("credit")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(&path, "missing `credit`"))?;
                if credit.is_empty() {
                    return Err(err(
                        &format!("{path}.credit"),
                        "a credit name must not be empty",
                    ));
                }
                let started = mv
                    .get("started")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| err(&path, "missing `started`"))?;
                let value = mv
                    .get("value")
                    .and_then(number::from_value)
                    .ok_or_else(|| err(&path, "`value` is not a number"))?;
                let overhead = mv
                    .get("overhead")
                    .and_then(number::from_value)
                    .unwrap_or_default();
                in_meter_range(&path, "value", value)?;
                in_meter_range(&path, "overhead", overhead)?;
                c.meters.push(Meter {
                    entitlement: policy.intern(ent),
                    credit: policy.intern(credit),
                    started,
                    value,
                    overhead,
                    trend: Meter::trend_from_record(mv),
                    extra: Meter::extra_from_record(mv),
                });
            }
        }
        if let Some(grants) = m.get("grants").and_then(Value::as_object) {
            for (gid, gv) in grants {
                let path = format!("grants.{gid}");
                let own_plan = policy
                    .plan(plan)
                    .or_else(|| policy.plan(policy.default_plan.as_deref()?));
                let g = Grant::from_record(gid, gv, policy, own_plan)
                    .map_err(|msg| err(&path, &msg))?;
                if g.credit.is_empty() {
                    return Err(err(
                        &format!("{path}.credit"),
                        "a credit name must not be empty",
                    ));
                }
                c.grants.push(g);
            }
        }
        let text = |key: &str| m.get(key).and_then(Value::as_str).map(String::from);
        let list = |key: &str| -> Vec<String> {
            m.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut profile = Profile {
            kind: text("type").filter(|t| t != "user"),
            label: text("label").filter(|t| t != "User"),
            refs: list("refs"),
            alt_ids: list("alt_ids"),
            metadata: m
                .get("metadata")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            ..Profile::default()
        };
        if let Some(overrides) = m.get("overrides").and_then(Value::as_object) {
            for (ent, ov) in overrides {
                let path = format!("overrides.{ent}");
                let mut fields = ov
                    .as_object()
                    .cloned()
                    .ok_or_else(|| err(&path, "expected an object"))?;
                let expires_on = fields
                    .shift_remove("override_expires_on")
                    .and_then(|e| e.as_i64());
                let plan_name = if plan.is_empty() {
                    policy.default_plan.as_deref().unwrap_or_default()
                } else {
                    plan
                };
                let limit = policy
                    .override_limit(plan_name, ent, &fields)
                    .map_err(|msg| err(&path, &msg))?;
                profile.overrides.push(Override {
                    entitlement: policy.intern(ent),
                    fields,
                    limit,
                    expires_on,
                });
            }
        }
        for (cid, cv) in m
            .get("caps")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let cap = crate::cap::Cap::from_record(cid, cv)
                .ok_or_else(|| err(&format!("caps.{cid}"), "invalid cap"))?;
            profile.caps.push(cap);
        }
        if let Some(marks) = m.get("notified").and_then(Value::as_object) {
            profile.notified = marks
                .iter()
                .filter_map(|(n, t)| Some((n.clone(), t.as_i64()?)))
                .collect();
        }
        if let Some(keys) = m.get("idempotency_keys") {
            let keys = keys
                .as_object()
                .ok_or_else(|| err("idempotency_keys", "expected an object of keys"))?;
            for (key, kv) in keys {
                let k =
                    crate::idempotency::IdempotencyKey::from_record(key, kv).ok_or_else(|| {
                        err(
                            &format!("idempotency_keys.{key}"),
                            "expected `{fingerprint, answer, at}`",
                        )
                    })?;
                profile.idempotency.push(k);
            }
            // oldest first, whatever order the record lists them in
            profile.idempotency.sort_by_key(|k| k.at);
        }
        let known = [
            "idempotency_keys",
            "notified",
            "grant_seq",
            "id",
            "plan",
            "meters",
            "grants",
            "alt_ids",
            "refs",
            "overrides",
            "caps",
            "type",
            "label",
            "metadata",
        ];
        for (k, v) in m {
            if !known.contains(&k.as_str()) {
                profile.extra.insert(k.clone(), v.clone());
            }
        }
        if profile != Profile::default() {
            c.profile = Some(Box::new(profile));
        }
        Ok(c)
    }
}

/// A restored meter quantity at `{path}.{field}` within what calls can leave a meter at.
fn in_meter_range(path: &str, field: &str, d: number::Decimal) -> Result<(), (String, String)> {
    if d.abs() <= number::MAX_RESTORED_METER {
        return Ok(());
    }
    Err((
        format!("{path}.{field}"),
        format!("`{d}` is out of range (a meter holds at most 1.000001e26 in magnitude)"),
    ))
}
