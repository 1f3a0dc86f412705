//! The `rumor-triage` command line: a thin shell over the library.
//!
//! Exit codes follow ripgrep: 0 all good, 1 some input lines were rejected, 2 a fatal error.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use rumor_triage::eval::Predictions;
use rumor_triage::features::FeatureConfig;
use rumor_triage::io::{read_examples, read_examples_keyed, Fields};
use rumor_triage::linear::{ClassWeight, Loss};
use rumor_triage::perturb::Perturbation;
use rumor_triage::protocol::{
    chrono_split, group_splits, kfold_splits, predict, run_splits, tune, Calibrate, Split, TuneGrid,
};
use rumor_triage::triage::{
    counts_builder_from_scored, counts_from_scored, decompress_if_gzip, score_stream_resumed,
    InputFormat, Resume, StreamOptions, Summary,
};
use rumor_triage::{Error, Example, Model, ThresholdRule, TrainOptions};

#[derive(Parser)]
#[command(
    name = "rumor-triage",
    version,
    about = "Flag candidate rumor posts for human review"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct FieldArgs {
    /// JSON field holding the post text.
    #[arg(long, default_value = "text")]
    text_field: String,
    /// JSON field holding the label (train, eval).
    #[arg(long, default_value = "label")]
    label_field: String,
    /// JSON field holding the post id (a post without one gets its line number).
    #[arg(long, default_value = "id")]
    id_field: String,
    /// JSON field holding the account.
    #[arg(long, default_value = "account")]
    account_field: String,
    /// JSON field holding the platform.
    #[arg(long, default_value = "platform")]
    platform_field: String,
    /// JSON field holding the time (ISO-8601).
    #[arg(long, default_value = "time")]
    time_field: String,
}

impl FieldArgs {
    fn fields(&self) -> Fields {
        Fields {
            id: self.id_field.clone(),
            text: self.text_field.clone(),
            label: self.label_field.clone(),
            account: self.account_field.clone(),
            platform: self.platform_field.clone(),
            time: self.time_field.clone(),
        }
    }
}

/// Training settings, shared by `train` and every `eval` protocol that trains.
#[derive(clap::Args, Clone)]
struct TrainArgs {
    /// A label whose posts get flagged (repeatable; default "rumor").
    #[arg(long)]
    positive: Vec<String>,
    /// Fold-shuffle seed (calibration folds, and the k-fold and tuning folds).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Inverse L2 regularization strength, used as given (default: chosen from --c-grid).
    #[arg(long)]
    c: Option<f64>,
    /// C values tried, ascending, on the held-out calibration folds; the lowest held-out
    /// log loss wins (the search stops at the first C that does no better).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,3,10,30,100",
        conflicts_with = "c"
    )]
    c_grid: Vec<f64>,
    /// Loss: logistic (logistic regression) or squared-hinge (L2-loss linear SVM).
    #[arg(long, default_value = "logistic", value_parser = ["logistic", "squared-hinge"])]
    loss: String,
    /// log2 of the number of hash buckets (16..=24).
    #[arg(long, default_value_t = 20)]
    hash_bits: u8,
    /// Longest word n-gram (1..=3).
    #[arg(long, default_value_t = 2)]
    word_ngrams: u8,
    /// Longest n-gram over CJK characters (word-ngrams..=3).
    #[arg(long, default_value_t = 3)]
    cjk_ngrams: u8,
    /// Shortest character n-gram inside each word, framed by spaces (0 with
    /// --subword-max 0: none).
    #[arg(long, default_value_t = 5)]
    subword_min: u8,
    /// Longest character n-gram inside each word (subword-min..=8).
    #[arg(long, default_value_t = 5)]
    subword_max: u8,
    /// Reweight classes inversely to their frequency.
    #[arg(long)]
    balanced: bool,
    /// Ignore n-gram buckets found in fewer training documents than this.
    #[arg(long, default_value_t = 1)]
    min_df: u32,
    /// Dual-gradient tolerance of the optimizer.
    #[arg(long, default_value_t = 0.1)]
    tolerance: f64,
    /// Folds for the held-out calibration scores.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Choose the threshold for this precision instead of best macro-F1.
    #[arg(long)]
    target_precision: Option<f64>,
    /// Choose the threshold for the best F1 of the flagged class instead of best macro-F1.
    #[arg(long, conflicts_with = "target_precision")]
    best_flagged_f1: bool,
    /// Use this Hugging Face tokenizer.json instead of the built-in pipeline (slower).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
}

