//! `shipfn` for Python: a thin skin over `shipfn-host` (load, call, make),
//! `shipfn-cluster` (map on every core) and `shipfn-build` (build a guest). The Python package around it
//! (`crates/python/python/shipfn`) defines the exception classes and the
//! docs; this module does the work.

mod build;
mod convert;
mod errors;
mod function;
mod hosts;
mod options;

use pyo3::prelude::*;

/// The native half of the `shipfn` Python package.
#[pymodule]
fn _shipfn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<function::Function>()?;
    m.add_function(wrap_pyfunction!(build::build, m)?)?;
    m.add_function(wrap_pyfunction!(function::load, m)?)?;
    m.add_function(wrap_pyfunction!(function::make, m)?)?;
    m.add_function(wrap_pyfunction!(function::_restore, m)?)?;
    m.add_function(wrap_pyfunction!(hosts::_forked, m)?)?;
    Ok(())
}
