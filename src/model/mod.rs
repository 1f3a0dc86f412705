//! The model: [`train`](Model::train), calibrate, [`score`](Model::score),
//! [`explain`](Model::explain), batch labeling and the one-file [format](FORMAT_VERSION).
//! One file per stage; this one holds the [`Model`] and its accessors.

mod batch;
mod calibrate;
mod explain;
mod format;
mod score;
mod train;

use ndarray::Array2;

pub use batch::{Labeled, Post};
pub use calibrate::Calibration;
pub use explain::{Contribution, Explanation};
pub use format::{FORMAT_VERSION, MAGIC};
pub(crate) use score::check_threshold;
pub use score::Score;
pub use train::{CTrial, Example, HeldOutMetrics, ThresholdRule, TrainOptions, TrainingMetadata};

use crate::error::Error;
use crate::features::{FeatureConfig, Scratch, Signature, SparseRow};
use crate::learn::LogisticRegression;
use crate::text::TokenizerBackend;
use explain::ExplainScratch;

/// A trained model. Cheap to share: every method takes `&self` and it is `Send + Sync`.
///
/// ```
/// let model = rumor_triage::Model::load_default().unwrap();
/// assert_eq!(model.labels(), ["non-rumor", "rumor"]);
/// assert_eq!(model.flagged_labels(), ["rumor"]);
/// assert!((0.0..=1.0).contains(&model.threshold()));
/// assert!(model.uses_builtin_tokenizer());
/// assert!(model.tokenizer_json().contains("WordLevel"));
/// assert_eq!(model.feature_config().hash_bits, 20);
/// assert!(model.nonzero_buckets() > 0);
/// assert_eq!(model.metadata().seed, 42);
/// ```
#[derive(Debug, Clone)]
pub struct Model {
    tokenizer: TokenizerBackend,
    tokenizer_json: String,
    features: FeatureConfig,
    n_docs: u64,
    /// The buckets seen in training, ascending, with their document frequencies (what the
    /// model file stores; the idf of every bucket is in `scoring_table`).
    df: Vec<(u32, u32)>,
    labels: Vec<String>,
    positive: Vec<bool>,
    linear: LogisticRegression,
    calibration: Calibration,
    threshold: f32,
    metadata: TrainingMetadata,
    /// Per bucket `[idf, weight_0, .., weight_k-1]`, so that scoring a feature touches one
    /// cache line instead of two tables.
    scoring_table: Vec<f32>,
    /// `1 + ln(count)` for the counts below its length, so that a repeated n-gram costs a
    /// look-up instead of a logarithm (the values are the same bits).
    sublinear_tf: [f32; 32],
    /// [`features::non_content_hashes`] under the model's hash seed.
    non_content: [u64; 4],
    /// True and false positive rates of the flag at the threshold on the held-out folds
    /// (None for a model of format version 3).
    held_out_rates: Option<(f32, f32)>,
}

/// The sublinear term frequency `1 + ln(count)` of the small counts (index 0 unused).
pub(super) fn sublinear_tf_table() -> [f32; 32] {
    std::array::from_fn(|count| 1.0 + (count as f32).ln())
}

/// Interleaves idf and weights per bucket for the fused scoring loop.
pub(super) fn scoring_table(weights: &Array2<f32>, idf_of: impl Fn(u32) -> f32) -> Vec<f32> {
    let outputs = weights.ncols();
    let mut table = Vec::with_capacity(weights.nrows() * (outputs + 1));
    match weights.as_slice() {
        Some(rows) if outputs > 0 => {
            for (b, row) in rows.chunks_exact(outputs).enumerate() {
                table.push(idf_of(b as u32));
                table.extend_from_slice(row);
            }
        }
        _ => {
            for (b, row) in weights.rows().into_iter().enumerate() {
                table.push(idf_of(b as u32));
                table.extend(row.iter().copied());
            }
        }
    }
    table
}

/// Per-thread scratch space for scoring; reuse one per thread to avoid allocation.
#[derive(Debug, Default, Clone)]
pub struct Workspace {
    features: Scratch,
    row: SparseRow,
    margins: Vec<f32>,
    probabilities: Vec<f32>,
    explain: ExplainScratch,
    /// The MinHash sketch of the text last scored, for grouping near-duplicate campaigns.
    signature: Signature,
}

