//! Evaluation protocols (`rumor-triage eval`) and cross-validated tuning (`train --tune`).
//!
//! Random splits overestimate rumor detectors: on PHEME a TF-IDF logistic regression gets
//! macro-F1 0.86 on a random split and 0.62 leaving one event out (`../shared/data`
//! README). So beside a given test set this module offers stratified k-fold,
//! leave-one-group-out and chronological splits. Every protocol trains each split with the
//! same [`TrainOptions`] as `rumor-triage train`, trains only on that split's training
//! side, and is deterministic for a seed.

use rayon::prelude::*;
use serde::Serialize;

use super::metrics::{Predictions, Report};
use crate::error::Error;
use crate::learn::folds::stratified_folds;
use crate::model::{Example, Model, TrainOptions, Workspace};

/// Which items train and which test, in one round of a protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The round's name: `fold 3`, the held-out group, or `chronological`.
    pub name: String,
    /// Indices of the training items.
    pub train: Vec<usize>,
    /// Indices of the test items.
    pub test: Vec<usize>,
}

/// Stratified k-fold splits: each label's items are shuffled with `seed` and dealt to the
/// folds in turn, so folds are disjoint, cover every item and keep the label mix.
///
/// ```
/// let labels: Vec<String> = ["a", "a", "b", "b"].map(String::from).to_vec();
/// let splits = rumor_triage::eval::kfold_splits(&labels, 2, 7).unwrap();
/// assert_eq!(splits.len(), 2);
/// assert_eq!(splits[0].test.len() + splits[1].test.len(), 4);
/// ```
pub fn kfold_splits(labels: &[String], folds: usize, seed: u64) -> Result<Vec<Split>, Error> {
    if folds < 2 || folds > labels.len() {
        return Err(Error::invalid_option(
            "k",
            format!(
                "k-fold needs 2 <= k <= items, got k = {folds} for {} items",
                labels.len()
            ),
        ));
    }
    let names = distinct(labels);
    let targets: Vec<usize> = labels
        .iter()
        .map(|l| names.binary_search(l).unwrap_or(0))
        .collect();
    let fold_of = stratified_folds(&targets, folds, seed);
    Ok((0..folds)
        .map(|fold| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..labels.len()).partition(|&i| fold_of.get(i) == Some(&fold));
            Split {
                name: format!("fold {}", fold + 1),
                train,
                test,
            }
        })
        .collect())
}

/// Leave-one-group-out splits: for each held-out group (all groups, in sorted order, when
/// `held_out` is empty), test on its items and train on every other item.
///
/// ```
/// let groups: Vec<String> = ["x", "y", "x", "z"].map(String::from).to_vec();
/// let splits = rumor_triage::eval::group_splits(&groups, &["x".into()]).unwrap();
/// assert_eq!((splits[0].test.clone(), splits[0].train.clone()), (vec![0, 2], vec![1, 3]));
/// ```
pub fn group_splits(groups: &[String], held_out: &[String]) -> Result<Vec<Split>, Error> {
    let all = distinct(groups);
    let chosen = if held_out.is_empty() {
        all.clone()
    } else {
        held_out.to_vec()
    };
    if let Some(missing) = chosen.iter().find(|g| !all.contains(g)) {
        return Err(Error::input(format!(
            "group {missing:?} has no items; the groups are {all:?}"
        )));
    }
    if all.len() < 2 {
        return Err(Error::too_few(
            format!("groups for leave-one-group-out (found {all:?})"),
            2,
            all.len(),
        ));
    }
    Ok(chosen
        .into_iter()
        .map(|group| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..groups.len()).partition(|&i| groups.get(i) == Some(&group));
            Split {
                name: group,
                train,
                test,
            }
        })
        .collect())
}

/// A chronological split: the latest `test_fraction` of the items (by `times`, compared
/// as ISO-8601 strings, ties in input order) test, the earlier ones train.
///
/// ```
/// let times: Vec<String> = ["2024-03", "2024-01", "2024-02", "2024-04"].map(String::from).to_vec();
/// let split = rumor_triage::eval::chrono_split(&times, 0.25).unwrap();
/// assert_eq!((split.test.clone(), split.train.clone()), (vec![3], vec![1, 2, 0]));
/// ```
pub fn chrono_split(times: &[String], test_fraction: f64) -> Result<Split, Error> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::invalid_option(
            "test fraction",
            format!("must be in (0, 1), got {test_fraction}"),
        ));
    }
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|&a, &b| times.get(a).cmp(&times.get(b)));
    let test_items = ((times.len() as f64) * test_fraction).ceil() as usize;
    if test_items == 0 || test_items >= times.len() {
        return Err(Error::input(format!(
            "a test fraction of {test_fraction} leaves no training or no test items out of {}",
            times.len()
        )));
    }
    let test = order.split_off(times.len() - test_items);
    let cut = times.get(test.first().copied().unwrap_or(0)).cloned();
    Ok(Split {
        name: format!(
            "chronological (test from {})",
            cut.unwrap_or_else(|| "?".to_owned())
        ),
        train: order,
        test,
    })
}

