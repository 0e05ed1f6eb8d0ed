//! Python ⇄ core conversions: amounts (`int`, `float`, `decimal.Decimal` → exact `Decimal`),
//! quantities back (`int` when integral, else `float`), and JSON values ⇄ `dict`/`list`/scalars.

use crate::error;
use limitr_core::number::{self, Decimal};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde_json::{Map, Number, Value};
use std::str::FromStr;

/// Deepest nesting accepted from Python (documents and event data), against runaway recursion.
const MAX_DEPTH: usize = 128;

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn is_decimal(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    let class = DECIMAL.import(v.py(), "decimal", "Decimal")?;
    v.is_instance(class)
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// Reads an amount: `int` and `decimal.Decimal` exactly, `float` through its shortest text.
/// NaN and infinities are `INVALID_ARGUMENT`; amounts beyond exact decimal range are `OVERFLOW`.
pub fn amount(v: &Bound<'_, PyAny>, name: &'static str) -> PyResult<Decimal> {
    let py = v.py();
    if v.is_exact_instance_of::<PyInt>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Decimal::from(i));
        }
        return exact_text(v, name);
    }
    if let Ok(f) = v.cast_exact::<PyFloat>() {
        return float(py, f.value(), name);
    }
    if v.is_instance_of::<PyBool>() {
        return Err(error::invalid_text(
            py,
            format!("{name}: expected int, float or decimal.Decimal, got bool"),
        ));
    }
    if v.is_instance_of::<PyInt>() || is_decimal(v)? {
        return exact_text(v, name);
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return float(py, f.value(), name);
    }
    Err(error::invalid_text(
        py,
        format!(
            "{name}: expected int, float or decimal.Decimal, got {}",
            type_name(v)
        ),
    ))
}

fn float(py: Python<'_>, x: f64, name: &'static str) -> PyResult<Decimal> {
    number::from_f64(x).ok_or_else(|| {
        let what = if x.is_finite() {
            "is out of range"
        } else {
            "is not a finite number"
        };
        error::invalid(py, name, format!("`{x:?}` {what}"))
    })
}

/// An optional amount (None → default).
pub fn amount_or(
    v: Option<&Bound<'_, PyAny>>,
    name: &'static str,
    default: Decimal,
) -> PyResult<Decimal> {
    match v {
        None => Ok(default),
        Some(v) if v.is_none() => Ok(default),
        Some(v) => amount(v, name),
    }
}

fn exact_text(v: &Bound<'_, PyAny>, name: &'static str) -> PyResult<Decimal> {
    let py = v.py();
    let text = v.str()?.to_string();
    if let Some(d) = number::parse_decimal(&text) {
        return Ok(d);
    }
    let lower = text.to_ascii_lowercase();
    let what = if lower.contains("nan") || lower.contains("inf") {
        "is not a finite number"
    } else {
        "is out of range"
    };
    Err(error::invalid(py, name, format!("`{text}` {what}")))
}

/// A quantity back to Python: `int` when integral (token counts print as `455000`), else `float`.
pub fn quantity(py: Python<'_>, d: Decimal) -> PyResult<Bound<'_, PyAny>> {
    if d.is_integer()
        && let Ok(i) = i128::try_from(d)
    {
        return Ok(i.into_pyobject(py)?.into_any());
    }
    Ok(PyFloat::new(py, number::to_f64(d)).into_any())
}

/// An optional quantity (`None` stays `None`).
pub fn opt_quantity(py: Python<'_>, d: Option<Decimal>) -> PyResult<Bound<'_, PyAny>> {
    match d {
        Some(d) => quantity(py, d),
        None => Ok(py.None().into_bound(py)),
    }
}

/// A JSON value as plain Python objects (numbers: `int` when written as an integer, else `float`).
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                let text = n.to_string();
                if text.contains(['.', 'e', 'E']) {
                    PyFloat::new(py, f64::from_str(&text).unwrap_or(f64::NAN)).into_any()
                } else {
                    // a big integer: Python's int parses any length exactly
                    py.get_type::<PyInt>().call1((text,))?
                }
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Plain Python data (`dict` with `str` keys, `list`/`tuple`, `str`, `bool`, `int`, `float`,
/// `decimal.Decimal`, `None`) as a JSON value; numbers keep their exact text.
pub fn from_py(v: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    from_py_at(v, path, 0)
}

fn from_py_at(v: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    let py = v.py();
    if depth > MAX_DEPTH {
        return Err(error::invalid_text(
            py,
            format!("{path}: nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, item) in d.iter() {
            let key = k.cast::<PyString>().map_err(|_| {
                error::invalid_text(
                    py,
                    format!("{path}: keys must be str, got {}", type_name(&k)),
                )
            })?;
            let key = key.to_cow()?.into_owned();
            let value = from_py_at(&item, &format!("{path}.{key}"), depth + 1)?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in v.try_iter()?.enumerate() {
            items.push(from_py_at(&item?, &format!("{path}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    let text = if v.is_instance_of::<PyInt>() || is_decimal(v)? {
        Some(v.str()?.to_string())
    } else if let Ok(f) = v.cast::<PyFloat>() {
        let x = f.value();
        x.is_finite().then(|| format!("{x:?}"))
    } else {
        return Err(error::invalid_text(
            py,
            format!(
                "{path}: expected dict, list, str, int, float, bool, decimal.Decimal or None, got {}",
                type_name(v)
            ),
        ));
    };
    text.as_deref()
        .and_then(|t| Number::from_str(t).ok())
        .map(Value::Number)
        .ok_or_else(|| {
            error::invalid_text(
                py,
                format!(
                    "{path}: `{}` is not a finite number",
                    v.str().map_or_else(|_| "?".into(), |s| s.to_string())
                ),
            )
        })
}

/// A `dict` with `str` keys as a JSON object (values as in [`from_py`]).
pub fn object(d: &Bound<'_, PyDict>, path: &str) -> PyResult<Map<String, Value>> {
    let py = d.py();
    match from_py(d.as_any(), path)? {
        Value::Object(map) => Ok(map),
        _ => Err(error::invalid_text(py, format!("{path}: expected dict"))),
    }
}

/// An optional list or tuple of `str` (None → empty); a lone `str` is a type error.
pub fn opt_str_list(v: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Vec<String>> {
    let Some(v) = v.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    let py = v.py();
    if !(v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>()) {
        return Err(error::invalid_text(
            py,
            format!("{name}: expected a list of str, got {}", type_name(v)),
        ));
    }
    let mut out = Vec::new();
    for (i, item) in v.try_iter()?.enumerate() {
        let item = item?;
        let s = item.cast::<PyString>().map_err(|_| {
            error::invalid_text(
                py,
                format!("{name}[{i}]: expected str, got {}", type_name(&item)),
            )
        })?;
        out.push(s.to_cow()?.into_owned());
    }
    Ok(out)
}
