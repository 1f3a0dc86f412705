//! The model: training, calibrated scoring, explanations, and the one-file format.
//!
//! # File format (version 1)
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `RUMORTRG` |
//! | 8..12 | format version, u32 little-endian |
//! | 12..20 | payload length, u64 little-endian |
//! | 20..52 | SHA-256 of the payload |
//! | 52.. | payload: `postcard` encoding of the model |
//!
//! Loading checks the magic, the version (a newer one is refused), the length (against the
//! bytes actually present, before anything is allocated from it), the checksum, and then
//! every invariant of the decoded payload. The payload holds the `tokenizer.json` of the
//! Hugging Face pipeline, the feature settings, document frequencies, sparse weights,
//! labels, calibration, threshold and the training metadata.

use std::path::Path;

use linfa::dataset::{DatasetBase, Records};
use linfa::traits::Fit;
use linfa::ParamGuard;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::campaigns::Signature;
use crate::error::Error;
use crate::features::{self, FeatureConfig, Idf, Scratch, SparseRow};
use crate::linear::{
    ClassWeight, LogisticRegression, LogisticRegressionParams, LogisticRegressionValidParams, Loss,
    SparseMatrix,
};
use crate::text::{self, FastTokenizer, TokenizerBackend};

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"RUMORTRG";
/// The newest format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 3;
const HEADER_LEN: usize = 52;

/// One labeled training text.
///
/// ```
/// let e = rumor_triage::Example { text: "网传地震".into(), label: "rumor".into() };
/// assert_eq!(e.label, "rumor");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The post text.
    pub text: String,
    /// Its label.
    pub label: String,
}

/// How the decision threshold is chosen on held-out training data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ThresholdRule {
    /// Maximize the macro-F1 of flagged vs not flagged (default): the headline metric of
    /// rumor benchmarks, and a balance of missed rumors against wasted reviews.
    BestMacroF1,
    /// Maximize the F1 of the flagged class alone (more recall, lower threshold).
    BestF1,
    /// The lowest threshold whose precision reaches the target (most recall at that
    /// precision); falls back to the best-F1 threshold if none reaches it.
    Precision(f64),
}

/// Everything `train` can be told. Defaults in one place, each chosen by measurement
/// (README, "Choosing the defaults").
///
/// ```
/// let options = rumor_triage::TrainOptions::default();
/// assert_eq!(options.positive, ["rumor"]);
/// assert_eq!(options.features.hash_bits, 20);
/// ```
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Feature extraction settings.
    pub features: FeatureConfig,
    /// Inverse L2 strength, used as given when `c_grid` is empty (default 10).
    pub c: f64,
    /// C values to choose from (default 1, 3, 10, 30, 100): tried in ascending order on the
    /// held-out calibration folds, stopping at the first that does no better; the one with
    /// the lowest held-out log loss wins. Empty: use `c`.
    pub c_grid: Vec<f64>,
    /// The loss (default logistic; the squared hinge is the L2-loss linear SVM).
    pub loss: Loss,
    /// Class weighting (default uniform).
    pub class_weight: ClassWeight,
    /// Labels whose posts get flagged (default `["rumor"]`).
    pub positive: Vec<String>,
    /// Folds used to get held-out scores for calibration and threshold (default 5).
    pub folds: usize,
    /// Words seen fewer times than this in training become `[UNK]` (default 1).
    pub min_word_count: u64,
    /// Buckets found in fewer training documents than this get no weight (default 1: keep
    /// all; 2, the peers' `min_df=2`, cost 0.011 macro-F1 on weibo-ced here).
    pub min_df: u32,
    /// Threshold rule (default best macro-F1).
    pub threshold: ThresholdRule,
    /// Seed of the fold shuffle (default 42). The hash seed is `features.seed`.
    pub seed: u64,
    /// Most passes over the data per fit (default 1000).
    pub max_iterations: usize,
    /// Dual-gradient tolerance of each fit (default 0.1, as LIBLINEAR).
    pub tolerance: f64,
    /// A user-supplied Hugging Face tokenizer instead of the built-in pipeline.
    pub tokenizer: Option<Tokenizer>,
    /// One group name per training example (an event, a time block): the held-out folds
    /// behind the calibration and the threshold then keep each group whole, so they see
    /// the shift a new event or a later period brings instead of a shuffled split's
    /// optimism (default none: stratified folds).
    pub calibration_groups: Option<Vec<String>>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            features: FeatureConfig::default(),
            c: 10.0,
            c_grid: vec![1.0, 3.0, 10.0, 30.0, 100.0],
            loss: Loss::Logistic,
            class_weight: ClassWeight::Uniform,
            positive: vec!["rumor".to_owned()],
            folds: 5,
            min_word_count: 1,
            min_df: 1,
            threshold: ThresholdRule::BestMacroF1,
            seed: 42,
            max_iterations: 1000,
            tolerance: 0.1,
            tokenizer: None,
            calibration_groups: None,
        }
    }
}

/// Turns held-out margins into probabilities that mean what they say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Calibration {
    /// Binary: `P(flag) = 1 / (1 + exp(a·s + b))`, `s` the margin toward the flagged label
    /// (Platt scaling, fitted with linfa's Newton method).
    Platt {
        /// Slope.
        a: f64,
        /// Offset.
        b: f64,
    },
    /// Multi-class: `softmax(z / t)` over the one-vs-rest margins (temperature scaling).
    Temperature {
        /// Temperature.
        t: f64,
    },
}

/// Figures measured on the held-out folds of the training data, stored in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutMetrics {
    /// Accuracy of the stored decision rule.
    pub accuracy: f64,
    /// Macro-F1 of the stored decision rule.
    pub macro_f1: f64,
    /// F1 of the flagged class at the stored threshold.
    pub flagged_f1: f64,
    /// Log loss of the calibrated probabilities.
    pub log_loss: f64,
}

/// Where a model came from, stored in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingMetadata {
    /// rumor-triage version that trained it.
    pub trainer_version: String,
    /// SHA-256 (hex) of the training examples in order (label, 0x1f, text, 0x1e).
    pub data_digest: String,
    /// Number of training examples.
    pub examples: u64,
    /// Examples per label, in label order.
    pub label_counts: Vec<u64>,
    /// Fold-shuffle seed.
    pub seed: u64,
    /// Inverse L2 strength used.
    pub c: f64,
    /// Loss used.
    pub loss: Loss,
    /// Class weighting used.
    pub class_weight: ClassWeight,
    /// Whether the held-out folds kept calibration groups whole (events, periods).
    pub grouped_calibration: bool,
    /// Folds used for the held-out scores.
    pub folds: u64,
    /// Passes over the data of the final fit.
    pub iterations: u64,
    /// Threshold rule used.
    pub threshold_rule: ThresholdRule,
    /// Held-out figures.
    pub held_out: HeldOutMetrics,
    /// Free-form notes (e.g. the training command).
    pub notes: String,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    tokenizer_json: String,
    builtin_tokenizer: bool,
    features: FeatureConfig,
    n_docs: u64,
    df_indices: Vec<u32>,
    df_values: Vec<u32>,
    labels: Vec<String>,
    positive: Vec<bool>,
    outputs: u32,
    weight_indices: Vec<u32>,
    weight_values: Vec<f32>,
    bias: Vec<f32>,
    calibration: Calibration,
    threshold: f32,
    metadata: TrainingMetadata,
}

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
}

