//! Scoring: tokens, n-gram counts, tf·idf, norm and margins in one walk, then the
//! calibrated probability and the decision.

use serde::{Deserialize, Serialize};

use super::calibrate::{flag_probability, probabilities_into};
use super::{Model, Workspace};
use crate::error::Error;
use crate::features::{self, Signature, SparseRow};
use crate::util::prefetch;

/// The verdict on one text.
///
/// ```
/// let s = rumor_triage::Model::load_default().unwrap().score("hello").unwrap();
/// assert_eq!(s.flagged, s.label == "rumor");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The decided label: for a binary model the flagged label when `flagged`, else the
    /// other; for a multi-class model the most probable label.
    pub label: String,
    /// Calibrated probability that the text belongs to a flagged label.
    pub probability: f32,
    /// Whether `probability` reaches the threshold (never for `insufficient_text`).
    pub flagged: bool,
    /// Whether the text has fewer distinct content tokens than the model's
    /// [`FeatureConfig::min_content_tokens`](crate::FeatureConfig::min_content_tokens): too
    /// little to flag; `probability` is then the model's probability of no evidence.
    #[serde(default)]
    pub insufficient_text: bool,
}

/// What [`Model::decide_with`] decided about one text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decided {
    /// The decided label's index in [`Model::labels`].
    pub(crate) label: usize,
    pub(crate) probability: f32,
    pub(crate) flagged: bool,
    pub(crate) insufficient_text: bool,
}

impl Model {
    /// The idf of bucket `b`, from the scoring table (1.0 outside it).
    pub(super) fn idf(&self, b: u32) -> f32 {
        let stride = self.linear.outputs() + 1;
        self.scoring_table
            .get(b as usize * stride)
            .copied()
            .unwrap_or(1.0)
    }

    /// Hashed n-gram counts of `text` into `workspace.row`.
    fn count(&self, text: &str, workspace: &mut Workspace) -> Result<(), Error> {
        features::count_ngrams(
            &self.features,
            &self.tokenizer,
            text,
            &mut workspace.features,
            &mut workspace.row,
        )
        .map(|_| ())
    }

    /// The weighted feature row of `text` (sorted buckets, tf·idf, L2-normalized).
    pub fn featurize(&self, text: &str, workspace: &mut Workspace) -> Result<(), Error> {
        self.count(text, workspace)?;
        features::weigh(&self.features, |b| self.idf(b), &mut workspace.row);
        Ok(())
    }

