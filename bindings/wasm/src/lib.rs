//! # limitr-wasm
//!
//! The WebAssembly binding of [`limitr_core`] for edge workers (Cloudflare Workers, Vercel Edge,
//! Deno) and browsers, built with wasm-bindgen for `wasm32-unknown-unknown`.
//!
//! It implements the npm package's *native backend* interface (`npm/src/native.ts`): synchronous
//! calls over primitives (strings, numbers, booleans, null), objects as JSON text, events collected
//! in a buffer the TypeScript face drains after each call, and the clock set from JS. The crate only
//! converts: every rule lives in the core. Nothing panics across the boundary; errors become a JS
//! `Error` with a stable `code` (see [`error`]).

pub mod clock;
pub mod convert;
pub mod error;
pub mod events;
pub mod limitr;
pub mod scratch;

pub use limitr::WasmLimitr;
