//! The crate's error type: one enum, each variant saying what went wrong and where, so a
//! caller can match on it.

use std::path::PathBuf;

/// A boxed error from a dependency, kept as the source without naming its type.
type Source = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in rumor-triage.
///
/// ```
/// use rumor_triage::{Error, Model};
/// let err = Model::from_bytes(b"RUMORTRG\x09\x00\x00\x00").unwrap_err();
/// assert!(matches!(err, Error::UnsupportedVersion { found: 9, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An I/O error on a stream that has no path (stdin, stdout, a buffer).
    #[error(transparent)]
    Stream(#[from] std::io::Error),
    /// The bytes are not a rumor-triage model file.
    #[error("not a rumor-triage model (bad magic bytes)")]
    NotAModel,
    /// The model file was written by a newer format version than this build reads.
    #[error("model format version {found} is newer than the newest this build reads ({supported}); upgrade rumor-triage")]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Newest version this build reads.
        supported: u32,
    },
    /// The model file was written by an older format version that this build no longer
    /// reads (version 1 lacked the homoglyph fold and the punctuation-run setting).
    #[error("model format version {found} is older than this build reads ({supported}); retrain the model with this version")]
    RetiredVersion {
        /// Version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The model file is shorter or longer than its header says.
    #[error("model file truncated or padded: expected {expected} bytes, found {found}")]
    Truncated {
        /// Payload bytes the header announces.
        expected: u64,
        /// Payload bytes present.
        found: u64,
    },
    /// The payload's checksum does not match: the file is corrupt.
    #[error("model file corrupt: checksum mismatch")]
    ChecksumMismatch,
    /// The payload decoded but breaks an invariant, or it did not decode.
    #[error("model file invalid: {0}")]
    CorruptModel(String),
    /// An option or parameter is out of its documented range.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The option, as the API or the command line names it.
        option: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// Too few examples, labels or groups for what was asked (the folds, a protocol).
    #[error("too few {what}: {found}, at least {needed} needed")]
    TooFewExamples {
        /// What there are too few of (`examples of label "rumor"`, `groups`).
        what: String,
        /// How many were needed.
        needed: u64,
        /// How many there were.
        found: u64,
    },
    /// A record lacks a field (a JSON key, a CSV column) that the run needs.
    #[error("{path}:{line}: field {field:?} is missing or not a string")]
    MissingField {
        /// The file (or stream name).
        path: String,
        /// 1-based line number (the header's for a CSV column).
        line: u64,
        /// The field.
        field: String,
    },
    /// A CSV header lacks a column the run needs.
    #[error("{path}: no {role} column {column:?} in the CSV header; its columns are {columns:?}")]
    MissingColumn {
        /// The file (or `input` for a stream).
        path: String,
        /// What the column holds (`text`, `label`, a grouping key).
        role: String,
        /// The column name looked for.
        column: String,
        /// The columns the header has.
        columns: Vec<String>,
    },
    /// A training or evaluation record could not be used.
    #[error("{path}:{line}: {reason}")]
    BadRecord {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The inputs do not fit together (labels a model does not know, a group with no
    /// items, a stream that ends before the record to resume after).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The input's first bytes are a format this build does not read (bzip2, xz, ZIP,
    /// Parquet without the `parquet` feature): one error, not a reject per line.
    #[error("the input is {format}, which this build does not read; {hint}")]
    UnreadableFormat {
        /// The format its magic bytes name.
        format: String,
        /// What to do instead.
        hint: String,
    },
    /// More records were rejected than `max_reject_rate` allows: the fields are likely
    /// misnamed, so the run stops instead of counting nothing.
    #[error("{rejected} of {read} records rejected, more than the allowed share {limit}; first reject: {first}. The records have the fields: {fields}")]
    TooManyRejects {
        /// Records rejected so far.
        rejected: u64,
        /// Records read so far.
        read: u64,
        /// The allowed share.
        limit: f64,
        /// The first reject's reason and line.
        first: String,
        /// The top-level fields of the first record, comma-separated.
        fields: String,
    },
    /// A decision log failed its check: a record edited, removed or reordered, or records
    /// cut off its end. It is never used as it is.
    #[error("{path}: decision log refused: {reason}")]
    TamperedLog {
        /// The log (or its head file).
        path: PathBuf,
        /// What the check found.
        reason: String,
    },
    /// An interrupted run cannot be resumed as asked.
    #[error("cannot resume: {0}")]
    Resume(String),
    /// The Hugging Face tokenizer failed, or its `tokenizer.json` is malformed.
    #[error("tokenizer: {0}")]
    Tokenizer(#[source] Source),
    /// JSON (de)serialization failed.
    #[error("json: {0}")]
    Json(#[source] Source),
    /// Fitting the learner failed.
    #[error("training: {0}")]
    Training(#[source] Source),
    /// Drawing a plot failed.
    #[error("plot: {0}")]
    Plot(String),
    /// A check of the crate's own bookkeeping failed: a bug, reported instead of hidden.
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl Error {
    /// An [`Error::InvalidOption`].
    ///
    /// ```
    /// let e = rumor_triage::Error::invalid_option("C", "must be positive");
    /// assert_eq!(e.to_string(), "invalid C: must be positive");
    /// ```
    pub fn invalid_option(option: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidOption {
            option: option.into(),
            reason: reason.into(),
        }
    }

    /// An [`Error::TooFewExamples`].
    pub(crate) fn too_few(what: impl Into<String>, needed: usize, found: usize) -> Self {
        Error::TooFewExamples {
            what: what.into(),
            needed: needed as u64,
            found: found as u64,
        }
    }

    /// An [`Error::InvalidInput`].
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// An [`Error::Tokenizer`] from anything the `tokenizers` crate returns.
    pub(crate) fn tokenizer(source: impl Into<Source>) -> Self {
        Error::Tokenizer(source.into())
    }

    /// Whether this is a write to a closed pipe (`| head`): the reader has all it wants,
    /// so a command ends quietly instead of reporting a failure.
    ///
    /// ```
    /// let e = rumor_triage::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
    /// assert!(e.is_broken_pipe());
    /// ```
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Stream(io) | Error::Io { source: io, .. } if io.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// Attaches a path to an I/O error.
    ///
    /// ```
    /// let io = std::io::Error::from(std::io::ErrorKind::NotFound);
    /// let e = rumor_triage::Error::io("model.rtm", io);
    /// assert!(e.to_string().starts_with("model.rtm: "));
    /// ```
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(Box::new(e))
    }
}

impl From<linfa::Error> for Error {
    fn from(e: linfa::Error) -> Self {
        Error::Training(Box::new(e))
    }
}
