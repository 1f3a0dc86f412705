//! `rumor-triage eval`: a model on a test file, or train-and-test under a protocol.

use std::path::PathBuf;
use std::process::ExitCode;

use rumor_triage::eval::{
    chrono_split, group_splits, kfold_splits, predict, report_table, run_splits, Calibrate,
    Predictions, Split,
};
use rumor_triage::{read_examples, Error, Example, TrainOptions};

use crate::args::{load_model, read_labeled, set_threads, FieldArgs, TrainArgs};
use crate::output::print;

/// Evaluate: a model on a test file, or train-and-test under a protocol (a given
/// test file with --train, --kfold, --group-by, --chrono).
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("protocol").args(["model", "train_input", "kfold", "group_by", "chrono"])))]
pub(crate) struct Args {
    /// Model file to evaluate (default: the shipped model, when no protocol is given).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// Labeled JSONL: the test file, or for --kfold/--group-by/--chrono all the data
    /// (repeatable).
    #[arg(long, required = true)]
    pub(crate) input: Vec<PathBuf>,
    /// Train on these files with the training settings, then test on --input.
    #[arg(long = "train")]
    pub(crate) train_input: Vec<PathBuf>,
    /// Stratified k-fold cross-validation over --input.
    #[arg(long)]
    pub(crate) kfold: Option<usize>,
    /// Leave one group out: hold out each value of this field in turn.
    #[arg(long)]
    pub(crate) group_by: Option<String>,
    /// With --group-by: hold out only these groups (comma-separated); the rest always train.
    #[arg(long, value_delimiter = ',', requires = "group_by")]
    pub(crate) groups: Vec<String>,
    /// Chronological split by this time field (parsed; see --tz, --time-format): the
    /// latest --test-fraction tests. A time that does not parse is an error.
    #[arg(long)]
    pub(crate) chrono: Option<String>,
    /// With --chrono: the share of the latest items that tests.
    #[arg(long, default_value_t = 0.2, requires = "chrono")]
    pub(crate) test_fraction: f64,
    /// With --group-by or --chrono: calibrate each round's model on shuffled folds, as
    /// `train` does, instead of folds that hold out whole groups or periods.
    #[arg(long)]
    pub(crate) shuffled_calibration: bool,
    /// Also report precision and recall at the lowest threshold reaching this precision.
    #[arg(long)]
    pub(crate) at_precision: Option<f64>,
    /// Write PR, ROC and reliability plots (SVG and PNG) into this directory.
    #[arg(long)]
    pub(crate) plots: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) fields: FieldArgs,
    #[command(flatten)]
    pub(crate) train: TrainArgs,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["json", "table"])]
    pub(crate) format: String,
    /// Override the model's threshold (with --model only).
    #[arg(long)]
    pub(crate) threshold: Option<f32>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, Error> {
    let Args {
        model,
        input,
        train_input,
        kfold,
        group_by,
        groups,
        chrono,
        test_fraction,
        shuffled_calibration,
        at_precision,
        plots,
        fields,
        train,
        format,
        threshold,
        threads,
    } = args;
    set_threads(threads)?;
    let times = fields.times.parser()?;
    let fields = fields.fields()?;
    let key = group_by.as_deref().or(chrono.as_deref());
    let (examples, keys) = read_labeled(&input, &fields, key, chrono.is_some().then_some(&times))?;
    let json = format == "json";
    let (text, predictions) = if let Some(k) = kfold {
        let labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        let splits = kfold_splits(&labels, k, train.seed)?;
        grouped_output(
            "k-fold",
            &examples,
            &splits,
            &train.options()?,
            Calibrate::Shuffled,
            at_precision,
            json,
        )?
    } else if group_by.is_some() {
        let splits = group_splits(&keys, &groups)?;
        grouped_output(
            "leave-one-group-out",
            &examples,
            &splits,
            &train.options()?,
            if shuffled_calibration {
                Calibrate::Shuffled
            } else {
                Calibrate::ByGroup(&keys)
            },
            at_precision,
            json,
        )?
    } else if chrono.is_some() {
        let split = chrono_split(&keys, test_fraction)?;
        single_output(
            "chronological",
            &examples,
            split,
            &train.options()?,
            if shuffled_calibration {
                Calibrate::Shuffled
            } else {
                Calibrate::ByTime(&keys)
            },
            at_precision,
            json,
        )?
    } else if !train_input.is_empty() {
        let mut all = Vec::new();
        for path in &train_input {
            all.extend(read_examples(path, &fields)?);
        }
        let split = Split {
            name: "holdout".into(),
            train: (0..all.len()).collect(),
            test: (all.len()..all.len() + examples.len()).collect(),
        };
        all.extend(examples);
        single_output(
            "holdout",
            &all,
            split,
            &train.options()?,
            Calibrate::Shuffled,
            at_precision,
            json,
        )?
    } else {
        let model = load_model(&model)?;
        let mut labels: Vec<String> = model.labels().to_vec();
        for e in &examples {
            if !labels.contains(&e.label) {
                labels.push(e.label.clone());
            }
        }
        let predictions = predict(&model, &examples, &labels, threshold)?;
        let report = predictions.report(at_precision);
        let text = if json {
            serde_json::to_string_pretty(&report)? + "\n"
        } else {
            report_table(&report)
        };
        (text, predictions)
    };
    print(&text)?;
    if let Some(dir) = &plots {
        for path in rumor_triage::eval::write_plots(&predictions, dir)? {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn grouped_output(
    protocol: &str,
    examples: &[Example],
    splits: &[Split],
    options: &TrainOptions,
    calibrate: Calibrate,
    at_precision: Option<f64>,
    json: bool,
) -> Result<(String, Predictions), Error> {
    let (report, pooled) =
        run_splits(protocol, examples, splits, options, calibrate, at_precision)?;
    if json {
        return Ok((serde_json::to_string_pretty(&report)? + "\n", pooled));
    }
    let mut text = format!(
        "{protocol}: {} rounds, pooled macro-F1 {:.4}, mean macro-F1 {:.4}\n\n| held out | train | test | accuracy | macro-F1 | ROC-AUC | PR-AUC | ECE |\n|---|---|---|---|---|---|---|---|\n",
        report.groups.len(),
        report.macro_f1,
        report.mean_macro_f1
    );
    let figure = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"));
    for g in &report.groups {
        text.push_str(&format!(
            "| {} | {} | {} | {:.4} | {:.4} | {} | {} | {} |\n",
            g.name,
            g.train_items,
            g.test_items,
            g.report.accuracy,
            g.report.macro_f1,
            figure(g.report.roc_auc),
            figure(g.report.pr_auc),
            figure(g.report.ece)
        ));
    }
    text.push_str("\npooled over all rounds:\n\n");
    text.push_str(&report_table(&report.pooled));
    Ok((text, pooled))
}

/// A protocol with one train/test split.
fn single_output(
    protocol: &str,
    examples: &[Example],
    split: Split,
    options: &TrainOptions,
    calibrate: Calibrate,
    at_precision: Option<f64>,
    json: bool,
) -> Result<(String, Predictions), Error> {
    let (report, pooled) = run_splits(
        protocol,
        examples,
        &[split],
        options,
        calibrate,
        at_precision,
    )?;
    let Some(only) = report.groups.first() else {
        return Err(Error::InvalidInput("the protocol made no split".into()));
    };
    if json {
        let value = report.single_round_json()?;
        return Ok((serde_json::to_string_pretty(&value)? + "\n", pooled));
    }
    let text = format!(
        "{}: trained on {}, tested on {}\n\n{}",
        only.name,
        only.train_items,
        only.test_items,
        report_table(&only.report)
    );
    Ok((text, pooled))
}