    /// The feature row computed by the last [`Model::featurize`] into `workspace`.
    pub fn row<'w>(&self, workspace: &'w Workspace) -> &'w SparseRow {
        &workspace.row
    }

    /// Calibrated probability of each label of `text`, in [`Model::labels`] order.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let p = model.probabilities("Breaking: is it true the bridge collapsed?").unwrap();
    /// assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    /// ```
    pub fn probabilities(&self, text: &str) -> Result<Vec<f32>, Error> {
        let mut workspace = Workspace::default();
        self.score_with(text, &mut workspace, None)?;
        Ok(workspace.probabilities)
    }

    /// Scores one text with the stored threshold.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let score = model.score("网传明天有地震，请转发").unwrap();
    /// assert!((0.0..=1.0).contains(&score.probability));
    /// ```
    pub fn score(&self, text: &str) -> Result<Score, Error> {
        self.score_with(text, &mut Workspace::default(), None)
    }

    /// Scores one text reusing `workspace`; `threshold` overrides the stored one.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let mut workspace = rumor_triage::Workspace::default();
    /// let strict = model.score_with("is this true?", &mut workspace, Some(1.0)).unwrap();
    /// assert!(!strict.flagged || strict.probability >= 1.0);
    /// ```
    pub fn score_with(
        &self,
        text: &str,
        workspace: &mut Workspace,
        threshold: Option<f32>,
    ) -> Result<Score, Error> {
        let decided = self.decide_with(text, workspace, threshold, false)?;
        Ok(self.score_of(decided))
    }

    /// The [`Score`] of what [`Model::decide_with`] decided.
    pub(crate) fn score_of(&self, decided: Decided) -> Score {
        Score {
            label: self.labels.get(decided.label).cloned().unwrap_or_default(),
            probability: decided.probability,
            flagged: decided.flagged,
            insufficient_text: decided.insufficient_text,
        }
    }

    /// [`Model::score_with`] with the label as its index in [`Model::labels`], so a batch
    /// job does not copy the label's name once per post. With `keep_counts` the text's
    /// n-gram counts stay in the workspace for [`Model::explain_scored`].
    pub(crate) fn decide_with(
        &self,
        text: &str,
        workspace: &mut Workspace,
        threshold: Option<f32>,
        keep_counts: bool,
    ) -> Result<Decided, Error> {
        let Workspace {
            features,
            row,
            margins,
            probabilities,
            signature,
            ..
        } = workspace;
        row.indices.clear();
        row.values.clear();
        *signature = Signature::default();
        let keep = |bucket: u32, count: f32| {
            signature.add(bucket);
            if keep_counts {
                row.indices.push(bucket);
                row.values.push(count);
            }
        };
        self.fused_margins(text, features, keep_counts, keep, margins)?;
        let min_content = usize::from(self.features.min_content_tokens);
        let insufficient_text = min_content > 0
            && features::content_tokens(features.keys(), &self.non_content, min_content)
                < min_content;
        if insufficient_text {
            // Too little text to move the model off its prior: the margins of no evidence.
            margins.clear();
            margins.extend(self.linear.bias.iter());
        }
        probabilities_into(&self.calibration, &self.positive, margins, probabilities);
        let probability = flag_probability(probabilities, &self.positive);
        let flagged = !insufficient_text && probability >= threshold.unwrap_or(self.threshold);
        let label = decide(probabilities, &self.positive, flagged);
        Ok(Decided {
            label,
            probability,
            flagged,
            insufficient_text,
        })
    }

    /// Margins of `text` as its n-grams are counted: tf · idf, the norm and the dot product
    /// in the one walk over the distinct buckets (the same value as [`Model::featurize`]
    /// then the dot product, up to rounding order). Each bucket and its raw count also go
    /// to `keep`; with `name_tokens` the tokens' texts stay in `scratch`.
    #[inline]
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from loops over the model's own tables and their lengths, not from input"
    )]
    fn fused_margins(
        &self,
        text: &str,
        scratch: &mut features::Scratch,
        name_tokens: bool,
        mut keep: impl FnMut(u32, f32),
        margins: &mut Vec<f32>,
    ) -> Result<(), Error> {
        let k = self.linear.outputs();
        let stride = k + 1;
        margins.clear();
        margins.resize(k, 0.0);
        let mut norm = 0.0f32;
        let sublinear = self.features.sublinear_tf;
        let small = &self.sublinear_tf;
        let tf_of = |count: f32| {
            if !sublinear || count == 1.0 {
                count
            } else {
                match small.get(count as usize) {
                    Some(&tf) => tf,
                    None => 1.0 + count.ln(),
                }
            }
        };
        let (config, tokenizer, table) = (&self.features, &self.tokenizer, &self.scoring_table);
        if let [margin] = margins.as_mut_slice() {
            // A binary model: pairs of (idf, weight), with the stride known to the compiler.
            features::for_each_ngram_count(
                config,
                tokenizer,
                text,
                scratch,
                name_tokens,
                |b| {
                    if let Some(entry) = table.get(b as usize * 2) {
                        prefetch(entry);
                    }
                },
                |b, count| {
                    keep(b, count);
                    let start = b as usize * 2;
                    if let Some(&[idf, w]) = table.get(start..start + 2) {
                        let v = tf_of(count) * idf;
                        norm += v * v;
                        *margin += v * w;
                    }
                },
            )?;
        } else {
            features::for_each_ngram_count(
                config,
                tokenizer,
                text,
                scratch,
                name_tokens,
                |b| {
                    if let Some(entry) = table.get(b as usize * stride) {
                        prefetch(entry);
                    }
                },
                |b, count| {
                    keep(b, count);
                    let start = b as usize * stride;
                    if let Some(entry) = table.get(start..start + stride) {
                        let v = tf_of(count) * entry[0];
                        norm += v * v;
                        for (m, w) in margins.iter_mut().zip(&entry[1..]) {
                            *m += v * w;
                        }
                    }
                },
            )?;
        }
        let norm = norm + config.norm_smoothing;
        let scale = if norm > 0.0 { norm.sqrt().recip() } else { 0.0 };
        for (m, b) in margins.iter_mut().zip(self.linear.bias.iter()) {
            *m = *m * scale + b;
        }
        Ok(())
    }
}

/// The label index decided for calibrated `probabilities`.
pub(super) fn decide(probabilities: &[f32], positive: &[bool], flagged: bool) -> usize {
    if probabilities.len() == 2 {
        let flag_index = usize::from(positive.get(1).copied().unwrap_or(false));
        return if flagged { flag_index } else { 1 - flag_index };
    }
    crate::learn::argmax(probabilities.iter().copied())
}

/// Checks a threshold override: a probability.
pub(crate) fn check_threshold(threshold: Option<f32>) -> Result<(), Error> {
    match threshold {
        Some(t) if !(0.0..=1.0).contains(&t) => Err(Error::invalid_option(
            "threshold",
            format!("must be in [0, 1], got {t}"),
        )),
        _ => Ok(()),
    }
}
