//! Meter reset rules: rolling windows and UTC calendar schedules (`reset_sch`).
//!
//! Time is `i64` milliseconds since the Unix epoch, UTC. Calendar boundaries
//! are always at 00:00:00.000 UTC.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, Weekday};
use thiserror::Error;

/// An error produced by [`Schedule::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    /// The schedule does not start with a known kind.
    #[error(
        "invalid reset schedule `{0}`: must start with monthly, weekly, nth_weekday, yearly, or quarterly"
    )]
    UnknownKind(String),
    /// The kind is known but its arguments are malformed or out of range.
    #[error("invalid reset schedule `{schedule}`: {reason}")]
    Invalid {
        /// The schedule text as given.
        schedule: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A UTC calendar reset schedule (`reset_sch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// `monthly:N`: day N (1..=31) of every month, clamped to the month's length.
    MonthlyDay(u8),
    /// `monthly:last`: the last day of every month.
    MonthlyLast,
    /// `weekly:<day>`: every given weekday.
    Weekly(Weekday),
    /// `nth_weekday:N:<day>`: the Nth (1..=4) given weekday of every month.
    NthWeekday {
        /// Which occurrence in the month (1..=4).
        n: u8,
        /// The weekday.
        day: Weekday,
    },
    /// `yearly:M-D`: month M, day D every year (Feb 29 clamps to Feb 28 in
    /// non-leap years).
    Yearly {
        /// Month (1..=12).
        month: u8,
        /// Day of the month (valid for that month in a leap year).
        day: u8,
    },
    /// `quarterly:D`: day D (1..=31) of January, April, July and October,
    /// clamped to the month's length.
    Quarterly(u8),
}

/// Parses a weekday name (`mon` or `monday`, case-insensitive).
fn parse_weekday(text: &str) -> Option<Weekday> {
    let day = match text {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    };
    Some(day)
}

/// Canonical short lowercase weekday name.
fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// Number of days in `month` of `year`, from chrono.
fn days_in_month(year: i32, month: u32) -> Option<u32> {
    NaiveDate::from_ymd_opt(year, month, 1).map(|d| u32::from(d.num_days_in_month()))
}

/// The date `day` of `month`/`year`, with `day` clamped to the month's length.
fn clamped_date(year: i32, month: u32, day: u8) -> Option<NaiveDate> {
    let day = u32::from(day).min(days_in_month(year, month)?);
    NaiveDate::from_ymd_opt(year, month, day)
}

/// `(year, month)` shifted by `offset` months.
fn add_months(year: i32, month: u32, offset: i32) -> Option<(i32, u32)> {
    let index = year
        .checked_mul(12)?
        .checked_add(i32::try_from(month).ok()?.checked_sub(1)?)?
        .checked_add(offset)?;
    let month = u32::try_from(index.rem_euclid(12)).ok()?.checked_add(1)?;
    Some((index.div_euclid(12), month))
}

/// Days (0..=6) from the most recent `day` (today included) to `today`.
fn days_since(today: NaiveDate, day: Weekday) -> u32 {
    (today.weekday().num_days_from_monday() + 7 - day.num_days_from_monday()) % 7
}

/// The UTC date containing `ms`.
fn date_of(ms: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(ms).map(|dt| dt.date_naive())
}

/// 00:00:00.000 UTC of `date`, in ms.
fn midnight_ms(date: NaiveDate) -> Option<i64> {
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

impl Schedule {
    /// Parses `monthly:N`, `monthly:last`, `weekly:mon`, `nth_weekday:N:mon`,
    /// `yearly:M-D`, `quarterly:D` (case-insensitive; weekdays may be short or
    /// full names).
    ///
    /// # Errors
    ///
    /// [`ScheduleError::UnknownKind`] for an unknown prefix and
    /// [`ScheduleError::Invalid`] for malformed or out-of-range arguments.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let lower = text.trim().to_ascii_lowercase();
        let invalid = |reason: String| ScheduleError::Invalid {
            schedule: text.to_owned(),
            reason,
        };
        let number = |s: &str, what: &str, lo: u8, hi: u8| -> Result<u8, ScheduleError> {
            s.parse::<u8>()
                .ok()
                .filter(|v| (lo..=hi).contains(v))
                .ok_or_else(|| invalid(format!("{what} must be {lo}..={hi}, got `{s}`")))
        };
        let weekday = |s: &str| {
            parse_weekday(s).ok_or_else(|| {
                invalid(format!(
                    "unknown weekday `{s}` (expected mon, tue, wed, thu, fri, sat, sun)"
                ))
            })
        };

        let (kind, rest) = lower.split_once(':').unwrap_or((lower.as_str(), ""));
        match kind {
            "monthly" if rest == "last" => Ok(Schedule::MonthlyLast),
            "monthly" => number(rest, "day of month", 1, 31).map(Schedule::MonthlyDay),
            "weekly" => weekday(rest).map(Schedule::Weekly),
            "nth_weekday" => {
                let (n, day) = rest
                    .split_once(':')
                    .ok_or_else(|| invalid("expected nth_weekday:N:<weekday>".to_owned()))?;
                let n = number(n, "nth", 1, 4)?;
                Ok(Schedule::NthWeekday {
                    n,
                    day: weekday(day)?,
                })
            }
            "yearly" => {
                let (month, day) = rest
                    .split_once('-')
                    .ok_or_else(|| invalid("expected yearly:M-D".to_owned()))?;
                let month = number(month, "month", 1, 12)?;
                // 2000 is a leap year, so Feb 29 is allowed.
                let max = days_in_month(2000, u32::from(month))
                    .and_then(|d| u8::try_from(d).ok())
                    .unwrap_or(31);
                let day = number(day, "day of month", 1, max)?;
                Ok(Schedule::Yearly { month, day })
            }
            "quarterly" => number(rest, "day of month", 1, 31).map(Schedule::Quarterly),
            _ => Err(ScheduleError::UnknownKind(text.to_owned())),
        }
    }

    /// The boundary date of the month-based unit (month, quarter or year)
    /// containing `today`, shifted by `offset` units. `None` for `Weekly`.
    fn unit_boundary(&self, today: NaiveDate, offset: i32) -> Option<NaiveDate> {
        let (year, month) = (today.year(), today.month());
        match *self {
            Schedule::MonthlyDay(day) => {
                let (y, m) = add_months(year, month, offset)?;
                clamped_date(y, m, day)
            }
            Schedule::MonthlyLast => {
                let (y, m) = add_months(year, month, offset)?;
                clamped_date(y, m, 31)
            }
            Schedule::NthWeekday { n, day } => {
                let (y, m) = add_months(year, month, offset)?;
                NaiveDate::from_weekday_of_month_opt(y, m, day, n)
            }
            Schedule::Yearly { month: m, day } => {
                clamped_date(year.checked_add(offset)?, u32::from(m), day)
            }
            Schedule::Quarterly(day) => {
                let quarter_month = (month - 1) / 3 * 3 + 1;
                let (y, m) = add_months(year, quarter_month, offset.checked_mul(3)?)?;
                clamped_date(y, m, day)
            }
            Schedule::Weekly(_) => None,
        }
    }

    /// The most recent boundary date `<= today`.
    fn start_date(&self, today: NaiveDate) -> Option<NaiveDate> {
        if let Schedule::Weekly(day) = *self {
            let back = days_since(today, day);
            return today.checked_sub_days(Days::new(u64::from(back)));
        }
        let current = self.unit_boundary(today, 0)?;
        if current <= today {
            Some(current)
        } else {
            self.unit_boundary(today, -1)
        }
    }

    /// The first boundary date strictly after `today`.
    fn next_date(&self, today: NaiveDate) -> Option<NaiveDate> {
        if let Schedule::Weekly(day) = *self {
            let back = days_since(today, day);
            return today.checked_add_days(Days::new(u64::from(7 - back)));
        }
        let current = self.unit_boundary(today, 0)?;
        if current > today {
            Some(current)
        } else {
            self.unit_boundary(today, 1)
        }
    }

    /// The most recent boundary (00:00:00.000 UTC of the boundary day) `<= now`.
    ///
    /// Returns `now` itself if `now` (or the boundary) is outside chrono's
    /// representable range.
    pub fn start_of_period(&self, now: i64) -> i64 {
        date_of(now)
            .and_then(|today| self.start_date(today))
            .and_then(midnight_ms)
            .unwrap_or(now)
    }

    /// The first boundary (00:00:00.000 UTC) strictly after `now`.
    ///
    /// Returns `i64::MAX` (never) if `now` or the next boundary is outside
    /// chrono's representable range.
    pub fn next_boundary(&self, now: i64) -> i64 {
        date_of(now)
            .and_then(|today| self.next_date(today))
            .and_then(midnight_ms)
            .unwrap_or(i64::MAX)
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

impl fmt::Display for Schedule {
    /// Canonical text; [`Schedule::parse`] of the output round-trips.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Schedule::MonthlyDay(day) => write!(f, "monthly:{day}"),
            Schedule::MonthlyLast => f.write_str("monthly:last"),
            Schedule::Weekly(day) => write!(f, "weekly:{}", weekday_name(day)),
            Schedule::NthWeekday { n, day } => write!(f, "nth_weekday:{n}:{}", weekday_name(day)),
            Schedule::Yearly { month, day } => write!(f, "yearly:{month}-{day}"),
            Schedule::Quarterly(day) => write!(f, "quarterly:{day}"),
        }
    }
}

/// How a meter resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResetRule {
    /// A rolling window of `inc_ms` milliseconds starting at the meter's
    /// recorded start. A period is `(start, start + inc_ms]`.
    Rolling {
        /// Window length in ms (must be > 0; non-positive values are treated as 1).
        inc_ms: i64,
    },
    /// Resets at UTC calendar boundaries.
    Calendar(Schedule),
}

impl ResetRule {
    /// Start of the period that contains `now`, for a meter whose current
    /// recorded period started at `started`.
    ///
    /// Rolling: `started` while `now - started <= inc` (including `now <
    /// started`), otherwise `started` advanced by whole periods to the last
    /// start before `now`. Calendar: the schedule's most recent boundary, or
    /// `started` if that is later (the first period is partial).
    pub fn period_start(&self, started: i64, now: i64) -> i64 {
        match *self {
            ResetRule::Rolling { inc_ms } => {
                let inc = i128::from(inc_ms.max(1));
                let elapsed = i128::from(now) - i128::from(started);
                if elapsed <= inc {
                    return started;
                }
                // ceil(elapsed / inc) - 1 == (elapsed - 1) / inc for elapsed > 0;
                // the result lies in [started, now), so it fits in an i64.
                let skipped = (elapsed - 1) / inc;
                i64::try_from(i128::from(started) + inc * skipped).unwrap_or(now)
            }
            ResetRule::Calendar(schedule) => {
                let boundary = schedule.start_of_period(now);
                if started < boundary {
                    boundary
                } else {
                    started
                }
            }
        }
    }

    /// When the current period ends (the next reset), given the meter's
    /// recorded start (`None` = no meter yet). Saturates at `i64::MAX`.
    pub fn next_reset(&self, started: Option<i64>, now: i64) -> i64 {
        match *self {
            ResetRule::Rolling { inc_ms } => {
                let inc = inc_ms.max(1);
                match started {
                    Some(started) => self.period_start(started, now).saturating_add(inc),
                    None => now.saturating_add(inc),
                }
            }
            ResetRule::Calendar(schedule) => schedule.next_boundary(now),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn ts(y: i32, m: u32, d: u32, h: u32, mi: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    fn day(y: i32, m: u32, d: u32) -> i64 {
        ts(y, m, d, 0, 0)
    }

    fn sch(text: &str) -> Schedule {
        Schedule::parse(text).unwrap()
    }

    fn start(text: &str, now: i64) -> i64 {
        sch(text).start_of_period(now)
    }

    #[test]
    fn worked_cases() {
        let now = ts(2026, 3, 15, 14, 30);
        assert_eq!(start("monthly:1", now), day(2026, 3, 1));
        assert_eq!(start("monthly:20", now), day(2026, 2, 20));
        assert_eq!(start("monthly:last", now), day(2026, 2, 28));
        assert_eq!(start("weekly:mon", now), day(2026, 3, 9));
        assert_eq!(start("weekly:sun", now), day(2026, 3, 15));
        assert_eq!(start("nth_weekday:1:tue", now), day(2026, 3, 3));
        assert_eq!(start("nth_weekday:4:sun", now), day(2026, 2, 22));
        assert_eq!(start("yearly:7-1", now), day(2025, 7, 1));
        assert_eq!(start("yearly:2-29", now), day(2026, 2, 28));
        assert_eq!(start("quarterly:20", now), day(2026, 1, 20));
        assert_eq!(
            start("quarterly:20", ts(2026, 1, 10, 0, 0)),
            day(2025, 10, 20)
        );
        assert_eq!(sch("monthly:1").next_boundary(now), day(2026, 4, 1));
    }

    #[test]
    fn next_boundaries() {
        let now = ts(2026, 3, 15, 14, 30);
        assert_eq!(sch("monthly:20").next_boundary(now), day(2026, 3, 20));
        assert_eq!(sch("monthly:last").next_boundary(now), day(2026, 3, 31));
        assert_eq!(sch("weekly:mon").next_boundary(now), day(2026, 3, 16));
        assert_eq!(sch("weekly:sun").next_boundary(now), day(2026, 3, 22));
        assert_eq!(sch("nth_weekday:1:tue").next_boundary(now), day(2026, 4, 7));
        assert_eq!(
            sch("nth_weekday:4:sun").next_boundary(now),
            day(2026, 3, 22)
        );
        assert_eq!(sch("yearly:7-1").next_boundary(now), day(2026, 7, 1));
        assert_eq!(sch("yearly:2-29").next_boundary(now), day(2027, 2, 28));
        assert_eq!(sch("quarterly:20").next_boundary(now), day(2026, 4, 20));
        assert_eq!(sch("quarterly:31").next_boundary(now), day(2026, 4, 30));
    }

    #[test]
    fn exactly_at_midnight() {
        let s = sch("monthly:1");
        let m = day(2026, 4, 1);
        assert_eq!(s.start_of_period(m), m);
        assert_eq!(s.next_boundary(m), day(2026, 5, 1));
        assert_eq!(s.start_of_period(m - 1), day(2026, 3, 1));
        assert_eq!(s.next_boundary(m - 1), m);
        let w = sch("weekly:sun");
        assert_eq!(w.start_of_period(day(2026, 3, 15)), day(2026, 3, 15));
        assert_eq!(w.next_boundary(day(2026, 3, 15)), day(2026, 3, 22));
    }

    #[test]
    fn month_ends_and_leap_days() {
        assert_eq!(start("monthly:31", ts(2026, 4, 30, 1, 0)), day(2026, 4, 30));
        assert_eq!(start("monthly:31", ts(2026, 4, 29, 1, 0)), day(2026, 3, 31));
        assert_eq!(start("monthly:31", ts(2026, 2, 28, 1, 0)), day(2026, 2, 28));
        assert_eq!(
            sch("monthly:31").next_boundary(ts(2026, 1, 31, 5, 0)),
            day(2026, 2, 28)
        );
        assert_eq!(
            sch("monthly:31").next_boundary(ts(2026, 2, 28, 5, 0)),
            day(2026, 3, 31)
        );
        assert_eq!(
            sch("monthly:30").next_boundary(ts(2028, 1, 31, 5, 0)),
            day(2028, 2, 29)
        );
        assert_eq!(
            start("monthly:last", ts(2028, 3, 10, 0, 0)),
            day(2028, 2, 29)
        );
        assert_eq!(
            sch("monthly:last").next_boundary(ts(2028, 2, 10, 0, 0)),
            day(2028, 2, 29)
        );
        assert_eq!(start("yearly:2-29", ts(2028, 3, 1, 0, 0)), day(2028, 2, 29));
        assert_eq!(
            start("yearly:2-29", ts(2028, 2, 28, 23, 0)),
            day(2027, 2, 28)
        );
        assert_eq!(
            sch("yearly:2-29").next_boundary(ts(2027, 3, 1, 0, 0)),
            day(2028, 2, 29)
        );
        assert_eq!(
            start("quarterly:31", ts(2026, 5, 1, 0, 0)),
            day(2026, 4, 30)
        );
        assert_eq!(
            start("yearly:12-31", ts(2026, 12, 31, 0, 0)),
            day(2026, 12, 31)
        );
        assert_eq!(
            sch("yearly:12-31").next_boundary(ts(2026, 12, 31, 0, 0)),
            day(2027, 12, 31)
        );
    }

    #[test]
    fn parse_variants_and_round_trip() {
        assert_eq!(sch("monthly:1"), Schedule::MonthlyDay(1));
        assert_eq!(sch("MONTHLY:LAST"), Schedule::MonthlyLast);
        assert_eq!(sch("weekly:Monday"), Schedule::Weekly(Weekday::Mon));
        assert_eq!(
            sch("nth_weekday:2:FRI"),
            Schedule::NthWeekday {
                n: 2,
                day: Weekday::Fri
            }
        );
        assert_eq!(sch("yearly:2-29"), Schedule::Yearly { month: 2, day: 29 });
        assert_eq!(sch("quarterly:31"), Schedule::Quarterly(31));
        assert_eq!(
            "weekly:sunday".parse::<Schedule>().unwrap(),
            Schedule::Weekly(Weekday::Sun)
        );
        for text in [
            "monthly:1",
            "monthly:31",
            "monthly:last",
            "weekly:mon",
            "weekly:tue",
            "weekly:wed",
            "weekly:thu",
            "weekly:fri",
            "weekly:sat",
            "weekly:sun",
            "nth_weekday:4:sun",
            "yearly:2-29",
            "yearly:12-31",
            "quarterly:1",
        ] {
            assert_eq!(sch(text).to_string(), text);
            assert_eq!(sch(&sch(text).to_string()), sch(text));
        }
    }

    #[test]
    fn parse_errors() {
        let err = |t: &str| Schedule::parse(t).unwrap_err().to_string();
        assert_eq!(
            err("daily:1"),
            "invalid reset schedule `daily:1`: must start with monthly, weekly, nth_weekday, yearly, or quarterly"
        );
        assert_eq!(
            err("monthly:0"),
            "invalid reset schedule `monthly:0`: day of month must be 1..=31, got `0`"
        );
        assert!(err("monthly:32").contains("1..=31"));
        assert!(err("monthly:").contains("day of month"));
        assert!(err("weekly:funday").contains("unknown weekday `funday`"));
        assert!(err("nth_weekday:5:mon").contains("nth must be 1..=4"));
        assert!(err("nth_weekday:1").contains("expected nth_weekday:N:<weekday>"));
        assert!(err("yearly:13-1").contains("month must be 1..=12"));
        assert!(err("yearly:2-30").contains("1..=29"));
        assert!(err("yearly:4-31").contains("1..=30"));
        assert!(err("yearly:7").contains("expected yearly:M-D"));
        assert!(err("quarterly:0").contains("1..=31"));
        assert!(matches!(
            Schedule::parse(""),
            Err(ScheduleError::UnknownKind(_))
        ));
    }

    #[test]
    fn out_of_range_does_not_panic() {
        for s in [
            sch("monthly:1"),
            sch("weekly:mon"),
            sch("yearly:2-29"),
            sch("quarterly:5"),
        ] {
            assert_eq!(s.start_of_period(i64::MAX), i64::MAX);
            assert_eq!(s.next_boundary(i64::MAX), i64::MAX);
            assert_eq!(s.start_of_period(i64::MIN), i64::MIN);
        }
        // Invalid hand-built values fall back instead of panicking.
        assert_eq!(Schedule::MonthlyDay(0).start_of_period(5), 5);
        assert_eq!(
            Schedule::Yearly { month: 13, day: 1 }.next_boundary(5),
            i64::MAX
        );
    }

    #[test]
    fn rolling() {
        let r = ResetRule::Rolling { inc_ms: DAY };
        let s = ts(2026, 3, 15, 14, 30);
        assert_eq!(r.period_start(s, s), s);
        assert_eq!(r.period_start(s, s - 10), s);
        assert_eq!(r.period_start(s, s + DAY), s);
        assert_eq!(r.period_start(s, s + DAY + 1), s + DAY);
        assert_eq!(r.period_start(s, s + 2 * DAY), s + DAY);
        assert_eq!(r.period_start(s, s + 2 * DAY + 1), s + 2 * DAY);
        assert_eq!(r.period_start(s, s + 7 * DAY / 2), s + 3 * DAY);
        assert_eq!(r.next_reset(Some(s), s + DAY), s + DAY);
        assert_eq!(r.next_reset(Some(s), s + DAY + 1), s + 2 * DAY);
        assert_eq!(r.next_reset(Some(s), s + 7 * DAY / 2), s + 4 * DAY);
        assert_eq!(r.next_reset(None, s), s + DAY);
        // Extreme values neither overflow nor panic.
        let span = i128::from(i64::MAX) - i128::from(i64::MIN);
        let expected = i128::from(i64::MIN) + i128::from(DAY) * ((span - 1) / i128::from(DAY));
        assert_eq!(i128::from(r.period_start(i64::MIN, i64::MAX)), expected);
        assert_eq!(r.next_reset(Some(i64::MAX - 1), i64::MAX), i64::MAX);
        assert_eq!(r.next_reset(None, i64::MAX), i64::MAX);
        let one = ResetRule::Rolling { inc_ms: 0 };
        assert_eq!(one.period_start(0, 5), 4);
    }

    #[test]
    fn calendar_rule() {
        let r = ResetRule::Calendar(sch("monthly:1"));
        let created = ts(2026, 3, 15, 14, 30);
        assert_eq!(r.period_start(created, created), created);
        assert_eq!(r.period_start(created, ts(2026, 3, 31, 23, 59)), created);
        assert_eq!(r.period_start(created, day(2026, 4, 1)), day(2026, 4, 1));
        assert_eq!(
            r.period_start(day(2026, 4, 1), ts(2026, 4, 2, 0, 0)),
            day(2026, 4, 1)
        );
        assert_eq!(
            r.period_start(created, ts(2026, 6, 2, 0, 0)),
            day(2026, 6, 1)
        );
        assert_eq!(r.next_reset(Some(created), created), day(2026, 4, 1));
        assert_eq!(r.next_reset(None, created), day(2026, 4, 1));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn schedule() -> impl Strategy<Value = Schedule> {
            let weekday = (0u8..7).prop_map(|i| Weekday::try_from(i).unwrap());
            prop_oneof![
                (1u8..=31).prop_map(Schedule::MonthlyDay),
                Just(Schedule::MonthlyLast),
                weekday.clone().prop_map(Schedule::Weekly),
                (1u8..=4, weekday).prop_map(|(n, day)| Schedule::NthWeekday { n, day }),
                (1u8..=12, 1u8..=31).prop_filter_map("valid day", |(month, day)| {
                    Schedule::parse(&format!("yearly:{month}-{day}")).ok()
                }),
                (1u8..=31).prop_map(Schedule::Quarterly),
            ]
        }

        proptest! {
            #[test]
            fn boundaries_bracket_now(
                s in schedule(),
                // 1900-01-01 .. 2200-01-01
                now in -2_208_988_800_000i64..7_258_118_400_000i64,
            ) {
                let start = s.start_of_period(now);
                let next = s.next_boundary(now);
                prop_assert!(start <= now && now < next, "{s}: {start} <= {now} < {next}");
                prop_assert_eq!(start.rem_euclid(DAY), 0);
                prop_assert_eq!(s.start_of_period(next), next);
                prop_assert_eq!(s.next_boundary(start), next);
                prop_assert_eq!(s.start_of_period(next - 1), start);
                prop_assert_eq!(Schedule::parse(&s.to_string()).unwrap(), s);
            }

            #[test]
            fn rolling_period_contains_now(
                started in -1_000_000_000_000i64..1_000_000_000_000,
                elapsed in -1_000_000i64..1_000_000_000_000,
                inc in 1i64..100_000_000_000,
            ) {
                let r = ResetRule::Rolling { inc_ms: inc };
                let now = started + elapsed;
                let p = r.period_start(started, now);
                prop_assert!((p - started) % inc == 0);
                if now > started {
                    prop_assert!(p < now && now <= p + inc);
                } else {
                    prop_assert_eq!(p, started);
                }
                prop_assert_eq!(r.next_reset(Some(started), now), p + inc);
            }
        }
    }
}
