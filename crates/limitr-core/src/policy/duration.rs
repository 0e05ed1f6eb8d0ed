//! Parsing of human-written durations (`1day`, `12hr`, `500ms`, `1.5s`, ...)
//! into whole milliseconds.
//!
//! Accepted units (case-insensitive, optional whitespace between the number
//! and the unit, the number may be decimal and may carry a sign):
//!
//! | unit                                | size               |
//! |-------------------------------------|--------------------|
//! | `ns`, `nanosecond(s)`               | 1/1 000 000 ms     |
//! | `us`, `microsecond(s)`              | 1/1 000 ms         |
//! | `ms`, `millisecond(s)`              | 1 ms               |
//! | `s`, `sec`, `second(s)`             | 1 000 ms           |
//! | `min`, `minute(s)`                  | 60 000 ms          |
//! | `h`, `hr`, `hour(s)`                | 3 600 000 ms       |
//! | `d`, `day(s)`                       | 86 400 000 ms      |
//!
//! A bare number is milliseconds. Results are truncated toward zero to whole
//! milliseconds. Zero and negative durations are accepted here; callers
//! validate the sign.

use thiserror::Error;

/// Nanoseconds per millisecond.
const NS_PER_MS: i128 = 1_000_000;

/// Maximum number of fractional digits that are taken into account. Further
/// digits cannot change the result (they are below one nanosecond even for
/// the largest unit) and are ignored.
const MAX_FRACTION_DIGITS: u32 = 18;

/// An error produced by [`parse_duration_ms`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    /// The text is not a number followed by a known time unit.
    #[error("`{0}` is not a valid duration (units: ms, s, min, hr, day)")]
    Invalid(String),
    /// The duration does not fit in an `i64` number of milliseconds.
    #[error("`{0}` is out of range for a duration")]
    Overflow(String),
}

/// Size of a unit in nanoseconds, or `None` for an unknown unit.
fn unit_ns(unit: &str) -> Option<i128> {
    let ns = match unit {
        "" | "ms" | "millisecond" | "milliseconds" => NS_PER_MS,
        "ns" | "nanosecond" | "nanoseconds" => 1,
        "us" | "microsecond" | "microseconds" => 1_000,
        "s" | "sec" | "second" | "seconds" => 1_000 * NS_PER_MS,
        "min" | "minute" | "minutes" => 60_000 * NS_PER_MS,
        "h" | "hr" | "hour" | "hours" => 3_600_000 * NS_PER_MS,
        "d" | "day" | "days" => 86_400_000 * NS_PER_MS,
        _ => return None,
    };
    Some(ns)
}

