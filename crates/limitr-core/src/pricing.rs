//! Pricing models: how many runes a quantity of billable units costs, and the inverse.
//!
//! Every model prices *billable* units on a curve. A *position* is where a quantity starts on that
//! curve: position 0 is the first billable unit, negative positions are inside the included
//! amount. All arithmetic is exact decimal arithmetic and checked: a result that would overflow is
//! `None`, nothing panics.

use crate::number::Decimal;
use std::cmp::Ordering;

/// What [`Model::quantity_for`] returns when the runes buy an unbounded quantity: a band with no
/// upper bound and no per-unit price was reached (a stairstep top band, a free last tier, a free
/// package). 10^15.
pub const UNBOUNDED_QUANTITY: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// One band of a tiered price: units up to `up_to` (`None` = no bound) cost `price` each
/// (tiered/volume) or a flat fee (stairstep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Upper bound of the band (inclusive), in billable units; `None` = no bound.
    pub up_to: Option<Decimal>,
    /// Runes per unit (tiered, volume) or the band's flat fee (stairstep); never negative.
    pub price: Decimal,
}

impl Tier {
    /// A band `(previous up_to, up_to]` priced at `price`.
    pub fn new(up_to: Option<Decimal>, price: Decimal) -> Tier {
        Tier { up_to, price }
    }
}

/// A pricing model over billable units.
///
/// Build the tier-based models with [`Model::tiers`] (which sorts and checks the tiers), a package
/// price with [`Model::package`]; the functions never panic on a hand-built model, but give
/// meaningful answers only for one that went through the constructors.
///
/// - `Flat(amount)`: `amount` runes per unit.
/// - `Tiered`: graduated like tax brackets; band k covers `(previous up_to, up_to]`, each unit is
///   priced at the rate of the band it falls in.
/// - `Volume`: every unit is priced at the rate of the band containing the total quantity.
/// - `Stairstep`: the flat fee of the band containing the total quantity.
/// - `Package`: `price` per *started* block of `size` units.
///
/// Below position 0 (inside the included amount) tiered and volume use the first tier's rate, and
/// stairstep and package are free.
///
/// ```
/// use limitr_core::number::Decimal;
/// use limitr_core::pricing::{Model, Tier};
///
/// let d = |s: &str| s.parse::<Decimal>().unwrap();
/// // 10 units at 1 rune each, then 0.5 a unit
/// let m = Model::tiers("tiered", vec![Tier::new(None, d("0.5")), Tier::new(Some(d("10")), d("1"))]).unwrap();
/// assert_eq!(m.total_price(d("12")), Some(d("11")));
/// assert_eq!(m.price_of(d("4"), d("8")), Some(d("3"))); // 2 × 1 + 2 × 0.5
/// assert_eq!(m.price_of(d("-6"), d("12")), Some(d("-5"))); // refund from where the units come back
/// assert_eq!(m.quantity_for(d("3"), d("8")), Some(d("4")));
///
/// let p = Model::package(d("100"), d("2")).unwrap(); // 2 runes per started block of 100
/// assert_eq!(p.total_price(d("101")), Some(d("4")));
/// assert_eq!(p.quantity_for(d("2"), d("50")), Some(d("150")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Model {
    /// `amount` runes per unit.
    Flat(Decimal),
    /// Graduated bands (sorted ascending by `up_to`, the last unbounded).
    Tiered(Vec<Tier>),
    /// All units at the rate of the band containing the total (tiers sorted, last unbounded).
    Volume(Vec<Tier>),
    /// The flat fee of the band containing the total (tiers sorted, last unbounded).
    Stairstep(Vec<Tier>),
    /// `price` runes per started block of `size` units (`size` > 0).
    Package {
        /// Units in one block (> 0).
        size: Decimal,
        /// Runes per started block (≥ 0).
        price: Decimal,
    },
}

