//! Hashed n-gram features: tokens → n-grams → buckets → sublinear tf · idf, L2-normalized.
//!
//! # The hash function (frozen: part of the model format)
//!
//! * A token's hash is 64-bit FNV-1a over its UTF-8 bytes, with offset basis
//!   `0xcbf29ce484222325 ^ seed` and prime `0x100000001b3` ([`token_hash`]).
//! * An n-gram of token hashes `t1..tn` hashes as `g = n`, then for each `ti` in order
//!   `g = mix(g ^ ti)`, where `mix` is the SplitMix64 finalizer
//!   (`z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31`,
//!   all wrapping) ([`ngram_hash`]).
//! * The bucket is the top `b` bits: `g >> (64 - b)`.
//! * A character n-gram inside a word ([`FeatureConfig::subword_min`]), the word framed by a
//!   space on each side, hashes as `mix(token_hash(gram, seed) ^ 0x5eb70c4d1e55a11d)`, its
//!   bucket again the top `b` bits. Words are the tokens that are neither a single CJK
//!   ideograph nor punctuation, taken before the vocabulary lookup (an unseen word keeps its
//!   character n-grams), placeholders included.
//!
//! Distinct n-grams that share a bucket share a weight (a collision). With `m` distinct
//! n-grams in `2^b` buckets about `m / 2^b` of them collide (the shipped model's card gives
//! its figure). Explanations list every n-gram of the text that fell into a bucket, so a
//! collision is visible rather than hidden. Raise `b` to trade memory for fewer collisions.

pub(crate) mod sketch;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::text::{
    Buffers, FastTokenizer, TokenKey, TokenizerBackend, Word, NUMBER_TOKEN, UNK_TOKEN, URL_TOKEN,
    USER_TOKEN,
};
use crate::util::{mix, token_hash};

pub use sketch::Signature;

/// The frozen n-gram hash of a window of token hashes (see the module docs).
///
/// The reference that the hot path's precomputed leads are tested against.
#[cfg(test)]
#[inline]
fn ngram_hash(tokens: &[u64]) -> u64 {
    tokens.iter().fold(tokens.len() as u64, |g, &t| mix(g ^ t))
}

/// How texts become feature rows. Stored in the model; all defaults in one place.
///
/// ```
/// let config = rumor_triage::FeatureConfig::default().hash_bits(18);
/// assert_eq!(config.buckets(), 262_144);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureConfig {
    /// Number of hash buckets is `2^hash_bits`; 16..=24, default 20.
    pub hash_bits: u8,
    /// Seed of the token hash; default 0.
    pub seed: u64,
    /// Longest n-gram over any tokens; 1..=3, default 2.
    pub word_ngrams: u8,
    /// Longest n-gram over runs of CJK ideographs; at least `word_ngrams`, at most 3,
    /// default 3 (character 1–3-grams, as the strongest peers use on Weibo).
    pub cjk_ngrams: u8,
    /// Use `1 + ln(tf)` instead of raw counts; default true.
    pub sublinear_tf: bool,
    /// Count a run of the same punctuation token ("!!!", "。。。") as one token; default
    /// true. Repeating punctuation is a cheap evasion: without this it cost 0.042 macro-F1
    /// on pheme test (tests/evasion.rs).
    pub collapse_repeated_punctuation: bool,
    /// Shortest character n-gram taken inside each word, the word framed by a space on
    /// each side (scikit-learn's `char_wb`; fastText's `-minn`); 0 with `subword_max` 0
    /// for none. Default 5.
    pub subword_min: u8,
    /// Longest such character n-gram (`subword_min..=8`); default 5. Chosen by 5-fold
    /// cross-validation on the training splits (docs/decisions.md): they let a misspelt,
    /// inflected or unseen English word share weight with the words it resembles.
    pub subword_max: u8,
    /// Added to a row's squared L2 norm before the row is divided by its root, so a post
    /// with little tf·idf mass ("?", "ok", 谢谢) keeps a short row and scores near the
    /// prior instead of being stretched to unit length and decided by one n-gram; longer
    /// posts are barely touched. 0 is plain L2 normalization (format version 3).
    pub norm_smoothing: f32,
    /// A post with fewer distinct content tokens than this (words and CJK characters;
    /// not punctuation, URLs, @-marks or numbers; each out-of-vocabulary word counts once
    /// per occurrence) is `insufficient_text`: it gets the probability of no evidence (the
    /// calibrated bias), is counted, and is never flagged. "?", "ok", 谢谢 or three emoji
    /// do not say enough to send to a reviewer, and one event word ("Prince hostage") must
    /// not either. Default 3; 0 turns the rule off (format version 3).
    pub min_content_tokens: u8,
    /// Whether n-grams never seen in training count in a row's norm. They carry no
    /// weight, so counting them shrinks every post of a new event toward the prior (its
    /// words are new) and costs recall exactly where the model is weakest; leaving them
    /// out lifted the chronological and leave-one-event-out protocols (docs/decisions.md).
    /// Default false; format version 3 counted them.
    pub unseen_in_norm: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            hash_bits: 20,
            seed: 0,
            word_ngrams: 2,
            cjk_ngrams: 3,
            sublinear_tf: true,
            collapse_repeated_punctuation: true,
            subword_min: 5,
            subword_max: 5,
            norm_smoothing: 1000.0,
            min_content_tokens: 3,
            unseen_in_norm: false,
        }
    }
}

