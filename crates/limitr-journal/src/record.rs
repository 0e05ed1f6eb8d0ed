//! What one journal record says: customers' states after a commit, the counters a commit moved,
//! or a customer's removal.
//!
//! A record carries post-images, so replaying it is idempotent and independent of the policy's
//! code version: a `P` record holds each changed customer's whole record as JSON (the last one of
//! a customer is its state); a `C` record, written when a commit only moved counters (the common
//! call: a meter's value, overhead, period start and trend, a grant's balance), holds their
//! post-values in binary, about a tenth of the whole record, applied onto the customer's last
//! state on replay. Layout inside a frame: a kind byte, then length-prefixed (`u32` LE) ids and
//! texts; numbers little-endian, decimals in their 16-byte form.

/// One decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// Customers' states after a commit: `(id, record JSON)`, all from one atomic commit.
    Put(Vec<(&'a str, &'a [u8])>),
    /// A customer was removed.
    Remove(&'a str),
    /// Counters moved by one commit: `(id, counters)` per customer.
    Counters(Vec<(&'a str, Vec<Counter>)>),
}

const PUT: u8 = b'P';
const REMOVE: u8 = b'D';
const COUNTERS: u8 = b'C';
const METER: u8 = b'M';
const GRANT: u8 = b'G';

fn push_bytes(out: &mut Vec<u8>, b: &[u8]) {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "ids and records are far below 4 GiB"
    )]
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// Encodes a put of `(id, record JSON)` pairs.
pub fn put<'a>(customers: impl ExactSizeIterator<Item = (&'a str, &'a [u8])>, out: &mut Vec<u8>) {
    out.push(PUT);
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a commit touches a handful of customers"
    )]
    out.extend_from_slice(&(customers.len() as u32).to_le_bytes());
    for (id, json) in customers {
        push_bytes(out, id.as_bytes());
        push_bytes(out, json);
    }
}

/// Encodes a put of customers' records, each written straight into the record as JSON
/// ([`Customer::write_record`]): the same bytes [`put`] writes for their `record()` texts.
pub fn put_customers(customers: &[&limitr_core::Customer], out: &mut Vec<u8>) {
    out.push(PUT);
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a commit touches a handful of customers"
    )]
    out.extend_from_slice(&(customers.len() as u32).to_le_bytes());
    for c in customers {
        push_bytes(out, c.id.as_bytes());
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        c.write_record(out);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a customer's record is far below 4 GiB"
        )]
        let n = (out.len() - at - 4) as u32;
        if let Some(slot) = out.get_mut(at..at + 4) {
            slot.copy_from_slice(&n.to_le_bytes());
        }
    }
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "indexes are of a customer's meters and grants"
)]
fn push_counter(out: &mut Vec<u8>, c: &Counter) {
    match c {
        Counter::Meter {
            index,
            value,
            value_delta,
            overhead,
            started,
            trend,
        } => {
            out.push(METER);
            out.extend_from_slice(&(*index as u32).to_le_bytes());
            out.extend_from_slice(&value.serialize());
            out.extend_from_slice(&value_delta.serialize());
            out.extend_from_slice(&overhead.serialize());
            out.extend_from_slice(&started.to_le_bytes());
            let (at, delta, len, ewma) = trend.parts();
            for t in at {
                out.extend_from_slice(&t.to_le_bytes());
            }
            for d in delta {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.push(len);
            match ewma {
                Some(r) => {
                    out.push(1);
                    out.extend_from_slice(&r.to_le_bytes());
                }
                None => out.push(0),
            }
        }
        Counter::Grant {
            index,
            value,
            value_delta,
            last_reset,
        } => {
            out.push(GRANT);
            out.extend_from_slice(&(*index as u32).to_le_bytes());
            out.extend_from_slice(&value.serialize());
            out.extend_from_slice(&value_delta.serialize());
            out.extend_from_slice(&last_reset.to_le_bytes());
        }
    }
}

/// Encodes the counters one commit moved: `(id, counters)` per customer.
pub fn counters(customers: &[(&str, &[Counter])], out: &mut Vec<u8>) {
    out.push(COUNTERS);
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a commit touches a handful of customers, each a handful of counters"
    )]
    {
        out.extend_from_slice(&(customers.len() as u32).to_le_bytes());
        for (id, list) in customers {
            push_bytes(out, id.as_bytes());
            out.extend_from_slice(&(list.len() as u32).to_le_bytes());
            for c in *list {
                push_counter(out, c);
            }
        }
    }
}