/// One linear piece of a tier curve, used by the walks.
struct Segment {
    /// Lower end (exclusive); `None` = the negative region, no lower end.
    lo: Option<Decimal>,
    /// Upper end (inclusive); `None` = no bound.
    hi: Option<Decimal>,
    /// Runes per unit inside the piece.
    slope: Decimal,
    /// Index of the tier (None for the negative region).
    tier: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tiered,
    Volume,
    Stairstep,
}

fn negative_price(amount: Decimal) -> String {
    format!(
        "Price cannot have a negative amount: {}",
        amount.normalize()
    )
}

impl Model {
    /// Builds a tier-based model (`kind` is `tiered`, `volume` or `stairstep`): tiers are sorted
    /// ascending by `up_to` with the unbounded tier last, and only the first declared unbounded
    /// tier is kept. Errors (as validation messages) for an unknown kind, an empty list, a negative
    /// price, or no unbounded tier.
    ///
    /// ```
    /// use limitr_core::number::Decimal;
    /// use limitr_core::pricing::{Model, Tier};
    /// let t = |u: Option<i64>, p: i64| Tier::new(u.map(Decimal::from), Decimal::from(p));
    /// let m = Model::tiers("stairstep", vec![t(None, 50), t(Some(1000), 20), t(None, 9), t(Some(100), 5)]).unwrap();
    /// assert_eq!(m, Model::Stairstep(vec![t(Some(100), 5), t(Some(1000), 20), t(None, 50)]));
    /// assert!(Model::tiers("volume", vec![t(Some(10), 1)]).is_err());
    /// ```
    pub fn tiers(kind: &str, tiers: Vec<Tier>) -> Result<Model, String> {
        let make: fn(Vec<Tier>) -> Model = match kind {
            "tiered" => Model::Tiered,
            "volume" => Model::Volume,
            "stairstep" => Model::Stairstep,
            _ => {
                return Err(format!(
                    "'{kind}' is not a valid credit pricing model - must be 'flat', 'tiered', 'volume', or 'stairstep'"
                ));
            }
        };
        if tiers.is_empty() {
            return Err(format!(
                "A '{kind}' credit pricing model requires a list of pricing tiers ('tiers' field)"
            ));
        }
        if let Some(t) = tiers
            .iter()
            .find(|t| t.price.is_sign_negative() && !t.price.is_zero())
        {
            return Err(negative_price(t.price));
        }
        let mut seen_unbounded = false;
        let mut kept: Vec<Tier> = tiers
            .into_iter()
            .filter(|t| {
                if t.up_to.is_some() {
                    return true;
                }
                let first = !seen_unbounded;
                seen_unbounded = true;
                first
            })
            .collect();
        if !seen_unbounded {
            return Err(format!(
                "A '{kind}' credit pricing model requires the last tier in 'tiers' to be up_to null (infinity)"
            ));
        }
        // stable: equal bounds keep their declared order; None sorts last
        kept.sort_by(|a, b| match (a.up_to, b.up_to) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        });
        Ok(make(kept))
    }

    /// A flat price of `amount` runes per unit; errors when `amount` is negative.
    pub fn flat(amount: Decimal) -> Result<Model, String> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(negative_price(amount));
        }
        Ok(Model::Flat(amount))
    }

    /// A package price: `price` runes per started block of `size` units. Errors when `size` is not
    /// positive or `price` is negative.
    pub fn package(size: Decimal, price: Decimal) -> Result<Model, String> {
        if size <= Decimal::ZERO {
            return Err(format!(
                "A 'package' credit pricing model requires a positive package size, not {}",
                size.normalize()
            ));
        }
        if price.is_sign_negative() && !price.is_zero() {
            return Err(negative_price(price));
        }
        Ok(Model::Package { size, price })
    }

    /// Runes per unit when the price is linear: a flat price, or a tiered/volume price with a
    /// single (unbounded) tier.
    pub fn unit_rate(&self) -> Option<Decimal> {
        match self {
            Model::Flat(amount) => Some(*amount),
            Model::Tiered(t) | Model::Volume(t) => match t.as_slice() {
                [only] if only.up_to.is_none() => Some(only.price),
                _ => None,
            },
            Model::Stairstep(_) | Model::Package { .. } => None,
        }
    }

    /// The per-unit rate of the first band: the flat amount, or the first tier's rate for
    /// tiered/volume (the rate inside the included amount). `None` for stairstep and package
    /// (no per-unit rate).
    pub fn first_rate(&self) -> Option<Decimal> {
        match self {
            Model::Flat(amount) => Some(*amount),
            Model::Tiered(t) | Model::Volume(t) => t.first().map(|t| t.price),
            Model::Stairstep(_) | Model::Package { .. } => None,
        }
    }

    /// Runes for a cumulative billable quantity `n` (`n` ≤ 0: tiered/volume at the first rate,
    /// stairstep and package free). `None` on overflow.
    pub fn total_price(&self, n: Decimal) -> Option<Decimal> {
        match self {
            Model::Flat(amount) => n.checked_mul(*amount),
            Model::Tiered(t) => {
                if n <= Decimal::ZERO {
                    n.checked_mul(t.first()?.price)
                } else {
                    integral(t, Decimal::ZERO, n)
                }
            }
            Model::Volume(t) => {
                if n <= Decimal::ZERO {
                    n.checked_mul(t.first()?.price)
                } else {
                    n.checked_mul(containing(t, n)?.price)
                }
            }
            Model::Stairstep(t) => {
                if n <= Decimal::ZERO {
                    Some(Decimal::ZERO)
                } else {
                    Some(containing(t, n)?.price)
                }
            }
            Model::Package { size, price } => blocks(n, *size)?.checked_mul(*price),
        }
    }

    /// Marginal runes for `q` units starting at position `offset`. A negative `q` is a refund,
    /// priced at the position the units come back from. For tiered prices the band slices are
    /// walked exactly; for the others it is `total_price(offset + q) - total_price(offset)`
    /// (negative for volume when the total crosses into a cheaper band). `None` on overflow.
    pub fn price_of(&self, q: Decimal, offset: Decimal) -> Option<Decimal> {
        match self {
            Model::Flat(amount) => q.checked_mul(*amount),
            Model::Tiered(t) => {
                let end = offset.checked_add(q)?;
                if q.is_sign_negative() {
                    Decimal::ZERO.checked_sub(integral(t, end, offset)?)
                } else {
                    integral(t, offset, end)
                }
            }
            Model::Volume(_) | Model::Stairstep(_) | Model::Package { .. } => {
                let end = offset.checked_add(q)?;
                self.total_price(end)?
                    .checked_sub(self.total_price(offset)?)
            }
        }
    }

    /// How many units `runes` buys starting at position `offset` (the inverse of
    /// [`Model::price_of`]).
    ///
    /// - zero runes: 0 (package: the rest of the block already paid for);
    /// - negative runes: converted linearly at the first rate (`None` for stairstep or a zero rate);
    ///   package: the largest (negative) `q` whose refund reaches `runes`, `None` when impossible;
    /// - flat: `runes / amount` (`None` if `amount` ≤ 0);
    /// - tiered/volume/stairstep: walks forward band by band, never entering a band whose entry
    ///   cost (volume reprice jump, stairstep fee) can't be afforded; [`UNBOUNDED_QUANTITY`] when a
    ///   band with no upper bound and no per-unit price is reached;
    /// - package: the largest `q` with `price_of(q, offset) <= runes` ([`UNBOUNDED_QUANTITY`] when
    ///   blocks are free).
    ///
    /// Divisions round to the decimal type's 28 digits when the quotient does not terminate.
    pub fn quantity_for(&self, runes: Decimal, offset: Decimal) -> Option<Decimal> {
        if let Model::Package { size, price } = self {
            return package_quantity(*size, *price, runes, offset);
        }
        if runes.is_zero() {
            return Some(Decimal::ZERO);
        }
        match self {
            Model::Flat(amount) => {
                if *amount <= Decimal::ZERO {
                    None
                } else {
                    runes.checked_div(*amount)
                }
            }
            Model::Tiered(t) | Model::Volume(t) | Model::Stairstep(t) => {
                let kind = match self {
                    Model::Tiered(_) => Kind::Tiered,
                    Model::Volume(_) => Kind::Volume,
                    _ => Kind::Stairstep,
                };
                if runes.is_sign_negative() {
                    if kind == Kind::Stairstep {
                        return None;
                    }
                    let rate = t.first()?.price;
                    if rate.is_zero() {
                        return None;
                    }
                    return runes.checked_div(rate);
                }
                self.walk(kind, t, runes, offset)
            }
            Model::Package { .. } => None,
        }
    }

    /// The forward walk of [`Model::quantity_for`] for positive `runes`.
    fn walk(&self, kind: Kind, tiers: &[Tier], runes: Decimal, offset: Decimal) -> Option<Decimal> {
        let mut p = offset;
        let mut r = runes;
        for seg in segments(tiers, kind) {
            if let Some(hi) = seg.hi
                && (hi <= p || seg.lo.is_some_and(|lo| hi <= lo))
            {
                continue; // behind us, or an empty band
            }
            let mut start = p;
            if let (Some(lo), Some(i)) = (seg.lo, seg.tier)
                && p <= lo
            {
                // entering band i at lo: the jump from total(lo) to the value just past lo
                let tier = tiers.get(i)?;
                let just_past = match kind {
                    Kind::Tiered => self.total_price(lo)?,
                    Kind::Volume => lo.checked_mul(tier.price)?,
                    Kind::Stairstep => tier.price,
                };
                let jump = just_past.checked_sub(self.total_price(lo)?)?;
                if jump > r {
                    return p.checked_sub(offset);
                }
                r = r.checked_sub(jump)?;
                start = lo;
            }
            let Some(hi) = seg.hi else {
                if seg.slope.is_zero() {
                    return Some(UNBOUNDED_QUANTITY);
                }
                return self.linear_end(start, r, seg.slope, runes, offset);
            };
            let cost = hi.checked_sub(start)?.checked_mul(seg.slope)?;
            if cost > r {
                // cost > r >= 0, so the slope is positive
                return self.linear_end(start, r, seg.slope, runes, offset);
            }
            r = r.checked_sub(cost)?;
            p = hi;
        }
        // only a hand-built model without an unbounded tier ends here
        p.checked_sub(offset)
    }
}

