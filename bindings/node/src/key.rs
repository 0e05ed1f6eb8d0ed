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
        let key = if status == sys::Status::napi_ok && written + 4 < INLINE {
            Key::Inline(buf, written)
        } else {
            // At most 59 bytes means nothing was cut (a cut leaves at least 60 of the 63 written).
            // SAFETY: forwarded as received (long strings, or the error path with napi-rs's message).
            Key::Heap(unsafe { String::from_napi_value(env, value) }?)
        };
        // napi writes a lone surrogate as U+FFFD, so `"\ud800"` and `"\udfff"` would name one
        // customer: only text holding U+FFFD is read again as UTF-16 to tell the two apart.
        if key.contains('\u{FFFD}') {
            // SAFETY: `value` is the live string argument just read.
            unsafe { refuse_lone_surrogates(env, value) }?;
        }
        Ok(key)
    }
}

/// Fails when the JS string holds a lone (unpaired) UTF-16 surrogate: such text is not Unicode,
/// and its UTF-8 form would collide with the text that really holds U+FFFD.
unsafe fn refuse_lone_surrogates(env: sys::napi_env, value: sys::napi_value) -> napi::Result<()> {
    let mut len = 0usize;
    // SAFETY: a null buffer asks napi for the length in UTF-16 units.
    let status =
        unsafe { sys::napi_get_value_string_utf16(env, value, std::ptr::null_mut(), 0, &mut len) };
    if status != sys::Status::napi_ok {
        return Ok(());
    }
    let mut units = vec![0u16; len + 1];
    let mut written = 0usize;
    // SAFETY: `units` holds `len + 1` writable units, room for the text and its NUL.
    let status = unsafe {
        sys::napi_get_value_string_utf16(env, value, units.as_mut_ptr(), len + 1, &mut written)
    };
    if status != sys::Status::napi_ok {
        return Ok(());
    }
    let text = units.get(..written).unwrap_or_default();
    match char::decode_utf16(text.iter().copied()).find_map(Result::err) {
        Some(e) => Err(napi::Error::new(
            napi::Status::InvalidArg,
            format!(
                "not valid Unicode: a lone surrogate U+{:04X} (ids and names must be well-formed text)",
                e.unpaired_surrogate()
            ),
        )),
        None => Ok(()),
    }
}
