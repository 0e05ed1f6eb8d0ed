//! `Key`: a JS string argument read with one napi call into an inline buffer.
//!
//! napi-rs's `String` argument makes two napi calls (length, then copy) and a heap allocation; ids
//! and entitlement names are short, so this reads them straight into 64 inline bytes and falls
//! back to `String` only for longer text. This is the one place of the crate with `unsafe`: two
//! FFI calls with the arguments napi documents.

#![allow(
    unsafe_code,
    reason = "implements napi-rs's unsafe FromNapiValue trait over napi_get_value_string_utf8"
)]

use napi::bindgen_prelude::{FromNapiValue, TypeName, ValueType};
use napi::sys;

const INLINE: usize = 64;

/// A string argument (customer id, entitlement, …).
pub enum Key {
    /// Up to `INLINE - 1` UTF-8 bytes.
    Inline([u8; INLINE], usize),
    /// Longer text.
    Heap(String),
}

impl Key {
    /// The text. Invalid UTF-8 cannot occur (napi writes UTF-8, replacing lone surrogates).
    pub fn as_str(&self) -> &str {
        match self {
            Key::Inline(buf, len) => buf
                .get(..*len)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or(""),
            Key::Heap(s) => s,
        }
    }
}

impl std::ops::Deref for Key {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl TypeName for Key {
    fn type_name() -> &'static str {
        "String"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl FromNapiValue for Key {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut buf = [0u8; INLINE];
        let mut written = 0usize;
        // SAFETY: `buf` is a writable buffer of `INLINE` bytes; napi writes at most INLINE - 1
        // bytes plus a NUL and stores the count in `written`. A non-string fails with a status.
        let status = unsafe {
            sys::napi_get_value_string_utf8(
                env,
                value,
                buf.as_mut_ptr().cast(),
                INLINE,
                &mut written,
            )
        };
        if status == sys::Status::napi_ok && written + 4 < INLINE {
            return Ok(Key::Inline(buf, written));
        }
        // At most 59 bytes means nothing was cut (a cut leaves at least 60 of the 63 written).
        // SAFETY: forwarded as received (long strings, or the error path with napi-rs's message).
        unsafe { String::from_napi_value(env, value) }.map(Key::Heap)
    }
}
