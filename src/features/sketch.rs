//! The MinHash sketch of a text's n-gram buckets, computed while the text is scored: what
//! near-duplicate campaigns compare (`counts::campaigns`).
//!
//! One-permutation MinHash (Li, Owen and Zhang, "One Permutation Hashing", NIPS 2012): a
//! bucket is already a hash of its n-gram, so its low bits pick one of [`SIGNATURE_BINS`]
//! bins, and each bin keeps the smallest of the rest. The share of bins two signatures
//! agree on, among the bins either one fills, estimates the Jaccard similarity of the two
//! sets.

use crate::util::mix;

/// Bins of a [`Signature`].
pub const SIGNATURE_BINS: usize = 32;
pub(crate) const ROWS: usize = 4;
pub(crate) const BANDS: usize = SIGNATURE_BINS / ROWS;
pub(crate) const EMPTY_BIN: u32 = u32::MAX;

/// A MinHash sketch of a post's n-gram buckets (see the module docs).
///
/// ```
/// use rumor_triage::Signature;
/// // Buckets are the top bits of n-gram hashes (here of made-up n-grams, 2^20 buckets).
/// let bucket = |i: u64| {
///     let z = i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
///     ((z ^ (z >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 44) as u32
/// };
/// let (mut a, mut b) = (Signature::default(), Signature::default());
/// (0..200).for_each(|i| a.add(bucket(i)));
/// (0..200).for_each(|i| b.add(bucket(i)));
/// assert_eq!(a.similarity(&b), 1.0);
/// (1000..1200).for_each(|i| b.add(bucket(i))); // Jaccard similarity now 0.5
/// assert!(a.similarity(&b) < 0.8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature([u32; SIGNATURE_BINS]);

impl Default for Signature {
    fn default() -> Self {
        Self([EMPTY_BIN; SIGNATURE_BINS])
    }
}

impl Signature {
    /// Adds one n-gram bucket to the sketched set (adding it again changes nothing).
    ///
    /// A bucket is already the top bits of a mixed hash of its n-gram, so it serves as its
    /// own random permutation: its low bits pick the bin and the rest are its value.
    #[inline]
    pub fn add(&mut self, bucket: u32) {
        if let Some(slot) = self.0.get_mut(bucket as usize % SIGNATURE_BINS) {
            *slot = (*slot).min(bucket / SIGNATURE_BINS as u32);
        }
    }

    /// The estimated Jaccard similarity of the two sketched sets: bins equal and filled,
    /// over bins filled in either (0 when both are empty).
    ///
    /// ```
    /// let empty = rumor_triage::Signature::default();
    /// assert_eq!(empty.similarity(&empty), 0.0);
    /// ```
    pub fn similarity(&self, other: &Self) -> f32 {
        let (mut same, mut filled) = (0u32, 0u32);
        for (&a, &b) in self.0.iter().zip(&other.0) {
            if a != EMPTY_BIN || b != EMPTY_BIN {
                filled += 1;
                same += u32::from(a == b);
            }
        }
        if filled == 0 {
            0.0
        } else {
            same as f32 / filled as f32
        }
    }

    /// A key that equal sketches share, for grouping near-duplicates with a plain `GROUP BY`
    /// (the SQL functions of `rumor-triage-datafusion`): the two filled bins with the
    /// smallest values, each as its bucket (`value · 32 + bin`). Exact copies always share
    /// it; two posts of Jaccard similarity J share it about J² of the time (both smallest
    /// entries of the union must be common), and unrelated posts almost never (two bucket
    /// values must coincide). `None` for a text without n-grams.
    ///
    /// ```
    /// use rumor_triage::Signature;
    /// let (mut a, mut b) = (Signature::default(), Signature::default());
    /// assert_eq!(a.campaign_key(), None);
    /// for bucket in [5_000, 70_001, 123_456] {
    ///     a.add(bucket);
    ///     b.add(bucket);
    /// }
    /// assert_eq!(a.campaign_key(), b.campaign_key());
    /// b.add(3); // a new smallest entry: the key changes
    /// assert_ne!(a.campaign_key(), b.campaign_key());
    /// ```
    pub fn campaign_key(&self) -> Option<u64> {
        let mut smallest = [(EMPTY_BIN, 0u32); 2];
        for (bin, &value) in (0u32..).zip(&self.0) {
            if value == EMPTY_BIN {
                continue;
            }
            let entry = (value, bin);
            if entry < smallest[0] {
                smallest = [entry, smallest[0]];
            } else if entry < smallest[1] {
                smallest[1] = entry;
            }
        }
        let bucket = |(value, bin): (u32, u32)| {
            if value == EMPTY_BIN {
                u64::from(u32::MAX)
            } else {
                u64::from(value) * SIGNATURE_BINS as u64 + u64::from(bin)
            }
        };
        (smallest[0].0 != EMPTY_BIN).then(|| bucket(smallest[0]) << 32 | bucket(smallest[1]))
    }

    /// The keys of the bands that hold at least one filled bin, each tagged with its band.
    pub(crate) fn band_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.0
            .chunks_exact(ROWS)
            .enumerate()
            .filter(|(_, rows)| rows.iter().any(|&v| v != EMPTY_BIN))
            .map(|(band, rows)| {
                let pair = |i: usize| {
                    let at = |j: usize| u64::from(rows.get(j).copied().unwrap_or(EMPTY_BIN));
                    at(i) << 32 | at(i + 1)
                };
                mix(mix(pair(0) ^ band as u64) ^ pair(2))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frozen: which bin a bucket fills and the band keys campaigns are found by, computed
    /// from the module docs' definition by an independent implementation.
    #[test]
    fn bins_and_band_keys_are_the_frozen_ones() {
        let mut sketch = Signature::default();
        for bucket in [7, 39, 1_000_003, 65, 999_999, 31] {
            sketch.add(bucket);
        }
        let filled: Vec<(usize, u32)> = sketch
            .0
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, v)| v != EMPTY_BIN)
            .collect();
        assert_eq!(filled, [(1, 2), (3, 31_250), (7, 0), (31, 0)]);
        let keys: Vec<u64> = sketch.band_keys().collect();
        assert_eq!(
            keys,
            [
                0xd94d_f9ad_30c4_f029,
                0xb626_fdbd_d0ad_948f,
                0x393b_22a3_bafd_46bc
            ]
        );
        // Eight bands of four bins: the documented trade-off of the LSH (docs/decisions.md).
        assert_eq!((BANDS, ROWS, SIGNATURE_BINS), (8, 4, 32));
        assert_eq!(sketch.similarity(&sketch), 1.0);
        let mut half = Signature::default();
        [7, 65].into_iter().for_each(|b| half.add(b));
        assert_eq!(sketch.similarity(&half), 0.5);
    }
}
