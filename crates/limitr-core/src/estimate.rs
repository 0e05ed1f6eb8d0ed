//! Usage estimates: a recency-weighted running mean and variance of what
//! calls cost (value and overhead), used to size reservations before the real figure is known.
//!
//! Statistics are kept in `f64` — they are estimates, not money. Predictions leave this module as
//! exact [`Decimal`]s, rounded to 1e-9 first as the reference does.

use crate::number::{Decimal, from_f64};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Why an observation was refused. The estimate is left unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimateError {
    /// An input (`value`, `overhead` or `basis`) was NaN or infinite.
    #[error("{0} must be a finite number")]
    NonFinite(&'static str),
    /// The estimate is per basis but no basis was given.
    #[error("a per-basis estimate needs a basis")]
    MissingBasis,
    /// The estimate is per basis and the basis was zero or negative.
    #[error("basis must be greater than zero")]
    BasisNotPositive,
    /// The update would leave the statistics non-finite (inputs too large).
    #[error("observation overflows the estimate")]
    Overflow,
}

/// A predicted call size: value (in the entitlement's credit) and overhead (runes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prediction {
    /// Predicted value of the call.
    #[serde(with = "crate::number::serde_decimal")]
    pub value: Decimal,
    /// Predicted overhead of the call.
    #[serde(with = "crate::number::serde_decimal")]
    pub overhead: Decimal,
}

/// A recency-weighted estimate of call size.
///
/// Each observation uses the weight `w = max(alpha, 1/n)` (n = samples after it), so the first
/// `1/alpha` samples form a plain average and later ones an exponentially weighted one. In
/// per-basis mode values and overheads are stored per unit of basis (e.g. per input token) and
/// predictions are scaled back up by the basis of the call.
///
/// ```
/// use limitr_core::estimate::Estimate;
/// use limitr_core::number::Decimal;
///
/// let mut e = Estimate::new(0.1);
/// for x in [8.0, 10.0, 12.0, 10.0] {
///     e.observe(x, x / 2.0, None, 0).unwrap();
/// }
/// assert_eq!((e.samples, e.value_mean, e.value_var), (4, 10.0, 2.0));
/// let p = e.predict(None, 0.5).unwrap();
/// assert_eq!((p.value, p.overhead), (Decimal::from(10), Decimal::from(5)));
///
/// let mut per_input = Estimate::new(0.1).with_per_basis(true);
/// per_input.observe(300.0, 0.003, Some(100.0), 0).unwrap();
/// assert_eq!(per_input.predict(Some(1000.0), 0.5).unwrap().value, Decimal::from(3000));
/// assert!(per_input.observe(300.0, 0.003, None, 0).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Estimate {
    /// Number of observations folded in.
    pub samples: u64,
    /// Floor of the recency weight; `0.1` by default.
    pub alpha: f64,
    /// Whether values are stored per unit of basis.
    pub per_basis: bool,
    /// Running mean of the value (per basis unit in per-basis mode).
    pub value_mean: f64,
    /// Running variance of the value.
    pub value_var: f64,
    /// Running mean of the overhead (per basis unit in per-basis mode).
    pub overhead_mean: f64,
    /// Running variance of the overhead.
    pub overhead_var: f64,
    /// Where the figures came from: `"local"` (observed here) or `"cloud"` (seeded).
    pub source: String,
    /// Time of the last observation (ms since the epoch, from the engine's clock).
    pub updated: i64,
}

impl Default for Estimate {
    fn default() -> Self {
        Self::new(Self::DEFAULT_ALPHA)
    }
}

impl Estimate {
    /// The reference's default `alpha`.
    pub const DEFAULT_ALPHA: f64 = 0.1;

    /// An empty, non-per-basis, `"local"` estimate. A non-finite `alpha` becomes
    /// [`Self::DEFAULT_ALPHA`]; others are clamped to `[0, 1]` (`0` = plain average forever).
    pub fn new(alpha: f64) -> Self {
        let alpha = if alpha.is_finite() {
            alpha.clamp(0.0, 1.0)
        } else {
            Self::DEFAULT_ALPHA
        };
        Self {
            samples: 0,
            alpha,
            per_basis: false,
            value_mean: 0.0,
            value_var: 0.0,
            overhead_mean: 0.0,
            overhead_var: 0.0,
            source: "local".to_owned(),
            updated: 0,
        }
    }

    /// This estimate with per-basis mode set (see [`Self::set_per_basis`]).
    #[must_use]
    pub fn with_per_basis(mut self, per_basis: bool) -> Self {
        self.set_per_basis(per_basis);
        self
    }

