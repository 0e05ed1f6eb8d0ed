//! The engine is shared between threads: no lost update, and customers do not wait on each other.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code fails loudly"
)]

use limitr_core::number::Decimal;
use limitr_core::{Limitr, ManualClock, Store};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

const DOC: &str = r#"{"policy": {"credits": {"tok": {}}, "plans": {"p": {"default": true, "entitlements": {
  "hard": {"limit": {"credit": "tok", "value": 5000}},
  "soft": {"limit": {"credit": "tok", "mode": "soft", "value": 10}}}}}}}"#;

fn engine() -> Arc<Limitr> {
    Arc::new(
        Limitr::from_json(DOC)
            .unwrap()
            .with_clock(Arc::new(ManualClock::new(0))),
    )
}

#[test]
fn engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Limitr>();
}

#[test]
fn eight_threads_lose_no_update_and_never_overspend() {
    let p = engine();
    p.create_customer("c", None).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || {
                let mut ok = 0;
                for _ in 0..1000 {
                    p.allow("c", "soft", Decimal::ONE).unwrap();
                    if p.allow("c", "hard", Decimal::ONE).unwrap() {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let allowed: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(
        p.value("c", "soft", false, true).unwrap(),
        Some(Decimal::from(8000))
    );
    assert_eq!(allowed, 5000, "exactly the hard limit was granted");
    assert_eq!(
        p.value("c", "hard", false, true).unwrap(),
        Some(Decimal::from(5000))
    );
}

#[test]
fn a_held_customer_does_not_block_another() {
    let p = engine();
    p.create_customer("a", None).unwrap();
    p.create_customer("b", None).unwrap();
    let (tx, rx) = mpsc::channel();
    let other = p.clone();
    // hold a's lock while another thread meters b
    p.store().update("a", |_| {
        let tx = tx.clone();
        let other = other.clone();
        std::thread::spawn(move || {
            let _ = tx.send(other.allow("b", "hard", Decimal::ONE).unwrap());
        });
        let answer = rx.recv_timeout(Duration::from_secs(10));
        assert_eq!(answer, Ok(true), "b waited on a's lock");
    });
}

#[test]
fn eight_threads_reserve_and_settle_without_overspending() {
    let doc = r#"{"policy": {"credits": {"tok": {}}, "plans": {"p": {"default": true, "entitlements": {
      "chat": {"limit": {"credit": "tok", "value": 10000}}}}}}}"#;
    let p = Arc::new(
        Limitr::from_json(doc)
            .unwrap()
            .with_clock(Arc::new(ManualClock::new(0))),
    );
    p.create_customer("c", None).unwrap();
    let opts = limitr_core::ReserveOptions {
        value: Some(Decimal::from(10)),
        ..Default::default()
    };
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let p = p.clone();
            let opts = opts.clone();
            std::thread::spawn(move || {
                let mut settled = Decimal::ZERO;
                for _ in 0..400 {
                    if let Some(hold) = p.reserve("c", "chat", &opts).unwrap() {
                        // settle at or below the held size (i-dependent), never above
                        let real = Decimal::from(5 + (i % 6));
                        assert!(
                            p.settle(
                                "c",
                                "chat",
                                &hold,
                                real,
                                true,
                                &limitr_core::CallOptions::default()
                            )
                            .unwrap()
                        );
                        settled += real;
                    }
                }
                settled
            })
        })
        .collect();
    let total: Decimal = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let value = p.value("c", "chat", false, true).unwrap().unwrap();
    assert_eq!(value, total, "no lost update");
    assert!(
        value <= Decimal::from(10000),
        "holds kept the meter within the limit: {value}"
    );
    assert_eq!(p.held("c", "chat").unwrap(), Some(Decimal::ZERO));
}