fn distinct(values: &[String]) -> Vec<String> {
    let mut names = values.to_vec();
    names.sort_unstable();
    names.dedup();
    names
}

/// Scores `examples` with `model` in parallel and collects what it decided, over `labels`
/// (which must hold every true label; the model's labels may be fewer).
///
/// ```
/// use rumor_triage::{eval::predict, Example, Model};
/// let model = Model::load_default().unwrap();
/// let test = [Example { text: "Unconfirmed: gunman inside?".into(), label: "rumor".into() }];
/// let labels: Vec<String> = ["non-rumor", "rumor"].map(String::from).to_vec();
/// let predictions = predict(&model, &test, &labels, None).unwrap();
/// assert_eq!(predictions.truth, [1]);
/// ```
pub fn predict(
    model: &Model,
    examples: &[Example],
    labels: &[String],
    threshold: Option<f32>,
) -> Result<Predictions, Error> {
    crate::model::check_threshold(threshold)?;
    let flagged: Vec<&str> = model.flagged_labels();
    let scores: Vec<crate::Score> = examples
        .par_iter()
        .map_init(Workspace::default, |ws, e| {
            model.score_with(&e.text, ws, threshold)
        })
        .collect::<Result<_, _>>()?;
    let index = |label: &str| {
        labels.iter().position(|l| l == label).ok_or_else(|| {
            Error::input(format!(
                "label {label:?} is not one of the labels {labels:?}"
            ))
        })
    };
    let mut out = Predictions::new(labels.to_vec());
    out.threshold = Some(threshold.unwrap_or(model.threshold()));
    for (e, s) in examples.iter().zip(&scores) {
        out.push(
            index(&e.label)?,
            index(&s.label)?,
            s.probability,
            flagged.contains(&e.label.as_str()),
            s.flagged,
        );
    }
    Ok(out)
}

/// How each round's model forms the held-out folds behind its calibration and threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Calibrate<'a> {
    /// Stratified folds over the round's training items, as `train` does.
    Shuffled,
    /// Folds that keep each group whole (one name per item of the whole data set): for
    /// leave-one-group-out, so the threshold is fitted on held-out *groups*.
    ByGroup(&'a [String]),
    /// Folds that are contiguous blocks of time (one ISO-8601 time per item): for the
    /// chronological split, so the threshold is fitted on held-out *periods*.
    ByTime(&'a [String]),
}

impl Calibrate<'_> {
    /// The calibration groups of the training items `train` (indices into the whole data
    /// set) under this rule, for [`TrainOptions::calibration_groups`].
    ///
    /// ```
    /// use rumor_triage::eval::Calibrate;
    /// let times: Vec<String> = ["2024-03", "2024-01", "2024-02", "2024-04"].map(String::from).to_vec();
    /// let blocks = Calibrate::ByTime(&times).groups(&[0, 1, 2, 3], 2).unwrap();
    /// assert_eq!(blocks, ["block 001", "block 000", "block 000", "block 001"]);
    /// ```
    pub fn groups(&self, train: &[usize], folds: usize) -> Option<Vec<String>> {
        match *self {
            Calibrate::Shuffled => None,
            Calibrate::ByGroup(keys) => Some(
                train
                    .iter()
                    .map(|&i| keys.get(i).cloned().unwrap_or_default())
                    .collect(),
            ),
            Calibrate::ByTime(times) => {
                let mut order: Vec<usize> = (0..train.len()).collect();
                order.sort_by_key(|&k| train.get(k).and_then(|&i| times.get(i)));
                let mut block = vec![String::new(); train.len()];
                let per_block = train.len().div_ceil(folds.max(2)).max(1);
                for (rank, &k) in order.iter().enumerate() {
                    if let Some(slot) = block.get_mut(k) {
                        *slot = format!("block {:03}", rank / per_block);
                    }
                }
                Some(block)
            }
        }
    }
}

