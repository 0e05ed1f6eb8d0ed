//! Exact decimal quantities: parsing from document text and host numbers, and writing back.
//!
//! Every quantity in the engine is a [`Decimal`]. Policy numbers are read from their text (JSON keeps
//! it exactly; YAML/TOML floats come through their shortest round-trip text, exact for up to 15
//! significant digits). Host numbers (`f64`) are converted through their shortest round-trip text,
//! so `0.1` is exactly `0.1`.

pub use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// The largest magnitude accepted for one amount (10^20): far above any real usage, far enough
/// below the decimal type's range (about 7.9 × 10^28) that sums of amounts cannot overflow it.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(1_661_992_960, 1_808_227_885, 5, false, 0);

/// The largest magnitude a meter may hold before calls on it are refused with an overflow error
/// (10^26): with amounts bounded by [`MAX_AMOUNT`], every intermediate sum stays exact.
pub const MAX_METER: Decimal =
    Decimal::from_parts(3_825_205_248, 3_704_098_002, 5_421_010, false, 0);

/// The largest magnitude a meter can be left at by calls ([`MAX_METER`] + [`MAX_AMOUNT`]: a call
/// on a meter within range may carry it past by one amount): the bound a restored meter must meet.
pub const MAX_RESTORED_METER: Decimal =
    Decimal::from_parts(1_192_230_912, 1_217_358_592, 5_421_016, false, 0);

/// The top 32 bits of a decimal's 96-bit mantissa (its magnitude is below `(hi + 1) · 2^64`).
#[inline]
fn mantissa_hi(d: Decimal) -> u32 {
    let [_, _, _, _, _, _, _, _, _, _, _, _, a, b, c, e] = d.serialize();
    u32::from_le_bytes([a, b, c, e])
}

/// Whether a quantity is within ±[`MAX_AMOUNT`].
#[inline]
pub fn in_range(d: Decimal) -> bool {
    // fast path: the mantissa alone is below 2^64 < 10^20 (a scale only makes the value smaller)
    mantissa_hi(d) == 0 || d.abs() <= MAX_AMOUNT
}

/// Whether a meter quantity is within ±[`MAX_METER`].
#[inline]
pub fn meter_in_range(d: Decimal) -> bool {
    // fast path: the mantissa is below 5_421_010 · 2^64 < 10^26
    mantissa_hi(d) < 5_421_010 || d.abs() <= MAX_METER
}

/// The nearest `f64` of a decimal, fast for whole numbers below 2^53 (exact) and otherwise
/// through `rust_decimal`'s conversion; for trends and rates, not for money.
#[inline]
pub fn approx_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    if d.scale() == 0 && mantissa_hi(d) == 0 {
        let m = d.mantissa();
        if let Ok(i) = i64::try_from(m)
            && i.unsigned_abs() < (1 << 53)
        {
            #[allow(clippy::cast_precision_loss, reason = "below 2^53: exact")]
            return i as f64;
        }
    }
    d.to_f64().unwrap_or(0.0)
}

/// Drops the fractional part (`rust_decimal`'s `trunc`, skipped for whole numbers).
#[inline]
pub fn trunc(d: Decimal) -> Decimal {
    if d.scale() == 0 { d } else { d.trunc() }
}