/// Parses a duration such as `1day`, `30days`, `12hr`, `1s`, `500ms`,
/// `10min`, `2 hours`, `1.5s` into milliseconds.
///
/// A bare number (e.g. `"86400000"`) is milliseconds. Sub-millisecond units
/// and fractional values are truncated toward zero to whole milliseconds.
///
/// # Errors
///
/// [`DurationError::Invalid`] for empty text, a missing or malformed number,
/// or an unknown unit (weeks and months are not supported);
/// [`DurationError::Overflow`] when the result does not fit in an `i64`.
pub fn parse_duration_ms(text: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(text.to_owned());
    let overflow = || DurationError::Overflow(text.to_owned());

    let trimmed = text.trim();
    let (negative, unsigned) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };

    let number_len = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, unit) = unsigned.split_at_checked(number_len).ok_or_else(invalid)?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit_size = unit_ns(&unit).ok_or_else(invalid)?;

    let (int_part, frac_part) = match number.split_once('.') {
        Some((int_part, frac_part)) => (int_part, frac_part),
        None => (number, ""),
    };
    if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
        return Err(invalid());
    }

    // Integer part, in nanoseconds.
    let mut total: i128 = 0;
    for digit in int_part.chars().filter_map(|c| c.to_digit(10)) {
        total = total
            .checked_mul(10)
            .and_then(|t| t.checked_add(i128::from(digit)))
            .ok_or_else(overflow)?;
    }
    total = total.checked_mul(unit_size).ok_or_else(overflow)?;

    // Fractional part, in nanoseconds (truncated).
    let mut frac: i128 = 0;
    let mut scale: i128 = 1;
    for digit in frac_part
        .chars()
        .filter_map(|c| c.to_digit(10))
        .take(MAX_FRACTION_DIGITS as usize)
    {
        frac = frac * 10 + i128::from(digit);
        scale *= 10;
    }
    // frac < 10^18 and unit_size < 10^14: the product fits in an i128.
    let frac_ns = frac.saturating_mul(unit_size) / scale;
    total = total.checked_add(frac_ns).ok_or_else(overflow)?;

    let ms = total / NS_PER_MS;
    let ms = if negative { -ms } else { ms };
    i64::try_from(ms).map_err(|_| overflow())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn ok(text: &str) -> i64 {
        parse_duration_ms(text).unwrap()
    }

    #[test]
    fn units() {
        assert_eq!(ok("1day"), 86_400_000);
        assert_eq!(ok("30days"), 30 * 86_400_000);
        assert_eq!(ok("1d"), 86_400_000);
        assert_eq!(ok("12hr"), 12 * 3_600_000);
        assert_eq!(ok("1h"), 3_600_000);
        assert_eq!(ok("2 hours"), 7_200_000);
        assert_eq!(ok("1 hour"), 3_600_000);
        assert_eq!(ok("10min"), 600_000);
        assert_eq!(ok("1 minute"), 60_000);
        assert_eq!(ok("3minutes"), 180_000);
        assert_eq!(ok("1s"), 1_000);
        assert_eq!(ok("5sec"), 5_000);
        assert_eq!(ok("1 second"), 1_000);
        assert_eq!(ok("7 seconds"), 7_000);
        assert_eq!(ok("500ms"), 500);
        assert_eq!(ok("2 milliseconds"), 2);
        assert_eq!(ok("1millisecond"), 1);
        assert_eq!(ok("2500us"), 2);
        assert_eq!(ok("3 microseconds"), 0);
        assert_eq!(ok("5000000ns"), 5);
        assert_eq!(ok("1999999 nanoseconds"), 1);
    }

    #[test]
    fn case_whitespace_and_bare_numbers() {
        assert_eq!(ok("1DAY"), 86_400_000);
        assert_eq!(ok("  10 Min  "), 600_000);
        assert_eq!(ok("86400000"), 86_400_000);
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("0s"), 0);
        assert_eq!(ok("-5s"), -5_000);
        assert_eq!(ok("+5s"), 5_000);
    }

    #[test]
    fn decimals() {
        assert_eq!(ok("1.5s"), 1_500);
        assert_eq!(ok("0.5day"), 43_200_000);
        assert_eq!(ok(".25s"), 250);
        assert_eq!(ok("2.s"), 2_000);
        assert_eq!(ok("1.0009s"), 1_000);
        assert_eq!(ok("1.9ms"), 1);
        assert_eq!(ok("-1.9ms"), -1);
        assert_eq!(ok("0.1234567890123456789012345day"), 10_666_666);
    }

    #[test]
    fn invalid() {
        for text in [
            "", "  ", "s", "ms", "3weeks", "1w", "2months", "1.2.3s", ".", "-", "1 s x", "abc",
            "1e3ms", "- 5s", "5 5s",
        ] {
            assert!(
                matches!(parse_duration_ms(text), Err(DurationError::Invalid(_))),
                "{text:?} should be invalid"
            );
        }
        assert_eq!(
            parse_duration_ms("3weeks").unwrap_err().to_string(),
            "`3weeks` is not a valid duration (units: ms, s, min, hr, day)"
        );
    }

    #[test]
    fn overflow() {
        assert_eq!(ok("9223372036854775807"), i64::MAX);
        assert_eq!(ok("-9223372036854775807"), -i64::MAX);
        for text in [
            "9223372036854775808",
            "200000000000days",
            "99999999999999999999999999999999999999999999999days",
        ] {
            assert!(
                matches!(parse_duration_ms(text), Err(DurationError::Overflow(_))),
                "{text:?} should overflow"
            );
        }
    }
}
