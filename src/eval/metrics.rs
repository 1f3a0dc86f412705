//! Classification metrics over label indices and flag probabilities.

use serde::Serialize;

pub use crate::learn::metrics::{accuracy_and_macro_f1, per_class, ClassMetrics};

/// Precision and recall of the flagged side at one decision threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatingPoint {
    /// The threshold on the flag probability (`None` when pooled over models that each
    /// used their own).
    pub threshold: Option<f64>,
    /// Of the flagged items, the share that carry a flagged label.
    pub precision: f64,
    /// Of the items with a flagged label, the share flagged.
    pub recall: f64,
    /// Items flagged.
    pub flagged: u64,
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin (inclusive).
    pub lower: f64,
    /// Upper edge (exclusive, but 1.0 is in the last bin).
    pub upper: f64,
    /// Items whose flag probability falls in the bin.
    pub count: u64,
    /// Mean flag probability of those items (`None` for an empty bin).
    pub mean_probability: Option<f64>,
    /// Share of those items that carry a flagged label (`None` for an empty bin).
    pub observed_rate: Option<f64>,
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
    /// Per-class figures, in label order.
    pub per_class: Vec<ClassMetrics>,
    /// ROC-AUC of the flag probability against "carries a flagged label" (`None` if one
    /// side is empty).
    pub roc_auc: Option<f64>,
    /// PR-AUC as average precision (scikit-learn's `average_precision_score`: the
    /// step-wise area, no interpolation), same `None` rule.
    pub pr_auc: Option<f64>,
    /// Mean squared error of the flag probability (`None` with no items).
    pub brier: Option<f64>,
    /// Expected calibration error over 10 equal-width bins: Σ |bin| / n · |observed −
    /// mean probability| (`None` with no items).
    pub ece: Option<f64>,
    /// The 10 bins behind `ece`, for a reliability diagram.
    pub reliability: Vec<ReliabilityBin>,
    /// Flagged-side precision and recall of the decisions made (the model's threshold).
    pub at_threshold: OperatingPoint,
    /// The lowest threshold that reaches the requested precision on these items, and the
    /// recall there (`None` if not asked for or never reached).
    pub at_precision: Option<OperatingPoint>,
    /// Confusion matrix: `confusion[truth][predicted]`, rows and columns in label order.
    pub confusion: Vec<Vec<u64>>,
}

/// What a model said about a set of labeled items, ready to be measured or pooled.
///
/// ```
/// use rumor_triage::eval::Predictions;
/// let mut all = Predictions::new(vec!["no".into(), "yes".into()]);
/// all.push(1, 1, 0.9, true, true);
/// all.push(0, 1, 0.6, false, true);
/// let report = all.report(None);
/// assert_eq!(report.at_threshold.precision, 0.5);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Predictions {
    /// Label names; `truth` and `predicted` index into them.
    pub labels: Vec<String>,
    /// True label of each item.
    pub truth: Vec<usize>,
    /// Decided label of each item.
    pub predicted: Vec<usize>,
    /// Calibrated flag probability of each item.
    pub probability: Vec<f32>,
    /// Whether each item's true label is a flagged one.
    pub is_flag: Vec<bool>,
    /// Whether each item was flagged.
    pub flagged: Vec<bool>,
    /// The threshold used, when one model made all the decisions.
    pub threshold: Option<f32>,
}

impl Predictions {
    /// No items yet, over these labels.
    ///
    /// ```
    /// assert!(rumor_triage::eval::Predictions::new(vec!["a".into()]).truth.is_empty());
    /// ```
    pub fn new(labels: Vec<String>) -> Self {
        Self {
            labels,
            ..Self::default()
        }
    }

    /// Adds one item.
    ///
    /// ```
    /// let mut p = rumor_triage::eval::Predictions::new(vec!["no".into(), "yes".into()]);
    /// p.push(0, 0, 0.1, false, false);
    /// assert_eq!(p.truth.len(), 1);
    /// ```
    pub fn push(
        &mut self,
        truth: usize,
        predicted: usize,
        probability: f32,
        is_flag: bool,
        flagged: bool,
    ) {
        self.truth.push(truth);
        self.predicted.push(predicted);
        self.probability.push(probability);
        self.is_flag.push(is_flag);
        self.flagged.push(flagged);
    }

