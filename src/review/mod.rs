//! The review loop: reviewers' decisions kept in a checked, append-only log, and exported
//! as labeled data for the next model.

mod log;

pub use log::{Decision, DecisionLog};
