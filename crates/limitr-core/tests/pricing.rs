//! Pricing models: the reference figures (cases 22, 28, 29, 30, 44), package prices, validation
//! of tiers, and properties of the curves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::Decimal;
use limitr_core::pricing::{Model, Tier, UNBOUNDED_QUANTITY};
use proptest::prelude::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn t(up_to: Option<&str>, price: &str) -> Tier {
    Tier::new(up_to.map(d), d(price))
}

/// Case 28's bands: 100 @0.01, 1000 @0.005, then @0.001.
fn bands_28() -> Vec<Tier> {
    vec![
        t(Some("100"), "0.01"),
        t(Some("1000"), "0.005"),
        t(None, "0.001"),
    ]
}

fn stairstep_29() -> Model {
    Model::tiers(
        "stairstep",
        vec![t(Some("100"), "5"), t(Some("1000"), "20"), t(None, "50")],
    )
    .unwrap()
}

#[test]
fn unbounded_quantity_is_1e15() {
    assert_eq!(UNBOUNDED_QUANTITY, Decimal::from(1_000_000_000_000_000_i64));
}

#[test]
fn case_22_tiered() {
    let m = Model::tiers("tiered", vec![t(Some("10"), "1"), t(None, "0.5")]).unwrap();
    assert_eq!(m.price_of(d("8"), d("0")), Some(d("8")));
    assert_eq!(m.price_of(d("4"), d("8")), Some(d("3")));
    assert_eq!(m.price_of(d("-6"), d("12")), Some(d("-5")));
    assert_eq!(m.total_price(d("12")), Some(d("11")));
    assert_eq!(m.total_price(d("-3")), Some(d("-3")));
    assert_eq!(m.quantity_for(d("3"), d("8")), Some(d("4")));
}

#[test]
fn case_28_tier_aware_quantity() {
    let m = Model::tiers("tiered", bands_28()).unwrap();
    assert_eq!(m.quantity_for(d("1.5"), d("0")), Some(d("200")));
    assert_eq!(m.price_of(d("150"), d("0")), Some(d("1.25")));
    assert_eq!(m.quantity_for(d("0.25"), d("150")), Some(d("50")));
    // check 51 false, 50 true with 0.25 left
    assert_eq!(m.price_of(d("50"), d("150")), Some(d("0.25")));
    assert!(m.price_of(d("51"), d("150")).unwrap() > d("0.25"));
    assert_eq!(m.quantity_for(d("0"), d("150")), Some(d("0")));
    // negative runes convert at the first rate
    assert_eq!(m.quantity_for(d("-0.5"), d("150")), Some(d("-50")));
}

#[test]
fn case_29_stairstep_quantity() {
    let m = stairstep_29();
    assert_eq!(m.quantity_for(d("60"), d("0")), Some(UNBOUNDED_QUANTITY));
    assert_eq!(m.quantity_for(d("30"), d("0")), Some(d("1000")));
    assert_eq!(m.price_of(d("5000"), d("0")), Some(d("50")));
    assert_eq!(m.price_of(d("500"), d("0")), Some(d("20")));
    assert_eq!(m.price_of(d("1001"), d("0")), Some(d("50")));
    // not even the first fee
    assert_eq!(m.quantity_for(d("4.99"), d("0")), Some(d("0")));
    // inside a paid band the rest of it is free; the next fee difference is 15
    assert_eq!(m.quantity_for(d("14"), d("50")), Some(d("50")));
    assert_eq!(m.quantity_for(d("15"), d("50")), Some(d("950")));
    assert_eq!(m.quantity_for(d("-1"), d("50")), None);
}

#[test]
fn case_30_volume_marginal() {
    let m = Model::tiers("volume", bands_28()).unwrap();
    assert_eq!(m.price_of(d("100"), d("0")), Some(d("1")));
    assert_eq!(m.price_of(d("1"), d("100")), Some(d("-0.495")));
    // grant 1.0 stays: the marginal price is a refund; then 10 more cost 0.05
    assert_eq!(m.price_of(d("10"), d("101")), Some(d("0.05")));
    // from 100 the next unit reprices everything: the jump is affordable (negative)
    assert_eq!(m.quantity_for(d("0.05"), d("101")), Some(d("10")));
    assert_eq!(m.quantity_for(d("0.005"), d("0")), Some(d("0.5")));
}