    /// Appends another set over the same labels (pooling folds); the threshold is kept only
    /// if both used the same one.
    ///
    /// ```
    /// use rumor_triage::eval::Predictions;
    /// let mut a = Predictions::new(vec!["no".into(), "yes".into()]);
    /// a.push(1, 1, 0.9, true, true);
    /// let b = a.clone();
    /// a.extend(&b);
    /// assert_eq!(a.truth.len(), 2);
    /// ```
    pub fn extend(&mut self, other: &Predictions) {
        if self.truth.is_empty() {
            self.threshold = other.threshold;
        } else if self.threshold != other.threshold {
            self.threshold = None;
        }
        self.truth.extend_from_slice(&other.truth);
        self.predicted.extend_from_slice(&other.predicted);
        self.probability.extend_from_slice(&other.probability);
        self.is_flag.extend_from_slice(&other.is_flag);
        self.flagged.extend_from_slice(&other.flagged);
    }

    /// Every metric of [`Report`]; `at_precision` asks for the operating point at that
    /// precision.
    ///
    /// ```
    /// let mut p = rumor_triage::eval::Predictions::new(vec!["no".into(), "yes".into()]);
    /// p.push(1, 1, 0.8, true, true);
    /// p.push(0, 0, 0.2, false, false);
    /// let r = p.report(Some(0.9));
    /// assert_eq!((r.accuracy, r.roc_auc, r.at_precision.unwrap().recall), (1.0, Some(1.0), 1.0));
    /// ```
    pub fn report(&self, at_precision: Option<f64>) -> Report {
        let (per_class, confusion) = per_class(&self.truth, &self.predicted, &self.labels);
        let (accuracy, macro_f1) =
            accuracy_and_macro_f1(&self.truth, &self.predicted, self.labels.len());
        let reliability = reliability(&self.probability, &self.is_flag, 10);
        Report {
            items: self.truth.len() as u64,
            accuracy,
            macro_f1,
            per_class,
            roc_auc: roc_auc(&self.probability, &self.is_flag),
            pr_auc: average_precision(&self.probability, &self.is_flag),
            brier: brier(&self.probability, &self.is_flag),
            ece: ece(&reliability, self.truth.len()),
            reliability,
            at_threshold: decisions_point(&self.flagged, &self.is_flag, self.threshold),
            at_precision: at_precision
                .and_then(|target| point_at_precision(&self.probability, &self.is_flag, target)),
            confusion,
        }
    }
}

