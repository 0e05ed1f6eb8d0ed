//! Size and time units for credits (`stof_units: "MB"`, `"s"`, …) and quantities written with
//! them (`"2GB"`, `"10MiB"`, `"2_000_000bytes"`, `"-3MB"`, `"1.5hr"`).

use crate::number::{Decimal, parse_decimal};

/// What a unit measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// Data size, in bytes.
    Size,
    /// Duration, in milliseconds.
    Time,
}

/// A unit: its canonical name, what it measures, and how many base units (bytes or ms) it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// Canonical name (`MB`, `KiB`, `s`, …).
    pub name: &'static str,
    /// Size or time.
    pub dimension: Dimension,
    /// Base units (bytes or milliseconds) per unit.
    pub factor: Decimal,
}

const fn m(name: &'static str, dimension: Dimension, factor: i64, scale: u32) -> Measure {
    Measure {
        name,
        dimension,
        factor: Decimal::from_parts(
            (factor & 0xffff_ffff) as u32,
            (factor >> 32) as u32,
            0,
            false,
            scale,
        ),
    }
}

const UNITS: &[(&[&str], Measure)] = &[
    (&["b", "byte", "bytes"], m("bytes", Dimension::Size, 1, 0)),
    (&["kb"], m("KB", Dimension::Size, 1_000, 0)),
    (&["mb"], m("MB", Dimension::Size, 1_000_000, 0)),
    (&["gb"], m("GB", Dimension::Size, 1_000_000_000, 0)),
    (&["tb"], m("TB", Dimension::Size, 1_000_000_000_000, 0)),
    (&["pb"], m("PB", Dimension::Size, 1_000_000_000_000_000, 0)),
    (&["kib"], m("KiB", Dimension::Size, 1_024, 0)),
    (&["mib"], m("MiB", Dimension::Size, 1_048_576, 0)),
    (&["gib"], m("GiB", Dimension::Size, 1_073_741_824, 0)),
    (&["tib"], m("TiB", Dimension::Size, 1_099_511_627_776, 0)),
    (
        &["ns", "nanosecond", "nanoseconds"],
        m("ns", Dimension::Time, 1, 6),
    ),
    (
        &["us", "microsecond", "microseconds"],
        m("us", Dimension::Time, 1, 3),
    ),
    (
        &["ms", "millisecond", "milliseconds"],
        m("ms", Dimension::Time, 1, 0),
    ),
    (
        &["s", "sec", "second", "seconds"],
        m("s", Dimension::Time, 1_000, 0),
    ),
    (
        &["min", "minute", "minutes"],
        m("min", Dimension::Time, 60_000, 0),
    ),
    (
        &["h", "hr", "hour", "hours"],
        m("hr", Dimension::Time, 3_600_000, 0),
    ),
    (
        &["d", "day", "days"],
        m("day", Dimension::Time, 86_400_000, 0),
    ),
];

/// The unit called `name` (case-insensitive), if known.
pub fn measure(name: &str) -> Option<Measure> {
    let n = name.trim().to_ascii_lowercase();
    UNITS
        .iter()
        .find(|(names, _)| names.contains(&n.as_str()))
        .map(|(_, m)| *m)
}

/// Splits `"500MB"` into `(500, Some(MB))`; a bare number has no unit. `None` when it is neither.
pub fn parse(text: &str) -> Option<(Decimal, Option<Measure>)> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value = parse_decimal(num)?;
    if unit.trim().is_empty() {
        return Some((value, None));
    }
    Some((value, Some(measure(unit)?)))
}

/// Converts `text` into `unit` (a bare number is already in `unit`).
///
/// ```
/// use limitr_core::policy::measure::{convert, measure};
/// let mb = measure("MB").unwrap();
/// assert_eq!(convert("2GB", mb).unwrap().to_string(), "2000");
/// assert_eq!(convert("10MiB", mb).unwrap().to_string(), "10.48576");
/// assert_eq!(convert("2_000_000bytes", mb).unwrap().to_string(), "2");
/// ```
pub fn convert(text: &str, unit: Measure) -> Result<Decimal, String> {
    let (value, from) =
        parse(text).ok_or_else(|| format!("`{text}` is not a number with a unit"))?;
    let Some(from) = from else { return Ok(value) };
    if from.dimension != unit.dimension {
        return Err(format!("`{text}` cannot be converted to {}", unit.name));
    }
    value
        .checked_mul(from.factor)
        .and_then(|b| b.checked_div(unit.factor))
        .map(|d| d.normalize())
        .ok_or_else(|| format!("`{text}` is out of range"))
}
