//! Calibration and the decision threshold: held-out margins become probabilities that mean
//! what they say (Platt or temperature scaling), and a rule picks the threshold.

use linfa::ParamGuard;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::train::ThresholdRule;

/// Turns held-out margins into probabilities that mean what they say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Calibration {
    /// Binary: `P(flag) = 1 / (1 + exp(a·s + b))`, `s` the margin toward the flagged label
    /// (Platt scaling, fitted with linfa's Newton method).
    Platt {
        /// Slope.
        a: f64,
        /// Offset.
        b: f64,
    },
    /// Multi-class: `softmax(z / t)` over the one-vs-rest margins (temperature scaling).
    Temperature {
        /// Temperature.
        t: f64,
    },
}

/// Calibrated probabilities of each label from raw margins.
#[allow(
    clippy::indexing_slicing,
    reason = "indices come from loops over the model's own tables and their lengths, not from input"
)]
pub(super) fn probabilities_into(
    calibration: &Calibration,
    positive: &[bool],
    margins: &[f32],
    out: &mut Vec<f32>,
) {
    out.clear();
    match *calibration {
        Calibration::Platt { a, b } => {
            let toward = if positive.get(1).copied().unwrap_or(false) {
                f64::from(margins[0])
            } else {
                -f64::from(margins[0])
            };
            let p_flag = 1.0 / (1.0 + (a * toward + b).exp());
            let p1 = if positive.get(1).copied().unwrap_or(false) {
                p_flag
            } else {
                1.0 - p_flag
            };
            out.push((1.0 - p1) as f32);
            out.push(p1 as f32);
        }
        Calibration::Temperature { t } => {
            let max = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps = margins
                .iter()
                .map(|&z| ((f64::from(z) - f64::from(max)) / t).exp());
            out.extend(exps.map(|e| e as f32));
            let sum: f32 = out.iter().sum();
            out.iter_mut().for_each(|p| *p /= sum);
        }
    }
}

pub(super) fn flag_probability(probabilities: &[f32], positive: &[bool]) -> f32 {
    probabilities
        .iter()
        .zip(positive)
        .filter(|(_, &p)| p)
        .map(|(p, _)| *p)
        .sum::<f32>()
        .clamp(0.0, 1.0)
}

/// The threshold the rule picks over held-out `(flag probability, is flagged label)`, and
/// the flagged-class F1 it gives.
#[allow(
    clippy::indexing_slicing,
    reason = "indices come from loops over the model's own tables and their lengths, not from input"
)]
pub(super) fn choose_threshold(scores: &[(f32, bool)], rule: ThresholdRule) -> (f32, f64) {
    let mut sorted: Vec<(f32, bool)> = scores.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = sorted.iter().filter(|s| s.1).count() as f64;
    let negatives = sorted.len() as f64 - positives;
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    let mut best = (0.5f32, 0.0f64);
    let mut best_macro = (0.5f32, 0.0f64, 0.0f64);
    let mut at_precision: Option<(f32, f64)> = None;
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].0;
        while i < sorted.len() && sorted[i].0 == t {
            if sorted[i].1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        let f1 = if positives > 0.0 {
            2.0 * tp / (tp + fp + positives)
        } else {
            0.0
        };
        if f1 > best.1 {
            best = (t, f1);
        }
        let (fneg, tn) = (positives - tp, negatives - fp);
        let f1_negative = if negatives > 0.0 {
            2.0 * tn / (2.0 * tn + fneg + fp)
        } else {
            0.0
        };
        let macro_f1 = (f1 + f1_negative) / 2.0;
        if macro_f1 > best_macro.2 {
            best_macro = (t, f1, macro_f1);
        }
        if let ThresholdRule::Precision(target) = rule {
            if tp / (tp + fp) >= target {
                at_precision = Some((t, f1));
            }
        }
    }
    match rule {
        ThresholdRule::BestMacroF1 => (best_macro.0, best_macro.1),
        ThresholdRule::BestF1 => best,
        ThresholdRule::Precision(_) => at_precision.unwrap_or(best),
    }
}

/// Platt's `(a, b)` by linfa's Newton method; if its line search gives up (it does on
/// nearly separable held-out scores), by a damped Newton method of our own on the same
/// regularized targets.
pub(super) fn fit_platt(scores: ndarray::ArrayView1<f32>, is_flag: &Array1<bool>) -> (f64, f64) {
    let scores64: Array1<f64> = scores.mapv(f64::from);
    if let Ok(params) = linfa::composing::platt_scaling::PlattParams::<f64, ()>::default().check() {
        if let Ok((a, b)) = linfa::composing::platt_scaling::platt_newton_method(
            scores64.view(),
            is_flag.view(),
            &params,
        ) {
            if a.is_finite() && b.is_finite() {
                return (a, b);
            }
        }
    }
    let positives = is_flag.iter().filter(|&&f| f).count() as f64;
    let negatives = is_flag.len() as f64 - positives;
    let hi = (positives + 1.0) / (positives + 2.0);
    let lo = 1.0 / (negatives + 2.0);
    let targets: Vec<f64> = is_flag.iter().map(|&f| if f { hi } else { lo }).collect();
    let loss = |a: f64, b: f64| -> f64 {
        scores64
            .iter()
            .zip(&targets)
            .map(|(&s, &t)| {
                let f = a * s + b;
                // -[t ln p + (1-t) ln(1-p)] with p = 1 / (1 + e^f)
                if f >= 0.0 {
                    t * f + (-f).exp().ln_1p()
                } else {
                    (t - 1.0) * f + f.exp().ln_1p()
                }
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, ((negatives + 1.0) / (positives + 1.0)).ln());
    let mut current = loss(a, b);
    for _ in 0..100 {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (1e-12, 1e-12, 0.0, 0.0, 0.0);
        for (&s, &t) in scores64.iter().zip(&targets) {
            let p = 1.0 / (1.0 + (a * s + b).exp());
            let d2 = p * (1.0 - p);
            h11 += s * s * d2;
            h22 += d2;
            h21 += s * d2;
            g1 += s * (t - p);
            g2 += t - p;
        }
        let det = h11 * h22 - h21 * h21;
        if det.abs() < 1e-300 {
            break;
        }
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-10 {
            let candidate = loss(a + step * da, b + step * db);
            if candidate < current {
                a += step * da;
                b += step * db;
                current = candidate;
                improved = true;
                break;
            }
            step *= 0.5;
        }
        if !improved || (da.abs() < 1e-9 && db.abs() < 1e-9) {
            break;
        }
    }
    (a, b)
}

/// Temperature minimizing the log loss of `softmax(z / t)` (golden-section on ln t).
#[allow(
    clippy::indexing_slicing,
    reason = "indices come from loops over the model's own tables and their lengths, not from input"
)]
pub(super) fn fit_temperature(margins: &Array2<f32>, targets: &[usize]) -> f64 {
    let nll = |log_t: f64| -> f64 {
        let t = log_t.exp();
        margins
            .rows()
            .into_iter()
            .zip(targets)
            .map(|(z, &y)| {
                let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f64 = z
                    .iter()
                    .map(|&v| ((f64::from(v) - f64::from(max)) / t).exp())
                    .sum();
                sum.ln() - (f64::from(z[y]) - f64::from(max)) / t
            })
            .sum()
    };
    let (mut lo, mut hi) = ((0.05f64).ln(), (20.0f64).ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let a = hi - ratio * (hi - lo);
        let b = lo + ratio * (hi - lo);
        if nll(a) < nll(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp()
}