/// The sublinear term frequency `1 + ln(count)` of the small counts (index 0 unused).
fn sublinear_tf_table() -> [f32; 32] {
    std::array::from_fn(|count| 1.0 + (count as f32).ln())
}

/// Interleaves idf and weights per bucket for the fused scoring loop.
fn scoring_table(weights: &Array2<f32>, idf_of: impl Fn(u32) -> f32) -> Vec<f32> {
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

/// The buckets with a document frequency, ascending, with it.
fn nonzero_document_frequencies(df: &[u32]) -> Vec<(u32, u32)> {
    df.iter()
        .enumerate()
        .filter(|(_, &d)| d > 0)
        .map(|(b, &d)| (b as u32, d))
        .collect()
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
    /// ([`crate::campaigns`]).
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

/// What explaining a text fills, kept in the workspace so that a batch job explaining many
/// posts reuses it instead of allocating it per post.
#[derive(Debug, Default, Clone)]
struct ExplainScratch {
    /// Each bucket of the text and its contribution.
    terms: Vec<(u32, f32)>,
    /// The kept buckets, sorted.
    kept: Vec<u32>,
    padded: String,
    boundaries: Vec<usize>,
}

/// The verdict on one text.
///
/// ```
/// let s = rumor_triage::Model::load_default().unwrap().score("hello").unwrap();
/// assert_eq!(s.flagged, s.label == "rumor");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The decided label: for a binary model the flagged label when `flagged`, else the
    /// other; for a multi-class model the most probable label.
    pub label: String,
    /// Calibrated probability that the text belongs to a flagged label.
    pub probability: f32,
    /// Whether `probability` reaches the threshold.
    pub flagged: bool,
}

/// One n-gram feature of a text and how much it moved the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The n-gram(s) of this text that fell into the bucket, tokens joined by spaces; a
    /// character n-gram of a word as fastText writes it, with its word: `<unco (in
    /// unconfirmed)`. Several n-grams sharing a bucket (a hash collision, or one character
    /// n-gram in two words) are joined by ` | `.
    pub ngram: String,
    /// The hash bucket.
    pub bucket: u32,
    /// Feature value times weight, toward the flagged side (positive pushes to flag).
    pub contribution: f32,
}

/// Why a text got its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The score itself.
    pub score: Score,
    /// The raw margin toward the flagged side: `bias + Σ contributions` over all features.
    pub margin: f32,
    /// The intercept part of `margin`.
    pub bias: f32,
    /// The features with the largest absolute contributions, largest first.
    pub top: Vec<Contribution>,
    /// Number of distinct features of the text.
    pub features: usize,
}

fn digest(examples: &[Example]) -> String {
    let mut hasher = Sha256::new();
    for e in examples {
        hasher.update(e.label.as_bytes());
        hasher.update([0x1f]);
        hasher.update(e.text.as_bytes());
        hasher.update([0x1e]);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A deterministic, documented shuffle (SplitMix64 stream, Fisher–Yates), so fold
/// assignment never depends on an external RNG's version.
fn shuffle<T>(items: &mut [T], seed: u64) {
    features::SplitMix(seed).shuffle(items);
}

/// Stratified fold of each row: rows of each class are shuffled with `seed` and dealt out
/// round-robin, so every fold gets each class in proportion.
///
/// ```
/// let folds = rumor_triage::model::stratified_folds(&[0, 0, 0, 1, 1, 1], 3, 42);
/// for fold in 0..3 {
///     let members: Vec<usize> = (0..6).filter(|&i| folds[i] == fold).collect();
///     assert_eq!(members.len(), 2);
/// }
/// ```
pub fn stratified_folds(targets: &[usize], folds: usize, seed: u64) -> Vec<usize> {
    let mut classes = targets.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut fold_of = vec![0; targets.len()];
    let mut dealt = 0usize;
    for class in classes {
        let mut rows: Vec<usize> = (0..targets.len())
            .filter(|&i| targets.get(i) == Some(&class))
            .collect();
        shuffle(
            &mut rows,
            seed ^ (class as u64).wrapping_mul(0x1000_0000_01b3),
        );
        for row in rows {
            if let Some(slot) = fold_of.get_mut(row) {
                *slot = dealt % folds.max(1);
            }
            dealt += 1;
        }
    }
    fold_of
}

/// Folds that keep each group whole: groups go, largest first (ties by name), to the fold
/// with the fewest items so far. Returns the fold of each item and the number of folds,
/// which is `folds` or the number of groups if that is smaller (at least 2).
///
/// ```
/// let groups: Vec<String> = ["a", "b", "a", "c", "b", "a"].map(String::from).to_vec();
/// let (fold_of, folds) = rumor_triage::model::group_folds(&groups, 2).unwrap();
/// assert_eq!(folds, 2);
/// assert_eq!(fold_of, [0, 1, 0, 1, 1, 0]);
/// ```
pub fn group_folds(groups: &[String], folds: usize) -> Result<(Vec<usize>, usize), Error> {
    let mut sizes: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for g in groups {
        *sizes.entry(g.as_str()).or_default() += 1;
    }
    if sizes.len() < 2 {
        return Err(Error::invalid(
            "calibration by groups needs at least two groups",
        ));
    }
    let folds = folds.clamp(2, sizes.len());
    let mut order: Vec<(&str, usize)> = sizes.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut load = vec![0usize; folds];
    let mut fold_of_group = std::collections::HashMap::new();
    for (group, size) in order {
        let (fold, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(i, &items)| (items, i))
            .unwrap_or((0, &0));
        if let Some(slot) = load.get_mut(fold) {
            *slot += size;
        }
        fold_of_group.insert(group, fold);
    }
    Ok((
        groups
            .iter()
            .map(|g| fold_of_group.get(g.as_str()).copied().unwrap_or(0))
            .collect(),
        folds,
    ))
}

/// Calibrated probabilities of each label from raw margins.
#[allow(
    clippy::indexing_slicing,
    reason = "indices come from loops over the model's own tables and their lengths, not from input"
)]
fn probabilities_into(
    calibration: &Calibration,
    positive: &[bool],
    margins: &[f32],
    out: &mut Vec<f32>,
) {
    out.clear();
    match *calibration {
        Calibration::Platt { a, b } => {
            let toward = if positive.get(1).copied().unwrap_or(false) {
                f64::from(margins[0])
            } else {
                -f64::from(margins[0])
            };
            let p_flag = 1.0 / (1.0 + (a * toward + b).exp());
            let p1 = if positive.get(1).copied().unwrap_or(false) {
                p_flag
            } else {
                1.0 - p_flag
            };
            out.push((1.0 - p1) as f32);
            out.push(p1 as f32);
        }
        Calibration::Temperature { t } => {
            let max = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps = margins
                .iter()
                .map(|&z| ((f64::from(z) - f64::from(max)) / t).exp());
            out.extend(exps.map(|e| e as f32));
            let sum: f32 = out.iter().sum();
            out.iter_mut().for_each(|p| *p /= sum);
        }
    }
}