impl FeatureConfig {
    /// Sets [`FeatureConfig::hash_bits`].
    pub fn hash_bits(mut self, bits: u8) -> Self {
        self.hash_bits = bits;
        self
    }

    /// Sets [`FeatureConfig::word_ngrams`].
    pub fn word_ngrams(mut self, n: u8) -> Self {
        self.word_ngrams = n;
        self
    }

    /// Sets [`FeatureConfig::cjk_ngrams`].
    pub fn cjk_ngrams(mut self, n: u8) -> Self {
        self.cjk_ngrams = n;
        self
    }

    /// Sets the character n-gram lengths inside words, [`FeatureConfig::subword_min`] to
    /// [`FeatureConfig::subword_max`] (`0, 0` for none).
    pub fn subwords(mut self, min: u8, max: u8) -> Self {
        (self.subword_min, self.subword_max) = (min, max);
        self
    }

    /// Sets [`FeatureConfig::norm_smoothing`].
    pub fn norm_smoothing(mut self, smoothing: f32) -> Self {
        self.norm_smoothing = smoothing;
        self
    }

    /// Sets [`FeatureConfig::min_content_tokens`].
    pub fn min_content_tokens(mut self, tokens: u8) -> Self {
        self.min_content_tokens = tokens;
        self
    }

    /// Checks the ranges documented on each field.
    ///
    /// ```
    /// let mut config = rumor_triage::FeatureConfig::default();
    /// assert!(config.validate().is_ok());
    /// config.hash_bits = 30;
    /// assert!(config.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        if !(16..=24).contains(&self.hash_bits) {
            return Err(Error::invalid_option(
                "hash_bits",
                format!("must be in 16..=24, got {}", self.hash_bits),
            ));
        }
        if !(1..=3).contains(&self.word_ngrams) {
            return Err(Error::invalid_option(
                "word_ngrams",
                format!("must be in 1..=3, got {}", self.word_ngrams),
            ));
        }
        if self.cjk_ngrams < self.word_ngrams || self.cjk_ngrams > 3 {
            return Err(Error::invalid_option(
                "cjk_ngrams",
                format!("must be in word_ngrams..=3, got {}", self.cjk_ngrams),
            ));
        }
        let subwords = (self.subword_min, self.subword_max);
        if subwords != (0, 0) && !(2 <= subwords.0 && subwords.0 <= subwords.1 && subwords.1 <= 8) {
            return Err(Error::invalid_option(
                "subword_min..subword_max",
                format!(
                    "must be 0..=0 (none) or within 2..=8, got {}..={}",
                    subwords.0, subwords.1
                ),
            ));
        }
        if self.min_content_tokens > MAX_MIN_CONTENT_TOKENS {
            return Err(Error::invalid_option(
                "min_content_tokens",
                format!(
                    "must be at most {MAX_MIN_CONTENT_TOKENS}, got {}",
                    self.min_content_tokens
                ),
            ));
        }
        if !(self.norm_smoothing.is_finite() && self.norm_smoothing >= 0.0) {
            return Err(Error::invalid_option(
                "norm_smoothing",
                format!("must be finite and at least 0, got {}", self.norm_smoothing),
            ));
        }
        Ok(())
    }

    /// The number of buckets, `2^hash_bits`.
    ///
    /// ```
    /// assert_eq!(rumor_triage::FeatureConfig::default().buckets(), 1 << 20);
    /// ```
    pub fn buckets(&self) -> usize {
        1usize << self.hash_bits
    }
}

/// A sparse row: strictly increasing bucket indices and their values.
///
/// ```
/// let row = rumor_triage::SparseRow { indices: vec![3, 9], values: vec![0.6, 0.8] };
/// assert_eq!(row.nnz(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseRow {
    /// Bucket indices, strictly increasing.
    pub indices: Vec<u32>,
    /// Values, one per index.
    pub values: Vec<f32>,
}

