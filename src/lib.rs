//! # rumor-triage
//!
//! Flags candidate rumor posts in social-media dumps so that people can review them. Every
//! flagged post carries a calibrated probability and the n-grams that drove its score.
//! Chinese (Weibo) and English (Twitter) posts are both first-class.
//!
//! The pipeline, one module per stage: normalize and tokenize (a Hugging Face `tokenizers`
//! pipeline, run by an equivalent fast path) → hashed n-grams with sublinear tf·idf → sparse
//! L2-regularized logistic regression behind linfa's traits → a calibrated probability and
//! a stored threshold ([`Model`]) → a streaming scorer for whole dumps ([`Scorer`]) →
//! cleanup counts with near-duplicate campaigns ([`CleanupCounts`]) → evaluation protocols
//! ([`eval`]). `docs/ARCHITECTURE.md` in the repository walks through each stage.
//!
//! ```
//! use rumor_triage::{Model, Post};
//! let model = Model::load_default()?;
//! let score = model.score("BREAKING: unconfirmed reports say the gunman is still inside")?;
//! println!("{} {:.3} flagged={}", score.label, score.probability, score.flagged);
//! let why = model.explain("网传明天有地震，请转发", 5)?;
//! assert_eq!(why.top.len(), 5);
//! for c in &why.top {
//!     println!("{:>8.3}  {}", c.contribution, c.ngram);
//! }
//! # Ok::<(), rumor_triage::Error>(())
//! ```
//!
//! Scoring a dump, every line accounted for:
//!
//! ```
//! use rumor_triage::{Model, Scorer};
//! let model = Model::load_default()?;
//! let dump = "{\"id\":\"1\",\"text\":\"Is it true the bridge collapsed?\"}\nnot json\n";
//! let mut out = Vec::new();
//! let summary = Scorer::new(&model).score(dump.as_bytes(), &mut out)?;
//! assert_eq!((summary.read, summary.scored, summary.rejected), (2, 1, 1));
//! # Ok::<(), rumor_triage::Error>(())
//! ```
//!
//! Cargo feature `plots` (off by default; the command line turns it on) adds
//! [`eval::write_plots`].
// One audited exception, a cache prefetch hint (`util::prefetch`); none elsewhere.
#![deny(unsafe_code)]
#![warn(missing_docs)]
// Library code reads strangers' bytes: no unwrap, expect, panic or unchecked indexing. The
// few numeric kernels that index their own tables say so with a scoped `allow` and reason.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod counts;
mod error;
pub mod eval;
mod features;
pub mod learn;
mod model;
mod review;
mod stream;
mod text;
mod time;
mod util;

/// The evaluation data and the seed posts, for the unit tests (the integration tests
/// share the same file).
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod test_data;

pub use counts::{
    AccountCount, CampaignCount, CampaignOptions, CleanupCounts, CountsBuilder, GroupCount,
    HeldOutRates, Prevalence, ProbabilityHistogram,
};
pub use error::Error;
pub use features::{FeatureConfig, Signature, SparseRow};
/// The date-time crate of [`PostTime`], so callers use the same version.
pub use jiff;
pub use learn::{ClassWeight, Loss};
pub use model::{
    CTrial, Calibration, Contribution, Example, Explanation, HeldOutMetrics, Labeled, Model, Post,
    Score, ThresholdRule, TrainOptions, TrainingMetadata, Workspace, FORMAT_VERSION, MAGIC,
};
pub use review::{review_queue, Candidate, Decision, DecisionLog, QueueItem, Strategy};
pub use stream::{
    counts_from_scored, open_reader, read_examples, read_keyed_examples, read_timed_examples,
    FieldPath, Fields, InputFormat, OutputFiles, Preset, RejectReason, Scorer, Summary,
};
#[cfg(feature = "parquet")]
pub use stream::{is_parquet, parquet_lines, ParquetLines, ParquetOutput};
pub use text::CustomTokenizer;
pub use time::{PostTime, TimeParser};

// `Model` is shared across threads and `Error` crosses them: both must stay `Send + Sync`.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Model>();
    assert_send_sync::<Error>();
    assert_send_sync::<Scorer<'static>>();
};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