fn flag_probability(probabilities: &[f32], positive: &[bool]) -> f32 {
    probabilities
        .iter()
        .zip(positive)
        .filter(|(_, &p)| p)
        .map(|(p, _)| *p)
        .sum::<f32>()
        .clamp(0.0, 1.0)
}

/// The threshold the rule picks over held-out `(flag probability, is flagged label)`, and
/// the flagged-class F1 it gives.
#[allow(
    clippy::indexing_slicing,
    reason = "indices come from loops over the model's own tables and their lengths, not from input"
)]
fn choose_threshold(scores: &[(f32, bool)], rule: ThresholdRule) -> (f32, f64) {
    let mut sorted: Vec<(f32, bool)> = scores.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = sorted.iter().filter(|s| s.1).count() as f64;
    let negatives = sorted.len() as f64 - positives;
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    let mut best = (0.5f32, 0.0f64);
    let mut best_macro = (0.5f32, 0.0f64, 0.0f64);
    let mut at_precision: Option<(f32, f64)> = None;
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].0;
        while i < sorted.len() && sorted[i].0 == t {
            if sorted[i].1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        let f1 = if positives > 0.0 {
            2.0 * tp / (tp + fp + positives)
        } else {
            0.0
        };
        if f1 > best.1 {
            best = (t, f1);
        }
        let (fneg, tn) = (positives - tp, negatives - fp);
        let f1_negative = if negatives > 0.0 {
            2.0 * tn / (2.0 * tn + fneg + fp)
        } else {
            0.0
        };
        let macro_f1 = (f1 + f1_negative) / 2.0;
        if macro_f1 > best_macro.2 {
            best_macro = (t, f1, macro_f1);
        }
        if let ThresholdRule::Precision(target) = rule {
            if tp / (tp + fp) >= target {
                at_precision = Some((t, f1));
            }
        }
    }
    match rule {
        ThresholdRule::BestMacroF1 => (best_macro.0, best_macro.1),
        ThresholdRule::BestF1 => best,
        ThresholdRule::Precision(_) => at_precision.unwrap_or(best),
    }
}

/// Platt's `(a, b)` by linfa's Newton method; if its line search gives up (it does on
/// nearly separable held-out scores), by a damped Newton method of our own on the same
/// regularized targets.
fn fit_platt(scores: ndarray::ArrayView1<f32>, is_flag: &Array1<bool>) -> (f64, f64) {
    let scores64: Array1<f64> = scores.mapv(f64::from);
    if let Ok(params) = linfa::composing::platt_scaling::PlattParams::<f64, ()>::default().check() {
        if let Ok((a, b)) = linfa::composing::platt_scaling::platt_newton_method(
            scores64.view(),
            is_flag.view(),
            &params,
        ) {
            if a.is_finite() && b.is_finite() {
                return (a, b);
            }
        }
    }
    let positives = is_flag.iter().filter(|&&f| f).count() as f64;
    let negatives = is_flag.len() as f64 - positives;
    let hi = (positives + 1.0) / (positives + 2.0);
    let lo = 1.0 / (negatives + 2.0);
    let targets: Vec<f64> = is_flag.iter().map(|&f| if f { hi } else { lo }).collect();
    let loss = |a: f64, b: f64| -> f64 {
        scores64
            .iter()
            .zip(&targets)
            .map(|(&s, &t)| {
                let f = a * s + b;
                // -[t ln p + (1-t) ln(1-p)] with p = 1 / (1 + e^f)
                if f >= 0.0 {
                    t * f + (-f).exp().ln_1p()
                } else {
                    (t - 1.0) * f + f.exp().ln_1p()
                }
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, ((negatives + 1.0) / (positives + 1.0)).ln());
    let mut current = loss(a, b);
    for _ in 0..100 {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (1e-12, 1e-12, 0.0, 0.0, 0.0);
        for (&s, &t) in scores64.iter().zip(&targets) {
            let p = 1.0 / (1.0 + (a * s + b).exp());
            let d2 = p * (1.0 - p);
            h11 += s * s * d2;
            h22 += d2;
            h21 += s * d2;
            g1 += s * (t - p);
            g2 += t - p;
        }
        let det = h11 * h22 - h21 * h21;
        if det.abs() < 1e-300 {
            break;
        }
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-10 {
            let candidate = loss(a + step * da, b + step * db);
            if candidate < current {
                a += step * da;
                b += step * db;
                current = candidate;
                improved = true;
                break;
            }
            step *= 0.5;
        }
        if !improved || (da.abs() < 1e-9 && db.abs() < 1e-9) {
            break;
        }
    }
    (a, b)
}

/// Temperature minimizing the log loss of `softmax(z / t)` (golden-section on ln t).
#[allow(
    clippy::indexing_slicing,
    reason = "indices come from loops over the model's own tables and their lengths, not from input"
)]
fn fit_temperature(margins: &Array2<f32>, targets: &[usize]) -> f64 {
    let nll = |log_t: f64| -> f64 {
        let t = log_t.exp();
        margins
            .rows()
            .into_iter()
            .zip(targets)
            .map(|(z, &y)| {
                let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f64 = z
                    .iter()
                    .map(|&v| ((f64::from(v) - f64::from(max)) / t).exp())
                    .sum();
                sum.ln() - (f64::from(z[y]) - f64::from(max)) / t
            })
            .sum()
    };
    let (mut lo, mut hi) = ((0.05f64).ln(), (20.0f64).ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let a = hi - ratio * (hi - lo);
        let b = lo + ratio * (hi - lo);
        if nll(a) < nll(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp()
}

struct Featurized {
    matrix: SparseMatrix,
    df: Vec<u32>,
    idf: Idf,
}

/// What the held-out folds say about one C: the calibration and threshold fitted on them,
/// and the figures of that decision rule.
struct HeldOut {
    calibration: Calibration,
    threshold: f32,
    metrics: HeldOutMetrics,
}

/// One C tried by [`Model::train_with_trials`] on the held-out folds.
///
/// ```
/// let trial = rumor_triage::CTrial { c: 10.0, log_loss: 0.23, macro_f1: 0.90 };
/// assert!(trial.log_loss < 1.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CTrial {
    /// The C.
    pub c: f64,
    /// Held-out log loss of the calibrated probabilities (the choice's criterion).
    pub log_loss: f64,
    /// Held-out macro-F1 at the threshold chosen on the same folds.
    pub macro_f1: f64,
}

/// Each training row's margins from the model fitted on the other folds.
fn held_out_margins(
    matrix: &SparseMatrix,
    targets: &[usize],
    sample_weights: &[f32],
    fold_of: &[usize],
    folds: usize,
    outputs: usize,
    params: &LogisticRegressionValidParams,
) -> Result<Array2<f32>, Error> {
    let fold_margins: Vec<Vec<(usize, Vec<f32>)>> = (0..folds)
        .into_par_iter()
        .map(|fold| -> Result<Vec<(usize, Vec<f32>)>, Error> {
            let in_fold = |i: &usize| fold_of.get(*i) == Some(&fold);
            let train_rows: Vec<usize> = (0..targets.len()).filter(|i| !in_fold(i)).collect();
            let test_rows: Vec<usize> = (0..targets.len()).filter(in_fold).collect();
            let data = DatasetBase::new(
                matrix.select(&train_rows),
                train_rows
                    .iter()
                    .map(|&i| targets.get(i).copied().unwrap_or(0))
                    .collect::<Array1<usize>>(),
            )
            .with_weights(
                train_rows
                    .iter()
                    .map(|&i| sample_weights.get(i).copied().unwrap_or(1.0))
                    .collect::<Array1<f32>>(),
            );
            let fitted = params.fit(&data)?;
            Ok(test_rows
                .iter()
                .map(|&row| {
                    let (idx, val) = matrix.row(row);
                    let mut margins = vec![0.0f32; outputs];
                    fitted.margins_into(idx, val, &mut margins);
                    (row, margins)
                })
                .collect())
        })
        .collect::<Result<_, Error>>()?;
    let mut held_out = Array2::<f32>::zeros((targets.len(), outputs));
    for (row, margins) in fold_margins.into_iter().flatten() {
        held_out
            .row_mut(row)
            .iter_mut()
            .zip(&margins)
            .for_each(|(h, m)| *h = *m);
    }
    Ok(held_out)
}

/// Fits the calibration and the threshold on held-out margins and measures the result.
fn assess_held_out(
    held_out: &Array2<f32>,
    targets: &[usize],
    positive: &[bool],
    n_labels: usize,
    rule: ThresholdRule,
) -> HeldOut {
    let calibration = if held_out.ncols() == 1 {
        let flag_is_second = positive.get(1).copied().unwrap_or(false);
        let toward_flag: Array1<f32> = held_out
            .column(0)
            .iter()
            .map(|&m| if flag_is_second { m } else { -m })
            .collect();
        let is_flag: Array1<bool> = targets
            .iter()
            .map(|&t| positive.get(t).copied().unwrap_or(false))
            .collect();
        let (a, b) = fit_platt(toward_flag.view(), &is_flag);
        Calibration::Platt { a, b }
    } else {
        Calibration::Temperature {
            t: fit_temperature(held_out, targets),
        }
    };
    let mut probs = Vec::new();
    let mut flag_scores = Vec::with_capacity(targets.len());
    let mut log_loss = 0.0;
    let mut held_probs = Vec::with_capacity(targets.len());
    for (row, &t) in held_out.rows().into_iter().zip(targets) {
        let margins: Vec<f32> = row.to_vec();
        probabilities_into(&calibration, positive, &margins, &mut probs);
        log_loss -= f64::from(probs.get(t).copied().unwrap_or(0.0).max(1e-12)).ln();
        let is_flag = positive.get(t).copied().unwrap_or(false);
        flag_scores.push((flag_probability(&probs, positive), is_flag));
        held_probs.push(probs.clone());
    }
    let (threshold, flagged_f1) = choose_threshold(&flag_scores, rule);
    let predicted: Vec<usize> = held_probs
        .iter()
        .zip(&flag_scores)
        .map(|(p, &(pf, _))| decide(p, positive, pf >= threshold))
        .collect();
    let (accuracy, macro_f1) = crate::eval::accuracy_and_macro_f1(targets, &predicted, n_labels);
    HeldOut {
        calibration,
        threshold,
        metrics: HeldOutMetrics {
            accuracy,
            macro_f1,
            flagged_f1,
            log_loss: log_loss / targets.len().max(1) as f64,
        },
    }
}

#[allow(
    clippy::indexing_slicing,
    reason = "indices come from loops over the model's own tables and their lengths, not from input"
)]
fn featurize_training(
    backend: &TokenizerBackend,
    config: &FeatureConfig,
    texts: &[&str],
    min_df: u32,
) -> Result<Featurized, Error> {
    let counts: Vec<SparseRow> = texts
        .par_iter()
        .map_init(Scratch::default, |scratch, text| {
            let mut row = SparseRow::default();
            features::count_ngrams(config, backend, text, scratch, &mut row).map(|_| row)
        })
        .collect::<Result<_, Error>>()?;
    let mut df = vec![0u32; config.buckets()];
    for row in &counts {
        for &b in &row.indices {
            df[b as usize] += 1;
        }
    }
    df.iter_mut().filter(|d| **d < min_df).for_each(|d| *d = 0);
    let idf = Idf::from_document_frequencies(&df, texts.len());
    let rows: Vec<SparseRow> = counts
        .into_par_iter()
        .map(|mut row| {
            features::weigh(config, |b| idf.get(b), &mut row);
            drop_rare(&mut row, &df);
            row
        })
        .collect();
    let mut matrix = SparseMatrix::new(config.buckets());
    for row in &rows {
        matrix.push(row)?;
    }
    Ok(Featurized { matrix, df, idf })
}