impl SparseRow {
    /// Dot product with a dense weight vector (indices must be in range).
    ///
    /// ```
    /// let row = rumor_triage::SparseRow { indices: vec![0, 2], values: vec![1.0, 2.0] };
    /// assert_eq!(row.dot(&[3.0, 9.0, 0.5]), 4.0);
    /// ```
    #[inline]
    pub fn dot(&self, weights: &[f32]) -> f32 {
        self.indices
            .iter()
            .zip(&self.values)
            .map(|(&i, &v)| weights.get(i as usize).copied().unwrap_or(0.0) * v)
            .sum()
    }

    /// Number of stored entries.
    ///
    /// ```
    /// assert_eq!(rumor_triage::SparseRow::default().nnz(), 0);
    /// ```
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

/// An empty slot of [`Scratch::slots`]: no bucket has all bits set (at most 24 bits).
const EMPTY_SLOT: u64 = u64::MAX;

/// Reusable per-thread scratch space for featurizing.
#[derive(Debug, Default, Clone)]
pub(crate) struct Scratch {
    pub(crate) text: Buffers,
    keys: Vec<TokenKey>,
    /// [`ngram_lead`] of each key for n = 1, 2, 3.
    leads: Vec<[u64; 3]>,
    buckets: Vec<u32>,
    /// Open-addressing table of [`for_each_ngram_count`]: a bucket (high half) and its
    /// count (low half) per slot, or [`EMPTY_SLOT`]; every slot it fills is emptied again
    /// before it returns.
    slots: Vec<u64>,
    /// The slots filled, in the order their buckets were first seen.
    used: Vec<usize>,
    /// The buckets of the words' character n-grams ([`for_each_subword`]).
    subwords: Vec<u32>,
    /// A word with its boundary marks, while its character n-grams are hashed.
    padded: String,
    /// Byte offsets of the characters of `padded`, and its length.
    boundaries: Vec<usize>,
    /// The texts of the tokens, when the counting was asked to keep them.
    names: TokenNames,
}

impl Scratch {
    /// The keys of the tokens last counted.
    pub(crate) fn keys(&self) -> &[TokenKey] {
        &self.keys
    }

    /// The [`ngram_lead`]s of the tokens last counted.
    pub(crate) fn leads(&self) -> &[[u64; 3]] {
        &self.leads
    }

    /// The character n-gram buckets of the words last counted, back to back.
    pub(crate) fn subwords(&self) -> &[u32] {
        &self.subwords
    }

    /// The texts of the tokens last counted with `name_tokens`.
    pub(crate) fn names(&self) -> &TokenNames {
        &self.names
    }
}

/// The texts of a text's tokens, kept while its n-grams are counted when the text may be
/// explained next, so that naming the n-grams of the explanation needs no second
/// tokenization.
#[derive(Debug, Default, Clone)]
pub(crate) struct TokenNames {
    /// The token texts and the words' own texts, end to end.
    pub(crate) text: String,
    /// One per token of [`Scratch::keys`].
    pub(crate) tokens: Vec<NamedToken>,
}

/// Where one token's texts and character n-gram buckets are.
#[derive(Debug, Clone)]
pub(crate) struct NamedToken {
    /// Its text (`[UNK]` for an unknown word) in [`TokenNames::text`].
    pub(crate) text: std::ops::Range<usize>,
    /// For a word, the word's own text in [`TokenNames::text`].
    pub(crate) word: Option<std::ops::Range<usize>>,
    /// Its words' character n-gram buckets in [`Scratch::subwords`].
    pub(crate) subwords: std::ops::Range<usize>,
}

impl TokenNames {
    fn append(&mut self, s: &str) -> std::ops::Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }
}

/// Marks the character n-gram hashes apart from the token n-gram hashes.
const SUBWORD_TAG: u64 = 0x5eb7_0c4d_1e55_a11d;

/// The frozen hash of a character n-gram (see the module docs).
#[inline]
fn subword_bucket(gram: &str, seed: u64, shift: u32) -> u32 {
    (mix(token_hash(gram, seed) ^ SUBWORD_TAG) >> shift) as u32
}

/// Calls `emit(bucket, gram)` for every character n-gram of `word` framed by a space on
/// each side, lengths [`FeatureConfig::subword_min`]`..=`[`FeatureConfig::subword_max`]
/// (none when those are 0), as scikit-learn's `char_wb` analyzer takes them. A word shorter
/// than the shortest length minus two gives none.
pub(crate) fn for_each_subword(
    config: &FeatureConfig,
    word: &str,
    padded: &mut String,
    boundaries: &mut Vec<usize>,
    mut emit: impl FnMut(u32, &str),
) {
    let (lo, hi) = (
        usize::from(config.subword_min),
        usize::from(config.subword_max),
    );
    if lo == 0 {
        return;
    }
    let shift = 64 - u32::from(config.hash_bits);
    padded.clear();
    padded.push(' ');
    padded.push_str(word);
    padded.push(' ');
    if padded.is_ascii() {
        // One byte per character: the grams are plain byte windows.
        let chars = padded.len();
        for start in 0..chars {
            for n in lo..=hi.min(chars - start) {
                let gram = padded.get(start..start + n).unwrap_or_default();
                emit(subword_bucket(gram, config.seed, shift), gram);
            }
        }
        return;
    }
    boundaries.clear();
    boundaries.extend(padded.char_indices().map(|(i, _)| i));
    boundaries.push(padded.len());
    let chars = boundaries.len() - 1;
    for start in 0..chars {
        for n in lo..=hi.min(chars - start) {
            let (Some(&a), Some(&b)) = (boundaries.get(start), boundaries.get(start + n)) else {
                continue;
            };
            let gram = padded.get(a..b).unwrap_or_default();
            emit(subword_bucket(gram, config.seed, shift), gram);
        }
    }
}

