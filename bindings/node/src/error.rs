//! The one table from core errors to JS errors.
//!
//! A failing call throws a JS `Error` whose `code` is the core's stable code (`POLICY_INVALID`,
//! `INVALID_ARGUMENT`, …) and whose `message` is JSON text `{"message": "...", "issues": [...]}`
//! (`issues` non-empty only for `POLICY_INVALID`). The npm face turns it into a `LimitrError`.

use limitr_core::Error;
use serde_json::json;

/// The `code` of a thrown JS error.
#[derive(Debug, Clone, Copy)]
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// A JS error carrying a core code.
pub type JsError = napi::Error<Code>;

/// `Result` of every exported function.
pub type Result<T> = std::result::Result<T, JsError>;

/// Builds the JS error for `code` with a message and validation issues.
fn build(code: &'static str, message: &str, issues: serde_json::Value) -> JsError {
    let body = json!({ "message": message, "issues": issues });
    napi::Error::new(Code(code), body.to_string())
}

/// Maps a core error.
pub fn from_core(e: &Error) -> JsError {
    let issues = serde_json::to_value(e.issues()).unwrap_or_else(|_| json!([]));
    build(e.code(), &e.to_string(), issues)
}

/// An `INVALID_ARGUMENT` error raised by the conversion layer.
pub fn invalid(name: &str, message: &str) -> JsError {
    build("INVALID_ARGUMENT", &format!("{name}: {message}"), json!([]))
}

/// Extension to map `limitr_core::Result` into the binding's `Result`.
pub trait CoreResult<T> {
    /// Converts the error side.
    fn js(self) -> Result<T>;
}

impl<T> CoreResult<T> for limitr_core::Result<T> {
    fn js(self) -> Result<T> {
        self.map_err(|e| from_core(&e))
    }
}
