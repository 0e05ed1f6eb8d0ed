//! The journal's framing: `[length: u32 LE][crc32: u32 LE][payload]`, one frame per record.
//!
//! A frame is written with a single `write` call, so a crash can only leave a prefix of the last
//! frame on disk (a *torn tail*). Reading tells a torn tail (the bad frame runs to the end of the
//! file, or the file ends in zeros) from corruption before the tail (a bad frame followed by more
//! data), which is an error naming its offset.

/// Bytes of the frame header.
pub const HEADER: usize = 8;
/// Largest payload a frame may carry (a customer record is far smaller).
pub const MAX_PAYLOAD: usize = 1 << 28;

/// Appends a frame holding `payload` to `out`.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "payloads are below MAX_PAYLOAD"
    )]
    let len = payload.len() as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What the bytes at an offset hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<'a> {
    /// A whole frame: its payload and the offset after it.
    Frame(&'a [u8], usize),
    /// The end of the data.
    End,
    /// A torn tail: a partial or garbled last frame (or trailing zeros); the data ends here.
    Torn,
    /// A bad frame followed by more data: the bytes are damaged, not merely cut short.
    Corrupt(&'static str),
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// Reads the frame at `at` in `buf` (the whole file's bytes).
pub fn next(buf: &[u8], at: usize) -> Next<'_> {
    let rest = buf.get(at..).unwrap_or_default();
    if rest.is_empty() {
        return Next::End;
    }
    let (Some(len), Some(crc)) = (u32_at(buf, at), u32_at(buf, at + 4)) else {
        return Next::Torn; // a header cut short
    };
    let len = len as usize;
    if len == 0 || len > MAX_PAYLOAD {
        let zeros = rest.iter().all(|b| *b == 0);
        return if zeros || (len > MAX_PAYLOAD && at + HEADER + len > buf.len()) {
            Next::Torn
        } else {
            Next::Corrupt("bad frame length")
        };
    }
    let end = at + HEADER + len;
    let Some(payload) = buf.get(at + HEADER..end) else {
        return Next::Torn; // a payload cut short
    };
    if crc32fast::hash(payload) != crc {
        return if end == buf.len() {
            Next::Torn
        } else {
            Next::Corrupt("checksum mismatch")
        };
    }
    Next::Frame(payload, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode(p, &mut out);
        }
        out
    }

    #[test]
    fn reads_back_what_it_wrote() {
        let buf = frames(&[b"one", b"two!"]);
        let Next::Frame(a, at) = next(&buf, 0) else {
            panic!("first frame")
        };
        assert_eq!(a, b"one");
        let Next::Frame(b, at) = next(&buf, at) else {
            panic!("second frame")
        };
        assert_eq!(b, b"two!");
        assert_eq!(next(&buf, at), Next::End);
    }

    #[test]
    fn every_cut_of_the_last_frame_is_torn() {
        let buf = frames(&[b"first", b"second record"]);
        let first = HEADER + 5;
        for cut in first + 1..buf.len() {
            assert_eq!(next(&buf[..cut], first), Next::Torn, "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_byte_before_the_tail_is_corruption() {
        let mut buf = frames(&[b"first", b"second"]);
        buf[HEADER + 1] ^= 0x40;
        assert_eq!(next(&buf, 0), Next::Corrupt("checksum mismatch"));
        // the same damage in the last frame is a torn tail
        let mut last = frames(&[b"first"]);
        last[HEADER + 1] ^= 0x40;
        assert_eq!(next(&last, 0), Next::Torn);
    }

    #[test]
    fn trailing_zeros_are_torn() {
        let mut buf = frames(&[b"first"]);
        buf.extend_from_slice(&[0; 20]);
        assert_eq!(next(&buf, HEADER + 5), Next::Torn);
    }
}