impl Model {
    /// Where the walk ends inside a linear piece from `start` with `r` runes left: `start + r /
    /// slope`. When the quotient does not terminate it is rounded at 28 digits, possibly up: the
    /// result is then stepped down (never below `start`) until `price_of` from `offset` fits
    /// within `runes`, so what is returned is always affordable.
    fn linear_end(
        &self,
        start: Decimal,
        r: Decimal,
        slope: Decimal,
        runes: Decimal,
        offset: Decimal,
    ) -> Option<Decimal> {
        let floor = start.checked_sub(offset)?;
        let mut q = start
            .checked_add(r.checked_div(slope)?)?
            .checked_sub(offset)?;
        let mut step = Decimal::new(1, q.scale());
        for _ in 0..8 {
            if self.price_of(q, offset).is_some_and(|p| p <= runes) {
                return Some(q);
            }
            q = q.checked_sub(step)?;
            step = step.checked_mul(Decimal::TEN)?;
            if q <= floor {
                break;
            }
        }
        Some(floor)
    }
}

/// The linear pieces of a tier curve: the negative region, then each band `(lo, hi]` with `lo`
/// clamped at 0 and `hi` at `lo`.
fn segments(tiers: &[Tier], kind: Kind) -> impl Iterator<Item = Segment> + '_ {
    let neg_slope = match kind {
        Kind::Stairstep => Decimal::ZERO,
        Kind::Tiered | Kind::Volume => tiers.first().map_or(Decimal::ZERO, |t| t.price),
    };
    let negative = Segment {
        lo: None,
        hi: Some(Decimal::ZERO),
        slope: neg_slope,
        tier: None,
    };
    let mut lo = Decimal::ZERO;
    let bands = tiers.iter().enumerate().map(move |(i, t)| {
        let band_lo = lo;
        let hi = t.up_to.map(|u| if u > band_lo { u } else { band_lo });
        if let Some(h) = hi {
            lo = h;
        }
        Segment {
            lo: Some(band_lo),
            hi,
            slope: match kind {
                Kind::Stairstep => Decimal::ZERO,
                Kind::Tiered | Kind::Volume => t.price,
            },
            tier: Some(i),
        }
    });
    std::iter::once(negative).chain(bands)
}

