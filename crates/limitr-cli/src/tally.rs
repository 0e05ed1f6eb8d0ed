//! What a replay counts: per (customer, entitlement) figures that add up to customers, plans and
//! the total, and bounded time series for the report's charts.

use limitr_core::number::{self, Decimal};

/// Figures of one meter, customer, plan or run. Money is in runes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Rows replayed.
    pub calls: u64,
    /// Calls allowed.
    pub allowed: u64,
    /// Calls denied.
    pub denied: u64,
    /// Units metered (allowed calls, as cast by the credit's units).
    pub usage: Decimal,
    /// Units past the limit.
    pub overage: Decimal,
    /// Overage units covered by grants.
    pub grant_draws: Decimal,
    /// List price of the overage not covered by grants (soft limits), in runes.
    pub revenue: Decimal,
    /// Provider cost of the allowed calls, in runes.
    pub cost: Decimal,
}

impl Tally {
    /// Adds `o` to this one.
    pub fn add(&mut self, o: &Tally) {
        self.calls += o.calls;
        self.allowed += o.allowed;
        self.denied += o.denied;
        self.usage = self.usage.saturating_add(o.usage);
        self.overage = self.overage.saturating_add(o.overage);
        self.grant_draws = self.grant_draws.saturating_add(o.grant_draws);
        self.revenue = self.revenue.saturating_add(o.revenue);
        self.cost = self.cost.saturating_add(o.cost);
    }

    /// `(revenue − cost) / revenue × 100`, 2 places; `None` without revenue.
    pub fn margin(&self) -> Option<Decimal> {
        if self.revenue.is_zero() {
            return None;
        }
        ((self.revenue - self.cost) / self.revenue * Decimal::ONE_HUNDRED)
            .round_dp(2)
            .normalize()
            .into()
    }
}

/// Most points a series keeps by default (it halves itself and samples half as often when full).
pub const MAX_POINTS: usize = 240;

/// A time series of `(epoch ms, a, b)` with bounded memory: every `stride`-th sample is kept, and
/// the stride doubles when the series is full; the latest sample is always kept too.
#[derive(Debug, Clone, Default)]
pub struct Series {
    points: Vec<(i64, f64, f64)>,
    latest: Option<(i64, Decimal, Decimal)>,
    stride: u64,
    /// Samples to skip before the next one is kept.
    skip: u64,
    /// Most points kept.
    max: usize,
}

impl Series {
    /// An empty series keeping at most `max` points (at least 2).
    pub fn new(max: usize) -> Series {
        Series {
            max: max.max(2),
            ..Series::default()
        }
    }

    /// Records a sample (converted to floating point only when it is kept).
    pub fn push(&mut self, at: i64, a: Decimal, b: Decimal) {
        self.latest = Some((at, a, b));
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        if self.points.len() >= self.max.max(2) {
            let kept: Vec<_> = self.points.iter().copied().step_by(2).collect();
            self.points = kept;
            self.stride = self.stride.max(1) * 2;
        }
        self.points
            .push((at, number::approx_f64(a), number::approx_f64(b)));
        self.skip = self.stride.max(1) - 1;
    }

    /// The kept samples, the latest included.
    pub fn points(&self) -> Vec<(i64, f64, f64)> {
        let mut out = self.points.clone();
        if let Some((at, a, b)) = self.latest {
            let l = (at, number::approx_f64(a), number::approx_f64(b));
            if out.last() != Some(&l) {
                out.push(l);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_stays_bounded_and_ends_at_the_latest_sample() {
        let mut s = Series::new(MAX_POINTS);
        for i in 0..100_000 {
            s.push(i, Decimal::from(i), Decimal::ZERO);
        }
        let p = s.points();
        assert!(p.len() <= MAX_POINTS + 1, "{}", p.len());
        assert_eq!(p.first().map(|p| p.0), Some(0));
        assert_eq!(p.last().map(|p| p.0), Some(99_999));
        assert!(p.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn margin_needs_revenue() {
        let mut t = Tally::default();
        assert_eq!(t.margin(), None);
        t.revenue = Decimal::from(4);
        t.cost = Decimal::from(3);
        assert_eq!(t.margin(), Some(Decimal::from(25)));
    }
}
