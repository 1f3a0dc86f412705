//! Arguments shared by several commands, and the settings they turn into.

use std::path::PathBuf;

use rumor_triage::{
    read_examples, read_keyed_examples, ClassWeight, CustomTokenizer, Error, Example, Fields, Loss,
    Model, ThresholdRule, TrainOptions,
};

#[derive(clap::Args, Clone)]
pub(crate) struct FieldArgs {
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
    pub(crate) fn fields(&self) -> Fields {
        Fields::default()
            .id(&self.id_field)
            .text(&self.text_field)
            .label(&self.label_field)
            .account(&self.account_field)
            .platform(&self.platform_field)
            .time(&self.time_field)
    }
}

/// Training settings, shared by `train` and every `eval` protocol that trains.
#[derive(clap::Args, Clone)]
pub(crate) struct TrainArgs {
    /// A label whose posts get flagged (repeatable; default "rumor").
    #[arg(long)]
    positive: Vec<String>,
    /// Fold-shuffle seed (calibration folds, and the k-fold and tuning folds).
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
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
    pub(crate) fn options(&self) -> Result<TrainOptions, Error> {
        let mut options = TrainOptions::default();
        let features = &mut options.features;
        features.hash_bits = self.hash_bits;
        features.word_ngrams = self.word_ngrams;
        features.cjk_ngrams = self.cjk_ngrams;
        features.subword_min = self.subword_min;
        features.subword_max = self.subword_max;
        if let Some(c) = self.c {
            options.c = c;
            options.c_grid.clear();
        } else {
            options.c_grid = self.c_grid.clone();
        }
        if self.loss == "squared-hinge" {
            options.loss = Loss::SquaredHinge;
        }
        if self.balanced {
            options.class_weight = ClassWeight::Balanced;
        }
        if !self.positive.is_empty() {
            options.positive = self.positive.clone();
        }
        options.threshold = match (self.target_precision, self.best_flagged_f1) {
            (Some(p), _) => ThresholdRule::Precision(p),
            (None, true) => ThresholdRule::BestF1,
            (None, false) => ThresholdRule::BestMacroF1,
        };
        options.seed = self.seed;
        options.tokenizer = self
            .tokenizer
            .as_ref()
            .map(CustomTokenizer::from_file)
            .transpose()?;
        options.min_df = self.min_df;
        options.folds = self.folds;
        options.tolerance = self.tolerance;
        Ok(options)
    }
}

pub(crate) fn load_model(path: &Option<PathBuf>) -> Result<Model, Error> {
    match path {
        Some(p) => Model::load(p),
        None => Model::load_default(),
    }
}

/// Builds the global pool with this thread as one of its `threads` workers (default: one
/// per core), so that `--threads N` means N threads in all: the thread that reads and
/// writes the stream in order scores with the others while it waits for a chunk, instead
/// of a pool of N scoring beside it.
pub(crate) fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.map_or(0, |n| n.max(1)))
        .use_current_thread()
        .build_global()
        .map_err(|e| Error::invalid_option("threads", e.to_string()))
}

/// Labeled examples from every file in turn, each with its value of `key` (empty without
/// one).
pub(crate) fn read_labeled(
    paths: &[PathBuf],
    fields: &Fields,
    key: Option<&str>,
) -> Result<(Vec<Example>, Vec<String>), Error> {
    let (mut examples, mut keys) = (Vec::new(), Vec::new());
    for path in paths {
        match key {
            Some(key) => {
                for (example, value) in read_keyed_examples(path, fields, key)? {
                    examples.push(example);
                    keys.push(value);
                }
            }
            None => {
                let read = read_examples(path, fields)?;
                keys.resize(keys.len() + read.len(), String::new());
                examples.extend(read);
            }
        }
    }
    Ok((examples, keys))
}
