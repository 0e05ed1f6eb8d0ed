//! The one core error → Python exception mapping. The classes (one per code, under
//! `limitr.LimitrError`) are defined in Python, in `limitr/_errors.py`; this looks them up by code.

use limitr_core::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

static ERROR_FOR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let error_for = ERROR_FOR.import(py, "limitr._errors", "error_for")?;
    let issues = PyList::empty(py);
    for issue in e.issues() {
        let d = PyDict::new(py);
        d.set_item("path", &issue.path)?;
        d.set_item("code", issue.code)?;
        d.set_item("message", &issue.message)?;
        issues.append(d)?;
    }
    let exc = error_for.call1((e.code(), e.to_string(), issues))?;
    Ok(PyErr::from_value(exc))
}

/// The Python exception for a core error: the subclass of `LimitrError` for its code, with
/// `.code` and `.issues`.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    build(py, &e).unwrap_or_else(|cause| {
        let err = PyRuntimeError::new_err(format!("[{}] {e}", e.code()));
        err.set_cause(py, Some(cause));
        err
    })
}

/// `INVALID_ARGUMENT` for argument `name`.
pub fn invalid(py: Python<'_>, name: &'static str, message: String) -> PyErr {
    to_py(py, Error::InvalidArgument { name, message })
}

/// `INVALID_ARGUMENT` with the message `text`, which starts with the argument's name or path
/// (`metadata.tags[2]: expected …`): an argument of the wrong type, found while converting it.
pub fn invalid_text(py: Python<'_>, text: impl Into<String>) -> PyErr {
    let text = text.into();
    ERROR_FOR
        .import(py, "limitr._errors", "error_for")
        .and_then(|f| f.call1(("INVALID_ARGUMENT", &text, PyList::empty(py))))
        .map_or_else(
            |cause| {
                let err = PyRuntimeError::new_err(format!("[INVALID_ARGUMENT] {text}"));
                err.set_cause(py, Some(cause));
                err
            },
            PyErr::from_value,
        )
}

/// Converts a core result.
pub fn check<T>(py: Python<'_>, r: limitr_core::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_py(py, e))
}
