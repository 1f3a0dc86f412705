//! Training and the evaluation protocols from Python, with the options and defaults of
//! `rumor-triage train` and `rumor-triage eval`.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float32Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use pyo3::prelude::*;
use pyo3_arrow::PyRecordBatch;
use rumor_triage::eval::{
    chrono_split, group_splits, kfold_splits, predict, run_splits, tune, Calibrate, Predictions,
    Split, TuneGrid,
};
use rumor_triage::{
    ClassWeight, CustomTokenizer, Error, Example, Loss, ThresholdRule, TimeParser, TrainOptions,
};
use serde::Deserialize;

use crate::errors::{invalid_input, invalid_option, OrRaise};
use crate::model::{on_threads, PyModel};
use crate::texts::{strings, Texts, TextsInput};

/// The options of `rumor-triage train`, each `None` when not given: the library's
/// defaults (which the command line's are) then apply.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    positive: Option<Vec<String>>,
    seed: Option<u64>,
    c: Option<f64>,
    c_grid: Option<Vec<f64>>,
    loss: Option<String>,
    hash_bits: Option<u8>,
    word_ngrams: Option<u8>,
    cjk_ngrams: Option<u8>,
    subword_min: Option<u8>,
    subword_max: Option<u8>,
    norm_smoothing: Option<f32>,
    min_content_tokens: Option<u8>,
    unseen_in_norm: Option<bool>,
    balanced: Option<bool>,
    min_df: Option<u32>,
    tolerance: Option<f64>,
    max_iterations: Option<usize>,
    folds: Option<usize>,
    target_precision: Option<f64>,
    best_flagged_f1: Option<bool>,
    tokenizer: Option<PathBuf>,
}

impl Options {
    fn parse(json: &str) -> PyResult<Self> {
        serde_json::from_str(json).map_err(|e| invalid_option("training option", e.to_string()))
    }

    /// The library's options with these set.
    fn train_options(self) -> PyResult<TrainOptions> {
        let mut options = TrainOptions::default();
        let features = &mut options.features;
        set(&mut features.hash_bits, self.hash_bits);
        set(&mut features.word_ngrams, self.word_ngrams);
        set(&mut features.cjk_ngrams, self.cjk_ngrams);
        set(&mut features.subword_min, self.subword_min);
        set(&mut features.subword_max, self.subword_max);
        set(&mut features.norm_smoothing, self.norm_smoothing);
        set(&mut features.min_content_tokens, self.min_content_tokens);
        set(&mut features.unseen_in_norm, self.unseen_in_norm);
        match (self.c, self.c_grid) {
            (Some(_), Some(_)) => {
                return Err(invalid_option("c", "give c or c_grid, not both"));
            }
            (Some(c), None) => options = options.c(c),
            (None, Some(grid)) => options.c_grid = grid,
            (None, None) => {}
        }
        options.loss = match self.loss.as_deref() {
            None | Some("logistic") => Loss::Logistic,
            Some("squared-hinge" | "squared_hinge") => Loss::SquaredHinge,
            Some(other) => {
                return Err(invalid_option(
                    "loss",
                    format!("{other:?} is not \"logistic\" or \"squared-hinge\""),
                ))
            }
        };
        if self.balanced == Some(true) {
            options.class_weight = ClassWeight::Balanced;
        }
        set(&mut options.positive, self.positive);
        set(&mut options.seed, self.seed);
        set(&mut options.min_df, self.min_df);
        set(&mut options.tolerance, self.tolerance);
        set(&mut options.max_iterations, self.max_iterations);
        set(&mut options.folds, self.folds);
        options.threshold = match (self.target_precision, self.best_flagged_f1) {
            (Some(_), Some(true)) => {
                return Err(invalid_option(
                    "target_precision",
                    "give target_precision or best_flagged_f1, not both",
                ))
            }
            (Some(p), _) => ThresholdRule::Precision(p),
            (None, Some(true)) => ThresholdRule::BestF1,
            (None, _) => ThresholdRule::BestMacroF1,
        };
        options.tokenizer = self
            .tokenizer
            .as_ref()
            .map(CustomTokenizer::from_file)
            .transpose()
            .or_raise()?;
        Ok(options)
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// Texts and labels as examples.
fn examples(texts: TextsInput, labels: Vec<String>) -> PyResult<Vec<Example>> {
    let texts = Texts::new(texts, "texts")?.owned("texts")?;
    let labels = strings(labels, texts.len(), "labels")?;
    Ok(texts
        .into_iter()
        .zip(labels)
        .map(|(text, label)| Example { text, label })
        .collect())
}

/// Each time as a key that sorts as the instants do; a time that does not parse is an
/// error naming it, as in `rumor-triage eval --chrono`.
fn time_keys(
    times: Vec<String>,
    zone: Option<&str>,
    format: Option<&str>,
) -> PyResult<Vec<String>> {
    let mut parser = TimeParser::default();
    if let Some(zone) = zone {
        parser = parser.zone(zone).or_raise()?;
    }
    if let Some(format) = format {
        parser = parser.format(format).or_raise()?;
    }
    times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            parser.parse(t).map(|t| t.sort_key()).ok_or_else(|| {
                invalid_input(format!(
                    "times[{i}] = {t:?} is not a time this parser reads"
                ))
            })
        })
        .collect()
}

