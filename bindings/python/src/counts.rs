//! Cleanup counts over scored posts held in an Arrow table.

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use pyo3::prelude::*;
use pyo3_arrow::PyRecordBatch;
use rumor_triage::{Error, Labeled, Post, Score, TimeParser, Workspace};

use crate::errors::{invalid_input, OrRaise};
use crate::model::{on_threads, PyModel};
use crate::texts::text_at;

/// The counts `rumor-triage score --counts` prints, as JSON, over the rows of `posts`: a
/// `text` column, optional `id`, `account`, `platform` and `time` columns, and the score
/// columns (`label`, `probability`, `flagged`, `insufficient_text`) when the posts were
/// scored already (they are scored here otherwise). Also returns how many rows had a null
/// text: those are left out of the counts.
#[pyfunction]
#[pyo3(signature = (model, posts, top=20, tz=None, time_format=None, threads=None))]
pub(crate) fn cleanup_counts(
    py: Python<'_>,
    model: &PyModel,
    posts: PyRecordBatch,
    top: usize,
    tz: Option<&str>,
    time_format: Option<&str>,
    threads: Option<usize>,
) -> PyResult<(String, usize)> {
    let batch = posts.into_inner();
    let mut parser = TimeParser::default();
    if let Some(zone) = tz {
        parser = parser.zone(zone).or_raise()?;
    }
    if let Some(format) = time_format {
        parser = parser.format(format).or_raise()?;
    }
    let texts = strings_column(&batch, "text")?
        .ok_or_else(|| invalid_input("posts has no \"text\" column"))?;
    let ids = strings_column(&batch, "id")?;
    let accounts = strings_column(&batch, "account")?;
    let platforms = strings_column(&batch, "platform")?;
    let times = strings_column(&batch, "time")?;
    let scores = given_scores(&batch)?;
    let model = &model.inner;
    let counts = py
        .detach(|| {
            on_threads(threads, || -> Result<_, Error> {
                let mut posts = Vec::with_capacity(batch.num_rows());
                let mut rows = Vec::with_capacity(batch.num_rows());
                for row in 0..batch.num_rows() {
                    let Some(text) = text_at(&texts, row) else {
                        continue;
                    };
                    let cell = |column: &Option<ArrayRef>| {
                        column
                            .as_ref()
                            .and_then(|c| text_at(c, row))
                            .map(str::to_owned)
                    };
                    posts.push(Post {
                        id: cell(&ids).unwrap_or_else(|| row.to_string()),
                        text: text.to_owned(),
                        account: cell(&accounts),
                        platform: cell(&platforms),
                        time: cell(&times),
                    });
                    rows.push(row);
                }
                let null_texts = batch.num_rows() - posts.len();
                let labeled = match &scores {
                    // Scored here in parallel, keeping the sketches the campaigns need.
                    None => model.label_batch(posts)?,
                    Some(given) => {
                        let mut workspace = Workspace::default();
                        posts
                            .into_iter()
                            .zip(rows)
                            .map(|(post, row)| {
                                let score = match given.at(row) {
                                    Some(score) => score,
                                    None => model.score_with(&post.text, &mut workspace, None)?,
                                };
                                Ok(Labeled {
                                    post,
                                    score,
                                    sketch: None,
                                })
                            })
                            .collect::<Result<Vec<_>, Error>>()?
                    }
                };
                Ok((model.cleanup_counts_with(&labeled, top, parser), null_texts))
            })
        })?
        .or_raise()?;
    let (counts, null_texts) = counts;
    let json = serde_json::to_string(&counts)
        .map_err(Error::from)
        .or_raise()?;
    Ok((json, null_texts))
}

/// The string column `name`, if the batch has one.
fn strings_column(batch: &RecordBatch, name: &str) -> PyResult<Option<ArrayRef>> {
    let Some(column) = batch.column_by_name(name) else {
        return Ok(None);
    };
    match column.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            Ok(Some(column.clone()))
        }
        _ => arrow_cast::cast(column, &DataType::LargeUtf8)
            .map(Some)
            .map_err(|e| invalid_input(format!("column {name:?}: {e}"))),
    }
}

/// The score columns, when all four are there.
struct GivenScores {
    label: ArrayRef,
    probability: ArrayRef,
    flagged: ArrayRef,
    insufficient_text: ArrayRef,
}

impl GivenScores {
    /// Row `row`'s score, `None` where any part is null.
    fn at(&self, row: usize) -> Option<Score> {
        let probability = self.probability.as_primitive_opt::<Float32Type>()?;
        let flagged = self.flagged.as_boolean_opt()?;
        let insufficient = self.insufficient_text.as_boolean_opt()?;
        if probability.is_null(row) || flagged.is_null(row) || insufficient.is_null(row) {
            return None;
        }
        Some(Score {
            label: text_at(&self.label, row)?.to_owned(),
            probability: probability.value(row),
            flagged: flagged.value(row),
            insufficient_text: insufficient.value(row),
        })
    }
}

fn given_scores(batch: &RecordBatch) -> PyResult<Option<GivenScores>> {
    let label = strings_column(batch, "label")?;
    let column = |name: &str, kind: DataType| -> PyResult<Option<ArrayRef>> {
        match batch.column_by_name(name) {
            None => Ok(None),
            Some(c) if c.data_type() == &kind => Ok(Some(c.clone())),
            Some(c) => arrow_cast::cast(c, &kind)
                .map(Some)
                .map_err(|e| invalid_input(format!("column {name:?}: {e}"))),
        }
    };
    let probability = column("probability", DataType::Float32)?;
    let flagged = column("flagged", DataType::Boolean)?;
    let insufficient_text = column("insufficient_text", DataType::Boolean)?;
    Ok(match (label, probability, flagged, insufficient_text) {
        (Some(label), Some(probability), Some(flagged), Some(insufficient_text)) => {
            Some(GivenScores {
                label,
                probability,
                flagged,
                insufficient_text,
            })
        }
        _ => None,
    })
}