#[test]
fn case_44_caps_figures() {
    let tiered = Model::tiers("tiered", bands_28()).unwrap();
    // observe cap: 100 -> 1.0; 100 -> 1.5; 1000 -> 5.7
    assert_eq!(tiered.price_of(d("100"), d("0")), Some(d("1")));
    assert_eq!(tiered.price_of(d("100"), d("100")), Some(d("0.5")));
    assert_eq!(tiered.price_of(d("1000"), d("200")), Some(d("4.2")));
    assert_eq!(tiered.total_price(d("1200")), Some(d("5.7")));
    // included 50: allow 60 -> plain 0.6 / overage_only 0.1; allow 100 -> +0.95
    assert_eq!(tiered.price_of(d("60"), d("-50")), Some(d("0.6")));
    assert_eq!(tiered.price_of(d("10"), d("0")), Some(d("0.1")));
    assert_eq!(tiered.price_of(d("100"), d("10")), Some(d("0.95")));
    // volume observe: 100 -> 1.0, 1 -> 0.505, 100 -> 1.005
    let volume = Model::tiers("volume", bands_28()).unwrap();
    assert_eq!(volume.total_price(d("100")), Some(d("1")));
    assert_eq!(
        d("1") + volume.price_of(d("1"), d("100")).unwrap(),
        d("0.505")
    );
    assert_eq!(volume.total_price(d("201")), Some(d("1.005")));
    // volume $1 enforcing: 100, 1, 90 ok (0.955), 10 more would be 1.005
    assert_eq!(volume.total_price(d("191")), Some(d("0.955")));
    assert_eq!(volume.price_of(d("10"), d("191")), Some(d("0.05")));
    // stairstep observe: 10 -> 5, 80 -> 5, 20 -> 20
    let stair = stairstep_29();
    assert_eq!(stair.price_of(d("10"), d("0")), Some(d("5")));
    assert_eq!(stair.price_of(d("80"), d("10")), Some(d("0")));
    assert_eq!(stair.price_of(d("20"), d("90")), Some(d("15")));
    assert_eq!(stair.total_price(d("110")), Some(d("20")));
    // inside the included amount stairstep is free
    assert_eq!(stair.price_of(d("50"), d("-50")), Some(d("0")));
    assert_eq!(stair.price_of(d("51"), d("-50")), Some(d("5")));
}

#[test]
fn band_edges_are_inclusive_at_up_to() {
    let volume = Model::tiers("volume", bands_28()).unwrap();
    assert_eq!(volume.total_price(d("1000")), Some(d("5")));
    assert_eq!(volume.total_price(d("1000.5")), Some(d("1.0005")));
    let stair = stairstep_29();
    assert_eq!(stair.total_price(d("100")), Some(d("5")));
    assert_eq!(stair.total_price(d("100.01")), Some(d("20")));
    assert_eq!(stair.total_price(d("0")), Some(d("0")));
}

#[test]
fn unbounded_when_top_band_is_free() {
    let m = Model::tiers("tiered", vec![t(Some("10"), "1"), t(None, "0")]).unwrap();
    assert_eq!(m.quantity_for(d("10"), d("0")), Some(UNBOUNDED_QUANTITY));
    assert_eq!(m.quantity_for(d("9.5"), d("0")), Some(d("9.5")));
    let v = Model::tiers("volume", vec![t(Some("10"), "1"), t(None, "0")]).unwrap();
    assert_eq!(v.quantity_for(d("1"), d("0")), Some(d("1")));
    assert_eq!(v.quantity_for(d("10"), d("0")), Some(UNBOUNDED_QUANTITY));
}

#[test]
fn volume_does_not_enter_a_dearer_band_it_cannot_afford() {
    // 10 @ 0.1, then everything @ 1: crossing 10 reprices the first 10 units (+9)
    let v = Model::tiers("volume", vec![t(Some("10"), "0.1"), t(None, "1")]).unwrap();
    assert_eq!(v.quantity_for(d("5"), d("0")), Some(d("10")));
    assert_eq!(v.quantity_for(d("10"), d("0")), Some(d("10")));
    assert_eq!(v.quantity_for(d("12"), d("0")), Some(d("12")));
}

#[test]
fn rounded_quotients_stay_affordable() {
    // 2 / 3 rounds up at 28 digits; the walk steps it down so the units fit the runes
    let m = Model::tiers("tiered", vec![t(Some("1"), "1"), t(None, "3")]).unwrap();
    let q = m.quantity_for(d("3"), d("0")).unwrap();
    assert!(q < d("1.6666666666666666666666666667"), "{q}");
    assert!(q > d("1.666666666666666666666666"), "{q}");
    assert!(m.price_of(q, d("0")).unwrap() <= d("3"));
    let v = Model::tiers("volume", vec![t(None, "1.5646")]).unwrap();
    let q = v.quantity_for(d("241.21"), d("638.12")).unwrap();
    assert!(v.price_of(q, d("638.12")).unwrap() <= d("241.21"), "{q}");
    assert!(q > d("154.1671992841"), "{q}");
}