/// Removes the entries of buckets whose (pruned) document frequency is 0. The row keeps
/// the norm it had with them, exactly as at scoring time, where these buckets have no weight.
#[allow(
    clippy::indexing_slicing,
    reason = "indices come from loops over the model's own tables and their lengths, not from input"
)]
fn drop_rare(row: &mut SparseRow, df: &[u32]) {
    let mut kept = 0;
    for i in 0..row.indices.len() {
        if df[row.indices[i] as usize] > 0 {
            row.indices[kept] = row.indices[i];
            row.values[kept] = row.values[i];
            kept += 1;
        }
    }
    row.indices.truncate(kept);
    row.values.truncate(kept);
}

impl Model {
    /// Trains a model on labeled examples.
    ///
    /// Held-out scores from `options.folds` stratified folds choose C from
    /// `options.c_grid`, calibrate the probabilities and choose the threshold; then the
    /// final model is fitted on all examples. The same examples and options give the same
    /// model bytes with any number of threads.
    ///
    /// ```
    /// use rumor_triage::{Example, Model, TrainOptions};
    /// let examples: Vec<Example> = (0..40)
    ///     .map(|i| Example {
    ///         text: if i % 2 == 0 { format!("urgent share before deleted {i}") } else { format!("official report today {i}") },
    ///         label: if i % 2 == 0 { "rumor".into() } else { "non-rumor".into() },
    ///     })
    ///     .collect();
    /// let model = Model::train(&examples, &TrainOptions::default()).unwrap();
    /// let rumor = model.score("urgent: share before deleted").unwrap();
    /// let report = model.score("official report today").unwrap();
    /// assert!(rumor.probability > report.probability);
    /// assert_eq!(report.label, "non-rumor");
    /// ```
    pub fn train(examples: &[Example], options: &TrainOptions) -> Result<Self, Error> {
        Self::train_with_trials(examples, options).map(|(model, _)| model)
    }