/// The fast tokenizer of `vocab` with each vocabulary word's character n-gram buckets under
/// `config` cached, so that scoring hashes a known word's character n-grams once per model
/// instead of once per occurrence.
pub(crate) fn cached_tokenizer(vocab: &[String], config: &FeatureConfig) -> FastTokenizer {
    let (mut padded, mut boundaries) = (String::new(), Vec::new());
    FastTokenizer::with_word_cache(vocab, config.seed, |word, out| {
        for_each_subword(config, word, &mut padded, &mut boundaries, |b, _| {
            out.push(b)
        })
    })
}

/// Appends `key` unless it repeats the punctuation token just before it (with
/// [`FeatureConfig::collapse_repeated_punctuation`]); says whether it was appended.
#[inline]
pub(crate) fn push_key(config: &FeatureConfig, keys: &mut Vec<TokenKey>, key: TokenKey) -> bool {
    if config.collapse_repeated_punctuation && key.punctuation && keys.last() == Some(&key) {
        return false;
    }
    keys.push(key);
    true
}

/// Calls `emit(bucket, start, len)` for every n-gram of `keys` (token positions
/// `start..start+len`), in a fixed order: the n-gram hash as written down, one window at a
/// time. The scoring and explaining paths take the faster [`for_each_placed_bucket`]; this
/// is what the tests hold it to.
#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    reason = "positions are bounded by the loops over `keys` and `buckets`"
)]
pub(crate) fn for_each_ngram(
    config: &FeatureConfig,
    keys: &[TokenKey],
    window: &mut Vec<u64>,
    mut emit: impl FnMut(u32, usize, usize),
) {
    let shift = 64 - u32::from(config.hash_bits);
    let longest = usize::from(config.cjk_ngrams.max(config.word_ngrams));
    let word_max = usize::from(config.word_ngrams);
    for start in 0..keys.len() {
        window.clear();
        for len in 1..=longest.min(keys.len() - start) {
            let key = keys[start + len - 1];
            window.push(key.hash);
            if len > word_max && !keys[start..start + len].iter().all(|k| k.cjk) {
                break;
            }
            let bucket = (ngram_hash(window) >> shift) as u32;
            emit(bucket, start, len);
        }
    }
}

/// The buckets of every n-gram of `keys`, in [`for_each_ngram`]'s order, from the keys'
/// precomputed [`ngram_lead`]s: the same values with half the mixing.
#[inline]
fn for_each_bucket(
    config: &FeatureConfig,
    keys: &[TokenKey],
    leads: &[[u64; 3]],
    mut emit: impl FnMut(u32),
) {
    for_each_placed_bucket(config, keys, leads, |bucket, _, _| emit(bucket));
}

/// [`for_each_bucket`], also giving each n-gram's token positions (`start`, `len`), as
/// [`for_each_ngram`] does: what explaining needs to name the n-grams of a bucket.
#[inline]
pub(crate) fn for_each_placed_bucket(
    config: &FeatureConfig,
    keys: &[TokenKey],
    leads: &[[u64; 3]],
    mut emit: impl FnMut(u32, usize, usize),
) {
    let shift = 64 - u32::from(config.hash_bits);
    let longest = config.cjk_ngrams.max(config.word_ngrams);
    let word_max = config.word_ngrams;
    let bucket = |g: u64| (g >> shift) as u32;
    for (i, (first, lead)) in keys.iter().zip(leads).enumerate() {
        let [lead1, lead2, lead3] = *lead;
        emit(bucket(lead1), i, 1);
        let Some(second) = keys.get(i + 1).filter(|_| longest >= 2) else {
            continue;
        };
        let cjk_pair = first.cjk && second.cjk;
        if word_max < 2 && !cjk_pair {
            continue;
        }
        emit(bucket(mix(lead2 ^ second.hash)), i, 2);
        let Some(third) = keys.get(i + 2).filter(|_| longest >= 3) else {
            continue;
        };
        if word_max < 3 && !(cjk_pair && third.cjk) {
            continue;
        }
        emit(bucket(mix(mix(lead3 ^ second.hash) ^ third.hash)), i, 3);
    }
}