/// How the calibration folds are formed: whole groups, contiguous periods, or shuffled.
struct Keys {
    keys: Vec<String>,
    by_time: bool,
}

impl Keys {
    fn new(
        groups: Option<Vec<String>>,
        times: Option<Vec<String>>,
        items: usize,
        zone: Option<&str>,
        format: Option<&str>,
    ) -> PyResult<Option<Self>> {
        match (groups, times) {
            (Some(_), Some(_)) => Err(invalid_option(
                "groups",
                "give groups or times for the calibration folds, not both",
            )),
            (Some(groups), None) => Ok(Some(Self {
                keys: strings(groups, items, "groups")?,
                by_time: false,
            })),
            (None, Some(times)) => Ok(Some(Self {
                keys: time_keys(strings(times, items, "times")?, zone, format)?,
                by_time: true,
            })),
            (None, None) => Ok(None),
        }
    }

    fn calibrate(keys: Option<&Self>) -> Calibrate<'_> {
        match keys {
            Some(Self {
                keys,
                by_time: false,
            }) => Calibrate::ByGroup(keys),
            Some(Self {
                keys,
                by_time: true,
            }) => Calibrate::ByTime(keys),
            None => Calibrate::Shuffled,
        }
    }
}

/// Trains a model as `rumor-triage train` does; returns it with the log lines the command
/// prints (the C search, the tuning).
#[pyfunction]
#[pyo3(signature = (texts, labels, options_json, groups=None, times=None, tz=None, time_format=None, tune_grid=None, notes=String::new(), threads=None))]
#[allow(
    clippy::too_many_arguments,
    reason = "one argument per keyword of the Python function it backs"
)]
pub(crate) fn train(
    py: Python<'_>,
    texts: TextsInput,
    labels: Vec<String>,
    options_json: &str,
    groups: Option<Vec<String>>,
    times: Option<Vec<String>>,
    tz: Option<&str>,
    time_format: Option<&str>,
    tune_grid: Option<(Vec<f64>, Vec<u8>, usize)>,
    notes: String,
    threads: Option<usize>,
) -> PyResult<(PyModel, Vec<String>)> {
    let examples = examples(texts, labels)?;
    let mut options = Options::parse(options_json)?.train_options()?;
    let keys = Keys::new(groups, times, examples.len(), tz, time_format)?;
    let everyone: Vec<usize> = (0..examples.len()).collect();
    options.calibration_groups = Keys::calibrate(keys.as_ref()).groups(&everyone, options.folds);
    let (model, log) = py
        .detach(|| {
            on_threads(threads, || -> Result<_, Error> {
                let mut log = Vec::new();
                if let Some((c, word_ngrams, folds)) = tune_grid {
                    let grid = TuneGrid {
                        c,
                        word_ngrams,
                        folds,
                    };
                    let (best, trials) = tune(&examples, &options, &grid)?;
                    for t in &trials {
                        log.push(format!(
                            "tune: C {} word n-grams {} {}-fold macro-F1 {:.4}",
                            t.c, t.word_ngrams, grid.folds, t.macro_f1
                        ));
                    }
                    options = best;
                }
                let (mut model, trials) =
                    rumor_triage::Model::train_with_trials(&examples, &options)?;
                for t in &trials {
                    log.push(format!(
                        "C {} held-out log loss {:.4}, macro-F1 {:.4}",
                        t.c, t.log_loss, t.macro_f1
                    ));
                }
                model.set_notes(notes);
                Ok((model, log))
            })
        })?
        .or_raise()?;
    Ok((PyModel::new(model), log))
}

