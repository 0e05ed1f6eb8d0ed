//! # limitr-core
//!
//! The Limitr engine: *may this customer use this much, right now, and what does it cost?* —
//! answered in-process from a policy document (JSON, YAML or TOML) that declares credits, plans,
//! entitlements with hard/soft/observe limits that reset on a period, top-ups and grants, and an
//! exchange table between credit units.
//!
//! Pure Rust: no I/O, no FFI, no async. Quantities are exact decimals; time comes from an injected
//! [`Clock`]. Bindings (Node, Python, WASM) convert types and errors and nothing else.
//!
//! ```
//! use limitr_core::{Limitr, ManualClock, number::Decimal};
//! use std::sync::Arc;
//!
//! let doc = r#"{"policy": {
//!   "credits": {"tok": {"stof_units": "int", "price": {"amount": 0.000004}}},
//!   "plans": {"starter": {"default": true, "entitlements": {
//!     "chat": {"limit": {"credit": "tok", "value": 500000, "resets": true, "reset_inc": "1day"}}}}}}}"#;
//! let clock = Arc::new(ManualClock::new(1_767_225_600_000));
//! let policy = Limitr::from_json(doc).unwrap().with_clock(clock.clone());
//! policy.create_customer("u1", Some("starter")).unwrap();
//! assert!(policy.allow("u1", "chat", Decimal::from(455_000)).unwrap());
//! assert!(!policy.allow("u1", "chat", Decimal::from(90_000)).unwrap()); // hard limit
//! clock.advance(86_400_001); // one day and a millisecond later
//! assert!(policy.allow("u1", "chat", Decimal::from(90_000)).unwrap());
//! ```

pub mod cap;
pub mod customer;
pub mod decision;
pub mod effects;
pub mod engine;
pub mod error;
pub mod estimate;
pub mod events;
pub mod exchange;
pub mod grant;
pub mod host;
pub mod idempotency;
pub mod margin;
pub mod meter;
pub mod notify;
pub mod number;
pub mod options;
mod payload;
pub mod policy;
pub mod pricing;
mod reads;
pub mod store;
pub mod time;
mod topup;

pub use customer::{Customer, Override, Profile};
pub use decision::{CheckDetail, Reason};
pub use effects::{Counter, Effects};
pub use engine::{
    CallOptions, CapOptions, EstimateAnswer, Limitr, LoadOptions, NewCustomer, ReserveOptions,
};
pub use error::{Error, Result};
pub use events::{Event, EventKind, EventSet, Filter, Handler, Handlers};
pub use exchange::{Exchange, GrantStrategy};
pub use grant::Grant;
pub use meter::Meter;
pub use policy::Policy;
pub use policy::credit::{Credit, OverheadRates, Pricing, Units};
pub use policy::format::Format;
pub use policy::issue::{Issue, Severity};
pub use policy::plan::{Entitlement, Limit, Mode, Plan, Topup};
pub use store::{MemoryStore, Store};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