/// Tokenizes `text` into `scratch.keys` and `scratch.leads` (and the tokens' texts into
/// `scratch.names` with `name_tokens`); returns the number of tokens.
fn collect_keys(
    config: &FeatureConfig,
    tokenizer: &TokenizerBackend,
    text: &str,
    scratch: &mut Scratch,
    name_tokens: bool,
) -> Result<usize, Error> {
    let Scratch {
        text: buffers,
        keys,
        leads,
        subwords,
        padded,
        boundaries,
        names,
        ..
    } = scratch;
    keys.clear();
    leads.clear();
    subwords.clear();
    if !name_tokens {
        tokenizer.for_each_key_with_leads(text, config.seed, buffers, |k, lead, word| {
            if push_key(config, keys, k) {
                leads.push(lead);
                push_subwords(config, word, subwords, padded, boundaries);
            }
        })?;
        return Ok(keys.len());
    }
    names.text.clear();
    names.tokens.clear();
    tokenizer.for_each_token_with_leads(text, config.seed, buffers, |t, k, lead, word| {
        if push_key(config, keys, k) {
            leads.push(lead);
            let start = subwords.len();
            let word_text = word.map(|w| w.text);
            push_subwords(config, word, subwords, padded, boundaries);
            let text = names.append(t);
            let word = word_text.map(|w| {
                if w == t {
                    text.clone()
                } else {
                    names.append(w)
                }
            });
            names.tokens.push(NamedToken {
                text,
                word,
                subwords: start..subwords.len(),
            });
        }
    })?;
    Ok(keys.len())
}

/// The largest [`FeatureConfig::min_content_tokens`].
pub const MAX_MIN_CONTENT_TOKENS: u8 = 8;

/// The hashes of the tokens that are not content under `seed`: the URL, @-mark and number
/// placeholders, then the out-of-vocabulary token.
pub(crate) fn non_content_hashes(seed: u64) -> [u64; 4] {
    [URL_TOKEN, USER_TOKEN, NUMBER_TOKEN, UNK_TOKEN].map(|t| token_hash(t, seed))
}

/// The distinct content tokens among `keys` (see [`FeatureConfig::min_content_tokens`]),
/// counted up to `cap`: the rule only asks whether a post reaches it.
pub(crate) fn content_tokens(keys: &[TokenKey], non_content: &[u64; 4], cap: usize) -> usize {
    let [url, user, number, unknown] = *non_content;
    let mut seen = [0u64; MAX_MIN_CONTENT_TOKENS as usize];
    let cap = cap.min(seen.len());
    let mut count = 0;
    for key in keys {
        if count >= cap {
            break;
        }
        if key.punctuation || key.hash == url || key.hash == user || key.hash == number {
            continue;
        }
        let known = seen.get(..count).unwrap_or_default();
        if key.hash == unknown || !known.contains(&key.hash) {
            if let Some(slot) = seen.get_mut(count) {
                *slot = key.hash;
            }
            count += 1;
        }
    }
    count
}

/// Appends the character n-gram buckets of `word` (the cached ones of a vocabulary word).
#[inline]
fn push_subwords(
    config: &FeatureConfig,
    word: Option<Word<'_>>,
    subwords: &mut Vec<u32>,
    padded: &mut String,
    boundaries: &mut Vec<usize>,
) {
    match word {
        Some(Word {
            subwords: Some(cached),
            ..
        }) => subwords.extend_from_slice(cached),
        Some(Word { text, .. }) => {
            for_each_subword(config, text, padded, boundaries, |b, _| subwords.push(b))
        }
        None => {}
    }
}

/// Turns `text` into hashed n-gram term counts: sorted `(bucket, count)` in `row`
/// (values hold raw counts). Returns the number of tokens.
#[allow(
    clippy::indexing_slicing,
    reason = "positions are bounded by the loops over `keys` and `buckets`"
)]
pub(crate) fn count_ngrams(
    config: &FeatureConfig,
    tokenizer: &TokenizerBackend,
    text: &str,
    scratch: &mut Scratch,
    row: &mut SparseRow,
) -> Result<usize, Error> {
    let tokens = collect_keys(config, tokenizer, text, scratch, false)?;
    let Scratch {
        keys,
        leads,
        buckets,
        subwords,
        ..
    } = scratch;
    buckets.clear();
    for_each_bucket(config, keys, leads, |b| buckets.push(b));
    buckets.extend_from_slice(subwords);
    buckets.sort_unstable();
    row.indices.clear();
    row.values.clear();
    let mut i = 0;
    while i < buckets.len() {
        let b = buckets[i];
        let mut j = i + 1;
        while j < buckets.len() && buckets[j] == b {
            j += 1;
        }
        row.indices.push(b);
        row.values.push((j - i) as f32);
        i = j;
    }
    Ok(tokens)
}

