//! Texts in from Arrow: any object with `__arrow_c_array__` or `__arrow_c_stream__`
//! (pyarrow, Polars, nanoarrow, arro3), read in place through the Arrow C data interface.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, LargeStringArray};
use arrow_schema::DataType;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::errors::{invalid_input, invalid_option};

/// A column of texts: one or more Arrow chunks of `string`, `large_string` or
/// `string_view` (a dictionary of strings is decoded once; an all-null column is read as
/// nulls).
pub(crate) struct Texts {
    chunks: Vec<ArrayRef>,
}

/// Texts as Python passes them: an Arrow column, or a list of `str` (and `None`), which is
/// read here rather than through pyarrow, whose list conversion imports pandas (0.4 s on the
/// first call in a process, measured).
#[derive(FromPyObject)]
pub(crate) enum TextsInput {
    /// Anything with `__arrow_c_array__` or `__arrow_c_stream__`.
    Arrow(AnyArray),
    /// A Python sequence of `str` or `None`.
    List(Vec<Option<String>>),
}

impl Texts {
    /// The texts of `input`, checked to be strings.
    pub(crate) fn new(input: TextsInput, what: &str) -> PyResult<Self> {
        match input {
            TextsInput::Arrow(array) => Self::from_arrow(array, what),
            TextsInput::List(list) => Ok(Self {
                chunks: vec![Arc::new(LargeStringArray::from(list))],
            }),
        }
    }

    /// The chunks of `input`, checked to hold strings.
    fn from_arrow(input: AnyArray, what: &str) -> PyResult<Self> {
        let (chunks, _field) = input
            .into_chunked_array()
            .map_err(|e| invalid_input(format!("{what}: {e}")))?
            .into_inner();
        let chunks = chunks
            .into_iter()
            .map(|chunk| readable(chunk, what))
            .collect::<PyResult<_>>()?;
        Ok(Self { chunks })
    }

    /// The chunks, each readable by [`text_at`].
    pub(crate) fn chunks(&self) -> &[ArrayRef] {
        &self.chunks
    }

    /// Every text in order, `None` for a null.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        self.chunks
            .iter()
            .flat_map(|chunk| (0..chunk.len()).map(move |i| text_at(chunk, i)))
    }

    /// Every text as an owned string; a null is an error naming its position.
    pub(crate) fn owned(&self, what: &str) -> PyResult<Vec<String>> {
        self.iter()
            .enumerate()
            .map(|(i, text)| {
                text.map(str::to_owned)
                    .ok_or_else(|| invalid_input(format!("{what}[{i}] is null")))
            })
            .collect()
    }
}

/// `chunk` as a type [`text_at`] reads.
fn readable(chunk: ArrayRef, what: &str) -> PyResult<ArrayRef> {
    match chunk.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => Ok(chunk),
        DataType::Dictionary(_, values)
            if matches!(
                values.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            arrow_cast::cast(&chunk, &DataType::LargeUtf8)
                .map_err(|e| invalid_input(format!("{what}: {e}")))
        }
        other => Err(invalid_option(
            what,
            format!("expected strings (string, large_string or string_view), got Arrow {other}"),
        )),
    }
}

/// The text at `i` of a chunk [`readable`] accepted; `None` for a null.
pub(crate) fn text_at(chunk: &ArrayRef, i: usize) -> Option<&str> {
    if chunk.is_null(i) {
        return None;
    }
    match chunk.data_type() {
        DataType::Utf8 => Some(chunk.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Some(chunk.as_string::<i64>().value(i)),
        DataType::Utf8View => Some(chunk.as_string_view().value(i)),
        _ => None,
    }
}

/// Strings from a Python list, for the short columns (labels, groups, times) that are
/// taken as Python sequences.
pub(crate) fn strings(values: Vec<String>, expected: usize, what: &str) -> PyResult<Vec<String>> {
    if values.len() != expected {
        return Err(invalid_input(format!(
            "{what} has {} values for {expected} texts",
            values.len()
        )));
    }
    Ok(values)
}