/// Powers of ten that keep a 96-bit mantissa inside `i128` when multiplied (10^0 … 10^9).
const POW10: [i128; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Compares two decimals exactly, in integer arithmetic when their scales differ by at most 9
/// (the mantissa of the smaller scale is raised to the other's; `rust_decimal`'s general
/// comparison otherwise).
#[inline]
pub fn cmp(a: Decimal, b: Decimal) -> std::cmp::Ordering {
    let (sa, sb) = (a.scale(), b.scale());
    let (ma, mb) = (a.mantissa(), b.mantissa());
    if sa == sb {
        return ma.cmp(&mb);
    }
    let raise = |m: i128, by: u32| POW10.get(by as usize).map(|p| m * p);
    let aligned = if sa < sb {
        raise(ma, sb - sa).map(|ma| ma.cmp(&mb))
    } else {
        raise(mb, sa - sb).map(|mb| ma.cmp(&mb))
    };
    aligned.unwrap_or_else(|| a.cmp(&b))
}

/// Whether `d > 0` (a sign test, no comparison).
#[inline]
pub fn positive(d: Decimal) -> bool {
    !d.is_zero() && d.is_sign_positive()
}

/// `max(d, 0)` (a sign test, no comparison).
#[inline]
pub fn floor0(d: Decimal) -> Decimal {
    if d.is_sign_negative() && !d.is_zero() {
        Decimal::ZERO
    } else {
        d
    }
}

/// The larger of two decimals (see [`cmp`]).
#[inline]
pub fn max(a: Decimal, b: Decimal) -> Decimal {
    if cmp(a, b).is_ge() { a } else { b }
}

/// Parses decimal text: plain (`0.000004`), scientific (`4e-6`) or with `_` separators (`2_000`).
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let cleaned;
    let t = if t.contains('_') {
        cleaned = t.replace('_', "");
        cleaned.as_str()
    } else {
        t
    };
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.contains(['e', 'E']) {
        Decimal::from_scientific(t).ok()
    } else {
        Decimal::from_str(t).ok()
    }
    .map(|d| d.normalize())
}

/// Converts a host `f64` through its shortest round-trip text. NaN and infinities are rejected.
///
/// ```
/// use limitr_core::number::{from_f64, Decimal};
/// assert_eq!(from_f64(0.1).unwrap(), Decimal::new(1, 1));
/// assert!(from_f64(f64::NAN).is_none());
/// ```
pub fn from_f64(x: f64) -> Option<Decimal> {
    if !x.is_finite() {
        return None;
    }
    if x == x.trunc() && x.abs() < 9.0e15 {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "integral and within i64 range"
        )]
        return Some(Decimal::from(x as i64));
    }
    parse_decimal(&format!("{x:?}"))
}

/// The nearest `f64` of a decimal (for hosts whose numbers are doubles).
pub fn to_f64(d: Decimal) -> f64 {
    f64::from_str(&d.normalize().to_string()).unwrap_or(f64::NAN)
}

