//! Estimates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::estimate::{Estimate, EstimateError, Prediction, segment_key, z};
use limitr_core::number::{Decimal, from_f64, parse_decimal};
use proptest::prelude::*;
use serde_json::json;

fn dec(s: &str) -> Decimal {
    parse_decimal(s).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn case_53_statistics() {
    let mut e = Estimate::new(0.1);
    for x in [8.0, 10.0, 12.0, 10.0] {
        e.observe(x, x / 2.0, None, 7).unwrap();
    }
    assert_eq!(e.samples, 4);
    assert!(close(e.value_mean, 10.0, 1e-12));
    assert!(close(e.value_var, 2.0, 1e-12));
    assert_eq!(e.updated, 7);

    let half = e.predict(None, 0.5).unwrap();
    assert_eq!(half.value, Decimal::from(10));
    assert_eq!(half.overhead, Decimal::from(5));

    // 10 + 1.2817288 * sqrt(2), rounded to 1e-9
    let p90 = e.predict(None, 0.9).unwrap();
    assert_eq!(p90.value, dec("11.812638191"));
    assert!((p90.value - dec("11.8126")).abs() < dec("0.0001"));
    assert!(close(z(0.9), 1.2817288, 1e-7));
    assert!(
        !close(z(0.9), 1.28155, 1e-4),
        "A&S 26.2.23 value, not the exact quantile"
    );
    assert_eq!(z(0.5), 0.0);
}

#[test]
fn case_53_per_basis() {
    let mut e = Estimate::new(0.1).with_per_basis(true);
    e.observe(300.0, 0.003, Some(100.0), 0).unwrap();
    e.observe(600.0, 0.006, Some(200.0), 0).unwrap();
    assert_eq!(
        e.predict(Some(1000.0), 0.5),
        Some(Prediction {
            value: Decimal::from(3000),
            overhead: dec("0.03")
        })
    );
    assert_eq!(
        e.observe(300.0, 0.003, None, 0),
        Err(EstimateError::MissingBasis)
    );
    assert_eq!(
        e.observe(300.0, 0.003, Some(0.0), 0),
        Err(EstimateError::BasisNotPositive)
    );
    assert_eq!(
        e.observe(300.0, 0.003, Some(-5.0), 0),
        Err(EstimateError::BasisNotPositive)
    );
    assert_eq!(e.samples, 2, "refused observations change nothing");
    assert_eq!(Estimate::new(0.1).predict(None, 0.9), None);
    assert_eq!(Estimate::new(0.1).predict(Some(1000.0), 0.5), None);
}

#[test]
fn switching_per_basis_resets() {
    let mut e = Estimate::new(0.2);
    e.observe(5.0, 1.0, None, 3).unwrap();
    e.set_per_basis(false); // same mode: no-op
    assert_eq!(e.samples, 1);
    e.set_per_basis(true);
    assert_eq!((e.samples, e.value_mean, e.value_var), (0, 0.0, 0.0));
    assert_eq!((e.alpha, e.per_basis), (0.2, true));
    assert_eq!(e.predict(Some(10.0), 0.5), None);
    // plain mode ignores a basis on observe and on predict
    let mut plain = Estimate::new(0.1);
    plain.observe(40.0, 4.0, Some(10.0), 0).unwrap();
    assert_eq!(
        plain.predict(Some(10.0), 0.5).unwrap().value,
        Decimal::from(40)
    );
}

/// Tutorial 7: per-basis on `input`; the recorded value of a call is its total tokens
/// (input + output, output = round(input × ratio)) and its overhead input×3e-6 + output×15e-6.
/// `held` is the q=0.9 prediction for the NEXT call's input, made before observing that call;
/// the first call has no estimate (the engine then holds the plain increment, 1).
#[test]
fn case_55_tutorial_7() {
    let calls = [
        (500.0, 1.8),
        (800.0, 2.1),
        (1200.0, 2.3),
        (400.0, 1.9),
        (1000.0, 2.0),
        (900.0, 2.2),
    ];
    let want_held = [
        None,
        Some(2240),
        Some(3771),
        Some(1332),
        Some(3271),
        Some(2916),
    ];
    let want_used = [1400, 2480, 3960, 1160, 3000, 2880];
    let mut e = Estimate::new(0.1).with_per_basis(true);
    for (i, &(input, ratio)) in calls.iter().enumerate() {
        let held = e
            .predict(Some(input), 0.9)
            .map(|p| p.value.round().try_into().unwrap());
        assert_eq!(held, want_held[i].map(i64::from), "held for call {i}");
        let f64_output: f64 = input * ratio;
        let output = f64_output.round();
        let used = input + output;
        assert_eq!(used, f64::from(want_used[i]), "used for call {i}");
        e.observe(
            used,
            input * 3e-6 + output * 15e-6,
            Some(input),
            i64::try_from(i).unwrap(),
        )
        .unwrap();
    }
    assert_eq!(e.samples, 6);
    let p = e.predict(Some(2000.0), 0.9).unwrap();
    assert_eq!(p.value.round(), Decimal::from(6538)); // 6537.79…
    assert_eq!(p.overhead.round_dp(4), dec("0.0741")); // 0.074066…
}

#[test]
fn alpha_switch_at_ten_samples() {
    // the first 1/alpha = 10 samples are a plain average
    let mut e = Estimate::new(0.1);
    for x in 1..=10 {
        e.observe(f64::from(x), 0.0, None, 0).unwrap();
    }
    assert!(close(e.value_mean, 5.5, 1e-12));
    assert!(close(e.value_var, 8.25, 1e-12), "population variance");
    // the 11th weighs alpha (0.1), not 1/11
    e.observe(105.5, 0.0, None, 0).unwrap();
    assert!(close(e.value_mean, 5.5 + 0.1 * 100.0, 1e-12));
    assert!(close(e.value_var, 0.9 * (8.25 + 0.1 * 100.0 * 100.0), 1e-9));

    // alpha 0.25: plain average up to 4 samples, then weight 0.25
    let mut q = Estimate::new(0.25);
    for x in [2.0, 4.0, 6.0, 8.0] {
        q.observe(x, 0.0, None, 0).unwrap();
    }
    assert!(close(q.value_mean, 5.0, 1e-12));
    q.observe(9.0, 0.0, None, 0).unwrap();
    assert!(close(q.value_mean, 6.0, 1e-12));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let mut e = Estimate::new(0.1);
    assert_eq!(
        e.observe(f64::NAN, 0.0, None, 0),
        Err(EstimateError::NonFinite("value"))
    );
    assert_eq!(
        e.observe(1.0, f64::INFINITY, None, 0),
        Err(EstimateError::NonFinite("overhead"))
    );
    e.observe(f64::MAX, 0.0, None, 0).unwrap();
    assert_eq!(
        e.observe(-f64::MAX, 0.0, None, 0),
        Err(EstimateError::Overflow)
    );
    assert_eq!(e.samples, 1);
    let mut b = Estimate::new(0.1).with_per_basis(true);
    assert_eq!(
        b.observe(1.0, 0.0, Some(f64::NAN), 0),
        Err(EstimateError::NonFinite("basis"))
    );
    b.observe(1.0, 0.0, Some(1.0), 0).unwrap();
    assert_eq!(b.predict(Some(f64::INFINITY), 0.9), None);
    assert_eq!(b.predict(Some(-1.0), 0.9), None);
    assert_eq!(b.predict(Some(2.0), f64::NAN), None);
    assert!(
        b.predict(Some(2.0), f64::INFINITY).is_some(),
        "clamped to 0.9999"
    );
    assert!(z(f64::NAN).is_nan());
    assert_eq!(z(2.0), z(0.9999));
    assert_eq!(z(-1.0), z(0.0001));
    assert!(z(0.0001) < -3.7);
    assert_eq!(Estimate::new(f64::NAN).alpha, 0.1);
    assert_eq!(Estimate::new(7.0).alpha, 1.0);
    assert_eq!(
        EstimateError::MissingBasis.to_string(),
        "a per-basis estimate needs a basis"
    );
}

#[test]
fn low_quantiles_floor_at_zero() {
    let mut e = Estimate::new(0.1);
    for x in [0.0, 10.0] {
        e.observe(x, x, None, 0).unwrap();
    }
    let p = e.predict(None, 0.0001).unwrap();
    assert_eq!((p.value, p.overhead), (Decimal::ZERO, Decimal::ZERO));
}

#[test]
fn segment_keys() {
    assert_eq!(segment_key(Some("claude-sonnet-4.5")), "claude-sonnet-4_5");
    assert_eq!(segment_key(None), "all");
    assert_eq!(segment_key(Some("")), "all");
    assert_eq!(segment_key(Some("gpt 4.1 mini")), "gpt_4_1_mini");
}

#[test]
fn records_round_trip() {
    let mut e = Estimate::new(0.1).with_per_basis(true);
    e.observe(1400.0, 0.015, Some(500.0), 1_767_225_600_000)
        .unwrap();
    e.observe(2480.0, 0.0276, Some(800.0), 1_767_225_600_001)
        .unwrap();
    let r = e.record();
    for k in [
        "samples",
        "alpha",
        "per_basis",
        "value_mean",
        "value_var",
        "overhead_mean",
        "overhead_var",
        "source",
        "updated",
    ] {
        assert!(r.get(k).is_some(), "record has {k}");
    }
    assert_eq!(r["source"], "local");
    assert_eq!(Estimate::from_record(&r), Some(e.clone()));
    // serde agrees with the record
    assert_eq!(serde_json::to_value(&e).unwrap(), r);

    // a cloud-seeded partial record takes the defaults
    let seeded =
        Estimate::from_record(&json!({"samples": 1000, "value_mean": 42, "source": "cloud"}))
            .unwrap();
    assert_eq!(
        (seeded.samples, seeded.alpha, seeded.source.as_str()),
        (1000, 0.1, "cloud")
    );
    assert_eq!(seeded.predict(None, 0.9).unwrap().value, Decimal::from(42));
    assert_eq!(
        Estimate::from_record(&json!({"samples": 3.0, "updated": 12.0}))
            .map(|e| (e.samples, e.updated)),
        Some((3, 12))
    );

    for bad in [
        json!(null),
        json!([1]),
        json!({"samples": -1}),
        json!({"samples": 1.5}),
        json!({"alpha": 2}),
        json!({"value_var": -0.1}),
        json!({"per_basis": "yes"}),
        json!({"source": 3}),
        json!({"value_mean": "x"}),
    ] {
        assert_eq!(Estimate::from_record(&bad), None, "{bad}");
    }
}

#[test]
fn predictions_are_exact_decimals_rounded_to_nine_places() {
    let mut e = Estimate::new(0.1);
    e.observe(1.0 / 3.0, 2.0 / 3.0, None, 0).unwrap();
    let p = e.predict(None, 0.9).unwrap();
    assert_eq!(p.value, dec("0.333333333"));
    assert_eq!(p.overhead, dec("0.666666667"));
    assert_eq!(from_f64(0.333333333), Some(p.value));
}

proptest! {
    #[test]
    fn constant_stream_mean_is_the_constant(
        c in -1.0e6f64..1.0e6,
        alpha in 0.0f64..=1.0,
        n in 1usize..60,
    ) {
        let mut e = Estimate::new(alpha);
        for _ in 0..n {
            e.observe(c, c / 2.0, None, 0).unwrap();
            prop_assert!(e.value_var >= 0.0 && e.overhead_var >= 0.0);
        }
        prop_assert!((e.value_mean - c).abs() <= 1e-9 * c.abs().max(1.0));
        prop_assert!(e.value_var <= 1e-9 * c.abs().max(1.0));
    }

    #[test]
    fn variance_never_negative(
        xs in prop::collection::vec((-1.0e6f64..1.0e6, 0.0f64..10.0, 0.001f64..1.0e4), 1..80),
        alpha in 0.0f64..=1.0,
        per_basis in any::<bool>(),
    ) {
        let mut e = Estimate::new(alpha).with_per_basis(per_basis);
        for (x, o, b) in xs {
            e.observe(x, o, Some(b), 0).unwrap();
            prop_assert!(e.value_var >= 0.0 && e.overhead_var >= 0.0);
            let p = e.predict(Some(b), 0.9).unwrap();
            prop_assert!(p.value >= Decimal::ZERO && p.overhead >= Decimal::ZERO);
        }
    }
}
