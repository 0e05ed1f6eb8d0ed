//! The one core-error → JS table, as the backend contract (`npm/src/native.ts`) wants it: a JS
//! `Error` whose `code` is the stable [`Error::code`] and whose `message` is JSON text
//! `{"message": string, "issues": [{path, code, message, severity}]}`; the TypeScript face turns it
//! into a `LimitrError`.

use limitr_core::Error;
use serde_json::{Map, Value};
use wasm_bindgen::JsValue;

/// The JS error for a core error.
pub fn js_error(e: &Error) -> JsValue {
    let mut body = Map::new();
    body.insert("message".into(), Value::String(e.to_string()));
    body.insert(
        "issues".into(),
        serde_json::to_value(e.issues()).unwrap_or(Value::Array(Vec::new())),
    );
    let err = js_sys::Error::new(&Value::Object(body).to_string());
    // Setting a property on a fresh plain Error cannot fail; a failure would only lose the code.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// Maps a core result's error to its JS error.
pub fn js<T>(r: limitr_core::Result<T>) -> Result<T, JsValue> {
    r.map_err(|e| js_error(&e))
}

/// The argument error for a value JS passed that the core cannot take.
pub fn invalid(name: &'static str, message: String) -> JsValue {
    js_error(&Error::InvalidArgument { name, message })
}