/// One round of a protocol and its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitReport {
    /// The round's name.
    pub name: String,
    /// Items trained on.
    pub train_items: usize,
    /// Items tested on.
    pub test_items: usize,
    /// The figures on the test items.
    pub report: Report,
}

/// A whole protocol: each round, and the pooled figures over all test items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtocolReport {
    /// `k-fold`, `leave-one-group-out`, `chronological` or `holdout`.
    pub protocol: String,
    /// Pooled accuracy (the same as `pooled.accuracy`).
    pub accuracy: f64,
    /// Pooled macro-F1 (the same as `pooled.macro_f1`).
    pub macro_f1: f64,
    /// Mean of the rounds' macro-F1.
    pub mean_macro_f1: f64,
    /// Each round.
    pub groups: Vec<SplitReport>,
    /// All test items of all rounds together.
    pub pooled: Report,
}

impl ProtocolReport {
    /// The report of a protocol with one round (chronological, holdout) as `rumor-triage
    /// eval --format json` prints it: that round's figures with `protocol`, `split`,
    /// `train_items` and `test_items` beside them.
    ///
    /// ```
    /// use rumor_triage::{eval::{chrono_split, run_splits, Calibrate}, Example, TrainOptions};
    /// let examples: Vec<Example> = (0..40)
    ///     .map(|i| Example { text: format!("{} {i}", if i % 2 == 0 { "rumor says" } else { "news today" }), label: if i % 2 == 0 { "rumor" } else { "non-rumor" }.into() })
    ///     .collect();
    /// let times: Vec<String> = (0..40).map(|i| format!("2020-01-01T00:00:{i:02}Z")).collect();
    /// let split = chrono_split(&times, 0.25)?;
    /// let options = TrainOptions::default().folds(2);
    /// let (report, _) = run_splits("chronological", &examples, &[split], &options, Calibrate::Shuffled, None)?;
    /// let json = report.single_round_json()?;
    /// assert_eq!((json["protocol"].as_str(), json["test_items"].as_u64()), (Some("chronological"), Some(10)));
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn single_round_json(&self) -> Result<serde_json::Value, Error> {
        let Some(only) = self.groups.first() else {
            return Err(Error::InvalidInput("the protocol made no split".into()));
        };
        let mut value = serde_json::to_value(&only.report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("protocol".into(), self.protocol.clone().into());
            object.insert("split".into(), only.name.clone().into());
            object.insert("train_items".into(), only.train_items.into());
            object.insert("test_items".into(), only.test_items.into());
        }
        Ok(value)
    }
}

/// Runs `splits` over `examples`: trains a model per split with `options` on its training
/// items only (its calibration folds formed by `calibrate`), predicts its test items, and
/// pools them. Also returns the pooled
/// predictions (for plots).
///
/// ```
/// use rumor_triage::{eval::{kfold_splits, run_splits, Calibrate}, Example, TrainOptions};
/// let examples: Vec<Example> = (0..40)
///     .map(|i| Example { text: format!("{} {i}", if i % 2 == 0 { "rumor says" } else { "news today" }), label: if i % 2 == 0 { "rumor" } else { "non-rumor" }.into() })
///     .collect();
/// let labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
/// let splits = kfold_splits(&labels, 4, 1).unwrap();
/// let options = TrainOptions::default().folds(2);
/// let (report, _) = run_splits("k-fold", &examples, &splits, &options, Calibrate::Shuffled, None).unwrap();
/// assert_eq!(report.groups.len(), 4);
/// assert_eq!(report.pooled.items, 40);
/// ```
pub fn run_splits(
    protocol: &str,
    examples: &[Example],
    splits: &[Split],
    options: &TrainOptions,
    calibrate: Calibrate,
    at_precision: Option<f64>,
) -> Result<(ProtocolReport, Predictions), Error> {
    let labels = distinct(&examples.iter().map(|e| e.label.clone()).collect::<Vec<_>>());
    let mut pooled = Predictions::new(labels.clone());
    let mut groups = Vec::with_capacity(splits.len());
    for split in splits {
        let pick = |indices: &[usize]| -> Vec<Example> {
            indices
                .iter()
                .filter_map(|&i| examples.get(i).cloned())
                .collect()
        };
        let (train, test) = (pick(&split.train), pick(&split.test));
        let mut options = options.clone();
        options.calibration_groups = calibrate.groups(&split.train, options.folds);
        let model = Model::train(&train, &options)
            .map_err(|e| Error::input(format!("{}: training failed: {e}", split.name)))?;
        let predictions = predict(&model, &test, &labels, None)?;
        groups.push(SplitReport {
            name: split.name.clone(),
            train_items: train.len(),
            test_items: test.len(),
            report: predictions.report(at_precision),
        });
        pooled.extend(&predictions);
    }
    let report = pooled.report(at_precision);
    let mean_macro_f1 = if groups.is_empty() {
        0.0
    } else {
        groups.iter().map(|g| g.report.macro_f1).sum::<f64>() / groups.len() as f64
    };
    Ok((
        ProtocolReport {
            protocol: protocol.to_owned(),
            accuracy: report.accuracy,
            macro_f1: report.macro_f1,
            mean_macro_f1,
            groups,
            pooled: report,
        },
        pooled,
    ))
}