/// Train-and-test under a protocol, as `rumor-triage eval --kfold/--group-by/--chrono`
/// does. Returns the report as JSON (the command's `--format json`) and each tested item's
/// out-of-round prediction.
#[pyfunction]
#[pyo3(signature = (texts, labels, protocol, options_json, folds=5, groups=None, held_out=Vec::new(), times=None, tz=None, time_format=None, test_fraction=0.2, shuffled_calibration=false, at_precision=None, threads=None))]
#[allow(
    clippy::too_many_arguments,
    reason = "one argument per keyword of the Python function it backs"
)]
pub(crate) fn evaluate<'py>(
    py: Python<'py>,
    texts: TextsInput,
    labels: Vec<String>,
    protocol: &str,
    options_json: &str,
    folds: usize,
    groups: Option<Vec<String>>,
    held_out: Vec<String>,
    times: Option<Vec<String>>,
    tz: Option<&str>,
    time_format: Option<&str>,
    test_fraction: f64,
    shuffled_calibration: bool,
    at_precision: Option<f64>,
    threads: Option<usize>,
) -> PyResult<(String, Bound<'py, PyAny>)> {
    let examples = examples(texts, labels)?;
    let options = Options::parse(options_json)?.train_options()?;
    let items = examples.len();
    let (name, splits, keys) = match protocol {
        "kfold" => {
            let labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
            let splits = kfold_splits(&labels, folds, options.seed).or_raise()?;
            ("k-fold", splits, None)
        }
        "group" => {
            let Some(groups) = groups else {
                return Err(invalid_option("groups", "the group protocol needs groups"));
            };
            let groups = strings(groups, items, "groups")?;
            let splits = group_splits(&groups, &held_out).or_raise()?;
            let keys = Keys::new(Some(groups), None, items, None, None)?;
            ("leave-one-group-out", splits, keys)
        }
        "chrono" => {
            let Some(times) = times else {
                return Err(invalid_option("times", "the chrono protocol needs times"));
            };
            let keys = time_keys(strings(times, items, "times")?, tz, time_format)?;
            let split = chrono_split(&keys, test_fraction).or_raise()?;
            let keys = Keys {
                keys,
                by_time: true,
            };
            ("chronological", vec![split], Some(keys))
        }
        other => {
            return Err(invalid_option(
                "protocol",
                format!("{other:?} is not \"kfold\", \"group\" or \"chrono\""),
            ))
        }
    };
    let calibrate = if shuffled_calibration {
        Calibrate::Shuffled
    } else {
        Keys::calibrate(keys.as_ref())
    };
    let (report, pooled) = py
        .detach(|| {
            on_threads(threads, || {
                run_splits(name, &examples, &splits, &options, calibrate, at_precision)
            })
        })?
        .or_raise()?;
    let json = if name == "chronological" {
        report.single_round_json()
    } else {
        serde_json::to_value(&report).map_err(Error::from)
    }
    .and_then(|v| serde_json::to_string(&v).map_err(Error::from))
    .or_raise()?;
    let rows = out_of_round(&splits, &pooled)?;
    Ok((json, PyRecordBatch::new(rows).into_pyarrow(py)?))
}

