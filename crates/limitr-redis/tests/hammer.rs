//! The overspend hammer: several processes of several threads on one Redis, every call an
//! `allow` of a random cost on a hard limit. Σ allowed never passes the limit and equals what
//! Redis holds; idempotent retries sent from another process never debit twice.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "test code fails loudly"
)]

mod support;

use support::hammer::{self, Plan};
use support::server::Server;

fn seed() -> u64 {
    std::env::var("LIMITR_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            // a new seed each run (printed, so a failure replays)
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one(std::process::id())
        })
}

/// The child's entry point: does nothing unless started by a run.
#[test]
fn child() {
    if let Some((plan, me)) = Plan::from_env() {
        hammer::child(&plan, me);
    }
}

fn check_sums(plan: &Plan, said: &hammer::Said) {
    let held = hammer::held(plan);
    let mut total_allowed = 0;
    for (c, h) in &held {
        let allowed = said.sums.get(c).copied().unwrap_or(0);
        total_allowed += allowed;
        assert!(
            allowed <= plan.limit,
            "customer {c}: allowed {allowed} over the limit {}",
            plan.limit
        );
        assert_eq!(
            allowed, *h,
            "customer {c}: allowed {allowed}, Redis holds {h}"
        );
    }
    println!(
        "Σ allowed {total_allowed} over {} customers (limit {} each), Redis holds {}, errors {}",
        plan.customers,
        plan.limit,
        held.values().sum::<u64>(),
        said.errors
    );
}

#[test]
fn one_hot_customer_is_never_overspent() {
    if Plan::from_env().is_some() {
        return;
    }
    let server = Server::start();
    let plan = Plan {
        url: server.url(),
        prefix: "hot".into(),
        limit: 100_000,
        customers: 1,
        zipf: 0.0,
        processes: 8,
        threads: 4,
        calls: 100,
        seed: seed(),
        retry_share: 0.0,
    };
    println!("seed {} (LIMITR_SEED={} replays it)", plan.seed, plan.seed);
    let (said, took) = hammer::run(&plan, "child");
    let calls = plan.processes * plan.threads * plan.calls;
    println!("{calls} calls in {took:?}");
    assert_eq!(said.errors, 0, "no call may fail");
    let allowed = said.sums.get(&0).copied().unwrap_or(0);
    assert!(
        allowed > plan.limit * 9 / 10,
        "the limit is used: {allowed}"
    );
    check_sums(&plan, &said);
}

#[test]
fn a_thousand_zipf_customers_are_never_overspent() {
    if Plan::from_env().is_some() {
        return;
    }
    let server = Server::start();
    let plan = Plan {
        url: server.url(),
        prefix: "zipf".into(),
        limit: 1_000,
        customers: 1_000,
        zipf: 1.1,
        processes: 8,
        threads: 4,
        calls: 100,
        seed: seed(),
        retry_share: 0.0,
    };
    println!("seed {} (LIMITR_SEED={} replays it)", plan.seed, plan.seed);
    let (said, took) = hammer::run(&plan, "child");
    println!(
        "{} calls in {took:?}",
        plan.processes * plan.threads * plan.calls
    );
    assert_eq!(said.errors, 0, "no call may fail");
    let full = said
        .sums
        .values()
        .filter(|s| **s > plan.limit * 9 / 10)
        .count();
    assert!(full > 0, "the hot customers reach their limit");
    check_sums(&plan, &said);
}

#[test]
fn retries_on_another_process_never_debit_twice() {
    if Plan::from_env().is_some() {
        return;
    }
    let server = Server::start();
    let plan = Plan {
        url: server.url(),
        prefix: "idem".into(),
        limit: 2_000,
        customers: 20,
        zipf: 0.0,
        processes: 4,
        threads: 2,
        calls: 100,
        seed: seed(),
        retry_share: 0.1,
    };
    println!("seed {} (LIMITR_SEED={} replays it)", plan.seed, plan.seed);
    let (said, _) = hammer::run(&plan, "child");
    assert_eq!(said.errors, 0, "no call may fail");
    let held = hammer::held(&plan);
    let mut once: std::collections::BTreeMap<usize, u64> = std::collections::BTreeMap::new();
    let mut retried = 0;
    for (key, (c, cost, answers)) in &said.keys {
        assert!(
            answers.iter().all(|a| *a == answers[0]),
            "key {key}: answers differ: {answers:?}"
        );
        retried += answers.len() - 1;
        if answers[0] {
            *once.entry(*c).or_default() += cost;
        }
    }
    assert!(retried > 0, "some keys were sent twice");
    for (c, h) in &held {
        let allowed = once.get(c).copied().unwrap_or(0);
        assert!(allowed <= plan.limit);
        assert_eq!(
            allowed, *h,
            "customer {c}: keys allowed {allowed}, Redis holds {h}"
        );
    }
    println!(
        "{} keys, {retried} sent again from another process, double debits 0",
        said.keys.len()
    );
}
