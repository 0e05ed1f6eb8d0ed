//! Python callables as engine handlers and as the engine's clock.

use crate::error;
use limitr_core::{Clock, Event, Handler, SystemClock, Timestamp};
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::cell::{Cell, RefCell};
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

thread_local! {
    /// A `SystemExit`, `KeyboardInterrupt` (a `BaseException` that is not an `Exception`) a
    /// handler raised on this thread, raised by the binding when the engine call returns.
    static INTERRUPT: RefCell<Option<PyErr>> = const { RefCell::new(None) };
    /// The time read for the call running on this thread: (the clock's address, epoch ms).
    static READ: Cell<Option<(usize, Timestamp)>> = const { Cell::new(None) };
}

/// The interrupt a handler raised during the engine call that just returned on this thread.
pub fn take_interrupt() -> Option<PyErr> {
    INTERRUPT.with_borrow_mut(Option::take)
}

static ISCOROUTINEFUNCTION: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Whether `f` is an `async def` function (or a callable whose `__call__` is one). Handlers run
/// inside the call, in commit order, on the calling thread (a worker thread on a network store,
/// with no loop of its own): nothing there could await it, so `add_handler` refuses it.
pub fn is_async(f: &Bound<'_, PyAny>) -> PyResult<bool> {
    let test = ISCOROUTINEFUNCTION.import(f.py(), "inspect", "iscoroutinefunction")?;
    if test.call1((f,))?.is_truthy()? {
        return Ok(true);
    }
    match f.getattr("__call__") {
        Ok(call) => test.call1((call,))?.is_truthy(),
        Err(_) => Ok(false),
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
    /// A handler that returns an awaitable (a lambda calling an `async def`) is reported the same
    /// way, the awaitable closed. A `SystemExit` or `KeyboardInterrupt` is kept for the binding to
    /// raise when the call returns; the Python handlers left for this call are skipped.
    fn handle(&self, event: &Event) -> Result<(), String> {
        Python::attach(|py| {
            if INTERRUPT.with_borrow(Option::is_some) {
                return;
            }
            let called = payload(py, event.payload_json())
                .and_then(|payload| self.func.call1(py, (event.name, payload)))
                .and_then(|out| {
                    let out = out.bind(py);
                    if out.is_none() || !out.hasattr("__await__")? {
                        return Ok(());
                    }
                    if out.hasattr("close")? {
                        out.call_method0("close")?;
                    }
                    Err(PyTypeError::new_err(
                        "the handler returned an awaitable: handlers are called synchronously, \
                         inside the call (schedule async work with `loop.call_soon_threadsafe`)",
                    ))
                });
            if let Err(err) = called {
                if !err.is_instance_of::<PyException>(py) {
                    INTERRUPT.set(Some(err));
                    return;
                }
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

/// A Python `now()` returning epoch milliseconds (`int` or `float`), read once per call by the
/// binding ([`PyClock::read`], before the engine call, where a bad time can still raise).
pub struct PyClock(pub Py<PyAny>);

impl PyClock {
    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    fn call(&self, py: Python<'_>) -> PyResult<Timestamp> {
        let v = self.0.call0(py)?;
        let v = v.bind(py);
        let ms = if v.is_instance_of::<PyBool>() {
            None
        } else if let Ok(ms) = v.extract::<i64>() {
            return Ok(ms);
        } else {
            v.extract::<f64>().ok()
        };
        match ms {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "a finite float epoch in ms; saturating is fine"
            )]
            Some(ms) if ms.is_finite() => Ok(ms as i64),
            Some(ms) => Err(error::invalid(
                py,
                "now",
                format!("returned `{ms:?}`, expected finite epoch milliseconds"),
            )),
            None => Err(error::invalid(
                py,
                "now",
                format!(
                    "returned {}, expected epoch milliseconds (int or float)",
                    v.get_type().name()?
                ),
            )),
        }
    }

    /// Reads `now()` for the engine call about to run on this thread: NaN, infinities and
    /// non-numbers are `INVALID_ARGUMENT` naming `now`, and an exception it raises propagates.
    pub fn read(&self, py: Python<'_>) -> PyResult<()> {
        let ms = self.call(py)?;
        READ.set(Some((self.key(), ms)));
        Ok(())
    }
}

impl Clock for PyClock {
    /// The time [`PyClock::read`] took for this call; a read outside a binding call (none today)
    /// asks `now()` itself, and if that fails the error goes to `sys.unraisablehook` and the
    /// system clock answers.
    fn now_ms(&self) -> Timestamp {
        match READ.get() {
            Some((key, ms)) if key == self.key() => ms,
            _ => Python::attach(|py| {
                self.call(py).unwrap_or_else(|err| {
                    err.write_unraisable(py, Some(self.0.bind(py)));
                    SystemClock.now_ms()
                })
            }),
        }
    }
}
