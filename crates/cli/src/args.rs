//! Arguments shared by several commands, and the settings they turn into.

use std::path::PathBuf;

use rumor_triage::{
    read_examples, read_keyed_examples, read_timed_examples, ClassWeight, CustomTokenizer, Error,
    Example, FieldPath, Fields, Loss, Model, Preset, ThresholdRule, TimeParser, TrainOptions,
};

/// Which fields hold what. Each takes a dotted path into nested objects and
/// comma-separated fallbacks, tried in order (`extended_tweet.full_text,full_text,text`).
#[derive(clap::Args, Clone)]
pub(crate) struct FieldArgs {
    /// Field paths of a platform's records (twitter-v1, twitter-v2, weibo, reddit; see
    /// docs/cli.md); a --*-field option given too overrides its field.
    #[arg(long, value_parser = ["twitter-v1", "twitter-v2", "weibo", "reddit"])]
    preset: Option<String>,
    /// Field holding the post text [default: text].
    #[arg(long)]
    text_field: Option<String>,
    /// Field holding the label (train, eval) [default: label].
    #[arg(long)]
    label_field: Option<String>,
    /// Field holding the post id; a post without one gets its line number [default: id].
    #[arg(long)]
    id_field: Option<String>,
    /// Field holding the account (a string or a number) [default: account].
    #[arg(long)]
    account_field: Option<String>,
    /// Field holding the platform [default: platform; none with --preset].
    #[arg(long)]
    platform_field: Option<String>,
    /// Field holding the posting time [default: time].
    #[arg(long)]
    time_field: Option<String>,
    #[command(flatten)]
    pub(crate) times: TimeArgs,
}

impl FieldArgs {
    pub(crate) fn fields(&self) -> Result<Fields, Error> {
        let mut fields = match &self.preset {
            Some(name) => Fields::preset(name.parse::<Preset>()?),
            None => Fields::default(),
        };
        let set = |field: &mut FieldPath, given: &Option<String>| {
            if let Some(path) = given {
                *field = path.into();
            }
        };
        set(&mut fields.text, &self.text_field);
        set(&mut fields.label, &self.label_field);
        set(&mut fields.id, &self.id_field);
        set(&mut fields.account, &self.account_field);
        set(&mut fields.platform, &self.platform_field);
        set(&mut fields.time, &self.time_field);
        Ok(fields)
    }
}

/// How posting times are read and which zone days are counted in.
#[derive(clap::Args, Clone)]
pub(crate) struct TimeArgs {
    /// Count days in this zone: an IANA name (Asia/Shanghai) or an offset (+08:00); times
    /// without an offset are taken in it too.
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Read times only in this strftime format (%d/%m/%Y %H:%M) instead of the forms
    /// recognised by default (RFC 3339, Twitter/Weibo created_at, epoch s or ms).
    #[arg(long)]
    time_format: Option<String>,
}

impl TimeArgs {
    pub(crate) fn parser(&self) -> Result<TimeParser, Error> {
        let parser = TimeParser::default().zone(&self.tz)?;
        match &self.time_format {
            Some(format) => parser.format(format),
            None => Ok(parser),
        }
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
    /// Added to each row's squared norm before normalizing: posts with little text score
    /// near the prior instead of on one n-gram (0: plain L2).
    #[arg(long, default_value_t = 1000.0)]
    norm_smoothing: f32,
    /// A post with fewer distinct content tokens (words, CJK characters) is
    /// insufficient_text: scored, counted, never flagged (0..=8; 0: off).
    #[arg(long, default_value_t = 3)]
    min_content_tokens: u8,
    /// Count n-grams never seen in training in each row's norm, as format version 3 did
    /// (shrinks posts about new events toward the prior).
    #[arg(long)]
    unseen_in_norm: bool,
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
        features.norm_smoothing = self.norm_smoothing;
        features.min_content_tokens = self.min_content_tokens;
        features.unseen_in_norm = self.unseen_in_norm;
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
/// one). With `times`, `key` is a time field: every value must parse, and each becomes a
/// fixed-width UTC key (`2018-10-10T20:19:24.000000000Z`) that sorts as the instants do.
pub(crate) fn read_labeled(
    paths: &[PathBuf],
    fields: &Fields,
    key: Option<&str>,
    times: Option<&TimeParser>,
) -> Result<(Vec<Example>, Vec<String>), Error> {
    let (mut examples, mut keys) = (Vec::new(), Vec::new());
    for path in paths {
        match (key, times) {
            (Some(key), Some(times)) => {
                let fields = fields.clone().time(key);
                for (example, time) in read_timed_examples(path, &fields, times)? {
                    examples.push(example);
                    keys.push(time.sort_key());
                }
            }
            (Some(key), None) => {
                for (example, value) in read_keyed_examples(path, fields, key)? {
                    examples.push(example);
                    keys.push(value);
                }
            }
            (None, _) => {
                let read = read_examples(path, fields)?;
                keys.resize(keys.len() + read.len(), String::new());
                examples.extend(read);
            }
        }
    }
    Ok((examples, keys))
}