/// The tier whose band contains the positive quantity `n` (the first with `up_to >= n`).
fn containing(tiers: &[Tier], n: Decimal) -> Option<&Tier> {
    tiers.iter().find(|t| t.up_to.is_none_or(|u| u >= n))
}

/// Runes for the units in `(a, b]` (a ≤ b) of a graduated curve, slice by slice; below 0 at the
/// first tier's rate. `None` beyond the last band of a hand-built model without an unbounded tier.
fn integral(tiers: &[Tier], a: Decimal, b: Decimal) -> Option<Decimal> {
    let mut sum = Decimal::ZERO;
    let mut covered = a;
    for seg in segments(tiers, Kind::Tiered) {
        if covered >= b {
            break;
        }
        let from = match seg.lo {
            Some(lo) if lo > covered => lo,
            _ => covered,
        };
        let to = match seg.hi {
            Some(hi) if hi < b => hi,
            _ => b,
        };
        if to > from {
            sum = sum.checked_add(to.checked_sub(from)?.checked_mul(seg.slope)?)?;
            covered = to;
        }
    }
    if covered < b { None } else { Some(sum) }
}

/// Blocks of `size` started by a quantity `n`: the smallest whole k ≥ 0 with `k × size >= n`.
fn blocks(n: Decimal, size: Decimal) -> Option<Decimal> {
    if n <= Decimal::ZERO {
        return Some(Decimal::ZERO);
    }
    if size <= Decimal::ZERO {
        return None;
    }
    let mut k = n.checked_div(size)?.ceil();
    // the quotient may be rounded at 28 digits: settle k exactly
    while k.checked_mul(size)? < n {
        k = k.checked_add(Decimal::ONE)?;
    }
    while k > Decimal::ZERO && k.checked_sub(Decimal::ONE)?.checked_mul(size)? >= n {
        k = k.checked_sub(Decimal::ONE)?;
    }
    Some(k)
}

