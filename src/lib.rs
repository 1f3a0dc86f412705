//! # rumor-triage
//!
//! Flags candidate rumor posts in social-media dumps so that people can review them. Every
//! flagged post carries a calibrated probability and the n-grams that drove its score.
//! Chinese (Weibo) and English (Twitter) posts are both first-class.
//!
//! The pipeline: normalize and tokenize ([`text`], defined by a Hugging Face `tokenizers`
//! pipeline and run by an equivalent fast path) → hashed n-grams with sublinear tf·idf
//! ([`features`]) → sparse L2-regularized logistic regression plugged into linfa
//! ([`linear`]) → calibrated probability and a stored threshold ([`Model`]).
//!
//! ```
//! use rumor_triage::{Model, Post};
//! let model = Model::load_default()?;
//! let score = model.score("BREAKING: unconfirmed reports say the gunman is still inside")?;
//! println!("{} {:.3} flagged={}", score.label, score.probability, score.flagged);
//! let why = model.explain("网传明天有地震，请转发", 5)?;
//! for c in &why.top {
//!     println!("{:>8.3}  {}", c.contribution, c.ngram);
//! }
//! # Ok::<(), rumor_triage::Error>(())
//! ```
// One audited exception, a cache prefetch hint (`features::prefetch`); none elsewhere.
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

pub mod campaigns;
pub mod counts;
pub mod error;
pub mod eval;
pub mod features;
pub mod io;
pub mod linear;
pub mod model;
pub mod perturb;
#[cfg(feature = "plots")]
pub mod plots;
pub mod protocol;
pub mod text;
pub mod triage;

pub use counts::CleanupCounts;
pub use error::Error;
pub use model::{
    CTrial, Example, Explanation, Model, Score, ThresholdRule, TrainOptions, Workspace,
};
pub use triage::{Labeled, Post};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
