//! `allowScratch` / `checkScratch`: the hot calls without per-call allocations.
//!
//! wasm-bindgen passes each string argument by allocating it in linear memory (and freeing it after
//! the call) and returns a `Result` as a multi-value array; for `allow` on a warm customer those
//! were a large part of the call. Here the JS side (`npm/src/wasm.ts`) writes the customer id and
//! the entitlement, ASCII only, back to back into one scratch buffer allocated once, and the call
//! answers `0` (false), `1` (true) or `2` (failed: [`take_error`] returns the error to throw).
//! Anything else (longer or non-ASCII text, options) goes through the generated `allow`/`check`.
//! The conversions and errors are the same as theirs.

use crate::convert::decimal;
use crate::error::{invalid, js};
use crate::limitr::WasmLimitr;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// Bytes of the scratch buffer (customer id and entitlement together).
pub const SCRATCH_LEN: usize = 512;

thread_local! {
    static SCRATCH: RefCell<[u8; SCRATCH_LEN]> = const { RefCell::new([0; SCRATCH_LEN]) };
    static ERROR: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// The scratch buffer's address in linear memory (stable: the buffer never grows).
#[wasm_bindgen(js_name = scratch)]
pub fn scratch() -> usize {
    SCRATCH.with(|s| s.borrow_mut().as_mut_ptr() as usize)
}

/// The scratch buffer's size in bytes.
#[wasm_bindgen(js_name = scratchLen)]
pub fn scratch_len() -> usize {
    SCRATCH_LEN
}

/// The error of the last call that answered `2`.
#[wasm_bindgen(js_name = takeError)]
pub fn take_error() -> JsValue {
    ERROR
        .with(|e| e.borrow_mut().take())
        .unwrap_or_else(|| invalid("call", "no error recorded".into()))
}

/// UTF-8 text of a part of the scratch buffer.
fn text<'a>(b: Option<&'a [u8]>, name: &'static str) -> Result<&'a str, JsValue> {
    b.and_then(|b| std::str::from_utf8(b).ok())
        .ok_or_else(|| invalid(name, "not readable from the scratch buffer".into()))
}

/// Runs `f` on the two strings in the scratch buffer and encodes its answer.
fn answer(
    customer_len: usize,
    entitlement_len: usize,
    f: impl FnOnce(&str, &str) -> Result<bool, JsValue>,
) -> u8 {
    let r = SCRATCH.with(|s| {
        let s = s.borrow();
        let end = customer_len.saturating_add(entitlement_len);
        let customer = text(s.get(..customer_len), "customer")?;
        let entitlement = text(s.get(customer_len..end), "entitlement")?;
        f(customer, entitlement)
    });
    match r {
        Ok(b) => u8::from(b),
        Err(e) => {
            ERROR.with(|slot| *slot.borrow_mut() = Some(e));
            2
        }
    }
}

/// `allow` without options, the customer id and entitlement read from the scratch buffer.
#[wasm_bindgen(js_name = allowScratch)]
pub fn allow_scratch(
    h: &WasmLimitr,
    customer_len: usize,
    entitlement_len: usize,
    value: f64,
    events: bool,
) -> u8 {
    answer(customer_len, entitlement_len, |customer, entitlement| {
        let options = limitr_core::CallOptions {
            events,
            ..limitr_core::CallOptions::default()
        };
        js(h.inner
            .allow_with(customer, entitlement, decimal("value", value)?, &options))
    })
}

/// `check`, the customer id and entitlement read from the scratch buffer.
#[wasm_bindgen(js_name = checkScratch)]
pub fn check_scratch(
    h: &WasmLimitr,
    customer_len: usize,
    entitlement_len: usize,
    value: f64,
) -> u8 {
    answer(customer_len, entitlement_len, |customer, entitlement| {
        js(h.inner
            .check(customer, entitlement, decimal("value", value)?))
    })
}