    /// Switches per-basis mode. A real switch resets the statistics (samples, means, variances,
    /// source back to `"local"`); `alpha` and `updated` are kept. Setting the current mode is a no-op.
    pub fn set_per_basis(&mut self, per_basis: bool) {
        if self.per_basis != per_basis {
            *self = Self {
                per_basis,
                updated: self.updated,
                ..Self::new(self.alpha)
            };
        }
    }

    /// Folds one observed call into the estimate at time `now`.
    ///
    /// In per-basis mode `value` and `overhead` are divided by `basis`, which must be present and
    /// greater than zero; otherwise `basis` is ignored. Refused (estimate unchanged) on NaN/infinite
    /// inputs or if the result would overflow.
    pub fn observe(
        &mut self,
        value: f64,
        overhead: f64,
        basis: Option<f64>,
        now: i64,
    ) -> Result<(), EstimateError> {
        if !value.is_finite() {
            return Err(EstimateError::NonFinite("value"));
        }
        if !overhead.is_finite() {
            return Err(EstimateError::NonFinite("overhead"));
        }
        let (x, o) = if self.per_basis {
            let b = basis.ok_or(EstimateError::MissingBasis)?;
            if !b.is_finite() {
                return Err(EstimateError::NonFinite("basis"));
            }
            if b <= 0.0 {
                return Err(EstimateError::BasisNotPositive);
            }
            (value / b, overhead / b)
        } else {
            (value, overhead)
        };
        let n = self.samples.saturating_add(1);
        #[allow(
            clippy::cast_precision_loss,
            reason = "a weight; precision beyond 2^53 samples is irrelevant"
        )]
        let w = self.alpha.max(1.0 / n as f64);
        let (value_mean, value_var) = step(self.value_mean, self.value_var, x, w);
        let (overhead_mean, overhead_var) = step(self.overhead_mean, self.overhead_var, o, w);
        if ![value_mean, value_var, overhead_mean, overhead_var]
            .iter()
            .all(|v| v.is_finite())
        {
            return Err(EstimateError::Overflow);
        }
        self.samples = n;
        self.value_mean = value_mean;
        self.value_var = value_var;
        self.overhead_mean = overhead_mean;
        self.overhead_var = overhead_var;
        self.updated = now;
        Ok(())
    }

    /// The `quantile` (e.g. `0.9`) prediction for a call: `max(0, mean + z(q)·sqrt(var))` for value
    /// and overhead, times the basis in per-basis mode, rounded to 1e-9.
    ///
    /// `None` without samples, for a NaN quantile, or for a negative/non-finite basis. A missing
    /// or zero basis counts as 1 (the reference's `basis or 1`); in plain mode the basis is ignored.
    pub fn predict(&self, basis: Option<f64>, quantile: f64) -> Option<Prediction> {
        if self.samples == 0 || quantile.is_nan() {
            return None;
        }
        let scale = match basis {
            Some(b) if !b.is_finite() || b < 0.0 => return None,
            Some(b) if self.per_basis && b > 0.0 => b,
            _ => 1.0,
        };
        let zq = z(quantile);
        let one = |mean: f64, var: f64| {
            let raw = (mean + zq * var.max(0.0).sqrt()).max(0.0) * scale;
            from_f64(round9(raw))
        };
        Some(Prediction {
            value: one(self.value_mean, self.value_var)?,
            overhead: one(self.overhead_mean, self.overhead_var)?,
        })
    }

    /// The estimate as a JSON object with the reference field names.
    pub fn record(&self) -> Value {
        json!({
            "samples": self.samples,
            "alpha": self.alpha,
            "per_basis": self.per_basis,
            "value_mean": self.value_mean,
            "value_var": self.value_var,
            "overhead_mean": self.overhead_mean,
            "overhead_var": self.overhead_var,
            "source": self.source,
            "updated": self.updated,
        })
    }

    /// Reads a record (the stored field names). Missing fields take the reference defaults (samples 0,
    /// alpha 0.1, per_basis false, means/variances 0, source `"local"`, updated 0), so a seeded
    /// `{"samples": 1000, "value_mean": 42, "source": "cloud"}` is accepted. `None` if `v` is not an
    /// object or a present field has the wrong type, is non-finite, a negative count/variance, or
    /// an alpha outside `[0, 1]`.
    pub fn from_record(v: &Value) -> Option<Estimate> {
        let obj = v.as_object()?;
        let num = |key: &str, default: f64| -> Option<f64> {
            match obj.get(key) {
                None | Some(Value::Null) => Some(default),
                Some(x) => x.as_f64().filter(|f| f.is_finite()),
            }
        };
        let samples = match obj.get("samples") {
            None | Some(Value::Null) => 0,
            Some(x) => match x.as_u64() {
                Some(n) => n,
                None => whole(x.as_f64()?)?,
            },
        };
        let alpha = num("alpha", Self::DEFAULT_ALPHA)?;
        if !(0.0..=1.0).contains(&alpha) {
            return None;
        }
        let per_basis = match obj.get("per_basis") {
            None | Some(Value::Null) => false,
            Some(x) => x.as_bool()?,
        };
        let value_var = num("value_var", 0.0)?;
        let overhead_var = num("overhead_var", 0.0)?;
        if value_var < 0.0 || overhead_var < 0.0 {
            return None;
        }
        let source = match obj.get("source") {
            None | Some(Value::Null) => "local".to_owned(),
            Some(x) => x.as_str()?.to_owned(),
        };
        let updated = match obj.get("updated") {
            None | Some(Value::Null) => 0,
            Some(x) => match x.as_i64() {
                Some(t) => t,
                None => {
                    let f = x.as_f64().filter(|f| f.is_finite() && f.abs() < 9.0e15)?;
                    #[allow(
                        clippy::cast_possible_truncation,
                        reason = "finite and within i64 range; fractions of a ms dropped"
                    )]
                    let t = f.trunc() as i64;
                    t
                }
            },
        };
        Some(Estimate {
            samples,
            alpha,
            per_basis,
            value_mean: num("value_mean", 0.0)?,
            value_var,
            overhead_mean: num("overhead_mean", 0.0)?,
            overhead_var,
            source,
            updated,
        })
    }
}