/// [`count_ngrams`] without the sort: the row's buckets come in first-seen order, counted in
/// a small open-addressing table as the n-grams are hashed. Scoring needs only the counts,
/// and sorting them was a tenth of the scoring instructions; training rows keep the
/// sorted form. Scoring itself weighs the counts as they come ([`for_each_ngram_count`]);
/// this row form is what the tests compare with [`count_ngrams`].
#[cfg(test)]
pub(crate) fn count_ngrams_unsorted(
    config: &FeatureConfig,
    tokenizer: &TokenizerBackend,
    text: &str,
    scratch: &mut Scratch,
    row: &mut SparseRow,
) -> Result<usize, Error> {
    row.indices.clear();
    row.values.clear();
    for_each_ngram_count(
        config,
        tokenizer,
        text,
        scratch,
        false,
        |_| {},
        |bucket, count| {
            row.indices.push(bucket);
            row.values.push(count);
        },
    )
}

/// Counts the n-grams of `text` and calls `each(bucket, count)` once per distinct bucket,
/// in the order the buckets were first seen (the order of [`count_ngrams_unsorted`]'s
/// row), so that scoring can weigh each count as it comes. `first_seen(bucket)` runs as a
/// bucket first turns up, while the rest are still being counted: the moment to start
/// loading its weights ([`prefetch`]). With `name_tokens` the tokens'
/// texts stay in the scratch for naming the n-grams ([`Scratch::names`]). Returns the number
/// of tokens.
#[allow(
    clippy::indexing_slicing,
    reason = "slot positions are masked to the table's length, and `used` holds only such positions"
)]
#[inline]
pub(crate) fn for_each_ngram_count(
    config: &FeatureConfig,
    tokenizer: &TokenizerBackend,
    text: &str,
    scratch: &mut Scratch,
    name_tokens: bool,
    mut first_seen: impl FnMut(u32),
    mut each: impl FnMut(u32, f32),
) -> Result<usize, Error> {
    let tokens = collect_keys(config, tokenizer, text, scratch, name_tokens)?;
    let Scratch {
        keys,
        leads,
        slots,
        used,
        subwords,
        ..
    } = scratch;
    let most_ngrams =
        keys.len() * usize::from(config.cjk_ngrams.max(config.word_ngrams)) + subwords.len();
    let size = (most_ngrams * 2).next_power_of_two().max(16);
    if slots.len() < size {
        slots.resize(size, EMPTY_SLOT);
    }
    let mask = size - 1;
    used.clear();
    let mut count = |b: u32| {
        // Buckets are the top bits of a mixed hash, so their low bits spread well.
        let mut slot = b as usize & mask;
        loop {
            let entry = slots[slot];
            if entry == EMPTY_SLOT {
                slots[slot] = u64::from(b) << 32 | 1;
                used.push(slot);
                first_seen(b);
                break;
            }
            if (entry >> 32) as u32 == b {
                slots[slot] = entry + 1;
                break;
            }
            slot = (slot + 1) & mask;
        }
    };
    for_each_bucket(config, keys, leads, &mut count);
    subwords.iter().for_each(|&b| count(b));
    for &slot in used.iter() {
        let entry = std::mem::replace(&mut slots[slot], EMPTY_SLOT);
        each((entry >> 32) as u32, entry as u32 as f32);
    }
    Ok(tokens)
}

/// Inverse document frequencies over buckets, as sklearn's smooth idf:
/// `ln((1 + n) / (1 + df)) + 1`; buckets never seen get the largest value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Idf {
    pub(crate) values: Vec<f32>,
}

impl Idf {
    /// Computes idf from document frequencies over `n_docs` documents.
    /// Most of the 2^b buckets share a handful of document frequencies (0 above all), so
    /// each distinct value's logarithm is computed once; the values are the same bits.
    pub(crate) fn from_document_frequencies(df: &[u32], n_docs: usize) -> Self {
        let n = n_docs as f64;
        let idf_of = |d: u32| (((1.0 + n) / (1.0 + f64::from(d))).ln() + 1.0) as f32;
        let mut memo: rustc_hash::FxHashMap<u32, f32> = rustc_hash::FxHashMap::default();
        let values = df
            .iter()
            .map(|&d| *memo.entry(d).or_insert_with(|| idf_of(d)))
            .collect();
        Self { values }
    }

    /// The idf of bucket `b` (1.0 outside the table).
    #[inline]
    pub(crate) fn get(&self, b: u32) -> f32 {
        self.values.get(b as usize).copied().unwrap_or(1.0)
    }
}

