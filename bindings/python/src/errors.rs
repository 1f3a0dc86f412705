//! The library's errors as Python exceptions: one class per kind of error (defined in
//! `rumor_triage/errors.py`, so that they can also derive from `ValueError` or `OSError`),
//! each with the Rust error's message and a `kind` attribute naming its variant.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use rumor_triage::Error;

/// The Python class and the `kind` of an error.
fn class_and_kind(error: &Error) -> (&'static str, &'static str) {
    match error {
        Error::Io { .. } => ("RumorTriageIOError", "io"),
        Error::Stream(_) => ("RumorTriageIOError", "stream"),
        Error::NotAModel => ("ModelFileError", "not_a_model"),
        Error::UnsupportedVersion { .. } => ("ModelFileError", "unsupported_version"),
        Error::RetiredVersion { .. } => ("ModelFileError", "retired_version"),
        Error::Truncated { .. } => ("ModelFileError", "truncated"),
        Error::ChecksumMismatch => ("ModelFileError", "checksum_mismatch"),
        Error::CorruptModel(_) => ("ModelFileError", "corrupt_model"),
        Error::InvalidOption { .. } => ("InvalidOptionError", "invalid_option"),
        Error::TooFewExamples { .. } => ("TooFewExamplesError", "too_few_examples"),
        Error::MissingField { .. } => ("InvalidInputError", "missing_field"),
        Error::MissingColumn { .. } => ("InvalidInputError", "missing_column"),
        Error::BadRecord { .. } => ("InvalidInputError", "bad_record"),
        Error::InvalidInput(_) => ("InvalidInputError", "invalid_input"),
        Error::UnreadableFormat { .. } => ("InvalidInputError", "unreadable_format"),
        Error::TooManyRejects { .. } => ("InvalidInputError", "too_many_rejects"),
        Error::Resume(_) => ("InvalidInputError", "resume"),
        Error::TamperedLog { .. } => ("RumorTriageError", "tampered_log"),
        Error::Tokenizer(_) => ("TokenizerError", "tokenizer"),
        Error::Training(_) => ("TrainingError", "training"),
        Error::Json(_) => ("RumorTriageError", "json"),
        Error::Plot(_) => ("RumorTriageError", "plot"),
        Error::Internal(_) => ("RumorTriageError", "internal"),
        _ => ("RumorTriageError", "other"),
    }
}

/// The Python exception for `error`.
pub(crate) fn to_py(error: Error) -> PyErr {
    let (class, kind) = class_and_kind(&error);
    let message = error.to_string();
    Python::attach(|py| {
        let raised = py
            .import("rumor_triage.errors")
            .and_then(|module| module.getattr(class))
            .and_then(|class| class.call1((message.clone(), kind)));
        match raised {
            Ok(exception) => PyErr::from_value(exception),
            Err(_) => PyRuntimeError::new_err(format!("{kind}: {message}")),
        }
    })
}

/// `Result<T, rumor_triage::Error>` → `PyResult<T>`.
pub(crate) trait OrRaise<T> {
    /// The value, or the error as its Python exception.
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// An invalid argument, raised as `InvalidOptionError`.
pub(crate) fn invalid_option(option: &str, reason: impl Into<String>) -> PyErr {
    to_py(Error::invalid_option(option, reason))
}

/// Inputs that do not fit together, raised as `InvalidInputError`.
pub(crate) fn invalid_input(message: impl Into<String>) -> PyErr {
    to_py(Error::InvalidInput(message.into()))
}