impl TrainArgs {
    fn options(&self) -> Result<TrainOptions, Error> {
        let tokenizer = match &self.tokenizer {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
                Some(rumor_triage::text::parse_tokenizer_json(&bytes)?)
            }
            None => None,
        };
        Ok(TrainOptions {
            features: FeatureConfig {
                hash_bits: self.hash_bits,
                word_ngrams: self.word_ngrams,
                cjk_ngrams: self.cjk_ngrams,
                subword_min: self.subword_min,
                subword_max: self.subword_max,
                ..FeatureConfig::default()
            },
            c: self.c.unwrap_or(TrainOptions::default().c),
            c_grid: if self.c.is_some() {
                Vec::new()
            } else {
                self.c_grid.clone()
            },
            loss: if self.loss == "squared-hinge" {
                Loss::SquaredHinge
            } else {
                Loss::Logistic
            },
            class_weight: if self.balanced {
                ClassWeight::Balanced
            } else {
                ClassWeight::Uniform
            },
            positive: if self.positive.is_empty() {
                vec!["rumor".into()]
            } else {
                self.positive.clone()
            },
            threshold: match (self.target_precision, self.best_flagged_f1) {
                (Some(p), _) => ThresholdRule::Precision(p),
                (None, true) => ThresholdRule::BestF1,
                (None, false) => ThresholdRule::BestMacroF1,
            },
            seed: self.seed,
            tokenizer,
            min_df: self.min_df,
            folds: self.folds,
            tolerance: self.tolerance,
            ..TrainOptions::default()
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from labeled JSONL files.
    Train {
        /// Labeled JSONL input (repeatable).
        #[arg(long, required = true)]
        input: Vec<PathBuf>,
        /// Where to write the model.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        fields: FieldArgs,
        #[command(flatten)]
        train: TrainArgs,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Pick C and the word n-gram length by stratified k-fold macro-F1 on the input (the
        /// training data only), then train on all of it with the winner.
        #[arg(long)]
        tune: bool,
        /// C values --tune tries.
        #[arg(long, value_delimiter = ',', default_value = "1,3,10,30,100")]
        tune_c: Vec<f64>,
        /// Word n-gram lengths --tune tries.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        tune_word_ngrams: Vec<u8>,
        /// Cross-validation folds of --tune.
        #[arg(long, default_value_t = 5)]
        tune_folds: usize,
        /// Calibrate and set the threshold on held-out folds that keep each value of this
        /// field (an event) whole: for models that will meet new events.
        #[arg(long, conflicts_with = "calibrate_by_time")]
        calibrate_by_group: Option<String>,
        /// Calibrate and set the threshold on held-out folds that are contiguous periods of
        /// this time field: for models that will score later posts.
        #[arg(long)]
        calibrate_by_time: Option<String>,
    },
    /// Score a JSONL or CSV dump: one output line per input record.
    Score {
        /// Input JSONL or CSV (plain or gzip), or - for stdin.
        #[arg(default_value = "-")]
        input: String,
        /// Input format; auto means CSV for a name ending in .csv or .csv.gz, else JSONL.
        #[arg(long, default_value = "auto", value_parser = ["auto", "jsonl", "csv"])]
        format: String,
        /// Model file (default: the shipped model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Output file, or - for stdout.
        #[arg(long, default_value = "-")]
        out: String,
        #[command(flatten)]
        fields: FieldArgs,
        /// Write rejected lines here instead of inline.
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// Write the run's cleanup counts here as JSON.
        #[arg(long)]
        counts: Option<PathBuf>,
        /// Write the run's summary here as JSON.
        #[arg(long)]
        summary: Option<PathBuf>,
        /// Override the model's threshold.
        #[arg(long)]
        threshold: Option<f32>,
        /// Only write flagged posts.
        #[arg(long)]
        only_flagged: bool,
        /// Do not group flagged posts into near-duplicate campaigns (no `campaign` field, no
        /// campaigns in the counts; about a fifth faster).
        #[arg(long)]
        no_campaigns: bool,
        /// Add the top K n-grams to each flagged line.
        #[arg(long, default_value_t = 0)]
        explain: usize,
        /// Reject lines longer than this many bytes.
        #[arg(long, default_value_t = 1 << 20)]
        max_line_bytes: usize,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// No summary or progress bar on stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Continue an interrupted run with the same arguments: skip the records its output
        /// already holds and append the rest (needs --out FILE).
        #[arg(long)]
        resume: bool,
    },
    /// Evaluate: a model on a test file, or train-and-test under a protocol (a given
    /// test file with --train, --kfold, --group-by, --chrono).
    #[command(group(clap::ArgGroup::new("protocol").args(["model", "train_input", "kfold", "group_by", "chrono"])))]
    Eval {
        /// Model file to evaluate (default: the shipped model, when no protocol is given).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Labeled JSONL: the test file, or for --kfold/--group-by/--chrono all the data
        /// (repeatable).
        #[arg(long, required = true)]
        input: Vec<PathBuf>,
        /// Train on these files with the training settings, then test on --input.
        #[arg(long = "train")]
        train_input: Vec<PathBuf>,
        /// Stratified k-fold cross-validation over --input.
        #[arg(long)]
        kfold: Option<usize>,
        /// Leave one group out: hold out each value of this field in turn.
        #[arg(long)]
        group_by: Option<String>,
        /// With --group-by: hold out only these groups (comma-separated); the rest always train.
        #[arg(long, value_delimiter = ',', requires = "group_by")]
        groups: Vec<String>,
        /// Chronological split by this field: the latest --test-fraction tests.
        #[arg(long)]
        chrono: Option<String>,
        /// With --chrono: the share of the latest items that tests.
        #[arg(long, default_value_t = 0.2, requires = "chrono")]
        test_fraction: f64,
        /// With --group-by or --chrono: calibrate each round's model on shuffled folds, as
        /// `train` does, instead of folds that hold out whole groups or periods.
        #[arg(long)]
        shuffled_calibration: bool,
        /// Also report precision and recall at the lowest threshold reaching this precision.
        #[arg(long)]
        at_precision: Option<f64>,
        /// Write PR, ROC and reliability plots (SVG and PNG) into this directory.
        #[arg(long)]
        plots: Option<PathBuf>,
        #[command(flatten)]
        fields: FieldArgs,
        #[command(flatten)]
        train: TrainArgs,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = ["json", "table"])]
        format: String,
        /// Override the model's threshold (with --model only).
        #[arg(long)]
        threshold: Option<f32>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Explain the score of one text: the n-grams that moved it most.
    Explain {
        /// The text.
        text: String,
        /// Model file (default: the shipped model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// How many n-grams to show.
        #[arg(long, short, default_value_t = 10)]
        k: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Cleanup counts from `score` output.
    Counts {
        /// Scored JSONL, or - for stdin.
        #[arg(default_value = "-")]
        input: String,
        /// Accounts and campaigns to list (the largest first).
        #[arg(long, default_value_t = 20)]
        top: usize,
    },
    /// Write perturbed copies of a labeled JSONL file's texts (evasion tests).
    Perturb {
        /// Input JSONL, or - for stdin.
        #[arg(default_value = "-")]
        input: String,
        /// The perturbation: zero-width, homoglyphs, full-width, spaced-chinese,
        /// repeated-punctuation or case-games.
        #[arg(long)]
        kind: String,
        /// Seed of the edits (each line draws from seed + its line number).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// JSON field holding the text.
        #[arg(long, default_value = "text")]
        text_field: String,
    },
    /// Show what a model holds.
    Info {
        /// Model file (default: the shipped model).
        model: Option<PathBuf>,
        /// Print the embedded tokenizer.json instead.
        #[arg(long)]
        tokenizer_json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Error::Stream(io) | Error::Io { source: io, .. } = &e {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("rumor-triage: {e}");
            ExitCode::from(2)
        }
    }
}

fn load_model(path: &Option<PathBuf>) -> Result<Model, Error> {
    match path {
        Some(p) => Model::load(p),
        None => Model::load_default(),
    }
}

/// Builds the global pool with this thread as one of its `threads` workers (default: one
/// per core), so that `--threads N` means N threads in all: the thread that reads and
/// writes the stream in order scores with the others while it waits for a chunk, instead
/// of a pool of N scoring beside it.
fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.map_or(0, |n| n.max(1)))
        .use_current_thread()
        .build_global()
        .map_err(|e| Error::invalid(format!("thread pool: {e}")))
}

/// Counts the bytes read through it, for the progress bar.
struct Counting<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened input: the reader, the size when known, and a counter of raw bytes read.
type Input = (Box<dyn BufRead>, Option<u64>, Arc<AtomicU64>);

/// Opens a file or stdin (`-`), gzip-decompressed when it starts with the gzip magic.
fn open_input(input: &str) -> Result<Input, Error> {
    let bytes = Arc::new(AtomicU64::new(0));
    let (raw, size): (Box<dyn Read>, Option<u64>) = if input == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = File::open(input).map_err(|e| Error::io(input, e))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let counting = Counting {
        inner: raw,
        bytes: Arc::clone(&bytes),
    };
    let reader = decompress_if_gzip(BufReader::with_capacity(1 << 16, counting))?;
    Ok((reader, size, bytes))
}

/// A progress bar on stderr, only when stderr is a terminal and `--quiet` is not given.
fn progress_bar(quiet: bool, size: Option<u64>) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(total) => indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {percent:>3}% {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        ),
        None => indicatif::ProgressBar::new_spinner(),
    };
    Some(bar)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An output file written as `PATH.partial` and renamed to `PATH` when the run ends, so