/// Turns counts into the final weights in place: sublinear tf, times idf, L2-normalized.
pub(crate) fn weigh(config: &FeatureConfig, idf: impl Fn(u32) -> f32, row: &mut SparseRow) {
    let mut norm = 0.0f32;
    for (i, v) in row.indices.iter().zip(row.values.iter_mut()) {
        let tf = if config.sublinear_tf {
            1.0 + v.ln()
        } else {
            *v
        };
        *v = tf * idf(*i);
        norm += *v * *v;
    }
    let norm = norm + config.norm_smoothing;
    if norm > 0.0 {
        let inv = norm.sqrt().recip();
        row.values.iter_mut().for_each(|v| *v *= inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::ngram_lead;
    use proptest::prelude::*;

    fn subwords(config: &FeatureConfig, word: &str) -> Vec<(u32, String)> {
        let mut grams = Vec::new();
        for_each_subword(config, word, &mut String::new(), &mut Vec::new(), |b, g| {
            grams.push((b, g.to_owned()))
        });
        grams
    }

    #[test]
    fn subwords_are_the_space_framed_character_ngrams_of_a_word() {
        let config = FeatureConfig::default();
        let shift = 64 - u32::from(config.hash_bits);
        let grams = subwords(&config, "rumor");
        let texts: Vec<&str> = grams.iter().map(|(_, g)| g.as_str()).collect();
        assert_eq!(texts, [" rumo", "rumor", "umor "]);
        for (bucket, gram) in &grams {
            assert_eq!(*bucket, subword_bucket(gram, 0, shift));
            assert_eq!(
                *bucket,
                (mix(token_hash(gram, 0) ^ SUBWORD_TAG) >> shift) as u32
            );
        }
        // " ab " has four characters: no 5-gram.
        assert!(subwords(&config, "ab").is_empty());
        let wide = FeatureConfig {
            subword_min: 3,
            subword_max: 4,
            ..config.clone()
        };
        let texts: Vec<String> = subwords(&wide, "café")
            .into_iter()
            .map(|(_, g)| g)
            .collect();
        assert_eq!(texts, [" ca", " caf", "caf", "café", "afé", "afé ", "fé "]);
        let off = FeatureConfig {
            subword_min: 0,
            subword_max: 0,
            ..config
        };
        assert!(subwords(&off, "rumor").is_empty());
    }

    /// Frozen: the buckets of token n-grams and of character n-grams at 2^20 buckets,
    /// computed from the module docs' definitions by an independent implementation.
    #[test]
    fn ngram_and_subword_buckets_are_the_frozen_ones() {
        let h = |t: &str| token_hash(t, 0);
        assert_eq!(ngram_hash(&[h("breaking")]), 0x7e35_e72a_e948_0087);
        assert_eq!(
            ngram_hash(&[h("breaking"), h("news")]),
            0xf098_f0db_20ec_02ed
        );
        assert_eq!(
            ngram_hash(&[h("breaking"), h("news"), h("谣")]),
            0x6130_9dd1_44a6_ba93
        );
        let config = FeatureConfig::default();
        let key = |t: &str, cjk: bool| TokenKey {
            hash: h(t),
            cjk,
            punctuation: false,
        };
        let buckets_of = |keys: &[TokenKey]| {
            let leads: Vec<[u64; 3]> = keys
                .iter()
                .map(|k| [1, 2, 3].map(|n| ngram_lead(n, k.hash)))
                .collect();
            let mut out = Vec::new();
            for_each_bucket(&config, keys, &leads, |b| out.push(b));
            out
        };
        assert_eq!(
            buckets_of(&[key("breaking", false), key("news", false)]),
            [516_958, 985_487, 62_793]
        );
        // A CJK run takes 3-grams; a run that ends in a word does not.
        assert_eq!(
            buckets_of(&[key("地", true), key("震", true), key("谣", true)]),
            [666_194, 989_256, 374_107, 867_432, 957_498, 18_392]
        );
        assert_eq!(
            buckets_of(&[key("地", true), key("震", true), key("x", false)]),
            [666_194, 989_256, 867_432, 121_153, 161_751]
        );
        let grams = subwords(&config, "rumor");
        assert_eq!(
            grams,
            [
                (252_079, " rumo".to_owned()),
                (65_569, "rumor".to_owned()),
                (999_787, "umor ".to_owned())
            ]
        );
    }

    #[test]
    fn an_unseen_word_keeps_its_character_ngrams() {
        let config = FeatureConfig::default();
        let backend = TokenizerBackend::Builtin(FastTokenizer::new(&[], 0));
        let mut row = SparseRow::default();
        count_ngrams(
            &config,
            &backend,
            "rumors",
            &mut Scratch::default(),
            &mut row,
        )
        .unwrap();
        // The [UNK] unigram and the four 5-grams of " rumors ".
        assert_eq!(row.nnz(), 5);
        let off = FeatureConfig {
            subword_min: 0,
            subword_max: 0,
            ..config
        };
        count_ngrams(&off, &backend, "rumors", &mut Scratch::default(), &mut row).unwrap();
        assert_eq!(row.nnz(), 1);
    }

    #[test]
    fn subword_lengths_are_checked() {
        for (lo, hi, ok) in [
            (0, 0, true),
            (5, 5, true),
            (2, 8, true),
            (0, 5, false),
            (1, 3, false),
            (5, 4, false),
            (3, 9, false),
        ] {
            let config = FeatureConfig {
                subword_min: lo,
                subword_max: hi,
                ..FeatureConfig::default()
            };
            assert_eq!(config.validate().is_ok(), ok, "{lo}..={hi}");
        }
    }

    proptest! {
        #[test]
        fn precomputed_leads_give_the_frozen_ngram_hashes(
            tokens in proptest::collection::vec((any::<u64>(), any::<bool>()), 0..40),
            word_ngrams in 1u8..=3,
            cjk_extra in 0u8..=2,
            bits in 16u8..=24,
        ) {
            let config = FeatureConfig {
                hash_bits: bits,
                word_ngrams,
                cjk_ngrams: (word_ngrams + cjk_extra).min(3),
                ..FeatureConfig::default()
            };
            let keys: Vec<TokenKey> = tokens
                .iter()
                .map(|&(hash, cjk)| TokenKey { hash, cjk, punctuation: false })
                .collect();
            let leads: Vec<[u64; 3]> = keys
                .iter()
                .map(|k| [1, 2, 3].map(|n| ngram_lead(n, k.hash)))
                .collect();
            let mut reference = Vec::new();
            for_each_ngram(&config, &keys, &mut Vec::new(), |b, _, _| reference.push(b));
            let mut fast = Vec::new();
            for_each_bucket(&config, &keys, &leads, |b| fast.push(b));
            prop_assert_eq!(fast, reference);
        }

        #[test]
        fn unsorted_counts_are_the_sorted_counts_in_another_order(
            text in "[a-c !。谣言地震 ]{0,300}",
            bits in 16u8..=18,
        ) {
            let config = FeatureConfig { hash_bits: bits, ..FeatureConfig::default() };
            let vocab: Vec<String> = ["a", "b", "!", "谣", "言"].map(String::from).to_vec();
            let backend = TokenizerBackend::Builtin(FastTokenizer::new(&vocab, 0));
            let (mut sorted, mut unsorted) = (SparseRow::default(), SparseRow::default());
            let mut scratch = Scratch::default();
            count_ngrams(&config, &backend, &text, &mut scratch, &mut sorted).unwrap();
            count_ngrams_unsorted(&config, &backend, &text, &mut scratch, &mut unsorted).unwrap();
            let mut pairs: Vec<(u32, f32)> = unsorted.indices.iter().copied().zip(unsorted.values.iter().copied()).collect();
            pairs.sort_by_key(|p| p.0);
            let expected: Vec<(u32, f32)> = sorted.indices.iter().copied().zip(sorted.values.iter().copied()).collect();
            prop_assert_eq!(pairs, expected);
            // The table is left empty for the next text.
            prop_assert!(scratch.slots.iter().all(|&s| s == EMPTY_SLOT));
        }

        #[test]
        fn cached_subwords_give_the_counts_of_hashing_each_word(
            text in "(rumour|breaking|bridge|brigde|naïve|ünïcode|地震|谣言|a| |, |http://t.co/x |@bob |42 ){0,40}",
            lo in 3u8..=5,
            extra in 0u8..=1,
        ) {
            let config = FeatureConfig { subword_min: lo, subword_max: lo + extra, ..FeatureConfig::default() };
            let vocab: Vec<String> = ["rumour", "breaking", "bridge", "naïve", "ünïcode", "a", "xxurl", "xxnum", "地"]
                .map(String::from)
                .to_vec();
            let hashed = TokenizerBackend::Builtin(FastTokenizer::new(&vocab, config.seed));
            let cached = TokenizerBackend::Builtin(cached_tokenizer(&vocab, &config));
            let (mut by_hashing, mut from_cache) = (SparseRow::default(), SparseRow::default());
            let mut scratch = Scratch::default();
            count_ngrams_unsorted(&config, &hashed, &text, &mut scratch, &mut by_hashing).unwrap();
            count_ngrams_unsorted(&config, &cached, &text, &mut scratch, &mut from_cache).unwrap();
            // Same buckets in the same first-seen order, so the margins add up identically.
            prop_assert_eq!(from_cache, by_hashing);
        }
    }
}