#[test]
fn flat_prices() {
    let m = Model::flat(d("0.000004")).unwrap();
    assert_eq!(m.total_price(d("500000")), Some(d("2")));
    assert_eq!(m.price_of(d("-2"), d("99")), Some(d("-0.000008")));
    assert_eq!(m.quantity_for(d("2"), d("0")), Some(d("500000")));
    assert_eq!(m.unit_rate(), Some(d("0.000004")));
    assert_eq!(m.first_rate(), Some(d("0.000004")));
    assert_eq!(Model::Flat(d("0")).quantity_for(d("1"), d("0")), None);
    assert_eq!(
        Model::Flat(d("0")).quantity_for(d("0"), d("0")),
        Some(d("0"))
    );
    assert!(Model::flat(d("-1")).is_err());
}

#[test]
fn package_prices() {
    let m = Model::package(d("100"), d("2")).unwrap();
    assert_eq!(m.total_price(d("0")), Some(d("0")));
    assert_eq!(m.total_price(d("-5")), Some(d("0")));
    assert_eq!(m.total_price(d("1")), Some(d("2")));
    assert_eq!(m.total_price(d("100")), Some(d("2")));
    assert_eq!(m.total_price(d("100.001")), Some(d("4")));
    assert_eq!(m.price_of(d("60"), d("50")), Some(d("2")));
    assert_eq!(m.price_of(d("50"), d("50")), Some(d("0")));
    assert_eq!(m.price_of(d("-60"), d("110")), Some(d("-2")));
    // the rest of a started block is already paid for
    assert_eq!(m.quantity_for(d("0"), d("50")), Some(d("50")));
    assert_eq!(m.quantity_for(d("1.99"), d("50")), Some(d("50")));
    assert_eq!(m.quantity_for(d("2"), d("50")), Some(d("150")));
    assert_eq!(m.quantity_for(d("5"), d("0")), Some(d("200")));
    assert_eq!(m.quantity_for(d("5"), d("-30")), Some(d("230")));
    // refunds: -2 gives back the block started at 150 (q = -50 lands on 100)
    assert_eq!(m.quantity_for(d("-2"), d("150")), Some(d("-50")));
    assert_eq!(m.quantity_for(d("-4.5"), d("150")), None);
    assert_eq!(m.unit_rate(), None);
    assert_eq!(m.first_rate(), None);
    // fractional blocks, and a free package
    let f = Model::package(d("0.3"), d("0.7")).unwrap();
    assert_eq!(f.total_price(d("1")), Some(d("2.8")));
    assert_eq!(f.quantity_for(d("2.8"), d("0")), Some(d("1.2")));
    let free = Model::package(d("10"), d("0")).unwrap();
    assert_eq!(free.quantity_for(d("1"), d("0")), Some(UNBOUNDED_QUANTITY));
    assert!(Model::package(d("0"), d("1")).is_err());
    assert!(Model::package(d("-1"), d("1")).is_err());
    assert!(Model::package(d("1"), d("-1")).is_err());
}

#[test]
fn tiers_are_sorted_and_checked() {
    // five declared, two unbounded: the first unbounded is kept, the list sorted
    let m = Model::tiers(
        "tiered",
        vec![
            t(None, "0.0004"),
            t(Some("1000"), "0.002"),
            t(None, "0.0001"),
            t(Some("10"), "0.003"),
            t(Some("100"), "0.0025"),
        ],
    )
    .unwrap();
    let Model::Tiered(kept) = &m else {
        panic!("not tiered: {m:?}")
    };
    assert_eq!(kept.len(), 4);
    assert_eq!(kept.last().unwrap(), &t(None, "0.0004"));
    let bounds: Vec<_> = kept.iter().map(|t| t.up_to).collect();
    assert_eq!(
        bounds,
        vec![Some(d("10")), Some(d("100")), Some(d("1000")), None]
    );
    assert_eq!(m.first_rate(), Some(d("0.003")));
    assert_eq!(m.unit_rate(), None);
    assert_eq!(
        Model::tiers("volume", vec![t(None, "2")])
            .unwrap()
            .unit_rate(),
        Some(d("2"))
    );

    assert_eq!(
        Model::tiers("tiered", vec![]).unwrap_err(),
        "A 'tiered' credit pricing model requires a list of pricing tiers ('tiers' field)"
    );
    assert_eq!(
        Model::tiers("volume", vec![t(Some("10"), "1")]).unwrap_err(),
        "A 'volume' credit pricing model requires the last tier in 'tiers' to be up_to null (infinity)"
    );
    assert!(
        Model::tiers("stairstep", vec![t(None, "-1")])
            .unwrap_err()
            .starts_with("Price cannot have a negative amount")
    );
    assert!(
        Model::tiers("graduated", vec![t(None, "1")])
            .unwrap_err()
            .contains("is not a valid credit pricing model")
    );
}