/// no reader ever takes a half-written file for a finished one. `bytes` counts what has
/// been handed to it (all of it is in the file after a flush).
struct PartialFile {
    path: PathBuf,
    writer: BufWriter<File>,
    bytes: Rc<Cell<u64>>,
}

impl PartialFile {
    /// A fresh `PATH.partial`, or with `keep`, the existing one cut to its first `keep`
    /// bytes and appended to.
    fn open(path: &Path, keep: Option<u64>) -> Result<Self, Error> {
        let partial = with_suffix(path, ".partial");
        let file = match keep {
            None => File::create(&partial),
            Some(len) => std::fs::OpenOptions::new()
                .write(true)
                .open(&partial)
                .and_then(|f| {
                    let found = f.metadata()?.len();
                    if found < len {
                        return Err(std::io::Error::other(format!(
                            "holds {found} bytes, fewer than the {len} its progress file records"
                        )));
                    }
                    f.set_len(len)?;
                    Ok(f)
                }),
        }
        .map_err(|e| Error::io(&partial, e))?;
        let mut writer = BufWriter::with_capacity(1 << 16, file);
        std::io::Seek::seek(&mut writer, std::io::SeekFrom::End(0))
            .map_err(|e| Error::io(&partial, e))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            bytes: Rc::new(Cell::new(keep.unwrap_or(0))),
        })
    }

    fn finish(mut self) -> Result<(), Error> {
        self.writer.flush()?;
        finish_partial(&self.path)
    }
}

