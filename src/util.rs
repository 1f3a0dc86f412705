//! Small helpers every stage shares, with no dependency on any of them: the frozen hash
//! steps (a format promise, see `features`), the crate's one seeded generator, and the
//! cache prefetch hint with the crate's one audited `unsafe`.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The frozen token hash: FNV-1a 64 over the UTF-8 bytes, offset basis XOR `seed`.
#[inline]
pub(crate) fn token_hash(token: &str, seed: u64) -> u64 {
    token.bytes().fold(FNV_OFFSET ^ seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// SplitMix64's finalizer: the frozen mixing step of the n-gram hashes.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The first step of the n-gram hash of an `n`-gram that starts with token hash `token`:
/// `ngram_hash(&[t1, t2, ..])` is `mix(..mix(ngram_lead(n, t1) ^ t2)..)`.
#[inline]
pub(crate) fn ngram_lead(n: u64, token: u64) -> u64 {
    mix(n ^ token)
}

/// The SplitMix64 stream (`mix` of a Weyl sequence): the one seeded generator of the crate
/// (fold shuffles, coordinate orders, perturbations), written down so that its numbers
/// never change with a dependency's version.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Fisher–Yates, from the last item down.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Asks the CPU to start loading the cache line of `value` and returns at once.
///
/// A model's scoring table (2^20 buckets of idf and weight: 8 MiB) is larger than a core's
/// L2 cache, and nearly every n-gram of a post lands on a line no other n-gram of it
/// touches. Asking for each line as its bucket first turns up, while the rest of the post
/// is still being hashed, instead of when the counts are weighed, took a quarter off
/// one-thread scoring time (docs/decisions.md). A hint only: it changes no value, and on
/// targets other than x86-64 it does nothing.
#[inline(always)]
#[allow(
    unsafe_code,
    reason = "the one unsafe call in the crate: a prefetch of a live reference (see SAFETY)"
)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` reads nothing the program can observe and cannot fault, even
    // on an invalid address (Intel SDM, PREFETCHh); this address comes from a live
    // reference anyway. SSE, which the instruction needs, is part of the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::from_ref(value).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod frozen {
    //! The hash steps are part of the model format: a model trained by one build must score
    //! the same under the next. These values were computed from the definitions written in
    //! `features`' module docs by an independent implementation (Python), not by this code.

    use super::*;

    #[test]
    fn the_token_hash_is_fnv_1a_with_the_seed_in_the_offset_basis() {
        assert_eq!(token_hash("", 0), 0xcbf2_9ce4_8422_2325);
        assert_eq!(token_hash("a", 0), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(token_hash("谣言", 0), 0x9111_3734_5af8_8b56);
        assert_eq!(token_hash("rumor", 7), 0x797d_f17e_1363_e5eb);
    }

    #[test]
    fn mix_is_the_splitmix64_finalizer() {
        assert_eq!(mix(0), 0);
        assert_eq!(mix(1), 0x5692_161d_100b_05e5);
        assert_eq!(mix(0xdead_beef), 0x4e06_2702_ec92_9eea);
    }

    #[test]
    fn an_ngram_lead_is_the_first_mixing_step() {
        let breaking = token_hash("breaking", 0);
        assert_eq!(ngram_lead(2, breaking), 0x30a8_184c_6449_58d2);
        assert_eq!(
            mix(ngram_lead(2, breaking) ^ token_hash("news", 0)),
            0xf098_f0db_20ec_02ed
        );
    }

    #[test]
    fn the_seeded_generator_gives_the_splitmix64_stream() {
        let mut rng = SplitMix(0);
        assert_eq!(rng.next(), mix(0x9e37_79b9_7f4a_7c15));
        assert_eq!(rng.next(), mix(0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(2)));
        let mut rng = SplitMix(7);
        assert_eq!([2, 3, 10, 1000].map(|n| rng.below(n)), [1, 0, 6, 203]);
        // Fisher–Yates from the last item down, each swap partner drawn from 0..=i.
        let mut items: [usize; 10] = std::array::from_fn(|i| i);
        SplitMix(42).shuffle(&mut items);
        assert_eq!(items, [0, 9, 5, 8, 6, 4, 7, 2, 1, 3]);
    }
}

#[cfg(test)]
mod doc_examples {
    //! What the items' doc examples showed before the module became private.

    #[test]
    fn token_hash_example() {
        use crate::util::token_hash;
        assert_eq!(token_hash("", 0), 0xcbf29ce484222325);
        assert_eq!(token_hash("a", 0), 0xaf63dc4c8601ec8c);
    }
}
