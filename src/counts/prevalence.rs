//! How many posts of a dump are rumors, estimated from the calibrated probabilities rather
//! than counted above the threshold: under a rumor share other than the training data's,
//! the flagged count (classify and count) is biased, and the probabilities' EM prior
//! adjustment (Saerens, Latinne and Decaestecker, Neural Computation 2002) is not.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use serde::{Deserialize, Serialize};

/// Probability bins of the histogram the estimate works on: bounded memory on a dump of
/// any length, and the same histogram whatever order or threads the posts came in.
pub const BINS: usize = 1000;
/// Bootstrap rounds behind [`Prevalence::interval`].
pub const BOOTSTRAP_ROUNDS: u32 = 200;
/// Seed of the bootstrap, fixed so that the same dump gives the same interval.
pub const BOOTSTRAP_SEED: u64 = 0x5EED;
const EM_TOLERANCE: f64 = 1e-7;
const EM_MAX_ITERATIONS: usize = 1000;

/// The estimated share of posts that belong to the flagged labels.
///
/// ```
/// use rumor_triage::{Prevalence, ProbabilityHistogram};
/// let mut histogram = ProbabilityHistogram::default();
/// for p in [0.9, 0.8, 0.2, 0.1, 0.1] {
///     histogram.add(p);
/// }
/// let estimate = Prevalence::estimate(&histogram, 0.5, None, 7).unwrap();
/// assert!(estimate.interval.0 <= estimate.share && estimate.share <= estimate.interval.1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Prevalence {
    /// The estimate: the EM-adjusted prior over the posts' probabilities.
    pub share: f64,
    /// `share` times the number of posts.
    pub posts: f64,
    /// 95% bootstrap interval of `share` (posts resampled, [`BOOTSTRAP_ROUNDS`] rounds,
    /// seeded: the same dump gives the same interval).
    pub interval: (f64, f64),
    /// Share of posts at or above the threshold (classify and count), for comparison.
    pub flagged_share: f64,
    /// Mean probability (probabilistic classify and count).
    pub mean_probability: f64,
    /// Adjusted classify and count, `(share at the threshold − fpr) / (tpr − fpr)` clipped
    /// to [0, 1], with the true and false positive rates the model measured at its stored
    /// threshold on its held-out folds; a check on `share`. None for a model without them.
    pub adjusted_share: Option<f64>,
    /// The flagged labels' share in the model's training data (the prior EM starts from).
    pub training_share: f64,
}

/// A model's flag rates on its held-out folds at its stored threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldOutRates {
    /// Share of flagged-label posts at or above the threshold.
    pub tpr: f64,
    /// Share of the other posts at or above it.
    pub fpr: f64,
    /// The threshold.
    pub threshold: f32,
}

impl HeldOutRates {
    /// `model`'s held-out rates at its threshold, if it stores them.
    pub(crate) fn of(model: &crate::Model) -> Option<Self> {
        model.held_out_rates().map(|(tpr, fpr)| HeldOutRates {
            tpr,
            fpr,
            threshold: model.threshold(),
        })
    }
}

/// Counts of flag probabilities in [`BINS`] equal bins, and of the flagged posts.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbabilityHistogram {
    bins: Vec<u64>,
    flagged: u64,
}

impl Default for ProbabilityHistogram {
    fn default() -> Self {
        Self {
            bins: vec![0; BINS],
            flagged: 0,
        }
    }
}

impl ProbabilityHistogram {
    /// Counts one post's flag probability (clamped into [0, 1]; NaN counts as 0).
    pub fn add(&mut self, probability: f32) {
        if let Some(n) = self.bins.get_mut(Self::bin_of(probability)) {
            *n += 1;
        }
    }

    /// The bins probabilities are counted in.
    pub const BINS: usize = BINS;

    /// The bin [`ProbabilityHistogram::add`] counts `probability` in, so that a histogram
    /// counted elsewhere (a SQL `GROUP BY`) can be added with [`ProbabilityHistogram::add_bin`].
    ///
    /// ```
    /// use rumor_triage::ProbabilityHistogram;
    /// assert_eq!(ProbabilityHistogram::bin_of(1.0), ProbabilityHistogram::BINS - 1);
    /// let mut h = ProbabilityHistogram::default();
    /// h.add_bin(ProbabilityHistogram::bin_of(0.42), 3, 1);
    /// assert_eq!(h.total(), 3);
    /// ```
    pub fn bin_of(probability: f32) -> usize {
        let p = if probability.is_nan() {
            0.0
        } else {
            probability.clamp(0.0, 1.0)
        };
        ((p * BINS as f32) as usize).min(BINS - 1)
    }

    /// Counts `posts` posts in bin `bin` (ignored past the last bin), `flagged` of them
    /// flagged.
    pub fn add_bin(&mut self, bin: usize, posts: u64, flagged: u64) {
        if let Some(n) = self.bins.get_mut(bin) {
            *n += posts;
            self.flagged += flagged;
        }
    }