impl Workspace {
    /// The MinHash sketch of the n-gram buckets of the text this workspace last scored
    /// ([`Signature`]).
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let mut ws = rumor_triage::Workspace::default();
    /// model.score_with("Unconfirmed: the bridge has collapsed", &mut ws, None).unwrap();
    /// let first = *ws.signature();
    /// model.score_with("Unconfirmed: the bridge has collapsed!!", &mut ws, None).unwrap();
    /// assert!(first.similarity(ws.signature()) > 0.7);
    /// ```
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
}

impl Model {
    /// The labels, in the model's order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The labels whose posts get flagged.
    pub fn flagged_labels(&self) -> Vec<&str> {
        self.labels
            .iter()
            .zip(&self.positive)
            .filter(|(_, &p)| p)
            .map(|(l, _)| l.as_str())
            .collect()
    }

    /// The share of the training examples that carry a flagged label: the prior the
    /// calibrated probabilities are relative to.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// assert!((0.0..1.0).contains(&model.training_share()));
    /// ```
    pub fn training_share(&self) -> f64 {
        let counts = &self.metadata.label_counts;
        let flagged: u64 = counts
            .iter()
            .zip(&self.positive)
            .filter(|(_, &p)| p)
            .map(|(n, _)| n)
            .sum();
        flagged as f64 / counts.iter().sum::<u64>().max(1) as f64
    }

    /// True and false positive rates of the flag at the stored threshold on the held-out
    /// folds of training (None for a model of format version 3): what adjusted classify
    /// and count needs.
    pub fn held_out_rates(&self) -> Option<(f64, f64)> {
        self.held_out_rates
            .map(|(tpr, fpr)| (f64::from(tpr), f64::from(fpr)))
    }

    /// The stored decision threshold on the flagged probability.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The feature settings.
    pub fn feature_config(&self) -> &FeatureConfig {
        &self.features
    }

    /// The calibration.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// Where the model came from.
    pub fn metadata(&self) -> &TrainingMetadata {
        &self.metadata
    }

    /// What the model holds, as `rumor-triage info` prints it: format version, labels,
    /// threshold, calibration, feature settings and training metadata.
    ///
    /// ```
    /// let info = rumor_triage::Model::load_default()?.info();
    /// assert_eq!(info["flagged_labels"][0], "rumor");
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn info(&self) -> serde_json::Value {
        serde_json::json!({
            "format_version": FORMAT_VERSION,
            "labels": self.labels(),
            "flagged_labels": self.flagged_labels(),
            "threshold": self.threshold(),
            "calibration": self.calibration(),
            "features": self.feature_config(),
            "builtin_tokenizer": self.uses_builtin_tokenizer(),
            "nonzero_buckets": self.nonzero_buckets(),
            "metadata": self.metadata(),
        })
    }

    /// Sets the free-form notes stored with the model (e.g. the command that trained it).
    pub fn set_notes(&mut self, notes: impl Into<String>) {
        self.metadata.notes = notes.into();
    }

    /// The Hugging Face `tokenizer.json` this model tokenizes with.
    pub fn tokenizer_json(&self) -> &str {
        &self.tokenizer_json
    }

    /// Whether the fast built-in tokenizer is used (else the crate's `encode`).
    pub fn uses_builtin_tokenizer(&self) -> bool {
        matches!(self.tokenizer, TokenizerBackend::Builtin(_))
    }

    /// Calls `each` with every token of `text` as this model sees it, after normalization
    /// (`[UNK]` for a word outside its vocabulary): what its n-grams are made of.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default()?;
    /// let mut tokens = Vec::new();
    /// model.for_each_token("RT @BBC: 3 dead, 网传", |t| tokens.push(t.to_owned()))?;
    /// assert_eq!(tokens[..3], ["rt", "xxuser", "bbc"]);
    /// assert_eq!(tokens.last().map(String::as_str), Some("传"));
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn for_each_token(&self, text: &str, mut each: impl FnMut(&str)) -> Result<(), Error> {
        let mut buffers = crate::text::Buffers::default();
        self.tokenizer
            .for_each_token(text, self.features.seed, &mut buffers, |t, _| each(t))
    }

    /// Number of non-zero weight rows (buckets with a learned weight).
    pub fn nonzero_buckets(&self) -> usize {
        self.linear
            .weights
            .rows()
            .into_iter()
            .filter(|r| r.iter().any(|&w| w != 0.0))
            .count()
    }
}
