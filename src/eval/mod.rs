//! Evaluation: metrics over held-out predictions, the protocols of `rumor-triage eval`
//! (a given test set, k-fold, leave one group out, chronological), evasion perturbations,
//! and plots (cargo feature `plots`).
//!
//! ```
//! use rumor_triage::eval::{kfold_splits, run_splits, Calibrate};
//! use rumor_triage::{Example, TrainOptions};
//! let examples: Vec<Example> = (0..60)
//!     .map(|i| Example {
//!         text: if i % 2 == 0 { format!("unconfirmed share now {i}") } else { format!("police statement today {i}") },
//!         label: if i % 2 == 0 { "rumor".into() } else { "non-rumor".into() },
//!     })
//!     .collect();
//! let labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
//! let splits = kfold_splits(&labels, 3, 42)?;
//! let (report, _pooled) = run_splits("k-fold", &examples, &splits, &TrainOptions::default(), Calibrate::Shuffled, None)?;
//! assert_eq!(report.groups.len(), 3);
//! assert!(report.macro_f1 > 0.9);
//! # Ok::<(), rumor_triage::Error>(())
//! ```

mod metrics;
mod perturb;
#[cfg(feature = "plots")]
mod plots;
mod protocol;

pub use crate::learn::folds::{group_folds, stratified_folds};
pub use metrics::{
    accuracy_and_macro_f1, average_precision, brier, ece, per_class, point_at_precision, pr_curve,
    reliability, report_table, roc_auc, roc_curve, ClassMetrics, OperatingPoint, Predictions,
    ReliabilityBin, Report,
};
pub use perturb::Perturbation;
#[cfg(feature = "plots")]
pub use plots::write_all as write_plots;
pub use protocol::{
    chrono_split, group_splits, kfold_splits, predict, run_splits, tune, Calibrate, ProtocolReport,
    Split, SplitReport, TuneGrid, TuneTrial,
};