/// Encodes a removal.
pub fn remove(id: &str, out: &mut Vec<u8>) {
    out.push(REMOVE);
    push_bytes(out, id.as_bytes());
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let b: [u8; 4] = self.buf.get(self.at..self.at + 4)?.try_into().ok()?;
        self.at += 4;
        Some(u32::from_le_bytes(b))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        let b = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b)
    }
    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b: [u8; N] = self.buf.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(b)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take::<1>()?[0])
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take()?))
    }
    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.take()?))
    }
    fn decimal(&mut self) -> Option<Decimal> {
        Some(Decimal::deserialize(self.take()?))
    }
    fn counter(&mut self) -> Option<Counter> {
        let kind = self.u8()?;
        let index = self.u32()? as usize;
        Some(match kind {
            METER => {
                let (value, value_delta, overhead) =
                    (self.decimal()?, self.decimal()?, self.decimal()?);
                let started = self.i64()?;
                let at = [self.i64()?, self.i64()?, self.i64()?];
                let delta = [self.f64()?, self.f64()?, self.f64()?];
                let len = self.u8()?;
                let ewma = match self.u8()? {
                    0 => None,
                    1 => Some(self.f64()?),
                    _ => return None,
                };
                Counter::Meter {
                    index,
                    value,
                    value_delta,
                    overhead,
                    started,
                    trend: Trend::from_parts(at, delta, len, ewma)?,
                }
            }
            GRANT => Counter::Grant {
                index,
                value: self.decimal()?,
                value_delta: self.decimal()?,
                last_reset: self.i64()?,
            },
            _ => return None,
        })
    }
}

/// Decodes a record; `None` when the payload is not a well-formed record.
pub fn decode(payload: &[u8]) -> Option<Record<'_>> {
    let (&kind, _) = payload.split_first()?;
    let mut r = Reader {
        buf: payload,
        at: 1,
    };
    let record = match kind {
        PUT => {
            let n = r.u32()? as usize;
            let mut list = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                list.push((r.str()?, r.bytes()?));
            }
            Record::Put(list)
        }
        REMOVE => Record::Remove(r.str()?),
        COUNTERS => {
            let n = r.u32()? as usize;
            let mut list = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                let id = r.str()?;
                let k = r.u32()? as usize;
                let mut counters = Vec::with_capacity(k.min(64));
                for _ in 0..k {
                    counters.push(r.counter()?);
                }
                list.push((id, counters));
            }
            Record::Counters(list)
        }
        _ => return None,
    };
    (r.at == payload.len()).then_some(record)
}

use limitr_core::Counter;
use limitr_core::meter::Trend;
use limitr_core::number::Decimal;

#[cfg(test)]
mod tests {
    use super::*;
    use limitr_core::Store;

    #[test]
    fn round_trips() {
        let mut buf = Vec::new();
        put(
            [("a", &b"{}"[..]), ("b", &b"{\"x\":1}"[..])].into_iter(),
            &mut buf,
        );
        assert_eq!(
            decode(&buf),
            Some(Record::Put(vec![
                ("a", &b"{}"[..]),
                ("b", &b"{\"x\":1}"[..])
            ]))
        );
        let mut del = Vec::new();
        remove("gone", &mut del);
        assert_eq!(decode(&del), Some(Record::Remove("gone")));
    }

    #[test]
    fn customers_are_written_as_their_record_text() {
        let doc = serde_json::json!({"policy": {
            "credits": {"tok": {}},
            "plans": {"free": {"default": true, "entitlements": {
                "chat": {"limit": {"credit": "tok", "value": 100}}}}}}});
        let p = limitr_core::Limitr::from_value(&doc).unwrap();
        p.create_customer("a", None).unwrap();
        p.allow("a", "chat", 3.into()).unwrap();
        let c = p.store().read("a", Clone::clone).unwrap();
        let mut fast = Vec::new();
        put_customers(&[&c], &mut fast);
        let text = serde_json::to_vec(&c.record()).unwrap();
        let mut slow = Vec::new();
        put([("a", text.as_slice())].into_iter(), &mut slow);
        assert_eq!(fast, slow);
    }

    #[test]
    fn counters_round_trip() {
        let mut trend = Trend::default();
        trend.push(10, 3.5, 0.2);
        trend.push(20, 1.0, 0.2);
        let list = vec![
            Counter::Meter {
                index: 2,
                value: Decimal::new(12345, 3),
                value_delta: Decimal::new(-5, 1),
                overhead: Decimal::new(7, 6),
                started: 1_767_225_600_000,
                trend,
            },
            Counter::Grant {
                index: 0,
                value: Decimal::from(4),
                value_delta: Decimal::from(-6),
                last_reset: 99,
            },
        ];
        let mut buf = Vec::new();
        counters(&[("ada", &list), ("org", &list[1..])], &mut buf);
        assert_eq!(
            decode(&buf),
            Some(Record::Counters(vec![
                ("ada", list.clone()),
                ("org", list[1..].to_vec())
            ]))
        );
        assert_eq!(decode(&buf[..buf.len() - 1]), None);
    }

    #[test]
    fn rejects_trailing_or_missing_bytes() {
        let mut buf = Vec::new();
        remove("gone", &mut buf);
        let mut longer = buf.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        assert_eq!(decode(&buf[..buf.len() - 1]), None);
        assert_eq!(decode(b"X"), None);
    }
}