    /// Counts one post, and whether it was flagged.
    pub fn add_post(&mut self, probability: f32, flagged: bool) {
        self.add(probability);
        self.flagged += u64::from(flagged);
    }

    /// Adds another histogram's counts (from another chunk or thread).
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a += b;
        }
        self.flagged += other.flagged;
    }

    /// The number of posts counted.
    pub fn total(&self) -> u64 {
        self.bins.iter().sum()
    }

    /// The share of posts whose probability is at or above `threshold` (to the bins'
    /// resolution).
    fn share_from(&self, threshold: f32) -> f64 {
        let first = ((threshold.clamp(0.0, 1.0) * BINS as f32) as usize).min(BINS);
        let above: u64 = self.bins.iter().skip(first).sum();
        above as f64 / self.total().max(1) as f64
    }

    /// The probability each bin stands for: its middle.
    fn centre(bin: usize) -> f64 {
        (bin as f64 + 0.5) / BINS as f64
    }
}

/// The EM fixed point of the flagged prior for `counts` per bin, starting from (and
/// adjusting away from) `training_share`.
fn em_share(counts: &[u64], training_share: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return training_share;
    }
    let mut share = training_share;
    for _ in 0..EM_MAX_ITERATIONS {
        let up = share / training_share;
        let down = (1.0 - share) / (1.0 - training_share);
        let mut sum = 0.0;
        for (bin, &n) in counts.iter().enumerate() {
            if n > 0 {
                let p = ProbabilityHistogram::centre(bin);
                let flagged = up * p;
                sum += n as f64 * flagged / (flagged + down * (1.0 - p));
            }
        }
        let next = sum / total as f64;
        let done = (next - share).abs() < EM_TOLERANCE;
        share = next;
        if done {
            break;
        }
    }
    share
}

impl Prevalence {
    /// [`Prevalence::estimate`] with `model`'s training share and held-out rates, as the
    /// cleanup counts estimate it for the posts `model` scored into `histogram`.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default()?;
    /// let mut histogram = rumor_triage::ProbabilityHistogram::default();
    /// histogram.add_post(0.9, true);
    /// histogram.add_post(0.1, false);
    /// let share = rumor_triage::Prevalence::of_model(&histogram, &model).unwrap().share;
    /// assert!((0.0..=1.0).contains(&share));
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn of_model(histogram: &ProbabilityHistogram, model: &crate::Model) -> Option<Self> {
        Self::estimate(
            histogram,
            model.training_share(),
            HeldOutRates::of(model),
            BOOTSTRAP_SEED,
        )
    }

    /// Estimates the share from `histogram`, the training share of the flagged labels, the
    /// model's held-out rates, and a bootstrap seed. None without
    /// posts or with a training share outside (0, 1).
    pub fn estimate(
        histogram: &ProbabilityHistogram,
        training_share: f64,
        rates: Option<HeldOutRates>,
        seed: u64,
    ) -> Option<Self> {
        let total = histogram.total();
        if total == 0 || !(training_share > 0.0 && training_share < 1.0) {
            return None;
        }
        let share = em_share(&histogram.bins, training_share);
        let mean_probability = histogram
            .bins
            .iter()
            .enumerate()
            .map(|(bin, &n)| n as f64 * ProbabilityHistogram::centre(bin))
            .sum::<f64>()
            / total as f64;
        let flagged_share = histogram.flagged as f64 / total as f64;
        let adjusted_share = rates.filter(|r| r.tpr - r.fpr > 1e-6).map(|r| {
            let at_threshold = histogram.share_from(r.threshold);
            ((at_threshold - r.fpr) / (r.tpr - r.fpr)).clamp(0.0, 1.0)
        });
        Some(Self {
            share,
            posts: share * total as f64,
            interval: bootstrap_interval(&histogram.bins, total, training_share, seed),
            flagged_share,
            mean_probability,
            adjusted_share,
            training_share,
        })
    }
}

impl Prevalence {
    /// The threshold on the model's probabilities that flags as `threshold` would on
    /// probabilities re-calibrated to the estimated share (the posterior odds scaled by
    /// the ratio of the new prior odds to the training ones): lower when the dump holds
    /// more rumors than the training data, higher when it holds fewer.
    ///
    /// ```
    /// use rumor_triage::{Prevalence, ProbabilityHistogram};
    /// let mut histogram = ProbabilityHistogram::default();
    /// for p in [0.9, 0.8, 0.7, 0.6, 0.2] {
    ///     histogram.add(p);
    /// }
    /// let estimate = Prevalence::estimate(&histogram, 0.3, None, 7).unwrap();
    /// assert!(estimate.share > 0.3 && estimate.adapted_threshold(0.5) < 0.5);
    /// ```
    pub fn adapted_threshold(&self, threshold: f32) -> f32 {
        let (share, prior) = (self.share, self.training_share);
        let up = share / prior;
        let down = (1.0 - share) / (1.0 - prior);
        let t = f64::from(threshold);
        let adapted = t * down / (up * (1.0 - t) + t * down);
        if adapted.is_finite() {
            adapted.clamp(0.0, 1.0) as f32
        } else {
            threshold
        }
    }
}

