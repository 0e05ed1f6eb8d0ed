//! `limitr._limitr`: the Python extension over limitr-core. Conversion and error mapping only;
//! the `limitr` package (python/limitr) adds the awaitable class and the exception classes.

mod convert;
mod error;
mod events;
mod limitr;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _limitr(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<limitr::LimitrSync>()?;
    m.add_class::<limitr::Doc>()?;
    m.add("CODES", limitr_core::Error::CODES.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