/// One recency-weighted update of `(mean, var)` with observation `x` and weight `w`.
/// A full weight (first sample, or alpha 1) resets to `(x, 0)` exactly, even for huge `x`.
fn step(mean: f64, var: f64, x: f64, w: f64) -> (f64, f64) {
    if w >= 1.0 {
        return (x, 0.0);
    }
    let d = x - mean;
    (mean + w * d, (1.0 - w) * (var + w * d * d))
}

/// Rounds to 9 decimal places (the reference's `round(x * 1e9) / 1e9`).
fn round9(x: f64) -> f64 {
    let scaled = x * 1e9;
    if scaled.is_finite() {
        scaled.round() / 1e9
    } else {
        x
    }
}

/// A non-negative whole `f64` as a count.
fn whole(f: f64) -> Option<u64> {
    if f.is_finite() && f >= 0.0 && f == f.trunc() && f < 1.8e19 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked whole, non-negative and within u64 range"
        )]
        let n = f as u64;
        Some(n)
    } else {
        None
    }
}

/// Standard-normal quantile by Abramowitz–Stegun 26.2.23 (error < 4.5e-4).
///
/// `q` is clamped to `[0.0001, 0.9999]`; `z(0.5)` is exactly 0 and `z(1 - q) = -z(q)`.
/// `z(0.9) ≈ 1.2817288` (the approximation's value, not the exact 1.28155). NaN gives NaN.
///
/// ```
/// use limitr_core::estimate::z;
/// assert_eq!(z(0.5), 0.0);
/// assert!((z(0.9) - 1.2817288).abs() < 1e-7);
/// assert!((z(0.1) + z(0.9)).abs() < 1e-12);
/// ```
pub fn z(q: f64) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    let q = q.clamp(0.0001, 0.9999);
    if q == 0.5 {
        return 0.0;
    }
    let p = if q > 0.5 { 1.0 - q } else { q };
    let t = (-2.0 * p.ln()).sqrt();
    let r = t
        - (2.515517 + 0.802853 * t + 0.010328 * t * t)
            / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
    if q > 0.5 { r } else { -r }
}

/// The key an estimate segment is stored under: `None`/empty → `"all"`; `.` and spaces → `_`.
///
/// ```
/// use limitr_core::estimate::segment_key;
/// assert_eq!(segment_key(Some("claude-sonnet-4.5")), "claude-sonnet-4_5");
/// assert_eq!(segment_key(None), "all");
/// assert_eq!(segment_key(Some("")), "all");
/// ```
pub fn segment_key(segment: Option<&str>) -> String {
    match segment {
        None | Some("") => "all".to_owned(),
        Some(s) => s.replace(['.', ' '], "_"),
    }
}
