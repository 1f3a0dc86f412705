//! The native part of the `rumor_triage` Python package: the library's model, training,
//! evaluation protocols and cleanup counts, with Arrow in and out. The Python layer in
//! `python/rumor_triage` gives it its documented API.

#![deny(unsafe_code)]

mod counts;
mod errors;
mod model;
mod texts;
mod training;

use pyo3::prelude::*;

/// Registers the native classes and functions.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<model::PyModel>()?;
    module.add_function(wrap_pyfunction!(training::train, module)?)?;
    module.add_function(wrap_pyfunction!(training::evaluate, module)?)?;
    module.add_function(wrap_pyfunction!(training::evaluate_model, module)?)?;
    module.add_function(wrap_pyfunction!(counts::cleanup_counts, module)?)?;
    module.add("FORMAT_VERSION", rumor_triage::FORMAT_VERSION)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