#[test]
fn overflow_is_none_not_a_panic() {
    let max = Decimal::MAX;
    let m = Model::tiers("tiered", vec![t(Some("10"), "1000"), t(None, "2000")]).unwrap();
    assert_eq!(m.total_price(max), None);
    assert_eq!(m.price_of(max, max), None);
    assert_eq!(
        Model::tiers("volume", bands_28())
            .unwrap()
            .price_of(max, d("1")),
        None
    );
    assert_eq!(Model::Flat(max).total_price(d("2")), None);
    let p = Model::package(d("0.0000001"), max).unwrap();
    assert_eq!(p.total_price(d("1")), None);
    // hand-built models without an unbounded tier do not panic
    assert_eq!(Model::Tiered(vec![]).total_price(d("1")), None);
    assert_eq!(
        Model::Volume(vec![]).quantity_for(d("1"), d("0")),
        Some(d("0"))
    );
    assert_eq!(
        Model::Tiered(vec![t(Some("5"), "1")]).price_of(d("10"), d("0")),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// properties

/// Decimals with two places in [lo, hi) hundredths.
fn dec(lo: i64, hi: i64) -> impl Strategy<Value = Decimal> {
    (lo..hi).prop_map(|m| Decimal::new(m, 2))
}

/// 1 to 5 tiers: bounded ones with up_to in (0, 2000] (two places), the unbounded last; prices
/// with up to four places in [min_price, 5). Given in random order, sorted by the constructor.
fn tier_list(min_price: i64) -> impl Strategy<Value = Vec<Tier>> {
    (
        proptest::collection::vec((1i64..200_000, min_price..50_000), 0..4),
        min_price..50_000,
    )
        .prop_map(|(bounded, top)| {
            let mut v: Vec<Tier> = bounded
                .into_iter()
                .map(|(u, p)| Tier::new(Some(Decimal::new(u, 2)), Decimal::new(p, 4)))
                .collect();
            v.push(Tier::new(None, Decimal::new(top, 4)));
            v.reverse();
            v
        })
}

fn model(kind: &'static str, min_price: i64) -> impl Strategy<Value = Model> {
    tier_list(min_price).prop_map(move |v| Model::tiers(kind, v).unwrap())
}

/// Stairstep with fees non-decreasing along the bands (so its price is monotone).
fn rising_stairstep() -> impl Strategy<Value = Model> {
    tier_list(0).prop_map(|v| {
        let Model::Stairstep(mut sorted) = Model::tiers("stairstep", v).unwrap() else {
            unreachable!()
        };
        let mut fees: Vec<Decimal> = sorted.iter().map(|t| t.price).collect();
        fees.sort();
        for (t, f) in sorted.iter_mut().zip(fees) {
            t.price = f;
        }
        Model::Stairstep(sorted)
    })
}

fn package() -> impl Strategy<Value = Model> {
    (1i64..50_000, 0i64..50_000)
        .prop_map(|(s, p)| Model::package(Decimal::new(s, 2), Decimal::new(p, 4)).unwrap())
}

fn any_model() -> impl Strategy<Value = Model> {
    prop_oneof![
        model("tiered", 0),
        model("volume", 0),
        model("stairstep", 0),
        package(),
        dec(0, 10_000).prop_map(Model::Flat),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// price_of(a, o) + price_of(b, o + a) == price_of(a + b, o), exactly, for every model, any
    /// split point (either sign) and any offset.
    #[test]
    fn split_calls_sum_exactly(
        m in any_model(),
        o in dec(-100_000, 300_000),
        a in dec(-200_000, 300_000),
        b in dec(-200_000, 300_000),
    ) {
        let one = m.price_of(a + b, o).unwrap();
        let two = m.price_of(a, o).unwrap() + m.price_of(b, o + a).unwrap();
        prop_assert_eq!(one, two, "{:?}", m);
    }

    /// A refund is the negated price of the same units: price_of(-q, o + q) == -price_of(q, o).
    #[test]
    fn refunds_mirror_purchases(m in any_model(), o in dec(-100_000, 300_000), q in dec(0, 300_000)) {
        prop_assert_eq!(m.price_of(-q, o + q).unwrap(), -m.price_of(q, o).unwrap());
    }

    /// total_price(n) == price_of(n, 0) from position 0 for every model.
    #[test]
    fn total_is_price_from_zero(m in any_model(), n in dec(-100_000, 300_000)) {
        prop_assert_eq!(m.total_price(n).unwrap(), m.price_of(n, Decimal::ZERO).unwrap());
    }

    /// With positive rates the tiered inverse is exact: quantity_for(price_of(q, o), o) == q.
    #[test]
    fn tiered_inverse_is_exact(m in model("tiered", 1), o in dec(-100_000, 300_000), q in dec(0, 300_000)) {
        let runes = m.price_of(q, o).unwrap();
        prop_assert_eq!(m.quantity_for(runes, o).unwrap(), q, "{:?} runes {}", m, runes);
    }

    /// With free bands allowed the tiered inverse never buys less than what was paid for.
    #[test]
    fn tiered_inverse_covers(m in model("tiered", 0), o in dec(-100_000, 300_000), q in dec(1, 300_000)) {
        let runes = m.price_of(q, o).unwrap();
        let back = m.quantity_for(runes, o).unwrap();
        if runes.is_zero() {
            return Ok(()); // zero runes buy nothing, even across free bands
        }
        prop_assert!(back >= q, "{:?} q {} runes {} back {}", m, q, runes, back);
        // and what it returns is affordable
        if back < UNBOUNDED_QUANTITY {
            prop_assert!(m.price_of(back, o).unwrap() <= runes);
        }
    }

    /// Package: quantity_for is the largest affordable q (the next hundredth is not affordable).
    #[test]
    fn package_inverse_is_largest(m in package(), o in dec(-100_000, 300_000), runes in dec(-5_000, 100_000)) {
        match m.quantity_for(runes, o) {
            Some(q) if q == UNBOUNDED_QUANTITY => {
                let Model::Package { price, .. } = m else { unreachable!() };
                prop_assert!(price.is_zero());
            }
            Some(q) => {
                prop_assert!(m.price_of(q, o).unwrap() <= runes);
                prop_assert!(m.price_of(q + Decimal::new(1, 2), o).unwrap() > runes);
            }
            None => {
                // even refunding everything down to 0 does not reach runes
                prop_assert!(m.price_of(-o.max(Decimal::ZERO) - Decimal::ONE, o).unwrap() > runes);
            }
        }
    }

    /// Package: buying back what was paid for gives at least as many units.
    #[test]
    fn package_inverse_covers(m in package(), o in dec(-100_000, 300_000), q in dec(0, 300_000)) {
        let back = m.quantity_for(m.price_of(q, o).unwrap(), o).unwrap();
        prop_assert!(back >= q);
    }

    /// Stairstep with rising fees: when q costs something, the inverse reaches at least q.
    #[test]
    fn stairstep_inverse_covers(m in rising_stairstep(), o in dec(-100_000, 300_000), q in dec(1, 300_000)) {
        let runes = m.price_of(q, o).unwrap();
        let back = m.quantity_for(runes, o).unwrap();
        if runes > Decimal::ZERO {
            prop_assert!(back >= q, "{:?} q {} runes {} back {}", m, q, runes, back);
        } else {
            prop_assert_eq!(back, Decimal::ZERO); // zero runes buy nothing
        }
    }

    /// price_of is non-decreasing in q for tiered, stairstep (rising fees) and package.
    #[test]
    fn monotone_in_q(
        m in prop_oneof![model("tiered", 0), rising_stairstep(), package()],
        o in dec(-100_000, 300_000),
        q in dec(-200_000, 300_000),
        step in dec(0, 100_000),
    ) {
        prop_assert!(m.price_of(q, o).unwrap() <= m.price_of(q + step, o).unwrap(), "{:?}", m);
    }

    /// Volume: what quantity_for returns is affordable from the offset.
    #[test]
    fn volume_inverse_is_affordable(m in model("volume", 1), o in dec(0, 300_000), runes in dec(1, 100_000)) {
        let q = m.quantity_for(runes, o).unwrap();
        prop_assert!(q >= Decimal::ZERO);
        prop_assert!(m.price_of(q, o).unwrap() <= runes, "{:?} q {}", m, q);
    }
}
