//! Classification metrics over label indices and flag probabilities.

use linfa::prelude::BinaryClassification;
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

/// The figures `rumor-triage eval` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Items evaluated.
    pub items: u64,
    /// Share of items whose decided label is right.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1.
    pub macro_f1: f64,
    /// Per-class figures, in the model's label order.
    pub per_class: Vec<ClassMetrics>,
    /// ROC-AUC of the flag probability against "is a flagged label" (None if one side is
    /// empty).
    pub roc_auc: Option<f64>,
    /// Confusion matrix: `confusion[truth][predicted]`.
    pub confusion: Vec<Vec<u64>>,
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
        if t < k && p < k {
            confusion[t][p] += 1;
        }
    }
    let metrics = (0..k)
        .map(|c| {
            let tp = confusion[c][c] as f64;
            let predicted_c: f64 = (0..k).map(|t| confusion[t][c] as f64).sum();
            let actual_c: f64 = confusion[c].iter().map(|&v| v as f64).sum();
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
                label: labels[c].clone(),
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

/// ROC-AUC through linfa's `BinaryClassification`; `None` when a side is empty.
///
/// ```
/// let auc = rumor_triage::eval::roc_auc(&[0.9, 0.8, 0.3, 0.1], &[true, false, true, false]).unwrap();
/// assert!((auc - 0.75).abs() < 1e-6);
/// ```
pub fn roc_auc(probabilities: &[f32], is_flag: &[bool]) -> Option<f64> {
    let positives = is_flag.iter().filter(|&&f| f).count();
    if positives == 0 || positives == is_flag.len() || probabilities.len() != is_flag.len() {
        return None;
    }
    let pr: Vec<linfa::dataset::Pr> = probabilities
        .iter()
        .map(|&p| {
            linfa::dataset::Pr::new(if p.is_finite() {
                p.clamp(0.0, 1.0)
            } else {
                0.0
            })
        })
        .collect();
    pr.as_slice()
        .roc(is_flag)
        .ok()
        .map(|roc| f64::from(roc.area_under_curve()))
}

/// Builds the full report.
pub fn report(
    truth: &[usize],
    predicted: &[usize],
    flag_probability: &[f32],
    is_flag: &[bool],
    labels: &[String],
) -> Report {
    let (per_class, confusion) = per_class(truth, predicted, labels);
    let (accuracy, macro_f1) = accuracy_and_macro_f1(truth, predicted, labels.len());
    Report {
        items: truth.len() as u64,
        accuracy,
        macro_f1,
        per_class,
        roc_auc: roc_auc(flag_probability, is_flag),
        confusion,
    }
}

/// The report as a markdown table.
pub fn report_table(report: &Report) -> String {
    let mut out = format!(
        "items {}  accuracy {:.4}  macro-F1 {:.4}  ROC-AUC {}\n\n| label | precision | recall | F1 | support |\n|---|---|---|---|---|\n",
        report.items,
        report.accuracy,
        report.macro_f1,
        report.roc_auc.map_or("n/a".to_owned(), |a| format!("{a:.4}"))
    );
    for m in &report.per_class {
        out.push_str(&format!(
            "| {} | {:.4} | {:.4} | {:.4} | {} |\n",
            m.label, m.precision, m.recall, m.f1, m.support
        ));
    }
    out
}