/// Scores labeled texts with a model, as `rumor-triage eval --model` does: the report as
/// JSON and each item's prediction.
#[pyfunction]
#[pyo3(signature = (model, texts, labels, threshold=None, at_precision=None, threads=None))]
pub(crate) fn evaluate_model<'py>(
    py: Python<'py>,
    model: &PyModel,
    texts: TextsInput,
    labels: Vec<String>,
    threshold: Option<f32>,
    at_precision: Option<f64>,
    threads: Option<usize>,
) -> PyResult<(String, Bound<'py, PyAny>)> {
    let examples = examples(texts, labels)?;
    let model = &model.inner;
    let mut labels: Vec<String> = model.labels().to_vec();
    for e in &examples {
        if !labels.contains(&e.label) {
            labels.push(e.label.clone());
        }
    }
    let predictions = py
        .detach(|| on_threads(threads, || predict(model, &examples, &labels, threshold)))?
        .or_raise()?;
    let json = serde_json::to_string(&predictions.report(at_precision))
        .map_err(Error::from)
        .or_raise()?;
    let split = Split {
        name: "given".into(),
        train: Vec::new(),
        test: (0..examples.len()).collect(),
    };
    let rows = out_of_round(&[split], &predictions)?;
    Ok((json, PyRecordBatch::new(rows).into_pyarrow(py)?))
}

/// One row per tested item, sorted by the item's index: the round that tested it, its true
/// and predicted label, its probability and whether it was flagged. The pooled predictions
/// are in the order of the rounds' test lists.
fn out_of_round(splits: &[Split], pooled: &Predictions) -> PyResult<RecordBatch> {
    let mut rows: Vec<(usize, &str, usize)> = splits
        .iter()
        .flat_map(|s| s.test.iter().map(move |&i| (i, s.name.as_str())))
        .enumerate()
        .map(|(position, (item, round))| (item, round, position))
        .collect();
    if rows.len() != pooled.probability.len() {
        return Err(invalid_input(
            "the rounds tested a different number of items than they predicted",
        ));
    }
    rows.sort_unstable_by_key(|&(item, _, _)| item);
    let label = |indices: &[usize], p: usize| {
        indices
            .get(p)
            .and_then(|&l| pooled.labels.get(l))
            .map(String::as_str)
    };
    let index: UInt64Array = rows.iter().map(|r| Some(r.0 as u64)).collect();
    let round: StringArray = rows.iter().map(|r| Some(r.1)).collect();
    let truth: StringArray = rows.iter().map(|r| label(&pooled.truth, r.2)).collect();
    let predicted: StringArray = rows.iter().map(|r| label(&pooled.predicted, r.2)).collect();
    let probability: Float32Array = rows
        .iter()
        .map(|r| pooled.probability.get(r.2).copied())
        .collect();
    let flagged: BooleanArray = rows
        .iter()
        .map(|r| pooled.flagged.get(r.2).copied())
        .collect();
    let schema = Schema::new(vec![
        Field::new("index", DataType::UInt64, false),
        Field::new("round", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, true),
        Field::new("predicted", DataType::Utf8, true),
        Field::new("probability", DataType::Float32, true),
        Field::new("flagged", DataType::Boolean, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(index),
        Arc::new(round),
        Arc::new(truth),
        Arc::new(predicted),
        Arc::new(probability),
        Arc::new(flagged),
    ];
    RecordBatch::try_new(Arc::new(schema), columns)
        .map_err(|e| invalid_input(format!("building the predictions: {e}")))
}