/// The 2.5% and 97.5% quantiles of the EM share over multinomial resamples of the posts.
fn bootstrap_interval(bins: &[u64], total: u64, training_share: f64, seed: u64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut shares = Vec::with_capacity(BOOTSTRAP_ROUNDS as usize);
    let mut resampled = vec![0u64; bins.len()];
    for _ in 0..BOOTSTRAP_ROUNDS {
        // A multinomial draw as conditional binomials, bin by bin.
        let (mut left, mut mass_left) = (total, total);
        for (slot, &n) in resampled.iter_mut().zip(bins) {
            *slot = if left == 0 || n == 0 {
                0
            } else if n >= mass_left {
                left
            } else {
                Binomial::new(left, n as f64 / mass_left as f64)
                    .map(|b| b.sample(&mut rng))
                    .unwrap_or(0)
            };
            left -= *slot;
            mass_left -= n;
        }
        shares.push(em_share(&resampled, training_share));
    }
    shares.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((shares.len() - 1) as f64 * q).round() as usize;
        shares.get(i).copied().unwrap_or(f64::NAN)
    };
    (at(0.025), at(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Posts of a population with flagged share `share`, whose probabilities are calibrated
    /// for a prior of one half: scores x on a grid, with density 2x among flagged posts and
    /// 2(1 − x) among the others, so the posterior at prior ½ is x itself.
    fn population(share: f64, posts: u64) -> ProbabilityHistogram {
        let mut histogram = ProbabilityHistogram::default();
        let steps = 200;
        for i in 0..steps {
            let x = (i as f64 + 0.5) / steps as f64;
            let density = share * 2.0 * x + (1.0 - share) * 2.0 * (1.0 - x);
            let n = (density * posts as f64 / steps as f64).round() as u64;
            for _ in 0..n {
                histogram.add_post(x as f32, x >= 0.5);
            }
        }
        histogram
    }

    #[test]
    fn em_recovers_a_shifted_share_that_classify_and_count_misses() {
        for share in [0.1, 0.25, 0.5, 0.75] {
            let histogram = population(share, 20_000);
            let rates = HeldOutRates {
                tpr: 0.75,
                fpr: 0.25,
                threshold: 0.5,
            };
            let estimate = Prevalence::estimate(&histogram, 0.5, Some(rates), 1).unwrap();
            assert!(
                (estimate.share - share).abs() < 0.01,
                "{share}: {estimate:?}"
            );
            let adjusted = estimate.adjusted_share.unwrap();
            assert!((adjusted - share).abs() < 0.02, "{share}: {estimate:?}");
            assert!(estimate.interval.0 <= share && share <= estimate.interval.1);
            if share != 0.5 {
                let cc_error = (estimate.flagged_share - share).abs();
                assert!(
                    cc_error > 3.0 * (estimate.share - share).abs(),
                    "{estimate:?}"
                );
            }
        }
    }

    #[test]
    fn the_estimate_is_the_same_for_the_same_posts_in_any_order_or_split() {
        let whole = population(0.3, 5_000);
        let mut halves = ProbabilityHistogram::default();
        let mut other = ProbabilityHistogram::default();
        for (bin, &n) in whole.bins.iter().enumerate() {
            for i in 0..n {
                let p = ProbabilityHistogram::centre(bin) as f32;
                let target = if i % 2 == 0 { &mut halves } else { &mut other };
                target.add_post(p, p >= 0.5);
            }
        }
        halves.merge(&other);
        assert_eq!(halves, whole);
        let a = Prevalence::estimate(&whole, 0.5, None, 9).unwrap();
        let b = Prevalence::estimate(&halves, 0.5, None, 9).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn the_adapted_threshold_moves_against_the_share() {
        let more = Prevalence::estimate(&population(0.8, 5_000), 0.5, None, 1).unwrap();
        let fewer = Prevalence::estimate(&population(0.2, 5_000), 0.5, None, 1).unwrap();
        let same = Prevalence::estimate(&population(0.5, 5_000), 0.5, None, 1).unwrap();
        assert!(more.adapted_threshold(0.5) < 0.4);
        assert!(fewer.adapted_threshold(0.5) > 0.6);
        assert!((same.adapted_threshold(0.5) - 0.5).abs() < 0.01);
    }

    #[test]
    fn nothing_to_estimate_from_is_none_not_a_guess() {
        let empty = ProbabilityHistogram::default();
        assert!(Prevalence::estimate(&empty, 0.5, None, 1).is_none());
        assert!(Prevalence::estimate(&population(0.5, 100), 0.0, None, 1).is_none());
        assert!(Prevalence::estimate(&population(0.5, 100), 1.0, None, 1).is_none());
    }
}
