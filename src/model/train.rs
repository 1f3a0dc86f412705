//! Training: featurize the examples, fit on held-out folds to choose C, calibrate and set
//! the threshold, then fit on everything.

use linfa::dataset::{DatasetBase, Records};
use linfa::traits::Fit;
use linfa::ParamGuard;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::calibrate::{
    choose_threshold, fit_platt, fit_temperature, flag_probability, probabilities_into, Calibration,
};
use super::format::nonzero_document_frequencies;
use super::score::decide;
use super::{scoring_table, sublinear_tf_table, Model};
use crate::error::Error;
use crate::features::{self, FeatureConfig, Idf, Scratch, SparseRow};
use crate::learn::folds::{group_folds, stratified_folds};
use crate::learn::{
    accuracy_and_macro_f1, ClassWeight, LogisticRegressionParams, LogisticRegressionValidParams,
    Loss, SparseMatrix,
};
use crate::text::{self, CustomTokenizer, TokenizerBackend};

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
#[non_exhaustive]
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
#[non_exhaustive]
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
    pub tokenizer: Option<CustomTokenizer>,
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

/// Setters, so that options read as a chain: `TrainOptions::default().c(1.0).folds(3)`.
///
/// ```
/// use rumor_triage::{Loss, TrainOptions};
/// let options = TrainOptions::default().loss(Loss::SquaredHinge).c(1.0).seed(7);
/// assert!(options.c_grid.is_empty());
/// assert_eq!((options.c, options.seed), (1.0, 7));
/// ```
impl TrainOptions {
    /// Sets [`TrainOptions::features`].
    pub fn features(mut self, features: FeatureConfig) -> Self {
        self.features = features;
        self
    }

    /// Uses this C as given: sets [`TrainOptions::c`] and empties the C grid.
    pub fn c(mut self, c: f64) -> Self {
        self.c = c;
        self.c_grid.clear();
        self
    }

    /// Sets [`TrainOptions::c_grid`], the C values to choose from.
    pub fn c_grid(mut self, grid: Vec<f64>) -> Self {
        self.c_grid = grid;
        self
    }

    /// Sets [`TrainOptions::loss`].
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// Sets [`TrainOptions::class_weight`].
    pub fn class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.class_weight = class_weight;
        self
    }

    /// Sets [`TrainOptions::positive`], the labels whose posts get flagged.
    pub fn positive(mut self, labels: Vec<String>) -> Self {
        self.positive = labels;
        self
    }

    /// Sets [`TrainOptions::folds`].
    pub fn folds(mut self, folds: usize) -> Self {
        self.folds = folds;
        self
    }

    /// Sets [`TrainOptions::min_word_count`].
    pub fn min_word_count(mut self, count: u64) -> Self {
        self.min_word_count = count;
        self
    }

    /// Sets [`TrainOptions::min_df`].
    pub fn min_df(mut self, min_df: u32) -> Self {
        self.min_df = min_df;
        self
    }

    /// Sets [`TrainOptions::threshold`], the threshold rule.
    pub fn threshold(mut self, rule: ThresholdRule) -> Self {
        self.threshold = rule;
        self
    }

    /// Sets [`TrainOptions::seed`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`TrainOptions::max_iterations`].
    pub fn max_iterations(mut self, passes: usize) -> Self {
        self.max_iterations = passes;
        self
    }

    /// Sets [`TrainOptions::tolerance`].
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Trains with this tokenizer instead of the built-in pipeline.
    pub fn tokenizer(mut self, tokenizer: CustomTokenizer) -> Self {
        self.tokenizer = Some(tokenizer);
        self
    }

    /// Sets [`TrainOptions::calibration_groups`], one group per training example.
    pub fn calibration_groups(mut self, groups: Vec<String>) -> Self {
        self.calibration_groups = Some(groups);
        self
    }
}

/// Figures measured on the held-out folds of the training data, stored in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    /// True and false positive rates of the flag at `threshold`.
    rates: (f32, f32),
}

/// The share of flagged-label scores at or above `threshold`, and of the others.
fn flag_rates(flag_scores: &[(f32, bool)], threshold: f32) -> (f32, f32) {
    let rate = |of_flag: bool| {
        let (mut above, mut all) = (0u64, 0u64);
        for &(p, _) in flag_scores.iter().filter(|(_, f)| *f == of_flag) {
            all += 1;
            above += u64::from(p >= threshold);
        }
        (above as f64 / all.max(1) as f64) as f32
    };
    (rate(true), rate(false))
}

/// One C tried by [`Model::train_with_trials`] on the held-out folds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
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
    let rates = flag_rates(&flag_scores, threshold);
    let predicted: Vec<usize> = held_probs
        .iter()
        .zip(&flag_scores)
        .map(|(p, &(pf, _))| decide(p, positive, pf >= threshold))
        .collect();
    let (accuracy, macro_f1) = accuracy_and_macro_f1(targets, &predicted, n_labels);
    HeldOut {
        calibration,
        threshold,
        rates,
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
            features::weigh(config, |b| idf_in_norm(config, &df, &idf, b), &mut row);
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

/// The idf a row is weighed with: 0 for a bucket unseen in training (or pruned by
/// `min_df`) unless [`FeatureConfig::unseen_in_norm`], so training rows are normalized as
/// scoring will normalize them.
fn idf_in_norm(config: &FeatureConfig, df: &[u32], idf: &Idf, b: u32) -> f32 {
    if !config.unseen_in_norm && df.get(b as usize).copied().unwrap_or(0) == 0 {
        0.0
    } else {
        idf.get(b)
    }
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
            return Err(Error::invalid_option("folds", "must be at least 2"));
        }
        let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        labels.sort_unstable();
        labels.dedup();
        if labels.len() < 2 {
            return Err(Error::too_few(
                format!("labels (found {labels:?})"),
                2,
                labels.len(),
            ));
        }
        let positive: Vec<bool> = labels
            .iter()
            .map(|l| options.positive.contains(l))
            .collect();
        if let Some(missing) = options.positive.iter().find(|p| !labels.contains(p)) {
            return Err(Error::invalid_option(
                "positive",
                format!("flagged label {missing:?} is not among the training labels {labels:?}"),
            ));
        }
        if positive.iter().all(|&p| p) {
            return Err(Error::invalid_option(
                "positive",
                "at least one label must be left unflagged",
            ));
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
            return Err(Error::too_few(
                format!(
                    "examples of label {:?} for {} folds",
                    labels[i], options.folds
                ),
                options.folds,
                label_counts[i] as usize,
            ));
        }

        let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let (backend, tokenizer_json) = match &options.tokenizer {
            None => {
                let vocab = text::learn_vocabulary(texts.iter().copied(), options.min_word_count);
                let json = text::builtin_tokenizer(&vocab)?
                    .to_string(false)
                    .map_err(Error::Tokenizer)?;
                let fast = features::cached_tokenizer(&vocab, &options.features);
                (TokenizerBackend::Builtin(fast), json)
            }
            Some(tokenizer) => (tokenizer.backend(), tokenizer.to_json()?),
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
                    return Err(Error::input(format!(
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
            best.ok_or_else(|| Error::invalid_option("c_grid", "is empty"))?
        };
        let params = params_for(c)?;
        let HeldOut {
            calibration,
            threshold,
            metrics,
            rates,
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
        let scoring_table = scoring_table(&linear.weights, |b| {
            idf_in_norm(&options.features, &featurized.df, &featurized.idf, b)
        });
        let model = Self {
            scoring_table,
            sublinear_tf: sublinear_tf_table(),
            non_content: features::non_content_hashes(options.features.seed),
            held_out_rates: Some(rates),
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
}
