//! The serialisable customer state: what stores persist and `customer()` returns.

use crate::grant::Grant;
use crate::meter::Meter;
use crate::number;
use crate::time::Timestamp;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A customer's state: plan, meters and grants, plus any other recorded fields (kept as is).
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Unique id.
    pub id: Box<str>,
    /// The plan's name.
    pub plan: Arc<str>,
    /// One meter per metered entitlement, in creation order.
    pub meters: Vec<Meter>,
    /// Grants, oldest first.
    pub grants: Vec<Grant>,
    /// Other fields of the record (`type`, `label`, `metadata`, …), kept for round trips.
    pub extra: Option<Box<Map<String, Value>>>,
    /// Counter used to mint grant ids.
    pub(crate) grant_seq: u32,
}

impl Customer {
    /// A new customer on `plan`, without meters.
    pub fn new(id: &str, plan: Arc<str>) -> Self {
        Customer {
            id: id.into(),
            plan,
            meters: Vec::new(),
            grants: Vec::new(),
            extra: None,
            grant_seq: 0,
        }
    }

    /// The meter of an entitlement.
    pub fn meter(&self, entitlement: &str) -> Option<&Meter> {
        self.meters.iter().find(|m| &*m.entitlement == entitlement)
    }

    /// Replaces (or adds) the meter of its entitlement.
    pub fn put_meter(&mut self, meter: Meter) {
        match self
            .meters
            .iter_mut()
            .find(|m| m.entitlement == meter.entitlement)
        {
            Some(slot) => *slot = meter,
            None => self.meters.push(meter),
        }
    }

    /// A fresh grant id, unique within this customer.
    pub(crate) fn next_grant_id(&mut self, now: Timestamp) -> Box<str> {
        loop {
            self.grant_seq = self.grant_seq.wrapping_add(1);
            let id = format!("lgrnt_{now:x}{:04x}", self.grant_seq);
            if !self.grants.iter().any(|g| *g.id == *id) {
                return id.into();
            }
        }
    }

    /// The customer's record (`{id, plan, type, label, meters, grants, …}`), meters and grants keyed
    /// by entitlement and grant id, in a stable order.
    pub fn record(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id.to_string()));
        m.insert("plan".into(), Value::String(self.plan.to_string()));
        m.insert("type".into(), Value::String("user".into()));
        m.insert("label".into(), Value::String("User".into()));
        for key in ["alt_ids", "refs"] {
            m.insert(key.into(), Value::Array(Vec::new()));
        }
        let meters: Map<String, Value> = self
            .meters
            .iter()
            .map(|x| (x.entitlement.to_string(), x.record()))
            .collect();
        m.insert("meters".into(), Value::Object(meters));
        m.insert("overrides".into(), Value::Object(Map::new()));
        let grants: Map<String, Value> = self
            .grants
            .iter()
            .map(|g| (g.id.to_string(), g.record()))
            .collect();
        m.insert("grants".into(), Value::Object(grants));
        m.insert("caps".into(), Value::Object(Map::new()));
        m.insert("metadata".into(), Value::Object(Map::new()));
        if let Some(extra) = &self.extra {
            for (k, v) in extra.iter() {
                m.insert(k.clone(), v.clone());
            }
        }
        Value::Object(m)
    }

    /// Reads a customer back from its record. `intern` maps names to the policy's shared strings.
    pub fn from_record(
        v: &Value,
        intern: &dyn Fn(&str) -> Arc<str>,
    ) -> Result<Customer, (String, String)> {
        let err = |field: &str, msg: &str| (field.to_string(), msg.to_string());
        let m = v.as_object().ok_or_else(|| err("", "expected an object"))?;
        let id = m
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err("id", "missing customer id"))?;
        let plan = m.get("plan").and_then(Value::as_str).unwrap_or_default();
        let mut c = Customer::new(id, intern(plan));
        if let Some(meters) = m.get("meters").and_then(Value::as_object) {
            for (ent, mv) in meters {
                let path = format!("meters.{ent}");
                let credit = mv
                    .get("credit")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(&path, "missing `credit`"))?;
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
                c.meters.push(Meter {
                    entitlement: intern(ent),
                    credit: intern(credit),
                    started,
                    value,
                    overhead,
                });
            }
        }
        if let Some(grants) = m.get("grants").and_then(Value::as_object) {
            for (gid, gv) in grants {
                let path = format!("grants.{gid}");
                let credit = gv
                    .get("credit")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(&path, "missing `credit`"))?;
                let value = gv
                    .get("value")
                    .and_then(number::from_value)
                    .ok_or_else(|| err(&path, "`value` is not a number"))?;
                c.grants.push(Grant {
                    id: gid.as_str().into(),
                    credit: intern(credit),
                    topup: gv.get("topup").and_then(Value::as_str).map(intern),
                    created_on: gv
                        .get("created_on")
                        .and_then(Value::as_i64)
                        .unwrap_or_default(),
                    starting_value: gv
                        .get("starting_value")
                        .and_then(number::from_value)
                        .unwrap_or(value),
                    value,
                    expires_on: gv.get("expires_on").and_then(Value::as_i64),
                });
            }
        }
        let known = [
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
        let mut extra = Map::new();
        for (k, v) in m {
            let keep = !known.contains(&k.as_str())
                || (k == "type" && v.as_str() != Some("user"))
                || (k == "label" && v.as_str() != Some("User"))
                || (k == "metadata" && v.as_object().is_some_and(|o| !o.is_empty()));
            if keep {
                extra.insert(k.clone(), v.clone());
            }
        }
        if !extra.is_empty() {
            c.extra = Some(Box::new(extra));
        }
        Ok(c)
    }
}
