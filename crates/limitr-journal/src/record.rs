//! What one journal record says: customers' states after a commit, or a customer's removal.
//!
//! A record carries post-images (each changed customer's whole record as JSON), so replaying it is
//! idempotent and independent of the policy's code version: the last record of a customer is its
//! state. Layout inside a frame: a kind byte, then length-prefixed (`u32` LE) ids and JSON texts.

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// Customers' states after a commit: `(id, record JSON)`, all from one atomic commit.
    Put(Vec<(&'a str, &'a [u8])>),
    /// A customer was removed.
    Remove(&'a str),
}

const PUT: u8 = b'P';
const REMOVE: u8 = b'D';

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
        _ => return None,
    };
    (r.at == payload.len()).then_some(record)
}

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
