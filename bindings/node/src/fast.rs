//! `allowPlain` and `checkPlain`: the two calls of hot loops as raw Node-API callbacks.
//!
//! A `#[napi]` function pays, per call, napi-rs's generated glue: a borrow scope (thread-local
//! vectors, a deferred guard), a type check per optional argument and large `Result` moves;
//! measured on this machine that is ~150 ns of a ~420 ns `allow`. These two callbacks read their
//! five (four) arguments with one Node-API call each and call the same core function as
//! `allow`/`check`; they convert and map errors exactly like the `#[napi]` versions (same
//! `INVALID_ARGUMENT`/core codes, via [`crate::error`]), and a panic becomes a thrown error.
//! Registered on the addon's exports by [`register`]; the npm face uses them for calls without
//! options and the `#[napi]` `allow` for the rest.

#![allow(
    unsafe_code,
    reason = "raw Node-API callbacks: FFI calls with the arguments Node-API documents"
)]

use crate::convert::decimal;
use crate::error::{CoreResult, JsError, Result, invalid};
use crate::key::Key;
use crate::registry;
use limitr_core::CallOptions;
use napi::bindgen_prelude::FromNapiValue;
use napi::sys;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

/// The arguments of a call (missing ones read as `undefined`, which fails conversion).
unsafe fn args<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Result<[sys::napi_value; N]> {
    let mut argv = [ptr::null_mut(); N];
    let mut argc = N;
    // SAFETY: `argv` holds `argc` slots; napi fills them (with `undefined` past the given ones).
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        return Err(invalid("arguments", "cannot read the call's arguments"));
    }
    Ok(argv)
}

unsafe fn handle(env: sys::napi_env, v: sys::napi_value) -> Result<u32> {
    let mut h = 0u32;
    // SAFETY: `v` is a live argument of this call; `h` is writable.
    let status = unsafe { sys::napi_get_value_uint32(env, v, &mut h) };
    if status != sys::Status::napi_ok {
        return Err(invalid("handle", "expected an engine handle"));
    }
    Ok(h)
}

unsafe fn key(env: sys::napi_env, v: sys::napi_value, name: &str) -> Result<Key> {
    // SAFETY: `v` is a live argument of this call.
    unsafe { Key::from_napi_value(env, v) }.map_err(|e| {
        if e.reason.starts_with("not valid Unicode") {
            invalid(name, &e.reason)
        } else {
            invalid(name, "expected a string")
        }
    })
}

unsafe fn number(env: sys::napi_env, v: sys::napi_value, name: &str) -> Result<f64> {
    let mut x = 0f64;
    // SAFETY: `v` is a live argument of this call; `x` is writable.
    let status = unsafe { sys::napi_get_value_double(env, v, &mut x) };
    if status != sys::Status::napi_ok {
        return Err(invalid(name, "expected a number"));
    }
    Ok(x)
}

unsafe fn boolean(env: sys::napi_env, v: sys::napi_value, name: &str) -> Result<bool> {
    let mut b = false;
    // SAFETY: `v` is a live argument of this call; `b` is writable.
    let status = unsafe { sys::napi_get_value_bool(env, v, &mut b) };
    if status != sys::Status::napi_ok {
        return Err(invalid(name, "expected a boolean"));
    }
    Ok(b)
}

/// Returns `r` to JS: a boolean, or a thrown error (a panic included) and `NULL`.
unsafe fn finish(env: sys::napi_env, r: std::thread::Result<Result<bool>>) -> sys::napi_value {
    let err: JsError = match r {
        Ok(Ok(b)) => {
            let mut out = ptr::null_mut();
            // SAFETY: `out` is writable; a boolean is created in the current scope.
            if unsafe { sys::napi_get_boolean(env, b, &mut out) } == sys::Status::napi_ok {
                return out;
            }
            invalid("result", "cannot create a boolean")
        }
        Ok(Err(e)) => e,
        Err(_) => invalid("call", "internal error (a panic was caught)"),
    };
    // SAFETY: throws into the calling env, as napi-rs's generated glue does.
    unsafe { napi::JsError::from(err).throw_into(env) };
    ptr::null_mut()
}

/// `allowPlain(h, customer, entitlement, value, events)`: `allow` without options.
unsafe extern "C" fn allow_plain(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the callback's own env and info.
        let [h, c, e, v, ev] = unsafe { args::<5>(env, info) }?;
        // SAFETY: arguments of this call.
        let (h, customer, entitlement, value, events) = unsafe {
            (
                handle(env, h)?,
                key(env, c, "customer")?,
                key(env, e, "entitlement")?,
                number(env, v, "value")?,
                boolean(env, ev, "events")?,
            )
        };
        let value = decimal("value", value)?;
        let options = CallOptions {
            events,
            ..CallOptions::default()
        };
        registry::with(h, |engine| {
            engine
                .core
                .allow_with(&customer, &entitlement, value, &options)
                .js()
        })
    }));
    // SAFETY: the callback's own env.
    unsafe { finish(env, r) }
}

/// `checkPlain(h, customer, entitlement, value)`: `check`.
unsafe extern "C" fn check_plain(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the callback's own env and info.
        let [h, c, e, v] = unsafe { args::<4>(env, info) }?;
        // SAFETY: arguments of this call.
        let (h, customer, entitlement, value) = unsafe {
            (
                handle(env, h)?,
                key(env, c, "customer")?,
                key(env, e, "entitlement")?,
                number(env, v, "value")?,
            )
        };
        let value = decimal("value", value)?;
        registry::with(h, |engine| {
            engine.core.check(&customer, &entitlement, value).js()
        })
    }));
    // SAFETY: the callback's own env.
    unsafe { finish(env, r) }
}

/// Adds `allowPlain` and `checkPlain` to the addon's exports.
pub fn register(env: sys::napi_env, exports: sys::napi_value) -> napi::Result<()> {
    type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;
    let fns: [(&std::ffi::CStr, Callback); 2] =
        [(c"allowPlain", allow_plain), (c"checkPlain", check_plain)];
    for (name, cb) in fns {
        let mut f = ptr::null_mut();
        let len = isize::try_from(name.count_bytes()).unwrap_or(-1); // -1: NAPI_AUTO_LENGTH
        // SAFETY: `name` is NUL-terminated and `len` long, `cb` has the callback signature, `f`
        // is writable; then `f` is set on the live exports object.
        let ok = unsafe {
            sys::napi_create_function(env, name.as_ptr(), len, Some(cb), ptr::null_mut(), &mut f)
                == sys::Status::napi_ok
                && sys::napi_set_named_property(env, exports, name.as_ptr(), f)
                    == sys::Status::napi_ok
        };
        if !ok {
            return Err(napi::Error::from_reason(format!(
                "cannot export {}",
                name.to_string_lossy()
            )));
        }
    }
    Ok(())
}
