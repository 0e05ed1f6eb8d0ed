//! The quick start, end to end, in Rust: prints the same figures as the TypeScript quick start.
//!
//! Run with `cargo run -p limitr-core --example quickstart [path/to/policy.json]`.
#![allow(
    clippy::indexing_slicing,
    reason = "serde_json::Value indexing by key returns Null, it does not panic"
)]

use limitr_core::number::{Decimal, from_f64, to_f64};
use limitr_core::{Event, Limitr};
use std::error::Error;

const POLICY: &str = include_str!("../../../tests/policies/quickstart.json");

/// Formats like JavaScript's `toLocaleString('en-US')` for the integers the quick start prints.
fn grouped(d: Decimal) -> String {
    let text = d.trunc().to_string();
    let (sign, digits) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}

fn load(text: &str) -> Result<Limitr, Box<dyn Error>> {
    Ok(Limitr::from_json(text)?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let text = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(path)?,
        None => POLICY.to_string(),
    };
    let zero = Decimal::ZERO;

    // 1. Load the policy and create customers
    let policy = load(&text)?;
    policy.create_customer("user_starter", Some("starter"))?;
    policy.create_customer("user_growth", Some("growth"))?;
    println!("Policy loaded. Customers created.");
    println!(
        "Starter limit: {}",
        policy
            .limit("user_starter", "ai-chat-input", true)?
            .unwrap_or(zero)
    );
    println!(
        "Growth limit:  {}",
        policy
            .limit("user_growth", "ai-chat-input", true)?
            .unwrap_or(zero)
    );

    // 2. Enforce a limit
    let policy = load(&text)?;
    policy.create_customer("user_starter", Some("starter"))?;
    for tokens in [120000_i64, 95000, 180000, 60000, 90000] {
        let t = Decimal::from(tokens);
        if policy.allow("user_starter", "ai-chat-access", zero)? {
            if policy.allow("user_starter", "ai-chat-input", t)? {
                // tokens / 2.2 in a JS number, as the quick start computes it
                let output = from_f64(tokens as f64 / 2.2).unwrap_or(zero);
                policy.allow("user_starter", "ai-chat-output", output)?;
                let remaining = policy
                    .remaining("user_starter", "ai-chat-input", false, true)?
                    .unwrap_or(zero);
                let used = policy
                    .value("user_starter", "ai-chat-output", false, true)?
                    .unwrap_or(zero);
                println!(
                    "✓ Allowed {} input tokens — {} remaining, {} output tokens used",
                    grouped(t),
                    grouped(remaining),
                    grouped(used)
                );
            } else {
                let remaining = policy
                    .remaining("user_starter", "ai-chat-input", false, true)?
                    .unwrap_or(zero);
                println!(
                    "✗ Denied {} tokens — limit exceeded ({} remaining)",
                    grouped(t),
                    grouped(remaining)
                );
            }
        } else {
            println!("no ai-chat-access on this plan");
        }
    }

    // 3. Handle an event
    let policy = load(&text)?;
    policy.create_customer("user_starter", Some("starter"))?;
    policy.add_handler("limit-reached-handler", |event: &Event| {
        if event.name == "meter-limit" {
            let r = &event.payload();
            println!(
                "\nCustomer {} hit their limit for {}.\nUsed: {} tokens. Total: {}. Attempted: {}.\nPlan: {}. Credit: {}.\n",
                r["customer"]["id"].as_str().unwrap_or_default(),
                r["entitlement"].as_str().unwrap_or_default(),
                r["meter"]["value"],
                r["meter"]["limit"],
                r["meter"]["invalid"],
                r["plan"].as_str().unwrap_or_default(),
                r["credit"]["description"].as_str().unwrap_or_default(),
            );
        }
        Ok(())
    });
    for tokens in [120000_i64, 95000, 180000, 60000, 90000] {
        policy.allow("user_starter", "ai-chat-input", Decimal::from(tokens))?;
    }

    // 4. Read customer state
    let customer = policy.customer_record("user_starter");
    println!("{}", serde_json::to_string_pretty(&customer)?);
    let pct = policy
        .value("user_starter", "ai-chat-input", true, true)?
        .unwrap_or(zero);
    println!("Usage: {pct}% of daily token budget");

    // 5. Apply a credit grant
    let policy = load(&text)?;
    policy.create_customer("user_growth", Some("growth"))?;
    policy.apply_customer_topup("user_growth", "ai-token-small")?;
    for tokens in [520000_i64, 98000, 200000, 60000, 900000] {
        policy.allow("user_growth", "ai-chat-input", Decimal::from(tokens))?;
    }
    let customer = policy.customer("user_growth").ok_or("customer missing")?;
    for m in &customer.meters {
        println!(
            "{}: credit {}, started {}, value {}",
            m.entitlement, m.credit, m.started, m.value
        );
    }
    for g in customer
        .grants
        .iter()
        .filter(|g| g.topup.as_deref() == Some("ai-token-small"))
    {
        println!("Grant starting value: {}", g.starting_value);
        println!(
            "Grant current value:  {}",
            (to_f64(g.value) * 100.0).round() / 100.0
        );
    }
    Ok(())
}
