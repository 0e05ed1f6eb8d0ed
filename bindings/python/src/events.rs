//! Python callables as engine handlers and as the engine's clock.

use limitr_core::{Clock, Event, Handler, SystemClock, Timestamp};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::str::FromStr;

static HANDLER_FAILED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// An event's payload as a `dict`, built in one pass over its JSON text (no value tree, no
/// Python `json` module): numbers as `convert::to_py` makes them (`int` when integral, else
/// `float`).
pub fn payload<'py>(py: Python<'py>, json: &str) -> PyResult<Bound<'py, PyAny>> {
    let mut de = serde_json::Deserializer::from_str(json);
    ToPy(py)
        .deserialize(&mut de)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// Builds Python objects while deserialising.
#[derive(Clone, Copy)]
struct ToPy<'py>(Python<'py>);

/// The key serde_json's `arbitrary_precision` numbers arrive under.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

fn number<'py, E: de::Error>(py: Python<'py>, text: &str) -> Result<Bound<'py, PyAny>, E> {
    let made = if let Ok(i) = i64::from_str(text) {
        match i.into_pyobject(py) {
            Ok(i) => Ok(i.into_any()),
            Err(never) => match never {},
        }
    } else if text.contains(['.', 'e', 'E']) {
        Ok(PyFloat::new(py, f64::from_str(text).unwrap_or(f64::NAN)).into_any())
    } else {
        py.get_type::<PyInt>().call1((text,))
    };
    made.map_err(|e| E::custom(e.to_string()))
}

impl<'de, 'py> DeserializeSeed<'de> for ToPy<'py> {
    type Value = Bound<'py, PyAny>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'py> Visitor<'de> for ToPy<'py> {
    type Value = Bound<'py, PyAny>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.0.None().into_bound(self.0))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.0, b).to_owned().into_any())
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
        number(self.0, &i.to_string())
    }
    fn visit_u64<E: de::Error>(self, i: u64) -> Result<Self::Value, E> {
        number(self.0, &i.to_string())
    }
    fn visit_f64<E>(self, x: f64) -> Result<Self::Value, E> {
        Ok(PyFloat::new(self.0, x).into_any())
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.0, s).into_any())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.0);
        while let Some(item) = seq.next_element_seed(self)? {
            list.append(item).map_err(de::Error::custom)?;
        }
        Ok(list.into_any())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.0);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                return number(self.0, &text);
            }
            let value = map.next_value_seed(self)?;
            dict.set_item(&*key, value).map_err(de::Error::custom)?;
        }
        Ok(dict.into_any())
    }
}

/// A Python `fn(key, value)` receiving each event's name and payload (a `dict`).
pub struct PyHandler {
    pub name: String,
    pub func: Py<PyAny>,
}

impl Handler for PyHandler {
    /// A raising handler never fails the call: its exception is reported right here, through
    /// `limitr._errors.handler_failed` (a `HandlerWarning`), so the engine always sees `Ok`.
    fn handle(&self, event: &Event) -> Result<(), String> {
        Python::attach(|py| {
            let called = payload(py, event.payload_json())
                .and_then(|payload| self.func.call1(py, (event.name, payload)));
            if let Err(err) = called {
                let reported = HANDLER_FAILED
                    .import(py, "limitr._errors", "handler_failed")
                    .and_then(|report| report.call1((&self.name, event.name, err.value(py))));
                if let Err(report_err) = reported {
                    report_err.write_unraisable(py, None);
                }
            }
        });
        Ok(())
    }
}

/// A Python `now()` returning epoch milliseconds (`int` or `float`).
pub struct PyClock(pub Py<PyAny>);

impl Clock for PyClock {
    /// If `now()` raises or returns something else than a number, the error goes to
    /// `sys.unraisablehook` and the system clock answers for that call.
    fn now_ms(&self) -> Timestamp {
        Python::attach(|py| {
            let read = self.0.call0(py).and_then(|v| {
                let v = v.bind(py);
                match v.extract::<i64>() {
                    Ok(ms) => Ok(ms),
                    #[allow(
                        clippy::cast_possible_truncation,
                        reason = "epoch ms from a float clock; saturating is fine"
                    )]
                    Err(_) => v.extract::<f64>().map(|ms| ms as i64),
                }
            });
            read.unwrap_or_else(|err| {
                err.write_unraisable(py, Some(self.0.bind(py)));
                SystemClock.now_ms()
            })
        })
    }
}