/// The candidates `train --tune` tries.
///
/// ```
/// let grid = rumor_triage::eval::TuneGrid::default();
/// assert_eq!(grid.candidates().len(), grid.c.len() * grid.word_ngrams.len());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TuneGrid {
    /// Inverse regularization strengths (default 1, 3, 10, 30, 100).
    pub c: Vec<f64>,
    /// Longest word n-gram (default 1, 2, 3); the CJK n-gram length stays at least this.
    pub word_ngrams: Vec<u8>,
    /// Cross-validation folds on the training data (default 5).
    pub folds: usize,
}

impl Default for TuneGrid {
    fn default() -> Self {
        Self {
            c: vec![1.0, 3.0, 10.0, 30.0, 100.0],
            word_ngrams: vec![1, 2, 3],
            folds: 5,
        }
    }
}

impl TuneGrid {
    /// Every (C, word n-gram) pair, C varying fastest.
    ///
    /// ```
    /// let grid = rumor_triage::eval::TuneGrid { c: vec![1.0, 10.0], word_ngrams: vec![2], folds: 3 };
    /// assert_eq!(grid.candidates(), [(1.0, 2), (10.0, 2)]);
    /// ```
    pub fn candidates(&self) -> Vec<(f64, u8)> {
        self.word_ngrams
            .iter()
            .flat_map(|&n| self.c.iter().map(move |&c| (c, n)))
            .collect()
    }
}

/// One candidate's cross-validated figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuneTrial {
    /// Its C.
    pub c: f64,
    /// Its longest word n-gram.
    pub word_ngrams: u8,
    /// Pooled macro-F1 over the folds.
    pub macro_f1: f64,
}

/// Picks C and the word n-gram length by stratified k-fold macro-F1 on `examples` (the
/// training data only: the caller never passes a test split here). Ties go to the
/// earlier candidate (smaller n-grams, then smaller C: the simpler model). Returns the
/// options to train the final model with, and every trial.
///
/// ```
/// use rumor_triage::{eval::{tune, TuneGrid}, Example, TrainOptions};
/// let examples: Vec<Example> = (0..30)
///     .map(|i| Example { text: format!("{} {i}", if i % 3 == 0 { "rumor says" } else { "news today" }), label: if i % 3 == 0 { "rumor" } else { "non-rumor" }.into() })
///     .collect();
/// let grid = TuneGrid { c: vec![1.0, 10.0], word_ngrams: vec![1], folds: 3 };
/// let (best, trials) = tune(&examples, &TrainOptions::default().folds(2), &grid).unwrap();
/// assert_eq!(trials.len(), 2);
/// assert!(grid.c.contains(&best.c));
/// ```
pub fn tune(
    examples: &[Example],
    base: &TrainOptions,
    grid: &TuneGrid,
) -> Result<(TrainOptions, Vec<TuneTrial>), Error> {
    let labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    let splits = kfold_splits(&labels, grid.folds, base.seed)?;
    let mut trials = Vec::new();
    let mut best: Option<(f64, TrainOptions)> = None;
    for (c, word_ngrams) in grid.candidates() {
        let mut options = base.clone();
        options.c = c;
        options.c_grid.clear();
        options.features.word_ngrams = word_ngrams;
        options.features.cjk_ngrams = options.features.cjk_ngrams.max(word_ngrams);
        let (report, _) = run_splits(
            "k-fold",
            examples,
            &splits,
            &options,
            Calibrate::Shuffled,
            None,
        )?;
        trials.push(TuneTrial {
            c,
            word_ngrams,
            macro_f1: report.macro_f1,
        });
        if best.as_ref().is_none_or(|(f1, _)| report.macro_f1 > *f1) {
            best = Some((report.macro_f1, options));
        }
    }
    let (_, options) = best.ok_or_else(|| Error::invalid_option("tuning grid", "is empty"))?;
    Ok((options, trials))
}
