//! The crate's error type: one enum, each variant saying what went wrong and where.

use std::path::PathBuf;

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
    /// A parameter or an input is out of range.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The Hugging Face tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(#[source] tokenizers::Error),
    /// JSON (de)serialization failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// An error from linfa.
    #[error("linfa: {0}")]
    Linfa(#[from] linfa::Error),
    /// A training input line could not be used.
    #[error("{path}:{line}: {reason}")]
    BadRecord {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// An [`Error::Invalid`] with the given message.
    ///
    /// ```
    /// let e = rumor_triage::Error::invalid("C must be positive");
    /// assert_eq!(e.to_string(), "invalid input: C must be positive");
    /// ```
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
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
