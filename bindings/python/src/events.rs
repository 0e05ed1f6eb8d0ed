//! Python callables as engine handlers and as the engine's clock.

use crate::convert;
use limitr_core::{Clock, Event, Handler, SystemClock, Timestamp};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

static HANDLER_FAILED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

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
            let called = convert::to_py(py, &event.payload())
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