/// The distinct thresholds of a score list, highest first, with the cumulative true and
/// false positives at each: the points of every curve below. Ties form one point, so a
/// curve never depends on the order of tied items. `None` when a side is empty.
fn cumulative(probabilities: &[f32], is_flag: &[bool]) -> Option<Vec<(f64, u64, u64)>> {
    let positives = is_flag.iter().filter(|&&f| f).count();
    if positives == 0 || positives == is_flag.len() || probabilities.len() != is_flag.len() {
        return None;
    }
    let clean = |p: f32| if p.is_finite() { f64::from(p) } else { 0.0 };
    let mut order: Vec<(f64, bool)> = probabilities
        .iter()
        .zip(is_flag)
        .map(|(&p, &f)| (clean(p), f))
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut points: Vec<(f64, u64, u64)> = Vec::new();
    let (mut tp, mut fp) = (0u64, 0u64);
    for (i, &(p, flag)) in order.iter().enumerate() {
        if flag {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_tie = order.get(i + 1).is_none_or(|next| next.0 != p);
        if last_of_tie {
            points.push((p, tp, fp));
        }
    }
    Some(points)
}

/// The ROC curve as `(threshold, false-positive rate, true-positive rate)`, from (0, 0) at
/// threshold +∞ to (1, 1); `None` when a side is empty.
///
/// ```
/// let roc = rumor_triage::eval::roc_curve(&[0.9, 0.5, 0.5, 0.1], &[true, true, false, false]).unwrap();
/// assert_eq!(roc[2], (0.5, 0.5, 1.0));
/// ```
pub fn roc_curve(probabilities: &[f32], is_flag: &[bool]) -> Option<Vec<(f64, f64, f64)>> {
    let points = cumulative(probabilities, is_flag)?;
    let (p, n) = points.last().map(|&(_, tp, fp)| (tp as f64, fp as f64))?;
    let mut curve = vec![(f64::INFINITY, 0.0, 0.0)];
    curve.extend(
        points
            .iter()
            .map(|&(t, tp, fp)| (t, fp as f64 / n, tp as f64 / p)),
    );
    Some(curve)
}

/// The precision–recall curve as `(threshold, recall, precision)`, highest threshold
/// first; `None` when a side is empty.
///
/// ```
/// let pr = rumor_triage::eval::pr_curve(&[0.9, 0.8, 0.1], &[true, false, true]).unwrap();
/// assert_eq!((pr[1].1, pr[1].2), (0.5, 0.5));
/// ```
pub fn pr_curve(probabilities: &[f32], is_flag: &[bool]) -> Option<Vec<(f64, f64, f64)>> {
    let points = cumulative(probabilities, is_flag)?;
    let p = points.last().map(|&(_, tp, _)| tp as f64)?;
    Some(
        points
            .iter()
            .map(|&(t, tp, fp)| (t, tp as f64 / p, tp as f64 / (tp + fp) as f64))
            .collect(),
    )
}

/// ROC-AUC through linfa's `BinaryClassification::roc`: the Mann–Whitney probability that
/// a flagged item outscores an unflagged one, ties counting half (tests/metrics.rs checks
/// it against the trapezoid area of [`roc_curve`] and hand-counted pairs); `None` when a
/// side is empty.
///
/// ```
/// let auc = rumor_triage::eval::roc_auc(&[0.9, 0.8, 0.3, 0.1], &[true, false, true, false]).unwrap();
/// assert!((auc - 0.75).abs() < 1e-6);
/// ```
pub fn roc_auc(probabilities: &[f32], is_flag: &[bool]) -> Option<f64> {
    use linfa::prelude::BinaryClassification;
    cumulative(probabilities, is_flag)?;
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

/// Average precision: Σ over thresholds of (recall gain) × precision there, as
/// scikit-learn's `average_precision_score`; `None` when a side is empty.
///
/// ```
/// let ap = rumor_triage::eval::average_precision(&[0.9, 0.8, 0.1], &[true, false, true]).unwrap();
/// assert!((ap - (0.5 * 1.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
/// ```
pub fn average_precision(probabilities: &[f32], is_flag: &[bool]) -> Option<f64> {
    let curve = pr_curve(probabilities, is_flag)?;
    let mut previous_recall = 0.0;
    let mut area = 0.0;
    for (_, recall, precision) in curve {
        area += (recall - previous_recall) * precision;
        previous_recall = recall;
    }
    Some(area)
}

/// Brier score: the mean of (probability − outcome)²; `None` with no items.
///
/// ```
/// assert_eq!(rumor_triage::eval::brier(&[1.0, 0.5], &[true, false]), Some(0.125));
/// ```
pub fn brier(probabilities: &[f32], is_flag: &[bool]) -> Option<f64> {
    if probabilities.is_empty() || probabilities.len() != is_flag.len() {
        return None;
    }
    let sum: f64 = probabilities
        .iter()
        .zip(is_flag)
        .map(|(&p, &f)| (f64::from(p) - if f { 1.0 } else { 0.0 }).powi(2))
        .sum();
    Some(sum / probabilities.len() as f64)
}

/// Equal-width reliability bins over [0, 1]; a probability of exactly 1 goes in the last.
///
/// ```
/// let bins = rumor_triage::eval::reliability(&[0.05, 0.95, 1.0], &[false, true, true], 10);
/// assert_eq!((bins[0].count, bins[9].count, bins[9].observed_rate), (1, 2, Some(1.0)));
/// ```
pub fn reliability(probabilities: &[f32], is_flag: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut sums = vec![(0u64, 0.0f64, 0u64); bins];
    for (&p, &f) in probabilities.iter().zip(is_flag) {
        let p = if p.is_finite() {
            f64::from(p).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let bin = ((p * bins as f64) as usize).min(bins - 1);
        if let Some(slot) = sums.get_mut(bin) {
            slot.0 += 1;
            slot.1 += p;
            slot.2 += u64::from(f);
        }
    }
    sums.iter()
        .enumerate()
        .map(|(i, &(count, sum, flagged))| ReliabilityBin {
            lower: i as f64 / bins as f64,
            upper: (i + 1) as f64 / bins as f64,
            count,
            mean_probability: (count > 0).then(|| sum / count as f64),
            observed_rate: (count > 0).then(|| flagged as f64 / count as f64),
        })
        .collect()
}

/// Expected calibration error from reliability bins over `items` items.
///
/// ```
/// let bins = rumor_triage::eval::reliability(&[0.15, 0.15], &[true, false], 10);
/// assert!((rumor_triage::eval::ece(&bins, 2).unwrap() - 0.35).abs() < 1e-6);
/// ```
pub fn ece(bins: &[ReliabilityBin], items: usize) -> Option<f64> {
    if items == 0 {
        return None;
    }
    Some(
        bins.iter()
            .filter_map(|b| {
                let gap = (b.observed_rate? - b.mean_probability?).abs();
                Some(b.count as f64 / items as f64 * gap)
            })
            .sum(),
    )
}

fn decisions_point(flagged: &[bool], is_flag: &[bool], threshold: Option<f32>) -> OperatingPoint {
    let flagged_count = flagged.iter().filter(|&&f| f).count() as u64;
    let true_positives = flagged
        .iter()
        .zip(is_flag)
        .filter(|(&d, &t)| d && t)
        .count() as f64;
    let positives = is_flag.iter().filter(|&&t| t).count() as f64;
    OperatingPoint {
        threshold: threshold.map(f64::from),
        precision: if flagged_count > 0 {
            true_positives / flagged_count as f64
        } else {
            0.0
        },
        recall: if positives > 0.0 {
            true_positives / positives
        } else {
            0.0
        },
        flagged: flagged_count,
    }
}

/// The lowest threshold at which flagging reaches `target` precision on these items (so the
/// highest recall with that precision), or `None` if no threshold reaches it.
///
/// ```
/// let p = rumor_triage::eval::point_at_precision(&[0.9, 0.8, 0.7, 0.1], &[true, true, false, true], 0.9).unwrap();
/// assert_eq!((p.threshold, p.precision, p.flagged), (Some(0.800000011920929), 1.0, 2));
/// ```
pub fn point_at_precision(
    probabilities: &[f32],
    is_flag: &[bool],
    target: f64,
) -> Option<OperatingPoint> {
    let points = cumulative(probabilities, is_flag)?;
    let positives = points.last().map(|&(_, tp, _)| tp as f64)?;
    points
        .iter()
        .rfind(|&&(_, tp, fp)| tp as f64 / (tp + fp) as f64 >= target)
        .map(|&(t, tp, fp)| OperatingPoint {
            threshold: Some(t),
            precision: tp as f64 / (tp + fp) as f64,
            recall: tp as f64 / positives,
            flagged: tp + fp,
        })
}

fn figure(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"))
}

/// The report as markdown: headline figures, per-class table, confusion matrix.
///
/// ```
/// let mut p = rumor_triage::eval::Predictions::new(vec!["no".into(), "yes".into()]);
/// p.push(1, 1, 0.8, true, true);
/// p.push(0, 1, 0.6, false, true);
/// assert!(rumor_triage::eval::report_table(&p.report(None)).contains("| yes | 0.5000 |"));
/// ```
pub fn report_table(report: &Report) -> String {
    let mut out = format!(
        "| items | accuracy | macro-F1 | ROC-AUC | PR-AUC | Brier | ECE |\n|---|---|---|---|---|---|---|\n| {} | {:.4} | {:.4} | {} | {} | {} | {} |\n\n",
        report.items,
        report.accuracy,
        report.macro_f1,
        figure(report.roc_auc),
        figure(report.pr_auc),
        figure(report.brier),
        figure(report.ece),
    );
    let point = |name: &str, p: &OperatingPoint| {
        format!(
            "| {name} | {} | {:.4} | {:.4} | {} |\n",
            figure(p.threshold),
            p.precision,
            p.recall,
            p.flagged
        )
    };
    out.push_str(
        "| flagged side | threshold | precision | recall | flagged |\n|---|---|---|---|---|\n",
    );
    out.push_str(&point("at the model's threshold", &report.at_threshold));
    if let Some(p) = &report.at_precision {
        out.push_str(&point("at the target precision", p));
    }
    out.push_str("\n| label | precision | recall | F1 | support |\n|---|---|---|---|---|\n");
    for m in &report.per_class {
        out.push_str(&format!(
            "| {} | {:.4} | {:.4} | {:.4} | {} |\n",
            m.label, m.precision, m.recall, m.f1, m.support
        ));
    }
    out.push_str("\nconfusion (rows: truth, columns: decided)\n\n| |");
    let names: Vec<&str> = report.per_class.iter().map(|m| m.label.as_str()).collect();
    for name in &names {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str(&format!("\n|---|{}\n", "---|".repeat(names.len())));
    for (name, row) in names.iter().zip(&report.confusion) {
        out.push_str(&format!("| {name} |"));
        for v in row {
            out.push_str(&format!(" {v} |"));
        }
        out.push('\n');
    }
    out
}
