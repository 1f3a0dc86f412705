//! The review queue: which scored posts are worth a reviewer's minute. A post whose
//! probability sits near the threshold is the one a decision changes most; a post standing
//! for a near-duplicate campaign settles every copy at once; and a queue of one story many
//! times wastes the reviewer, so picks similar to earlier picks wait.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::counts::campaigns::Campaigns;
use crate::counts::CampaignOptions;
use crate::error::Error;
use crate::features::Signature;
use crate::model::{Contribution, Model, Workspace};

/// A scored post that may be queued.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    /// The post's id.
    pub id: String,
    /// Its calibrated probability.
    pub probability: f32,
    /// Its text, when the scored output kept it: it groups near-duplicates among all
    /// candidates (flagged or not) and gives the explanation.
    pub text: Option<String>,
    /// Its `campaign` from the scored output (flagged posts only), used when there is no
    /// text.
    pub campaign: Option<u64>,
    /// Other kept fields, passed through to the queue.
    pub kept: Option<serde_json::Value>,
}

/// How the queue is picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Nearest the threshold first, one post at a time: the plain baseline.
    Uncertainty,
    /// One representative per near-duplicate campaign, its uncertainty weighted by
    /// 1 + ln(campaign size), picks similar to earlier picks held back (default).
    #[default]
    CampaignWeighted,
    /// Seeded random order: the baseline strategies are compared against.
    Random,
}

/// One post in the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    /// The post's id.
    pub id: String,
    /// Its probability.
    pub probability: f32,
    /// Why it is where it is: higher first.
    pub priority: f64,
    /// The near-duplicate group it stands for, when it has other posts (the 1-based
    /// position in the candidates of the group's first post; the scored `campaign` where
    /// there was no text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<u64>,
    /// Posts in that group, itself included: how many one decision settles.
    pub campaign_size: u64,
    /// The n-grams that moved its score most (when its text was kept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explain: Vec<Contribution>,
    /// The kept fields of its scored line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<serde_json::Value>,
}

/// Estimated Jaccard similarity above which a pick waits behind dissimilar ones: loose,
/// so that it catches the same story told in other words, not only copies.
const SAME_STORY: f32 = 0.3;

/// How close `p` is to the threshold `t`: 1 on it, 0 at the far end of its side.
fn uncertainty(p: f32, t: f32) -> f64 {
    let span = t.max(1.0 - t).max(f32::EPSILON);
    f64::from(1.0 - ((p - t).abs() / span).min(1.0))
}

