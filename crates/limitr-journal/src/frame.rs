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

/// Whether a whole frame starts anywhere after `at`: what tells a frame torn mid-write (the
/// writer stopped there: nothing valid follows, only the rest of that one frame and zeros) from
/// damage before the tail (valid frames follow). Only the bytes up to the last non-zero byte are
/// searched; a frame is found by its length and checksum, a match by chance is 1 in 2^32.
pub fn any_frame_after(buf: &[u8], at: usize) -> bool {
    let Some(last) = buf.iter().rposition(|b| *b != 0) else {
        return false;
    };
    (at + 1..=last).any(|p| matches!(next_exact(buf, p), Some(end) if end <= buf.len()))
}

/// The end of a whole frame at `at`, if one is there.
fn next_exact(buf: &[u8], at: usize) -> Option<usize> {
    let len = u32_at(buf, at)? as usize;
    if len == 0 || len > MAX_PAYLOAD {
        return None;
    }
    let crc = u32_at(buf, at + 4)?;
    let end = at.checked_add(HEADER + len)?;
    let payload = buf.get(at + HEADER..end)?;
    (crc32fast::hash(payload) == crc).then_some(end)
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
    fn a_frame_torn_in_a_preallocated_file_has_no_frame_after_it() {
        // a writer killed while copying its frame into a mapping: some of the frame's bytes are
        // there (in any order), then the mapping's zeros
        let whole = frames(&[b"first", b"second record, longer"]);
        let second = HEADER + 5;
        for hole in second..whole.len() {
            let mut buf = whole.clone();
            buf[hole..].fill(0);
            buf[whole.len() - 3..].copy_from_slice(&whole[whole.len() - 3..]);
            buf.extend_from_slice(&[0; 64]);
            assert!(!any_frame_after(&buf, second), "hole at {hole}");
        }
        // damage with whole frames after it is not a torn tail
        let mut damaged = frames(&[b"first", b"second", b"third"]);
        damaged[1] ^= 0x10;
        assert!(any_frame_after(&damaged, 0));
    }

    #[test]
    fn trailing_zeros_are_torn() {
        let mut buf = frames(&[b"first"]);
        buf.extend_from_slice(&[0; 20]);
        assert_eq!(next(&buf, HEADER + 5), Next::Torn);
    }
}