/// Whether `path` may be written as `PATH.partial` and renamed over: it is a regular file
/// or does not exist yet (not a device such as /dev/null, a FIFO or a symlink).
fn is_plain_file_target(path: impl AsRef<Path>) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => meta.file_type().is_file(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// The rejects output: renamed into place like `--out`, or written straight to a device or
/// FIFO.
enum RejectsFile {
    Partial(PartialFile),
    Direct(BufWriter<File>),
}

impl RejectsFile {
    fn finish(self) -> Result<(), Error> {
        match self {
            RejectsFile::Partial(file) => file.finish(),
            RejectsFile::Direct(mut writer) => Ok(writer.flush()?),
        }
    }
}

impl Write for RejectsFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            RejectsFile::Partial(file) => file.write(buf),
            RejectsFile::Direct(writer) => writer.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            RejectsFile::Partial(file) => file.flush(),
            RejectsFile::Direct(writer) => writer.flush(),
        }
    }
}

fn finish_partial(path: &Path) -> Result<(), Error> {
    std::fs::rename(with_suffix(path, ".partial"), path).map_err(|e| Error::io(path, e))
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.writer.write(buf)?;
        self.bytes.set(self.bytes.get() + n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// What `--resume` needs from an interrupted run, written as `OUT.progress` after every
/// flushed chunk.
#[derive(serde::Serialize, serde::Deserialize)]
struct Progress {
    summary: Summary,
    out_bytes: u64,
    rejects_bytes: Option<u64>,
}

fn read_progress(path: &Path) -> Result<Option<Progress>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(format!("{}: not a progress file: {e}", path.display()))
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes the progress file by rename, so a kill leaves the old one or the new one whole.
fn write_progress(path: &Path, progress: &Progress) -> Result<(), Error> {
    let temporary = with_suffix(path, ".tmp");
    std::fs::write(&temporary, serde_json::to_vec(progress)?)
        .map_err(|e| Error::io(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| Error::io(path, e))
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Train {
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
        } => {
            set_threads(threads)?;
            let started = Instant::now();
            let key = calibrate_by_group
                .as_deref()
                .or(calibrate_by_time.as_deref());
            let mut examples = Vec::new();
            let mut keys = Vec::new();
            for path in &input {
                for (example, value) in read_examples_keyed(path, &fields.fields(), key)? {
                    examples.push(example);
                    keys.push(value.unwrap_or_default());
                }
            }
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
        Command::Score {
            input,
            format,
            model,
            out,
            fields,
            rejects,
            counts,
            summary,
            threshold,
            only_flagged,
            no_campaigns,
            explain,
            max_line_bytes,
            threads,
            quiet,
            resume,
        } => {
            set_threads(threads)?;
            let model = load_model(&model)?;
            let (reader, size, bytes_read) = open_input(&input)?;
            let options = StreamOptions {
                format: match format.as_str() {
                    "csv" => InputFormat::Csv,
                    "jsonl" => InputFormat::Jsonl,
                    _ => InputFormat::from_path(&input),
                },
                fields: fields.fields(),
                max_line_bytes,
                threshold,
                only_flagged,
                campaigns: !no_campaigns,
                explain,
                ..StreamOptions::default()
            };
            // Only regular files (or paths not there yet) are written as FILE.partial and
            // renamed: renaming over /dev/null, a FIFO or a symlink would replace it.
            let out_path = (out != "-").then(|| PathBuf::from(&out));
            let rejects_plain = rejects.as_deref().is_none_or(is_plain_file_target);
            let target = out_path
                .clone()
                .filter(|p| is_plain_file_target(p) && rejects_plain);
            if resume && target.is_none() {
                return Err(Error::invalid(
                    "--resume needs --out (and --rejects, if given) to be regular files",
                ));
            }
            let progress_path = target.as_ref().map(|t| with_suffix(t, ".progress"));
            let previous: Option<Progress> = match (&progress_path, resume) {
                (Some(path), true) => {
                    if target.as_ref().is_some_and(|t| t.exists()) && !path.exists() {
                        return Err(Error::invalid(format!(
                            "{out} is complete: there is nothing to resume (remove it to score again)"
                        )));
                    }
                    read_progress(path)?
                }
                _ => None,
            };
            if let (Some(path), None) = (&progress_path, &previous) {
                // A fresh run: a stale progress file must not describe the new output.
                if path.exists() {
                    std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
                }
            }
            if let Some(p) = &previous {
                if p.rejects_bytes.is_some() != rejects.is_some() {
                    return Err(Error::invalid(
                        "--resume must be given the same --rejects as the interrupted run",
                    ));
                }
                if only_flagged && counts.is_some() {
                    return Err(Error::invalid(
                        "--resume cannot rebuild --counts from --only-flagged output",
                    ));
                }
            }
            let (mut writer, out_bytes): (Box<dyn Write>, _) = match (&target, &out_path) {
                (None, None) => (
                    Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout().lock())),
                    None,
                ),
                (None, Some(path)) => (
                    Box::new(BufWriter::with_capacity(
                        1 << 16,
                        File::create(path).map_err(|e| Error::io(path, e))?,
                    )),
                    None,
                ),
                (Some(path), _) => {
                    let file = PartialFile::open(path, previous.as_ref().map(|p| p.out_bytes))?;
                    let bytes = Rc::clone(&file.bytes);
                    (Box::new(file), Some(bytes))
                }
            };
            let mut reject_writer = match &rejects {
                Some(p) if target.is_some() => Some(RejectsFile::Partial(PartialFile::open(
                    p,
                    previous.as_ref().and_then(|p| p.rejects_bytes),
                )?)),
                Some(p) => Some(RejectsFile::Direct(BufWriter::new(
                    File::create(p).map_err(|e| Error::io(p, e))?,
                ))),
                None => None,
            };
            let rejects_bytes = match &reject_writer {
                Some(RejectsFile::Partial(w)) => Some(Rc::clone(&w.bytes)),
                _ => None,
            };
            let resumed = match (previous, &target) {
                (Some(p), Some(path)) => {
                    let kept = File::open(with_suffix(path, ".partial"))
                        .map_err(|e| Error::io(path, e))?
                        .take(p.out_bytes);
                    let (builder, _) =
                        counts_builder_from_scored(BufReader::new(kept), options.top_accounts)?;
                    Some(Resume {
                        summary: p.summary,
                        counts: builder,
                    })
                }
                _ => None,
            };
            let bar = progress_bar(quiet, size);
            let started = Instant::now();
            let mut progress_error = None;
            let mut on_chunk = |so_far: &Summary| {
                if let Some(bar) = &bar {
                    bar.set_position(bytes_read.load(Ordering::Relaxed));
                    let rate = so_far.read as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    bar.set_message(format!("{} posts, {rate:.0} posts/s", so_far.read));
                }
                if let (Some(path), Some(out_bytes)) = (&progress_path, &out_bytes) {
                    let progress = Progress {
                        summary: so_far.clone(),
                        out_bytes: out_bytes.get(),
                        rejects_bytes: rejects_bytes.as_ref().map(|b| b.get()),
                    };
                    if let Err(e) = write_progress(path, &progress) {
                        progress_error.get_or_insert(e);
                    }
                }
            };
            let result = score_stream_resumed(
                &model,
                reader,
                &mut writer,
                reject_writer.as_mut().map(|w| w as &mut dyn Write),
                &options,
                resumed,
                &mut on_chunk,
            )?;
            if let Some(e) = progress_error {
                return Err(e);
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            writer.flush()?;
            drop(writer);
            if let Some(w) = reject_writer {
                w.finish()?;
            }
            if let Some(path) = &target {
                finish_partial(path)?;
            }
            if let Some(path) = &progress_path {
                if path.exists() {
                    std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
                }
            }
            if let Some(path) = &counts {
                write_json(path, &result.counts)?;
            }
            if let Some(path) = &summary {
                write_json(path, &result)?;
            }
            if !quiet {
                eprintln!(
                    "read {} scored {} rejected {} flagged {} in {:.3} s ({:.0} posts/s)",
                    result.read,
                    result.scored,
                    result.rejected,
                    result.flagged,
                    result.seconds,
                    result.posts_per_second
                );
            }
            Ok(if result.rejected > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Eval {
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
        } => {
            set_threads(threads)?;
            let fields = fields.fields();
            let key = group_by.as_deref().or(chrono.as_deref());
            let mut examples = Vec::new();
            let mut keys = Vec::new();
            for path in &input {
                for (example, value) in read_examples_keyed(path, &fields, key)? {
                    examples.push(example);
                    keys.push(value.unwrap_or_default());
                }
            }
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
                    rumor_triage::eval::report_table(&report)
                };
                (text, predictions)
            };
            print!("{text}");
            if let Some(dir) = &plots {
                for path in write_plots(&predictions, dir)? {
                    eprintln!("wrote {}", path.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain {
            text,
            model,
            k,
            json,
        } => {
            let model = load_model(&model)?;
            let why = model.explain(&text, k)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&why)?);
            } else {
                println!(
                    "label {}  probability {:.4}  flagged {}  (margin {:.4} = bias {:.4} + {} features)",
                    why.score.label, why.score.probability, why.score.flagged, why.margin, why.bias, why.features
                );
                for c in &why.top {
                    println!("{:>+9.4}  {}", c.contribution, c.ngram);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Counts { input, top } => {
            let (counts, skipped) = counts_from_scored(open_input(&input)?.0, top)?;
            println!("{}", serde_json::to_string_pretty(&counts)?);
            if skipped > 0 {
                eprintln!(
                    "skipped {skipped} lines that are not scored posts (rejects or not JSON)"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Perturb {
            input,
            kind,
            seed,
            text_field,
        } => {
            let perturbation = Perturbation::from_name(&kind).ok_or_else(|| {
                let names: Vec<&str> = Perturbation::ALL.iter().map(|p| p.name()).collect();
                Error::invalid(format!("unknown perturbation {kind:?}; one of {names:?}"))
            })?;
            let mut stdout = BufWriter::new(std::io::stdout().lock());
            for (n, line) in open_input(&input)?.0.lines().enumerate() {
                let line = line?;
                let mut value: serde_json::Value = serde_json::from_str(&line)
                    .map_err(|e| Error::invalid(format!("{input}:{}: not JSON: {e}", n + 1)))?;
                let Some(text) = value.get_mut(&text_field) else {
                    return Err(Error::invalid(format!(
                        "{input}:{}: no field {text_field:?}",
                        n + 1
                    )));
                };
                if let Some(original) = text.as_str() {
                    *text = perturbation
                        .apply(original, seed.wrapping_add(n as u64))
                        .into();
                }
                writeln!(stdout, "{value}")?;
            }
            stdout.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Info {
            model,
            tokenizer_json,
        } => {
            let model = load_model(&model)?;
            if tokenizer_json {
                println!("{}", model.tokenizer_json());
                return Ok(ExitCode::SUCCESS);
            }
            let info = serde_json::json!({
                "format_version": rumor_triage::model::FORMAT_VERSION,
                "labels": model.labels(),
                "flagged_labels": model.flagged_labels(),
                "threshold": model.threshold(),
                "calibration": model.calibration(),
                "features": model.feature_config(),
                "builtin_tokenizer": model.uses_builtin_tokenizer(),
                "nonzero_buckets": model.nonzero_buckets(),
                "metadata": model.metadata(),
            });
            let out = serde_json::to_string_pretty(&info)?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{out}")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A protocol with several rounds: each round's figures, then the pooled ones.
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
    text.push_str(&rumor_triage::eval::report_table(&report.pooled));
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
        return Err(Error::invalid("the protocol made no split"));
    };
    if json {
        let mut value = serde_json::to_value(&only.report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("protocol".into(), protocol.into());
            object.insert("split".into(), only.name.clone().into());
            object.insert("train_items".into(), only.train_items.into());
            object.insert("test_items".into(), only.test_items.into());
        }
        return Ok((serde_json::to_string_pretty(&value)? + "\n", pooled));
    }
    let text = format!(
        "{}: trained on {}, tested on {}\n\n{}",
        only.name,
        only.train_items,
        only.test_items,
        rumor_triage::eval::report_table(&only.report)
    );
    Ok((text, pooled))
}

#[cfg(feature = "plots")]
fn write_plots(predictions: &Predictions, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    rumor_triage::plots::write_all(predictions, dir)
}

#[cfg(not(feature = "plots"))]
fn write_plots(_: &Predictions, _: &Path) -> Result<Vec<PathBuf>, Error> {
    Err(Error::invalid(
        "this build has no plots: rebuild with `--features plots`",
    ))
}