/// Picks up to `budget` posts of `candidates` for review with `strategy` (the seed orders
/// `Random`), each with its group, priority and, when the text is there, its `explain` top
/// n-grams from `model`. Deterministic: same candidates, same queue.
///
/// ```
/// use rumor_triage::{review_queue, Candidate, Model, Strategy};
/// let model = Model::load_default()?;
/// let texts = ["Unconfirmed: the bridge on Route 9 collapsed, share!",
///              "Unconfirmed: the bridge on Route 9 collapsed, share!!",
///              "Is it true the mayor resigned? no official word yet",
///              "Lunch with the team was great today"];
/// let candidates: Vec<Candidate> = texts.iter().enumerate().map(|(i, t)| Candidate {
///     id: i.to_string(), probability: model.score(t).unwrap().probability,
///     text: Some(t.to_string()), ..Default::default() }).collect();
/// let queue = review_queue(&model, &candidates, 10, Strategy::CampaignWeighted, 0, 3)?;
/// assert_eq!(queue.len(), 3); // the two copies are one item
/// assert_eq!(queue.iter().map(|q| q.campaign_size).sum::<u64>(), 4);
/// # Ok::<(), rumor_triage::Error>(())
/// ```
pub fn review_queue(
    model: &Model,
    candidates: &[Candidate],
    budget: usize,
    strategy: Strategy,
    seed: u64,
    explain: usize,
) -> Result<Vec<QueueItem>, Error> {
    let threshold = model.threshold();
    let mut workspace = Workspace::default();
    let mut campaigns = Campaigns::new(CampaignOptions::default());
    let mut signatures: Vec<Option<Signature>> = Vec::with_capacity(candidates.len());
    // A group per candidate: a sketched campaign, a scored campaign, or itself alone.
    let mut groups: Vec<(u8, u64)> = Vec::with_capacity(candidates.len());
    for (position, candidate) in (1u64..).zip(candidates) {
        let signature = match &candidate.text {
            Some(text) => {
                model.score_with(text, &mut workspace, None)?;
                Some(*workspace.signature())
            }
            None => None,
        };
        let group = match (&signature, candidate.campaign) {
            (Some(s), _) => campaigns
                .campaign_of(position, s)
                .map_or((0, position), |c| (1, c)),
            (None, Some(c)) => (2, c),
            (None, None) => (0, position),
        };
        signatures.push(signature);
        groups.push(group);
    }
    let mut sizes: FxHashMap<(u8, u64), u64> = FxHashMap::default();
    for g in &groups {
        *sizes.entry(*g).or_default() += 1;
    }
    let size_of = |i: usize| {
        groups
            .get(i)
            .and_then(|g| sizes.get(g))
            .copied()
            .unwrap_or(1)
    };
    // A group of one is no campaign; a scored campaign keeps its id whatever its size here.
    let campaign_of = |i: usize| -> Option<u64> {
        groups
            .get(i)
            .filter(|(kind, _)| *kind == 2 || (*kind == 1 && size_of(i) > 1))
            .map(|&(_, id)| id)
    };
    let u = |i: usize| {
        candidates
            .get(i)
            .map_or(0.0, |c| uncertainty(c.probability, threshold))
    };

    let order: Vec<(usize, f64)> = match strategy {
        Strategy::Random => {
            let mut order: Vec<usize> = (0..candidates.len()).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            order.truncate(budget);
            order.into_iter().map(|i| (i, u(i))).collect()
        }
        Strategy::Uncertainty => {
            let mut order: Vec<(usize, f64)> = (0..candidates.len()).map(|i| (i, u(i))).collect();
            order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            order.truncate(budget);
            order
        }
        Strategy::CampaignWeighted => {
            // The representative of each group: its member nearest the threshold.
            let mut representative: FxHashMap<(u8, u64), usize> = FxHashMap::default();
            for (i, g) in groups.iter().enumerate() {
                let best = representative.entry(*g).or_insert(i);
                if u(i) > u(*best) {
                    *best = i;
                }
            }
            let mut pool: Vec<(usize, f64)> = representative
                .values()
                .map(|&i| (i, u(i) * (1.0 + (size_of(i) as f64).ln())))
                .collect();
            pool.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            diverse(pool, &signatures, budget)
        }
    };
    order
        .into_iter()
        .filter_map(|(i, priority)| candidates.get(i).map(|c| (i, c, priority)))
        .map(|(i, candidate, priority)| {
            let explain = match (&candidate.text, explain) {
                (Some(text), k) if k > 0 => model.explain(text, k)?.top,
                _ => Vec::new(),
            };
            Ok(QueueItem {
                id: candidate.id.clone(),
                probability: candidate.probability,
                priority,
                campaign: campaign_of(i),
                campaign_size: size_of(i),
                explain,
                kept: candidate.kept.clone(),
            })
        })
        .collect()
}