    /// [`Model::train`], also returning each C the held-out folds tried, in the order
    /// tried (empty when `options.c_grid` is empty and `options.c` was used as given).
    ///
    /// ```
    /// use rumor_triage::{Example, Model, TrainOptions};
    /// let examples: Vec<Example> = (0..40)
    ///     .map(|i| Example {
    ///         text: if i % 2 == 0 { format!("urgent share before deleted {i}") } else { format!("official report today {i}") },
    ///         label: if i % 2 == 0 { "rumor".into() } else { "non-rumor".into() },
    ///     })
    ///     .collect();
    /// let (model, trials) = Model::train_with_trials(&examples, &TrainOptions::default()).unwrap();
    /// let best = trials.iter().map(|t| t.log_loss).fold(f64::INFINITY, f64::min);
    /// let chosen = trials.iter().find(|t| t.c == model.metadata().c).unwrap();
    /// assert_eq!(chosen.log_loss, best);
    /// ```
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from loops over the model's own tables and their lengths, not from input"
    )]
    pub fn train_with_trials(
        examples: &[Example],
        options: &TrainOptions,
    ) -> Result<(Self, Vec<CTrial>), Error> {
        options.features.validate()?;
        if options.folds < 2 {
            return Err(Error::invalid("folds must be at least 2"));
        }
        let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        labels.sort_unstable();
        labels.dedup();
        if labels.len() < 2 {
            return Err(Error::invalid(format!(
                "training needs at least two labels, found {:?}",
                labels
            )));
        }
        let positive: Vec<bool> = labels
            .iter()
            .map(|l| options.positive.contains(l))
            .collect();
        if let Some(missing) = options.positive.iter().find(|p| !labels.contains(p)) {
            return Err(Error::invalid(format!(
                "flagged label {missing:?} is not among the training labels {labels:?}"
            )));
        }
        if positive.iter().all(|&p| p) {
            return Err(Error::invalid("at least one label must be left unflagged"));
        }
        let targets: Vec<usize> = examples
            .iter()
            .map(|e| labels.binary_search(&e.label).unwrap_or(0))
            .collect();
        let mut label_counts = vec![0u64; labels.len()];
        for &t in &targets {
            label_counts[t] += 1;
        }
        if let Some(i) = label_counts
            .iter()
            .position(|&c| (c as usize) < options.folds)
        {
            return Err(Error::invalid(format!(
                "label {:?} has {} examples, fewer than the {} folds",
                labels[i], label_counts[i], options.folds
            )));
        }

        let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let (backend, tokenizer_json) = match &options.tokenizer {
            None => {
                let vocab = text::learn_vocabulary(texts.iter().copied(), options.min_word_count);
                let json = text::builtin_tokenizer(&vocab)?
                    .to_string(false)
                    .map_err(Error::Tokenizer)?;
                let fast = FastTokenizer::for_features(&vocab, &options.features);
                (TokenizerBackend::Builtin(fast), json)
            }
            Some(tokenizer) => (
                TokenizerBackend::Custom(Box::new(tokenizer.clone())),
                tokenizer.to_string(false).map_err(Error::Tokenizer)?,
            ),
        };
        let featurized = featurize_training(&backend, &options.features, &texts, options.min_df)?;
        let (matrix, columns) = featurized.matrix.compact_columns();

        let sample_weights: Vec<f32> = match options.class_weight {
            ClassWeight::Uniform => vec![1.0; targets.len()],
            ClassWeight::Balanced => targets
                .iter()
                .map(|&t| {
                    (targets.len() as f64 / (labels.len() as f64 * label_counts[t] as f64)) as f32
                })
                .collect(),
        };
        let params_for = |c: f64| {
            LogisticRegressionParams::new(labels.len())
                .loss(options.loss)
                .c(c)
                .max_iterations(options.max_iterations)
                .tolerance(options.tolerance)
                .seed(options.seed)
                .check()
        };

        // Held-out margins for the choice of C, the calibration and the threshold.
        let (fold_of, folds) = match &options.calibration_groups {
            None => (
                stratified_folds(&targets, options.folds, options.seed),
                options.folds,
            ),
            Some(groups) => {
                if groups.len() != targets.len() {
                    return Err(Error::invalid(format!(
                        "{} calibration groups for {} examples",
                        groups.len(),
                        targets.len()
                    )));
                }
                group_folds(groups, options.folds)?
            }
        };
        let outputs = if labels.len() == 2 { 1 } else { labels.len() };
        let held_out_at = |c: f64| -> Result<HeldOut, Error> {
            let params = params_for(c)?;
            let margins = held_out_margins(
                &matrix,
                &targets,
                &sample_weights,
                &fold_of,
                folds,
                outputs,
                &params,
            )?;
            Ok(assess_held_out(
                &margins,
                &targets,
                &positive,
                labels.len(),
                options.threshold,
            ))
        };
        let mut c_trials = Vec::new();
        let (c, held) = if options.c_grid.is_empty() {
            (options.c, held_out_at(options.c)?)
        } else {
            let mut grid = options.c_grid.clone();
            grid.sort_by(f64::total_cmp);
            grid.dedup();
            let mut best: Option<(f64, HeldOut)> = None;
            for c in grid {
                let held = held_out_at(c)?;
                c_trials.push(CTrial {
                    c,
                    log_loss: held.metrics.log_loss,
                    macro_f1: held.metrics.macro_f1,
                });
                match &best {
                    Some((_, b)) if held.metrics.log_loss >= b.metrics.log_loss => break,
                    _ => best = Some((c, held)),
                }
            }
            best.ok_or_else(|| Error::invalid("the C grid is empty"))?
        };
        let params = params_for(c)?;
        let HeldOut {
            calibration,
            threshold,
            metrics,
        } = held;

        let data = DatasetBase::new(matrix, Array1::from_vec(targets))
            .with_weights(Array1::from_vec(sample_weights));
        let linear = params
            .fit(&data)?
            .expand_columns(&columns, featurized.matrix.nfeatures());
        let metadata = TrainingMetadata {
            trainer_version: env!("CARGO_PKG_VERSION").to_owned(),
            data_digest: digest(examples),
            examples: examples.len() as u64,
            label_counts,
            seed: options.seed,
            c,
            loss: options.loss,
            class_weight: options.class_weight,
            grouped_calibration: options.calibration_groups.is_some(),
            folds: folds as u64,
            iterations: linear.iterations as u64,
            threshold_rule: options.threshold,
            held_out: metrics,
            notes: String::new(),
        };
        let scoring_table = scoring_table(&linear.weights, |b| featurized.idf.get(b));
        let model = Self {
            scoring_table,
            sublinear_tf: sublinear_tf_table(),
            tokenizer: backend,
            tokenizer_json,
            features: options.features.clone(),
            n_docs: examples.len() as u64,
            df: nonzero_document_frequencies(&featurized.df),
            labels,
            positive,
            linear,
            calibration,
            threshold,
            metadata,
        };
        Ok((model, c_trials))
    }

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

    /// The token backend.
    pub fn tokenizer(&self) -> &TokenizerBackend {
        &self.tokenizer
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

    /// The idf of bucket `b`, from the scoring table (1.0 outside it).
    fn idf(&self, b: u32) -> f32 {
        let stride = self.linear.outputs() + 1;
        self.scoring_table
            .get(b as usize * stride)
            .copied()
            .unwrap_or(1.0)
    }

    /// Hashed n-gram counts of `text` into `workspace.row`.
    fn count(&self, text: &str, workspace: &mut Workspace) -> Result<(), Error> {
        features::count_ngrams(
            &self.features,
            &self.tokenizer,
            text,
            &mut workspace.features,
            &mut workspace.row,
        )
        .map(|_| ())
    }

    /// The weighted feature row of `text` (sorted buckets, tf·idf, L2-normalized).
    pub fn featurize(&self, text: &str, workspace: &mut Workspace) -> Result<(), Error> {
        self.count(text, workspace)?;
        features::weigh(&self.features, |b| self.idf(b), &mut workspace.row);
        Ok(())
    }

    /// The feature row computed by the last [`Model::featurize`] into `workspace`.
    pub fn row<'w>(&self, workspace: &'w Workspace) -> &'w SparseRow {
        &workspace.row
    }

    /// Calibrated probability of each label of `text`, in [`Model::labels`] order.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let p = model.probabilities("Breaking: is it true the bridge collapsed?").unwrap();
    /// assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    /// ```
    pub fn probabilities(&self, text: &str) -> Result<Vec<f32>, Error> {
        let mut workspace = Workspace::default();
        self.score_with(text, &mut workspace, None)?;
        Ok(workspace.probabilities)
    }

    /// Scores one text with the stored threshold.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let score = model.score("网传明天有地震，请转发").unwrap();
    /// assert!((0.0..=1.0).contains(&score.probability));
    /// ```
    pub fn score(&self, text: &str) -> Result<Score, Error> {
        self.score_with(text, &mut Workspace::default(), None)
    }

    /// Scores one text reusing `workspace`; `threshold` overrides the stored one.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let mut workspace = rumor_triage::Workspace::default();
    /// let strict = model.score_with("is this true?", &mut workspace, Some(1.0)).unwrap();
    /// assert!(!strict.flagged || strict.probability >= 1.0);
    /// ```
    pub fn score_with(
        &self,
        text: &str,
        workspace: &mut Workspace,
        threshold: Option<f32>,
    ) -> Result<Score, Error> {
        let decided = self.decide_with(text, workspace, threshold, false)?;
        Ok(self.score_of(decided))
    }

    /// The [`Score`] of what [`Model::decide_with`] decided: label index, probability, flag.
    fn score_of(&self, (label, probability, flagged): (usize, f32, bool)) -> Score {
        Score {
            label: self.labels.get(label).cloned().unwrap_or_default(),
            probability,
            flagged,
        }
    }

    /// [`Model::score_with`] with the label as its index in [`Model::labels`], so a batch
    /// job does not copy the label's name once per post. With `keep_counts` the text's
    /// n-gram counts stay in the workspace for [`Model::explain_scored`].
    pub(crate) fn decide_with(
        &self,
        text: &str,
        workspace: &mut Workspace,
        threshold: Option<f32>,
        keep_counts: bool,
    ) -> Result<(usize, f32, bool), Error> {
        let Workspace {
            features,
            row,
            margins,
            probabilities,
            signature,
            ..
        } = workspace;
        row.indices.clear();
        row.values.clear();
        *signature = Signature::default();
        let keep = |bucket: u32, count: f32| {
            signature.add(bucket);
            if keep_counts {
                row.indices.push(bucket);
                row.values.push(count);
            }
        };
        self.fused_margins(text, features, keep_counts, keep, margins)?;
        probabilities_into(&self.calibration, &self.positive, margins, probabilities);
        let probability = flag_probability(probabilities, &self.positive);
        let flagged = probability >= threshold.unwrap_or(self.threshold);
        let label = decide(probabilities, &self.positive, flagged);
        Ok((label, probability, flagged))
    }

    /// Margins of `text` as its n-grams are counted: tf · idf, the norm and the dot product
    /// in the one walk over the distinct buckets (the same value as [`Model::featurize`]
    /// then the dot product, up to rounding order). Each bucket and its raw count also go
    /// to `keep`; with `name_tokens` the tokens' texts stay in `scratch`.
    #[inline]
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from loops over the model's own tables and their lengths, not from input"
    )]
    fn fused_margins(
        &self,
        text: &str,
        scratch: &mut features::Scratch,
        name_tokens: bool,
        mut keep: impl FnMut(u32, f32),
        margins: &mut Vec<f32>,
    ) -> Result<(), Error> {
        let k = self.linear.outputs();
        let stride = k + 1;
        margins.clear();
        margins.resize(k, 0.0);
        let mut norm = 0.0f32;
        let sublinear = self.features.sublinear_tf;
        let small = &self.sublinear_tf;
        let tf_of = |count: f32| {
            if !sublinear || count == 1.0 {
                count
            } else {
                match small.get(count as usize) {
                    Some(&tf) => tf,
                    None => 1.0 + count.ln(),
                }
            }
        };
        let (config, tokenizer, table) = (&self.features, &self.tokenizer, &self.scoring_table);
        if let [margin] = margins.as_mut_slice() {
            // A binary model: pairs of (idf, weight), with the stride known to the compiler.
            features::for_each_ngram_count(
                config,
                tokenizer,
                text,
                scratch,
                name_tokens,
                |b| {
                    if let Some(entry) = table.get(b as usize * 2) {
                        features::prefetch(entry);
                    }
                },
                |b, count| {
                    keep(b, count);
                    let start = b as usize * 2;
                    if let Some(&[idf, w]) = table.get(start..start + 2) {
                        let v = tf_of(count) * idf;
                        norm += v * v;
                        *margin += v * w;
                    }
                },
            )?;
        } else {
            features::for_each_ngram_count(
                config,
                tokenizer,
                text,
                scratch,
                name_tokens,
                |b| {
                    if let Some(entry) = table.get(b as usize * stride) {
                        features::prefetch(entry);
                    }
                },
                |b, count| {
                    keep(b, count);
                    let start = b as usize * stride;
                    if let Some(entry) = table.get(start..start + stride) {
                        let v = tf_of(count) * entry[0];
                        norm += v * v;
                        for (m, w) in margins.iter_mut().zip(&entry[1..]) {
                            *m += v * w;
                        }
                    }
                },
            )?;
        }
        let scale = if norm > 0.0 { norm.sqrt().recip() } else { 0.0 };
        for (m, b) in margins.iter_mut().zip(self.linear.bias.iter()) {
            *m = *m * scale + b;
        }
        Ok(())
    }

    /// The `k` n-grams of `text` that moved its score most, with their contributions.
    ///
    /// Contributions are toward the flagged side: for a binary model they are the terms of
    /// the margin, so `bias + Σ all contributions = margin`; for a multi-class model, the
    /// terms of (mean flagged-label logit − mean other logit).
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let why = model.explain("Unconfirmed reports: gunman still inside?", 3).unwrap();
    /// assert!(why.top.len() <= 3);
    /// ```
    pub fn explain(&self, text: &str, k: usize) -> Result<Explanation, Error> {
        let mut workspace = Workspace::default();
        let decided = self.decide_with(text, &mut workspace, None, true)?;
        let score = self.score_of(decided);
        self.explain_scored(k, &mut workspace, score)
    }

    /// [`Model::explain`] of the text just scored as `score` in `workspace` by
    /// [`Model::decide_with`] with `keep_counts` (so the workspace still holds its n-gram
    /// counts, tokens and token texts): a batch job that explains the posts it flagged
    /// neither counts their n-grams nor tokenizes them again. The n-grams are named only for
    /// the `k` buckets kept.
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from loops over the model's own tables and their lengths, not from input"
    )]
    pub(crate) fn explain_scored(
        &self,
        k: usize,
        workspace: &mut Workspace,
        score: Score,
    ) -> Result<Explanation, Error> {
        let Workspace {
            row,
            explain,
            features: scratch,
            ..
        } = workspace;
        let ExplainScratch {
            terms,
            kept,
            padded,
            boundaries,
        } = explain;
        features::weigh(&self.features, |b| self.idf(b), row);
        let direction = self.flag_direction();
        let bias: f32 = self
            .linear
            .bias
            .iter()
            .zip(&direction)
            .map(|(b, d)| b * d)
            .sum();
        let outputs = self.linear.outputs();
        terms.clear();
        terms.extend(
            row.indices
                .iter()
                .zip(&row.values)
                .map(|(&bucket, &value)| {
                    let w = self.linear.weights.row(bucket as usize);
                    let weight: f32 = (0..outputs).map(|o| w[o] * direction[o]).sum();
                    (bucket, value * weight)
                }),
        );
        let margin = bias + terms.iter().map(|&(_, c)| c).sum::<f32>();
        let features = terms.len();
        // Largest first, ties by bucket: a total order, so the kept set does not depend on
        // the selection algorithm.
        let larger =
            |a: &(u32, f32), b: &(u32, f32)| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0));
        if k < terms.len() {
            terms.select_nth_unstable_by(k, larger);
            terms.truncate(k);
        }
        terms.sort_by(larger);
        kept.clear();
        kept.extend(terms.iter().map(|&(bucket, _)| bucket));
        kept.sort_unstable();
        // Which n-grams of this text fell into each kept bucket: the token n-grams, then the
        // character n-grams of its words.
        let mut names: Vec<Vec<String>> = vec![Vec::new(); kept.len()];
        // The tokens and their texts as the scoring just counted them.
        let (keys, leads, named) = (scratch.keys(), scratch.leads(), scratch.names());
        let is_kept = |b: &u32| kept.binary_search(b).is_ok();
        let mut subwords: Vec<(usize, String)> = Vec::new();
        for token in &named.tokens {
            let Some(word) = token.word.clone().and_then(|w| named.text.get(w)) else {
                continue;
            };
            let buckets = scratch.subwords().get(token.subwords.clone());
            if !buckets.unwrap_or_default().iter().any(is_kept) {
                continue;
            }
            features::for_each_subword(&self.features, word, padded, boundaries, |b, g| {
                if let Ok(at) = kept.binary_search(&b) {
                    subwords.push((at, subword_name(g, word)));
                }
            });
        }
        let mut add_name = |at: usize, gram: String| {
            let entry = &mut names[at];
            if !entry.contains(&gram) {
                entry.push(gram);
            }
        };
        features::for_each_placed_bucket(&self.features, keys, leads, |bucket, start, len| {
            if let Ok(at) = kept.binary_search(&bucket) {
                let mut gram = String::new();
                for (i, token) in named.tokens[start..start + len].iter().enumerate() {
                    if i > 0 {
                        gram.push(' ');
                    }
                    gram.push_str(&named.text[token.text.clone()]);
                }
                add_name(at, gram);
            }
        });
        subwords
            .into_iter()
            .for_each(|(at, gram)| add_name(at, gram));
        let top = terms
            .iter()
            .map(|&(bucket, contribution)| Contribution {
                ngram: kept
                    .binary_search(&bucket)
                    .ok()
                    .and_then(|at| names.get(at))
                    .map(|n| n.join(" | "))
                    .unwrap_or_default(),
                bucket,
                contribution,
            })
            .collect();
        Ok(Explanation {
            score,
            margin,
            bias,
            top,
            features,
        })
    }

    /// Coefficients that turn the outputs into one margin toward the flagged side.
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from loops over the model's own tables and their lengths, not from input"
    )]
    fn flag_direction(&self) -> Vec<f32> {
        if self.linear.outputs() == 1 {
            return vec![if self.positive[1] { 1.0 } else { -1.0 }];
        }
        let flagged = self.positive.iter().filter(|&&p| p).count() as f32;
        let others = self.positive.len() as f32 - flagged;
        self.positive
            .iter()
            .map(|&p| if p { 1.0 / flagged } else { -1.0 / others })
            .collect()
    }

    /// The model file's bytes (what [`Model::save`] writes and [`Model::from_bytes`] reads).
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let bytes = model.to_bytes().unwrap();
    /// assert_eq!(&bytes[..8], rumor_triage::model::MAGIC);
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("copy.rtm");
    /// model.save(&path).unwrap();
    /// assert_eq!(rumor_triage::Model::load(&path).unwrap().to_bytes().unwrap(), bytes);
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let (df_indices, df_values): (Vec<u32>, Vec<u32>) = self.df.iter().copied().unzip();
        let outputs = self.linear.outputs();
        let mut weight_indices = Vec::new();
        let mut weight_values = Vec::new();
        for (j, row) in self.linear.weights.rows().into_iter().enumerate() {
            if row.iter().any(|&w| w != 0.0) {
                weight_indices.push(j as u32);
                weight_values.extend(row.iter().copied());
            }
        }
        let payload = Payload {
            tokenizer_json: self.tokenizer_json.clone(),
            builtin_tokenizer: self.uses_builtin_tokenizer(),
            features: self.features.clone(),
            n_docs: self.n_docs,
            df_indices: delta_encode(&df_indices),
            df_values,
            labels: self.labels.clone(),
            positive: self.positive.clone(),
            outputs: outputs as u32,
            weight_indices: delta_encode(&weight_indices),
            weight_values,
            bias: self.linear.bias.to_vec(),
            calibration: self.calibration,
            threshold: self.threshold,
            metadata: self.metadata.clone(),
        };
        let body = postcard::to_stdvec(&payload)
            .map_err(|e| Error::invalid(format!("encoding model: {e}")))?;
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Writes the model file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        std::fs::write(path, self.to_bytes()?).map_err(|e| Error::io(path, e))
    }

    /// Reads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes)
    }

    /// The shipped default model (`models/default.rtm`, compiled into the library), for
    /// Chinese and English posts alike.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// assert!(model.labels().contains(&"rumor".to_string()));
    /// ```
    pub fn load_default() -> Result<Self, Error> {
        Self::from_bytes(DEFAULT_MODEL)
    }

    /// Parses and verifies a model file's bytes.
    ///
    /// ```
    /// use rumor_triage::{Error, Model};
    /// assert!(matches!(Model::from_bytes(b"not a model"), Err(Error::NotAModel)));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err(Error::NotAModel);
        }
        let version_bytes: [u8; 4] =
            bytes
                .get(8..12)
                .and_then(|b| b.try_into().ok())
                .ok_or(Error::Truncated {
                    expected: HEADER_LEN as u64,
                    found: bytes.len() as u64,
                })?;
        let version = u32::from_le_bytes(version_bytes);
        if version > FORMAT_VERSION || version == 0 {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version < FORMAT_VERSION {
            return Err(Error::RetiredVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let header = bytes.get(..HEADER_LEN).ok_or(Error::Truncated {
            expected: HEADER_LEN as u64,
            found: bytes.len() as u64,
        })?;
        let (fixed, checksum) = header.split_at(20);
        let (_, len_bytes) = fixed.split_at(12);
        let mut length = [0u8; 8];
        length.copy_from_slice(len_bytes);
        let expected = u64::from_le_bytes(length);
        let (_, body) = bytes.split_at(HEADER_LEN);
        if body.len() as u64 != expected {
            return Err(Error::Truncated {
                expected,
                found: body.len() as u64,
            });
        }
        if Sha256::digest(body).as_slice() != checksum {
            return Err(Error::ChecksumMismatch);
        }
        let payload: Payload = postcard::from_bytes(body)
            .map_err(|e| Error::CorruptModel(format!("payload does not decode: {e}")))?;
        Self::from_payload(payload)
    }

    fn from_payload(p: Payload) -> Result<Self, Error> {
        let bad = |m: &str| Error::CorruptModel(m.to_owned());
        p.features
            .validate()
            .map_err(|e| Error::CorruptModel(e.to_string()))?;
        let buckets = p.features.buckets();
        if p.labels.len() < 2 || p.positive.len() != p.labels.len() {
            return Err(bad("labels and flagged labels do not match"));
        }
        if !p.labels.is_sorted_by(|a, b| a < b) {
            return Err(bad("labels are not sorted and unique"));
        }
        if !p.positive.iter().any(|&x| x) || p.positive.iter().all(|&x| x) {
            return Err(bad("flagged labels must be a proper, non-empty subset"));
        }
        let outputs = if p.labels.len() == 2 {
            1
        } else {
            p.labels.len()
        };
        if p.outputs as usize != outputs || p.bias.len() != outputs {
            return Err(bad("output count does not match the labels"));
        }
        let df_indices = delta_decode(&p.df_indices, buckets)
            .ok_or_else(|| bad("document-frequency indices out of range"))?;
        if df_indices.len() != p.df_values.len() {
            return Err(bad("document-frequency table lengths differ"));
        }
        let weight_indices = delta_decode(&p.weight_indices, buckets)
            .ok_or_else(|| bad("weight indices out of range"))?;
        if weight_indices.len().checked_mul(outputs) != Some(p.weight_values.len()) {
            return Err(bad("weight table lengths differ"));
        }
        if !p.weight_values.iter().chain(&p.bias).all(|w| w.is_finite()) {
            return Err(bad("non-finite weight"));
        }
        match p.calibration {
            Calibration::Platt { a, b } if a.is_finite() && b.is_finite() && outputs == 1 => {}
            Calibration::Temperature { t } if t.is_finite() && t > 0.0 && outputs > 1 => {}
            _ => return Err(bad("calibration does not fit the model")),
        }
        if !(0.0..=1.0).contains(&p.threshold) {
            return Err(bad("threshold outside [0, 1]"));
        }
        let df: Vec<(u32, u32)> = df_indices.into_iter().zip(p.df_values).collect();
        if df.iter().any(|&(_, d)| u64::from(d) > p.n_docs) {
            return Err(bad("document frequency above the document count"));
        }
        let mut weights = Array2::<f32>::zeros((buckets, outputs));
        for (&j, values) in weight_indices
            .iter()
            .zip(p.weight_values.chunks_exact(outputs))
        {
            for (o, &value) in values.iter().enumerate() {
                let slot = weights
                    .get_mut((j as usize, o))
                    .ok_or_else(|| bad("weight index out of range"))?;
                *slot = value;
            }
        }
        let tokenizer = text::parse_tokenizer_json(p.tokenizer_json.as_bytes())
            .map_err(|e| Error::CorruptModel(format!("tokenizer.json does not load: {e}")))?;
        let backend = if p.builtin_tokenizer {
            let vocab = text::builtin_vocab_of(&tokenizer)?
                .ok_or_else(|| bad("tokenizer marked built-in is not the built-in pipeline"))?;
            TokenizerBackend::Builtin(FastTokenizer::for_features(&vocab, &p.features))
        } else {
            TokenizerBackend::Custom(Box::new(tokenizer))
        };
        let linear = LogisticRegression {
            weights,
            bias: Array1::from_vec(p.bias),
            iterations: p.metadata.iterations as usize,
        };
        // Every bucket gets the idf of a never-seen one, then the seen ones theirs; the values
        // are those of `Idf::from_document_frequencies`, bit for bit.
        let never_seen = Idf::from_document_frequencies(&[0], p.n_docs as usize).get(0);
        let mut scoring_table = scoring_table(&linear.weights, |_| never_seen);
        let seen_df: Vec<u32> = df.iter().map(|&(_, d)| d).collect();
        let seen_idf = Idf::from_document_frequencies(&seen_df, p.n_docs as usize);
        let stride = outputs + 1;
        for (&(b, _), &idf) in df.iter().zip(&seen_idf.values) {
            if let Some(slot) = scoring_table.get_mut(b as usize * stride) {
                *slot = idf;
            }
        }
        Ok(Self {
            scoring_table,
            sublinear_tf: sublinear_tf_table(),
            tokenizer: backend,
            tokenizer_json: p.tokenizer_json,
            features: p.features,
            n_docs: p.n_docs,
            df,
            labels: p.labels,
            positive: p.positive,
            linear,
            calibration: p.calibration,
            threshold: p.threshold,
            metadata: p.metadata,
        })
    }
}

/// The label index decided for calibrated `probabilities`.
fn decide(probabilities: &[f32], positive: &[bool], flagged: bool) -> usize {
    if probabilities.len() == 2 {
        let flag_index = usize::from(positive.get(1).copied().unwrap_or(false));
        return if flagged { flag_index } else { 1 - flag_index };
    }
    crate::linear::argmax(probabilities.iter().copied())
}

fn delta_encode(sorted: &[u32]) -> Vec<u32> {
    let mut prev = 0;
    sorted
        .iter()
        .map(|&v| {
            let d = v - prev;
            prev = v;
            d
        })
        .collect()
}

/// Undoes [`delta_encode`]; `None` if an index reaches `limit` or the order breaks.
fn delta_decode(deltas: &[u32], limit: usize) -> Option<Vec<u32>> {
    let mut out = Vec::with_capacity(deltas.len().min(limit));
    let mut value: u64 = 0;
    for (n, &d) in deltas.iter().enumerate() {
        if n > 0 && d == 0 {
            return None;
        }
        value += u64::from(d);
        if value >= limit as u64 {
            return None;
        }
        out.push(value as u32);
    }
    Some(out)
}

/// How an explanation shows a character n-gram of a word: the word's framing spaces as
/// `<` and `>`, as fastText writes its subwords.
/// A character n-gram as fastText writes it (`<` and `>` for the word's ends), with the
/// word it came from, so that a reviewer sees which word of the post it stands for.
fn subword_name(gram: &str, word: &str) -> String {
    let (start, gram) = gram
        .strip_prefix(' ')
        .map_or(("", gram), |rest| ("<", rest));
    let (gram, end) = gram
        .strip_suffix(' ')
        .map_or((gram, ""), |rest| (rest, ">"));
    format!("{start}{gram}{end} (in {word})")
}

/// The bytes of `models/default.rtm`.
pub(crate) static DEFAULT_MODEL: &[u8] = include_bytes!("../models/default.rtm");
