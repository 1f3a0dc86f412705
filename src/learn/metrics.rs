//! The classification figures a fit is judged by: per-class precision, recall and F1,
//! accuracy and macro-F1. Training reports them on its held-out folds; `eval` builds its
//! reports on them.

use serde::Serialize;

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// The class label.
    pub label: String,
    /// Of the items predicted as this class, the share that are.
    pub precision: f64,
    /// Of the items of this class, the share predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Items of this class.
    pub support: u64,
}

/// Per-class metrics, accuracy and macro-F1 from truth and predictions (label indices).
///
/// ```
/// use rumor_triage::eval::per_class;
/// // 3 TP, 1 FP, 2 FN, 4 TN for class 1.
/// let truth = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0];
/// let pred  = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
/// let (m, _) = per_class(&truth, &pred, &["no".into(), "yes".into()]);
/// assert_eq!((m[1].precision, m[1].recall), (0.75, 0.6));
/// ```
pub fn per_class(
    truth: &[usize],
    predicted: &[usize],
    labels: &[String],
) -> (Vec<ClassMetrics>, Vec<Vec<u64>>) {
    let k = labels.len();
    let mut confusion = vec![vec![0u64; k]; k];
    for (&t, &p) in truth.iter().zip(predicted) {
        if let Some(cell) = confusion.get_mut(t).and_then(|row| row.get_mut(p)) {
            *cell += 1;
        }
    }
    let cell = |t: usize, p: usize| {
        confusion
            .get(t)
            .and_then(|row| row.get(p))
            .map_or(0.0, |&v| v as f64)
    };
    let metrics = labels
        .iter()
        .enumerate()
        .map(|(c, label)| {
            let tp = cell(c, c);
            let predicted_c: f64 = (0..k).map(|t| cell(t, c)).sum();
            let actual_c: f64 = (0..k).map(|p| cell(c, p)).sum();
            let precision = if predicted_c > 0.0 {
                tp / predicted_c
            } else {
                0.0
            };
            let recall = if actual_c > 0.0 { tp / actual_c } else { 0.0 };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassMetrics {
                label: label.clone(),
                precision,
                recall,
                f1,
                support: actual_c as u64,
            }
        })
        .collect();
    (metrics, confusion)
}

/// Accuracy and macro-F1 over `k` classes.
///
/// ```
/// let (acc, f1) = rumor_triage::eval::accuracy_and_macro_f1(&[0, 1, 1], &[0, 1, 0], 2);
/// assert!((acc - 2.0 / 3.0).abs() < 1e-12);
/// assert!((f1 - 2.0 / 3.0).abs() < 1e-12);
/// ```
pub fn accuracy_and_macro_f1(truth: &[usize], predicted: &[usize], k: usize) -> (f64, f64) {
    let labels: Vec<String> = (0..k).map(|i| i.to_string()).collect();
    let (metrics, _) = per_class(truth, predicted, &labels);
    let correct = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    let accuracy = if truth.is_empty() {
        0.0
    } else {
        correct as f64 / truth.len() as f64
    };
    let macro_f1 = if k == 0 {
        0.0
    } else {
        metrics.iter().map(|m| m.f1).sum::<f64>() / k as f64
    };
    (accuracy, macro_f1)
}
