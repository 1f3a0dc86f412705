//! Explanations: the n-grams of a text that moved its score most, named as the text has
//! them.

use serde::{Deserialize, Serialize};

use super::score::Score;
use super::{Model, Workspace};
use crate::error::Error;
use crate::features;

/// What explaining a text fills, kept in the workspace so that a batch job explaining many
/// posts reuses it instead of allocating it per post.
#[derive(Debug, Default, Clone)]
pub(super) struct ExplainScratch {
    /// Each bucket of the text and its contribution.
    terms: Vec<(u32, f32)>,
    /// The kept buckets, sorted.
    kept: Vec<u32>,
    padded: String,
    boundaries: Vec<usize>,
}

/// One n-gram feature of a text and how much it moved the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The n-gram(s) of this text that fell into the bucket, tokens joined by spaces; a
    /// character n-gram of a word as fastText writes it, with its word: `<unco (in
    /// unconfirmed)`. Several n-grams sharing a bucket (a hash collision, or one character
    /// n-gram in two words) are joined by ` | `.
    pub ngram: String,
    /// The hash bucket.
    pub bucket: u32,
    /// Feature value times weight, toward the flagged side (positive pushes to flag).
    pub contribution: f32,
}

/// Why a text got its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Explanation {
    /// The score itself.
    pub score: Score,
    /// The raw margin toward the flagged side: `bias + Σ contributions` over all features.
    pub margin: f32,
    /// The intercept part of `margin`.
    pub bias: f32,
    /// The features with the largest absolute contributions, largest first.
    pub top: Vec<Contribution>,
    /// Number of distinct features of the text.
    pub features: usize,
}

impl Model {
    /// The `k` n-grams of `text` that moved its score most, with their contributions.
    ///
    /// Contributions are toward the flagged side: for a binary model they are the terms of
    /// the margin, so `bias + Σ all contributions = margin`; for a multi-class model, the
    /// terms of (mean flagged-label logit − mean other logit).
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let why = model.explain("Unconfirmed reports: gunman still inside?", 3).unwrap();
    /// assert_eq!(why.top.len(), 3);
    /// assert!(why.top.windows(2).all(|w| w[0].contribution.abs() >= w[1].contribution.abs()));
    /// ```
    pub fn explain(&self, text: &str, k: usize) -> Result<Explanation, Error> {
        let mut workspace = Workspace::default();
        let decided = self.decide_with(text, &mut workspace, None, true)?;
        let score = self.score_of(decided);
        self.explain_scored(k, &mut workspace, score)
    }

    /// [`Model::explain`] of the text just scored as `score` in `workspace` by
    /// [`Model::decide_with`] with `keep_counts` (so the workspace still holds its n-gram
    /// counts, tokens and token texts): a batch job that explains the posts it flagged
    /// neither counts their n-grams nor tokenizes them again. The n-grams are named only for
    /// the `k` buckets kept.
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from loops over the model's own tables and their lengths, not from input"
    )]
    pub(crate) fn explain_scored(
        &self,
        k: usize,
        workspace: &mut Workspace,
        score: Score,
    ) -> Result<Explanation, Error> {
        let Workspace {
            row,
            explain,
            features: scratch,
            ..
        } = workspace;
        let ExplainScratch {
            terms,
            kept,
            padded,
            boundaries,
        } = explain;
        features::weigh(&self.features, |b| self.idf(b), row);
        let direction = self.flag_direction();
        let bias: f32 = self
            .linear
            .bias
            .iter()
            .zip(&direction)
            .map(|(b, d)| b * d)
            .sum();
        let outputs = self.linear.outputs();
        terms.clear();
        terms.extend(
            row.indices
                .iter()
                .zip(&row.values)
                .map(|(&bucket, &value)| {
                    let w = self.linear.weights.row(bucket as usize);
                    let weight: f32 = (0..outputs).map(|o| w[o] * direction[o]).sum();
                    (bucket, value * weight)
                }),
        );
        let margin = bias + terms.iter().map(|&(_, c)| c).sum::<f32>();
        let features = terms.len();
        // Largest first, ties by bucket: a total order, so the kept set does not depend on
        // the selection algorithm.
        let larger =
            |a: &(u32, f32), b: &(u32, f32)| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0));
        if k < terms.len() {
            terms.select_nth_unstable_by(k, larger);
            terms.truncate(k);
        }
        terms.sort_by(larger);
        kept.clear();
        kept.extend(terms.iter().map(|&(bucket, _)| bucket));
        kept.sort_unstable();
        // Which n-grams of this text fell into each kept bucket: the token n-grams, then the
        // character n-grams of its words.
        let mut names: Vec<Vec<String>> = vec![Vec::new(); kept.len()];
        // The tokens and their texts as the scoring just counted them.
        let (keys, leads, named) = (scratch.keys(), scratch.leads(), scratch.names());
        let is_kept = |b: &u32| kept.binary_search(b).is_ok();
        let mut subwords: Vec<(usize, String)> = Vec::new();
        for token in &named.tokens {
            let Some(word) = token.word.clone().and_then(|w| named.text.get(w)) else {
                continue;
            };
            let buckets = scratch.subwords().get(token.subwords.clone());
            if !buckets.unwrap_or_default().iter().any(is_kept) {
                continue;
            }
            features::for_each_subword(&self.features, word, padded, boundaries, |b, g| {
                if let Ok(at) = kept.binary_search(&b) {
                    subwords.push((at, subword_name(g, word)));
                }
            });
        }
        let mut add_name = |at: usize, gram: String| {
            let entry = &mut names[at];
            if !entry.contains(&gram) {
                entry.push(gram);
            }
        };
        features::for_each_placed_bucket(&self.features, keys, leads, |bucket, start, len| {
            if let Ok(at) = kept.binary_search(&bucket) {
                let mut gram = String::new();
                for (i, token) in named.tokens[start..start + len].iter().enumerate() {
                    if i > 0 {
                        gram.push(' ');
                    }
                    gram.push_str(&named.text[token.text.clone()]);
                }
                add_name(at, gram);
            }
        });
        subwords
            .into_iter()
            .for_each(|(at, gram)| add_name(at, gram));
        let top = terms
            .iter()
            .map(|&(bucket, contribution)| Contribution {
                ngram: kept
                    .binary_search(&bucket)
                    .ok()
                    .and_then(|at| names.get(at))
                    .map(|n| n.join(" | "))
                    .unwrap_or_default(),
                bucket,
                contribution,
            })
            .collect();
        Ok(Explanation {
            score,
            margin,
            bias,
            top,
            features,
        })
    }

    /// Coefficients that turn the outputs into one margin toward the flagged side.
    #[allow(
        clippy::indexing_slicing,
        reason = "indices come from loops over the model's own tables and their lengths, not from input"
    )]
    fn flag_direction(&self) -> Vec<f32> {
        if self.linear.outputs() == 1 {
            return vec![if self.positive[1] { 1.0 } else { -1.0 }];
        }
        let flagged = self.positive.iter().filter(|&&p| p).count() as f32;
        let others = self.positive.len() as f32 - flagged;
        self.positive
            .iter()
            .map(|&p| if p { 1.0 / flagged } else { -1.0 / others })
            .collect()
    }
}

/// word it came from, so that a reviewer sees which word of the post it stands for.
fn subword_name(gram: &str, word: &str) -> String {
    let (start, gram) = gram
        .strip_prefix(' ')
        .map_or(("", gram), |rest| ("<", rest));
    let (gram, end) = gram
        .strip_suffix(' ')
        .map_or((gram, ""), |rest| (rest, ">"));
    format!("{start}{gram}{end} (in {word})")
}
