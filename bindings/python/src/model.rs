//! `rumor_triage._native.Model`: a loaded model, shared read-only by every thread that
//! scores with it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, BooleanArray, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::PyRecordBatch;
use rayon::prelude::*;
use rayon::ThreadPool;
use rumor_triage::{Error, Score, Workspace};

use crate::errors::{invalid_input, invalid_option, OrRaise};
use crate::texts::{text_at, Texts, TextsInput};

/// A rumor-triage model (the Python `rumor_triage.Model` wraps it).
#[pyclass(frozen, module = "rumor_triage._native", name = "Model")]
pub(crate) struct PyModel {
    pub(crate) inner: Arc<rumor_triage::Model>,
}

impl PyModel {
    pub(crate) fn new(model: rumor_triage::Model) -> Self {
        Self {
            inner: Arc::new(model),
        }
    }
}

/// Posts handed to one rayon job at a time: enough to keep the per-job workspace set-up
/// out of the profile, few enough to balance two threads on a small batch.
const MIN_POSTS_PER_JOB: usize = 64;

#[pymethods]
impl PyModel {
    /// Loads a model file.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| rumor_triage::Model::load(&path))
            .or_raise()
            .map(Self::new)
    }

    /// The model shipped with the package.
    #[staticmethod]
    fn default() -> PyResult<Self> {
        rumor_triage::Model::load_default()
            .or_raise()
            .map(Self::new)
    }

    /// A model from the bytes of a model file.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        rumor_triage::Model::from_bytes(data)
            .or_raise()
            .map(Self::new)
    }

    /// The bytes of the model file.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.inner.to_bytes().or_raise()?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes the model file.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).or_raise()
    }

    /// What the model holds, as JSON (`rumor-triage info`).
    fn info_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.info())
            .map_err(Error::from)
            .or_raise()
    }

    /// The model's labels.
    fn labels(&self) -> Vec<String> {
        self.inner.labels().to_vec()
    }

    /// The stored decision threshold.
    fn threshold(&self) -> f32 {
        self.inner.threshold()
    }

    /// Scores every text of an Arrow string column; nulls give null rows. Returns a
    /// pyarrow RecordBatch: label, probability, flagged, insufficient_text.
    #[pyo3(signature = (texts, threshold=None, threads=None))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        texts: TextsInput,
        threshold: Option<f32>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let texts = Texts::new(texts, "texts")?;
        let model = &self.inner;
        let batch =
            py.detach(|| on_threads(threads, || score_chunks(model, texts.chunks(), threshold)))??;
        PyRecordBatch::new(batch).into_pyarrow(py)
    }

    /// Why a text got its score, as JSON: the score, margin, bias and the `k` n-grams
    /// that moved it most.
    #[pyo3(signature = (text, k=10))]
    fn explain_json(&self, py: Python<'_>, text: &str, k: usize) -> PyResult<String> {
        let explanation = py.detach(|| self.inner.explain(text, k)).or_raise()?;
        serde_json::to_string(&explanation)
            .map_err(Error::from)
            .or_raise()
    }

    /// The tokens of `text` as the model sees them.
    fn tokens(&self, text: &str) -> PyResult<Vec<String>> {
        let mut tokens = Vec::new();
        self.inner
            .for_each_token(text, |t| tokens.push(t.to_owned()))
            .or_raise()?;
        Ok(tokens)
    }
}

/// The thread pools made so far, by their number of threads.
type Pools = Vec<(usize, Arc<ThreadPool>)>;

/// The pool for `threads` workers (`None`: rayon's global pool, one per core). Pools are
/// kept, so a caller scoring many small batches (Spark, Polars) does not start threads
/// per batch.
fn pool(threads: Option<usize>) -> PyResult<Option<Arc<ThreadPool>>> {
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    let Some(threads) = threads else {
        return Ok(None);
    };
    if threads == 0 {
        return Err(invalid_option("threads", "must be at least 1"));
    }
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| invalid_input("a thread pool panicked"))?;
    if let Some((_, pool)) = pools.iter().find(|(n, _)| *n == threads) {
        return Ok(Some(Arc::clone(pool)));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| invalid_option("threads", e.to_string()))?;
    let pool = Arc::new(pool);
    pools.push((threads, Arc::clone(&pool)));
    Ok(Some(pool))
}

/// Runs `job` on the pool for `threads` (the global pool for `None`).
pub(crate) fn on_threads<T: Send>(
    threads: Option<usize>,
    job: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    Ok(match pool(threads)? {
        Some(pool) => pool.install(job),
        None => job(),
    })
}

/// Scores every chunk in order, each in parallel, into one batch.
fn score_chunks(
    model: &rumor_triage::Model,
    chunks: &[ArrayRef],
    threshold: Option<f32>,
) -> PyResult<RecordBatch> {
    let mut scores: Vec<Option<Score>> = Vec::with_capacity(chunks.iter().map(|c| c.len()).sum());
    for chunk in chunks {
        let chunk_scores: Vec<Option<Score>> = (0..chunk.len())
            .into_par_iter()
            .with_min_len(MIN_POSTS_PER_JOB)
            .map_init(Workspace::default, |ws, i| {
                text_at(chunk, i)
                    .map(|text| model.score_with(text, ws, threshold))
                    .transpose()
            })
            .collect::<Result<_, Error>>()
            .or_raise()?;
        scores.extend(chunk_scores);
    }
    scores_batch(&scores)
}

/// The schema of `score`'s result.
fn score_schema() -> Schema {
    Schema::new(vec![
        Field::new("label", DataType::Utf8, true),
        Field::new("probability", DataType::Float32, true),
        Field::new("flagged", DataType::Boolean, true),
        Field::new("insufficient_text", DataType::Boolean, true),
    ])
}

fn scores_batch(scores: &[Option<Score>]) -> PyResult<RecordBatch> {
    let bytes = scores
        .iter()
        .map(|s| s.as_ref().map_or(0, |s| s.label.len()))
        .sum();
    let mut labels = StringBuilder::with_capacity(scores.len(), bytes);
    for score in scores {
        labels.append_option(score.as_ref().map(|s| s.label.as_str()));
    }
    let probability: Float32Array = scores
        .iter()
        .map(|s| s.as_ref().map(|s| s.probability))
        .collect();
    let flagged: BooleanArray = scores
        .iter()
        .map(|s| s.as_ref().map(|s| s.flagged))
        .collect();
    let insufficient: BooleanArray = scores
        .iter()
        .map(|s| s.as_ref().map(|s| s.insufficient_text))
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(labels.finish()),
        Arc::new(probability),
        Arc::new(flagged),
        Arc::new(insufficient),
    ];
    RecordBatch::try_new(Arc::new(score_schema()), columns)
        .map_err(|e| invalid_input(format!("building the result: {e}")))
}
