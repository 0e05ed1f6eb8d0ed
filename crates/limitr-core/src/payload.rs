//! Event payloads written straight to JSON text (no value tree in between).
//!
//! The customer record inside a payload is the hot part: [`customer`] writes the text that
//! `Customer::record().to_string()` prints. Customers with a profile (alternative ids, overrides,
//! caps, metadata, keys, …) and meters with holds or a governor are rarer and go through their
//! records; debug builds compare the two texts on every event.

use crate::customer::Customer;
use crate::meter::Meter;
use crate::number::{self, Decimal};
use serde::Serialize;
use std::io::Write;

/// A JSON text being written (writes into a `Vec` cannot fail).
pub(crate) struct Json(pub Vec<u8>);

impl Json {
    pub fn with_capacity(n: usize) -> Json {
        Json(Vec::with_capacity(n))
    }
    pub fn raw(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }
    pub fn byte(&mut self, b: u8) {
        self.0.push(b);
    }
    /// Any serialisable value (strings escaped, numbers exact).
    pub fn value<T: Serialize + ?Sized>(&mut self, v: &T) {
        let _ = serde_json::to_writer(&mut self.0, v);
    }
    /// `"key":`
    pub fn key(&mut self, k: &str) {
        self.value(k);
        self.0.push(b':');
    }
    /// A decimal as `number::to_value` prints it.
    pub fn decimal(&mut self, d: Decimal) {
        match number::whole(d) {
            Some(i) => self.int(i),
            None => {
                let _ = write!(self.0, "{}", d.normalize());
            }
        }
    }
    pub fn int(&mut self, i: i64) {
        self.value(&i);
    }
    pub fn finish(self) -> String {
        String::from_utf8(self.0).unwrap_or_default()
    }
}

/// The customer's record as JSON text, as `c.record().to_string()` prints it.
pub(crate) fn customer(c: &Customer) -> String {
    let mut j = Json::with_capacity(512);
    customer_into(c, &mut j);
    j.finish()
}

/// [`customer`], appended to `j`.
pub(crate) fn customer_into(c: &Customer, j: &mut Json) {
    if c.profile.is_some() {
        j.value(&c.record());
        return;
    }
    j.raw("{\"id\":");
    j.value(&*c.id);
    j.raw(",\"plan\":");
    j.value(&*c.plan);
    j.raw(",\"type\":");
    j.value(c.kind());
    j.raw(",\"label\":\"User\",\"alt_ids\":[],\"refs\":[],\"meters\":{");
    for (i, m) in c.meters.iter().enumerate() {
        if i > 0 {
            j.byte(b',');
        }
        j.key(&m.entitlement);
        meter(j, m);
    }
    j.raw("},\"overrides\":{},\"grants\":{");
    for (i, g) in c.grants.iter().enumerate() {
        if i > 0 {
            j.byte(b',');
        }
        j.key(&g.id);
        j.value(&g.record());
    }
    j.raw("},\"caps\":{},\"metadata\":{}");
    if c.grant_seq > 0 {
        j.raw(",\"grant_seq\":");
        j.int(i64::from(c.grant_seq));
    }
    j.byte(b'}');
}

fn meter(j: &mut Json, m: &Meter) {
    if m.extra.is_some() {
        j.value(&m.record());
        return;
    }
    j.raw("{\"credit\":");
    j.value(&*m.credit);
    j.raw(",\"started\":");
    j.int(m.started);
    j.raw(",\"value\":");
    j.decimal(m.value);
    j.raw(",\"overhead\":");
    j.decimal(m.overhead);
    if !m.trend.is_empty() {
        j.raw(",\"history\":[");
        for (i, (ts, d)) in m.trend.changes().enumerate() {
            if i > 0 {
                j.byte(b',');
            }
            j.raw("{\"ts\":");
            j.int(ts);
            j.raw(",\"delta\":");
            match number::from_f64(d) {
                Some(d) => j.decimal(d),
                None => j.raw("null"),
            }
            j.byte(b'}');
        }
        j.raw("],\"ewma_rate\":");
        match m.trend.ewma_rate.and_then(serde_json::Number::from_f64) {
            Some(n) => j.value(&n),
            None => j.raw("null"),
        }
    }
    j.byte(b'}');
}