/// The largest whole m with `m × price <= runes` (price > 0; m may be negative).
fn affordable(runes: Decimal, price: Decimal) -> Option<Decimal> {
    let mut m = runes.checked_div(price)?.floor();
    while m.checked_mul(price)? > runes {
        m = m.checked_sub(Decimal::ONE)?;
    }
    while m.checked_add(Decimal::ONE)?.checked_mul(price)? <= runes {
        m = m.checked_add(Decimal::ONE)?;
    }
    Some(m)
}

/// The largest `q` with `price_of(q, offset) <= runes` for a package price.
fn package_quantity(
    size: Decimal,
    price: Decimal,
    runes: Decimal,
    offset: Decimal,
) -> Option<Decimal> {
    if size <= Decimal::ZERO {
        return None;
    }
    if price.is_zero() {
        // every q costs 0
        return if runes.is_sign_negative() && !runes.is_zero() {
            None
        } else {
            Some(UNBOUNDED_QUANTITY)
        };
    }
    if price < Decimal::ZERO {
        return None;
    }
    let k = blocks(offset, size)?.checked_add(affordable(runes, price)?)?;
    if k < Decimal::ZERO {
        return None; // cannot refund more blocks than were started
    }
    k.checked_mul(size)?.checked_sub(offset)
}