/// Takes `pool` (best first) in order, except that a pick whose sketch is as similar as
/// [`SAME_STORY`] to one already taken waits until the dissimilar ones run out.
fn diverse(
    pool: Vec<(usize, f64)>,
    signatures: &[Option<Signature>],
    budget: usize,
) -> Vec<(usize, f64)> {
    let mut taken: Vec<(usize, f64)> = Vec::with_capacity(budget.min(pool.len()));
    let mut waiting = Vec::new();
    for (i, priority) in pool {
        if taken.len() == budget {
            break;
        }
        let sketch = signatures.get(i).copied().flatten();
        let same_story = sketch.is_some_and(|s| {
            taken.iter().any(|&(j, _)| {
                signatures
                    .get(j)
                    .copied()
                    .flatten()
                    .is_some_and(|t| s.similarity(&t) >= SAME_STORY)
            })
        });
        if same_story {
            waiting.push((i, priority));
        } else {
            taken.push((i, priority));
        }
    }
    let room = budget.saturating_sub(taken.len());
    taken.extend(waiting.into_iter().take(room));
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(model: &Model, texts: &[&str]) -> Vec<Candidate> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Candidate {
                id: i.to_string(),
                probability: model.score(t).unwrap().probability,
                text: Some((*t).to_owned()),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn uncertainty_is_one_on_the_threshold_and_zero_at_the_far_ends() {
        assert_eq!(uncertainty(0.4, 0.4), 1.0);
        assert_eq!(uncertainty(1.0, 0.4), 0.0);
        assert!((uncertainty(0.0, 0.4) - (1.0 - 0.4 / 0.6)).abs() < 1e-6);
        assert!(uncertainty(0.45, 0.4) > uncertainty(0.6, 0.4));
    }

    #[test]
    fn copies_are_one_item_standing_for_all_of_them() {
        let model = Model::load_default().unwrap();
        let copy =
            "BREAKING: unconfirmed reports say the dam upstream has burst, evacuate now and share";
        let texts = [
            copy,
            &format!("{copy}!"),
            &format!("{copy}!!"),
            "Lunch with the team was great today, thanks all",
        ];
        let texts: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
        let all = candidates(&model, &texts);
        let queue = review_queue(&model, &all, 10, Strategy::CampaignWeighted, 0, 2).unwrap();
        assert_eq!(queue.len(), 2);
        let copies = queue.iter().find(|q| q.campaign_size == 3).unwrap();
        assert_eq!(copies.campaign, Some(1));
        assert_eq!(copies.explain.len(), 2);
        // The representative is the copy nearest the threshold.
        let t = model.threshold();
        let nearest = all[..3]
            .iter()
            .min_by(|a, b| {
                (a.probability - t)
                    .abs()
                    .total_cmp(&(b.probability - t).abs())
            })
            .unwrap();
        assert_eq!(copies.id, nearest.id);
        let plain = review_queue(&model, &all, 10, Strategy::Uncertainty, 0, 0).unwrap();
        assert_eq!(plain.len(), 4, "the plain baseline queues every copy");
        assert!(plain.windows(2).all(|w| w[0].priority >= w[1].priority));
    }

    #[test]
    fn random_is_seeded_and_the_budget_holds() {
        let model = Model::load_default().unwrap();
        let texts: Vec<String> = (0..40)
            .map(|i| format!("post number {i} about topic {}", i % 7))
            .collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let all = candidates(&model, &texts);
        let a = review_queue(&model, &all, 10, Strategy::Random, 7, 0).unwrap();
        let b = review_queue(&model, &all, 10, Strategy::Random, 7, 0).unwrap();
        let c = review_queue(&model, &all, 10, Strategy::Random, 8, 0).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 10);
        assert_eq!(
            review_queue(&model, &all, 0, Strategy::CampaignWeighted, 0, 0)
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn a_second_telling_of_a_story_waits_behind_other_stories() {
        let pool = vec![(0, 0.9), (1, 0.8), (2, 0.1)];
        let mut story = Signature::default();
        let mut retold = Signature::default();
        let mut other = Signature::default();
        for b in 0..40u32 {
            story.add(b);
            retold.add(b + 10);
            other.add(b + 1000);
        }
        assert!(story.similarity(&retold) >= SAME_STORY);
        assert!(story.similarity(&other) < SAME_STORY);
        let signatures = [Some(story), Some(retold), Some(other)];
        let picked: Vec<usize> = diverse(pool.clone(), &signatures, 2)
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(picked, [0, 2]);
        let all: Vec<usize> = diverse(pool, &signatures, 3).iter().map(|p| p.0).collect();
        assert_eq!(
            all,
            [0, 2, 1],
            "a waiting pick fills the budget when nothing else is left"
        );
    }
}
