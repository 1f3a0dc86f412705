//! `rumor-triage train`: a model from labeled files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use rumor_triage::eval::{tune, Calibrate, TuneGrid};
use rumor_triage::{Error, Model};

use crate::args::{read_labeled, set_threads, FieldArgs, TrainArgs};

/// Train a model from labeled JSONL files.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Labeled JSONL input (repeatable).
    #[arg(long, required = true)]
    pub(crate) input: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) fields: FieldArgs,
    #[command(flatten)]
    pub(crate) train: TrainArgs,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Pick C and the word n-gram length by stratified k-fold macro-F1 on the input (the
    /// training data only), then train on all of it with the winner.
    #[arg(long)]
    pub(crate) tune: bool,
    /// C values --tune tries.
    #[arg(long, value_delimiter = ',', default_value = "1,3,10,30,100")]
    pub(crate) tune_c: Vec<f64>,
    /// Word n-gram lengths --tune tries.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub(crate) tune_word_ngrams: Vec<u8>,
    /// Cross-validation folds of --tune.
    #[arg(long, default_value_t = 5)]
    pub(crate) tune_folds: usize,
    /// Calibrate and set the threshold on held-out folds that keep each value of this
    /// field (an event) whole: for models that will meet new events.
    #[arg(long, conflicts_with = "calibrate_by_time")]
    pub(crate) calibrate_by_group: Option<String>,
    /// Calibrate and set the threshold on held-out folds that are contiguous periods of
    /// this time field: for models that will score later posts.
    #[arg(long)]
    pub(crate) calibrate_by_time: Option<String>,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, Error> {
    let Args {
        input,
        out,
        fields,
        train,
        threads,
        tune: tune_requested,
        tune_c,
        tune_word_ngrams,
        tune_folds,
        calibrate_by_group,
        calibrate_by_time,
    } = args;
    set_threads(threads)?;
    let started = Instant::now();
    let key = calibrate_by_group
        .as_deref()
        .or(calibrate_by_time.as_deref());
    let times = fields.times.parser()?;
    let (examples, keys) = read_labeled(
        &input,
        &fields.fields()?,
        key,
        calibrate_by_time.is_some().then_some(&times),
    )?;
    let mut options = train.options()?;
    let everyone: Vec<usize> = (0..examples.len()).collect();
    let calibrate = match (&calibrate_by_group, &calibrate_by_time) {
        (Some(_), _) => Calibrate::ByGroup(&keys),
        (None, Some(_)) => Calibrate::ByTime(&keys),
        (None, None) => Calibrate::Shuffled,
    };
    options.calibration_groups = calibrate.groups(&everyone, options.folds);
    if tune_requested {
        let grid = TuneGrid {
            c: tune_c,
            word_ngrams: tune_word_ngrams,
            folds: tune_folds,
        };
        let (best, trials) = tune(&examples, &options, &grid)?;
        for t in &trials {
            eprintln!(
                "tune: C {:<6} word n-grams {}  {}-fold macro-F1 {:.4}",
                t.c, t.word_ngrams, grid.folds, t.macro_f1
            );
        }
        eprintln!(
            "tune: chose C {} and word n-grams {}",
            best.c, best.features.word_ngrams
        );
        options = best;
    }
    let (mut model, c_trials) = Model::train_with_trials(&examples, &options)?;
    for trial in &c_trials {
        eprintln!(
            "C {:<6} held-out log loss {:.4}, macro-F1 {:.4}",
            trial.c, trial.log_loss, trial.macro_f1
        );
    }
    if !c_trials.is_empty() {
        eprintln!("chose C {} (lowest held-out log loss)", model.metadata().c);
    }
    let names: Vec<String> = input
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    model.set_notes(format!("trained on {}", names.join(", ")));
    model.save(&out)?;
    let held = &model.metadata().held_out;
    eprintln!(
        "trained on {} examples in {:.3} s; held-out accuracy {:.4}, macro-F1 {:.4}; threshold {:.4}; wrote {}",
        examples.len(),
        started.elapsed().as_secs_f64(),
        held.accuracy,
        held.macro_f1,
        model.threshold(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