/// Reads a quantity from a JSON value: a number, or a string holding a decimal number.
pub fn from_value(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => parse_decimal(&n.to_string()),
        Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

/// `d` as an `i64` when it is a whole number in range (the common case of event figures).
#[inline]
pub fn whole(d: Decimal) -> Option<i64> {
    let n = if d.scale() == 0 { d } else { d.normalize() };
    if n.scale() == 0 {
        i64::try_from(n.mantissa()).ok()
    } else {
        None
    }
}

/// Writes a quantity as an exact JSON number (its normalized decimal text).
pub fn to_value(d: Decimal) -> Value {
    if let Some(i) = whole(d) {
        return Value::Number(i.into()); // the same text, without formatting and parsing it
    }
    match serde_json::Number::from_str(&d.normalize().to_string()) {
        Ok(n) => Value::Number(n),
        Err(_) => Value::String(d.to_string()),
    }
}

/// Serde helpers that store a [`Decimal`] as an exact JSON number and read it from a number or a
/// numeric string (whatever format the document came from).
pub mod serde_decimal {
    use super::{Decimal, from_value, to_value};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};
    use serde_json::Value;

    /// Serializes as an exact number.
    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        to_value(*d).serialize(s)
    }
    /// Deserializes from a number or numeric string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let v = Value::deserialize(d)?;
        from_value(&v).ok_or_else(|| D::Error::custom(format!("`{v}` is not a number")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_exactly() {
        assert_eq!(parse_decimal("0.000004"), Some(Decimal::new(4, 6)));
        assert_eq!(parse_decimal("4e-6"), Some(Decimal::new(4, 6)));
        assert_eq!(parse_decimal("2_000_000"), Some(Decimal::from(2_000_000)));
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal(""), None);
    }

    #[test]
    fn fast_compare_agrees_with_decimal_order() {
        let xs = [
            "-3",
            "-2.5",
            "0",
            "0.000",
            "-0.0",
            "1",
            "1.0",
            "2.25",
            "100",
            "-100.001",
            "0.000004",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7.9228162514264337593543950335",
            "0.0000000000000000000000000001",
            "1e-20",
            "123456789012345678.9",
            "123456789012345678.90000000001",
        ];
        for a in xs {
            for b in xs {
                let (a, b) = (parse_decimal(a).unwrap(), parse_decimal(b).unwrap());
                assert_eq!(cmp(a, b), a.cmp(&b), "{a} vs {b}");
                assert_eq!(max(a, b), a.max(b));
                assert_eq!(positive(a), a > Decimal::ZERO, "{a}");
                assert_eq!(floor0(a), a.max(Decimal::ZERO), "{a}");
            }
        }
    }

    #[test]
    fn range_checks_and_fast_conversions_agree_with_the_slow_ones() {
        let xs = [
            "0",
            "1",
            "-1",
            "99999999999999999999",
            "100000000000000000000",
            "100000000000000000001",
            "-100000000000000000001",
            "0.5",
            "123.456",
            "99999999999999999999999999",
            "100000000000000000000000000",
            "100000000000000000000000001",
            "18446744073709551616",
            "9007199254740993",
            "-9007199254740991",
            "7.9e27",
        ];
        for x in xs {
            let d = parse_decimal(x).unwrap();
            assert_eq!(in_range(d), d.abs() <= MAX_AMOUNT, "{x}");
            assert_eq!(meter_in_range(d), d.abs() <= MAX_METER, "{x}");
            use rust_decimal::prelude::ToPrimitive;
            assert_eq!(approx_f64(d), d.to_f64().unwrap(), "{x}");
            assert_eq!(trunc(d), d.trunc(), "{x}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_compare_agrees_on_random_decimals(
            ma in -(1i128 << 95)..(1i128 << 95), sa in 0u32..=28,
            mb in -(1i128 << 95)..(1i128 << 95), sb in 0u32..=28,
            small in proptest::bool::ANY,
        ) {
            // small mantissas too, where aligned comparisons are the common case
            let (ma, mb) = if small { (ma % 1_000_000, mb % 1_000_000) } else { (ma, mb) };
            let a = Decimal::from_i128_with_scale(ma, sa);
            let b = Decimal::from_i128_with_scale(mb, sb);
            proptest::prop_assert_eq!(cmp(a, b), a.cmp(&b), "{} vs {}", a, b);
        }
    }

    #[test]
    fn max_amount_is_ten_to_the_twentieth() {
        assert_eq!(MAX_AMOUNT.to_string(), "100000000000000000000");
        assert_eq!(MAX_METER.to_string(), "100000000000000000000000000");
        assert_eq!(MAX_RESTORED_METER, MAX_METER + MAX_AMOUNT);
    }

    #[test]
    fn f64_goes_through_shortest_text() {
        assert_eq!(
            from_f64(120000.0 / 2.2).map(|d| d.trunc()),
            Some(Decimal::from(54545))
        );
        assert_eq!(from_f64(0.000004), Some(Decimal::new(4, 6)));
        assert_eq!(from_f64(f64::INFINITY), None);
        assert_eq!(from_f64(-3.0), Some(Decimal::from(-3)));
        assert_eq!(to_f64(Decimal::new(5688, 3)), 5.688);
    }

    #[test]
    fn json_numbers_round_trip_exactly() {
        let d = parse_decimal("0.1234567890123456789012345").unwrap();
        let v = to_value(d);
        assert_eq!(v.to_string(), "0.1234567890123456789012345");
        assert_eq!(from_value(&v), Some(d));
    }
}
