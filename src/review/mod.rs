//! The review loop: a queue of the posts most worth a reviewer's minute, and reviewers'
//! decisions kept in a checked, append-only log and exported as labeled data.

mod log;
mod queue;

pub use log::{Decision, DecisionLog};
pub use queue::{review_queue, Candidate, QueueItem, Strategy};
