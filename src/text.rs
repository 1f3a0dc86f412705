//! Normalization and tokenization.
//!
//! The tokenization is *defined* by a Hugging Face `tokenizers` pipeline (see
//! [`builtin_tokenizer`]): NFKC, removal of control and format characters (zero-width
//! spaces, joiners, BOMs), lowercase, URLs / ASCII @mentions / digit runs replaced by the
//! placeholder words `xxurl`, `xxuser` (before the handle), `xxnum`, every CJK ideograph its own token, BERT
//! whitespace-and-punctuation splitting, and a word-level vocabulary learned from the
//! training corpus (unseen words become `[UNK]`).
//!
//! The crate's `encode` runs at a few MB/s, so [`FastTokenizer`] re-implements exactly the
//! same steps with reused buffers and an ASCII fast path. The test
//! `tests/tokenizer_parity.rs` checks that both give the same tokens on every post of the
//! evaluation data. A user-supplied `tokenizer.json` goes through the crate's `encode`
//! instead ([`TokenizerBackend::Custom`]), which is correct for any pipeline but slower.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use tokenizers::models::wordlevel::WordLevel;
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{BertNormalizer, Replace, Sequence, NFKC};
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{NormalizerWrapper, Tokenizer};
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::UnicodeNormalization;

use crate::error::Error;
use crate::features::token_hash;

/// The token that stands for a word outside the vocabulary.
pub const UNK_TOKEN: &str = "[UNK]";
/// Placeholder word for a URL (`https?://` followed by printable ASCII).
pub const URL_TOKEN: &str = "xxurl";
/// Placeholder word that replaces the `@` of an ASCII @mention; the handle stays, since
/// who is mentioned (a news outlet, an official account) is itself a signal.
pub const USER_TOKEN: &str = "xxuser";
/// Placeholder word for a run of ASCII digits.
pub const NUMBER_TOKEN: &str = "xxnum";

const URL_PATTERN: &str = "https?://[!-~]+";
const USER_PATTERN: &str = "@(?=[a-z0-9_])";
const NUMBER_PATTERN: &str = "[0-9]+";

/// Cyrillic and Greek letters that look like a Latin letter, and that letter: the
/// look-alikes from Unicode's confusables list (UTS #39) for the Latin alphabet, both
/// cases, sorted by code point. Folding them defeats homoglyph evasion ("ВRЕАКІNG"); the
/// price is that genuine Cyrillic or Greek words get partly Latin spellings, consistently in
/// training and scoring.
pub const CONFUSABLES: [(char, char); 54] = [
    ('Α', 'A'),
    ('Β', 'B'),
    ('Ε', 'E'),
    ('Ζ', 'Z'),
    ('Η', 'H'),
    ('Ι', 'I'),
    ('Κ', 'K'),
    ('Μ', 'M'),
    ('Ν', 'N'),
    ('Ο', 'O'),
    ('Ρ', 'P'),
    ('Τ', 'T'),
    ('Υ', 'Y'),
    ('Χ', 'X'),
    ('α', 'a'),
    ('ι', 'i'),
    ('κ', 'k'),
    ('ν', 'v'),
    ('ο', 'o'),
    ('ρ', 'p'),
    ('υ', 'u'),
    ('χ', 'x'),
    ('Ѕ', 'S'),
    ('І', 'I'),
    ('Ј', 'J'),
    ('А', 'A'),
    ('В', 'B'),
    ('Е', 'E'),
    ('К', 'K'),
    ('М', 'M'),
    ('Н', 'H'),
    ('О', 'O'),
    ('Р', 'P'),
    ('С', 'C'),
    ('Т', 'T'),
    ('У', 'Y'),
    ('Х', 'X'),
    ('а', 'a'),
    ('е', 'e'),
    ('о', 'o'),
    ('р', 'p'),
    ('с', 'c'),
    ('у', 'y'),
    ('х', 'x'),
    ('ѕ', 's'),
    ('і', 'i'),
    ('ј', 'j'),
    ('һ', 'h'),
    ('ӏ', 'l'),
    ('ԁ', 'd'),
    ('Ԛ', 'Q'),
    ('ԛ', 'q'),
    ('Ԝ', 'W'),
    ('ԝ', 'w'),
];

/// The Latin letter a Cyrillic or Greek look-alike stands for, else `c` itself.
#[inline]
fn fold_confusable(c: char) -> char {
    if !('\u{0391}'..='\u{051d}').contains(&c) {
        return c;
    }
    CONFUSABLES
        .binary_search_by_key(&c, |&(from, _)| from)
        .ok()
        .and_then(|i| CONFUSABLES.get(i))
        .map_or(c, |&(_, to)| to)
}

/// Builds the crate-level normalizer sequence that defines the built-in tokenization.
fn builtin_normalizer() -> Result<NormalizerWrapper, Error> {
    let replace = |pattern: &str, word: &str| -> Result<NormalizerWrapper, Error> {
        Replace::new(
            ReplacePattern::Regex(pattern.to_owned()),
            format!(" {word} "),
        )
        .map(NormalizerWrapper::from)
        .map_err(Error::Tokenizer)
    };
    let mut steps: Vec<NormalizerWrapper> = vec![NFKC.into()];
    for (from, to) in CONFUSABLES {
        steps.push(
            Replace::new(ReplacePattern::String(from.to_string()), to.to_string())
                .map(NormalizerWrapper::from)
                .map_err(Error::Tokenizer)?,
        );
    }
    steps.extend([
        BertNormalizer::new(true, false, Some(false), true).into(),
        replace(URL_PATTERN, URL_TOKEN)?,
        replace(USER_PATTERN, USER_TOKEN)?,
        replace(NUMBER_PATTERN, NUMBER_TOKEN)?,
        BertNormalizer::new(false, true, Some(false), false).into(),
    ]);
    Ok(Sequence::new(steps).into())
}

/// The built-in pipeline as a `tokenizers` [`Tokenizer`] with the given vocabulary.
///
/// This is what a model file stores as its `tokenizer.json`; the words of `vocab` get ids
/// in the order given, after `[UNK]` (id 0).
///
/// ```
/// let tokenizer = rumor_triage::text::builtin_tokenizer(&["rumor".to_string()]).unwrap();
/// let encoding = tokenizer.encode("RUMOR: 3 dead http://t.co/x", false).unwrap();
/// assert_eq!(encoding.get_tokens(), ["rumor", "[UNK]", "[UNK]", "[UNK]", "[UNK]"]);
/// ```
pub fn builtin_tokenizer(vocab: &[String]) -> Result<Tokenizer, Error> {
    let mut ids = ahash::AHashMap::with_capacity(vocab.len() + 1);
    ids.insert(UNK_TOKEN.to_owned(), 0u32);
    for word in vocab {
        let next = u32::try_from(ids.len()).map_err(|_| Error::invalid("vocabulary too large"))?;
        ids.entry(word.clone()).or_insert(next);
    }
    let model = WordLevel::builder()
        .vocab(ids)
        .unk_token(UNK_TOKEN.to_owned())
        .build()
        .map_err(Error::Tokenizer)?;
    let mut tokenizer = Tokenizer::new(model);
    tokenizer
        .with_normalizer(Some(builtin_normalizer()?))
        .map_err(Error::Tokenizer)?;
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    Ok(tokenizer)
}

/// Whether `json` describes the built-in normalizer and pre-tokenizer with a word-level
/// model, so that the fast path may stand in for the crate.
pub(crate) fn builtin_vocab_of(tokenizer: &Tokenizer) -> Result<Option<Vec<String>>, Error> {
    let reference = builtin_tokenizer(&[])?;
    let same_normalizer = serde_json::to_value(tokenizer.get_normalizer())?
        == serde_json::to_value(reference.get_normalizer())?;
    let same_pre_tokenizer = serde_json::to_value(tokenizer.get_pre_tokenizer())?
        == serde_json::to_value(reference.get_pre_tokenizer())?;
    let model = serde_json::to_value(tokenizer.get_model())?;
    let word_level = model.get("type").and_then(|t| t.as_str()) == Some("WordLevel")
        && model.get("unk_token").and_then(|t| t.as_str()) == Some(UNK_TOKEN);
    let plain = tokenizer.get_post_processor().is_none()
        && tokenizer.get_added_vocabulary().get_vocab().is_empty();
    if !(same_normalizer && same_pre_tokenizer && word_level && plain) {
        return Ok(None);
    }
    let mut by_id: Vec<(u32, String)> = tokenizer
        .get_vocab(false)
        .into_iter()
        .map(|(word, id)| (id, word))
        .collect();
    by_id.sort_unstable();
    Ok(Some(
        by_id
            .into_iter()
            .map(|(_, word)| word)
            .filter(|w| w != UNK_TOKEN)
            .collect(),
    ))
}

/// Counts the pre-vocabulary words of a corpus with the fast path, most frequent first
/// (ties by word), keeping words seen at least `min_count` times. This is the ordering the
/// crate's `WordLevelTrainer` uses.
///
/// ```
/// let vocab = rumor_triage::text::learn_vocabulary(["a b b", "b c"].into_iter(), 2);
/// assert_eq!(vocab, ["b"]);
/// ```
pub fn learn_vocabulary<'a>(texts: impl Iterator<Item = &'a str>, min_count: u64) -> Vec<String> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut buffers = Buffers::default();
    for text in texts {
        for_each_word(text, &mut buffers, |word, _| {
            if let Some(count) = counts.get_mut(word) {
                *count += 1;
            } else {
                counts.insert(word.to_owned(), 1);
            }
        });
    }
    let mut ordered: Vec<(String, u64)> = counts
        .into_iter()
        .filter(|(_, c)| *c >= min_count)
        .collect();
    ordered.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ordered.into_iter().map(|(w, _)| w).collect()
}

/// Reusable scratch space for the fast path, so that tokenizing allocates nothing once warm.
///
/// ```
/// let mut buffers = rumor_triage::text::Buffers::default();
/// let fast = rumor_triage::text::FastTokenizer::new(&[], 0);
/// fast.tokens("x", &mut buffers, |t| assert_eq!(t, "[UNK]"));
/// ```
#[derive(Default, Debug, Clone)]
pub struct Buffers {
    first: String,
    second: String,
}

/// Checks whether `c` gets a token of its own as a CJK ideograph (the crate's definition).
///
/// ```
/// assert!(rumor_triage::text::is_cjk_ideograph('谣'));
/// assert!(!rumor_triage::text::is_cjk_ideograph('あ'));
/// ```
#[inline]
pub fn is_cjk_ideograph(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

#[inline]
fn is_bert_punctuation(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_punctuation()
    } else {
        BMP_CLASSES.test(Class::Punctuation, c)
    }
}

#[derive(Clone, Copy)]
enum Class {
    Other,
    Punctuation,
}

/// `is_other` (general category C*) and `is_punctuation` (P*) of the Basic Multilingual
/// Plane as bitsets, so the hot path asks a bit test instead of a binary search in
/// `unicode_categories`' tables (other planes still ask the tables). Each block of 64 code
/// points is filled the first time a character of it is asked about, so a process pays only
/// for the scripts its texts use; two threads filling one block store the same bits.
struct BmpClasses {
    other: [AtomicU64; 1024],
    punctuation: [AtomicU64; 1024],
    filled: [AtomicU64; 16],
}

static BMP_CLASSES: BmpClasses = BmpClasses {
    other: [const { AtomicU64::new(0) }; 1024],
    punctuation: [const { AtomicU64::new(0) }; 1024],
    filled: [const { AtomicU64::new(0) }; 16],
};

impl BmpClasses {
    #[inline]
    fn test(&self, class: Class, c: char) -> bool {
        let code = c as u32;
        let block = (code / 64) as usize;
        let (Some(filled), true) = (self.filled.get(block / 64), code < 0x1_0000) else {
            return match class {
                Class::Other => c.is_other(),
                Class::Punctuation => c.is_punctuation(),
            };
        };
        let flag = 1u64 << (block % 64);
        if filled.load(Ordering::Acquire) & flag == 0 {
            self.fill(block);
            filled.fetch_or(flag, Ordering::Release);
        }
        let set = match class {
            Class::Other => &self.other,
            Class::Punctuation => &self.punctuation,
        };
        set.get(block)
            .is_some_and(|word| word.load(Ordering::Relaxed) & (1 << (code % 64)) != 0)
    }

    fn fill(&self, block: usize) {
        let (mut other, mut punctuation) = (0u64, 0u64);
        let first = block as u32 * 64;
        for (bit, c) in
            (first..first + 64).filter_map(|u| char::from_u32(u).map(|c| (u - first, c)))
        {
            other |= u64::from(c.is_other()) << bit;
            punctuation |= u64::from(c.is_punctuation()) << bit;
        }
        if let (Some(o), Some(p)) = (self.other.get(block), self.punctuation.get(block)) {
            o.store(other, Ordering::Relaxed);
            p.store(punctuation, Ordering::Relaxed);
        }
    }
}

/// NFKC, then clean (drop NUL, U+FFFD and control/format/unassigned/private-use
/// characters; map whitespace to a space) and lowercase, into `out`.
fn normalize_clean_lower(text: &str, scratch: &mut String, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        for b in text.bytes() {
            match b {
                b'\t' | b'\n' | b'\r' => out.push(' '),
                0..=0x1f | 0x7f => {}
                _ => out.push(char::from(b.to_ascii_lowercase())),
            }
        }
        return;
    }
    nfkc_into(text, scratch);
    for c in scratch.chars() {
        if is_common_ideograph(c) {
            out.push(c);
            continue;
        }
        let c = fold_confusable(c);
        let removed = match c {
            '\t' | '\n' | '\r' => false,
            '\0' | '\u{fffd}' => true,
            _ => BMP_CLASSES.test(Class::Other, c),
        };
        if removed {
            continue;
        }
        if c.is_whitespace() {
            out.push(' ');
        } else if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// CJK Unified Ideographs U+4E00..=U+9FFF: starters without decomposition that compose
/// with nothing, so NFKC leaves them and their neighbours' normalization independent.
#[inline]
fn is_common_ideograph(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// NFKC of `text` into `out`, running the (slow) normalizer only on the stretches between
/// common ideographs that are not plain ASCII.
fn nfkc_into(text: &str, out: &mut String) {
    out.clear();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest
            .char_indices()
            .find(|&(_, c)| is_common_ideograph(c))
            .map_or(rest.len(), |(i, _)| i);
        let (segment, after) = rest.split_at(cut);
        if segment.is_ascii() {
            out.push_str(segment);
        } else {
            out.extend(segment.nfkc().map(|(c, _)| c));
        }
        let ideographs = after
            .char_indices()
            .find(|&(_, c)| !is_common_ideograph(c))
            .map_or(after.len(), |(i, _)| i);
        out.push_str(&after[..ideographs]);
        rest = &after[ideographs..];
    }
}

/// Replaces every leftmost-longest match of a pattern `prefix` + `tail` with ` word `.
/// `match_len` returns the byte length of the match starting at a candidate position.
fn replace_matches(
    input: &str,
    out: &mut String,
    trigger: u8,
    word: &str,
    match_len: impl Fn(&[u8]) -> usize,
) -> bool {
    let bytes = input.as_bytes();
    if !bytes.contains(&trigger) {
        return false;
    }
    out.clear();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let Some(offset) = bytes
            .get(at..)
            .and_then(|rest| rest.iter().position(|&b| b == trigger))
        else {
            break;
        };
        let start = at + offset;
        let len = match_len(bytes.get(start..).unwrap_or_default());
        if len == 0 {
            at = start + 1;
            continue;
        }
        out.push_str(&input[copied..start]);
        out.push(' ');
        out.push_str(word);
        out.push(' ');
        copied = start + len;
        at = copied;
    }
    out.push_str(&input[copied..]);
    true
}

fn url_match_len(bytes: &[u8]) -> usize {
    let scheme = if bytes.starts_with(b"https://") {
        8
    } else if bytes.starts_with(b"http://") {
        7
    } else {
        return 0;
    };
    let tail = bytes
        .get(scheme..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| (b'!'..=b'~').contains(b))
        .count();
    if tail == 0 {
        0
    } else {
        scheme + tail
    }
}

fn user_match_len(bytes: &[u8]) -> usize {
    match bytes.get(1) {
        Some(&b) if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' => 1,
        _ => 0,
    }
}

/// One placeholder pass: the byte that can start a match, the placeholder word, and the
/// length of the match at a candidate position (0 for none).
type ReplacePass = (u8, &'static str, fn(&[u8]) -> usize);

/// Runs the built-in normalizer and pre-tokenizer over `text`, calling `word` for each
/// pre-vocabulary word with whether it is a single CJK ideograph.
pub(crate) fn for_each_word(text: &str, buffers: &mut Buffers, mut word: impl FnMut(&str, bool)) {
    let Buffers { first, second } = buffers;
    normalize_clean_lower(text, first, second);
    // `second` holds the text; each replacement pass writes into the other buffer.
    let mut in_second = true;
    let passes: [ReplacePass; 2] = [
        (b'h', URL_TOKEN, url_match_len),
        (b'@', USER_TOKEN, user_match_len),
    ];
    for (trigger, token, len) in passes {
        let (input, output) = if in_second {
            (&*second, &mut *first)
        } else {
            (&*first, &mut *second)
        };
        if replace_matches(input, output, trigger, token, len) {
            in_second = !in_second;
        }
    }
    let (input, output) = if in_second {
        (&*second, &mut *first)
    } else {
        (&*first, &mut *second)
    };
    let normalized: &str = if replace_digit_runs(input, output) {
        output
    } else {
        input
    };
    split_words(normalized, &mut word);
}

fn replace_digit_runs(input: &str, out: &mut String) -> bool {
    let bytes = input.as_bytes();
    if !bytes.iter().any(u8::is_ascii_digit) {
        return false;
    }
    out.clear();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        if bytes.get(at).is_some_and(u8::is_ascii_digit) {
            let end = at
                + bytes
                    .get(at..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
            out.push_str(&input[copied..at]);
            out.push(' ');
            out.push_str(NUMBER_TOKEN);
            out.push(' ');
            copied = end;
            at = end;
        } else {
            at += 1;
        }
    }
    out.push_str(&input[copied..]);
    true
}

/// BERT pre-tokenization after CJK spacing: whitespace separates words, and each
/// punctuation character and each CJK ideograph is a word of its own.
fn split_words(text: &str, word: &mut impl FnMut(&str, bool)) {
    let mut start: Option<usize> = None;
    for (at, c) in text.char_indices() {
        let alone = if c.is_ascii() {
            if c == ' ' {
                if let Some(s) = start.take() {
                    word(&text[s..at], false);
                }
                continue;
            }
            c.is_ascii_punctuation()
        } else if c.is_whitespace() {
            if let Some(s) = start.take() {
                word(&text[s..at], false);
            }
            continue;
        } else {
            is_cjk_ideograph(c) || is_bert_punctuation(c)
        };
        if alone {
            if let Some(s) = start.take() {
                word(&text[s..at], false);
            }
            let end = at + c.len_utf8();
            word(&text[at..end], is_cjk_ideograph(c));
        } else if start.is_none() {
            start = Some(at);
        }
    }
    if let Some(s) = start {
        word(&text[s..], false);
    }
}

/// A token as the feature hasher sees it: its frozen 64-bit hash and whether it is a
/// single CJK ideograph (which admits longer n-grams).
///
/// ```
/// let key = rumor_triage::text::TokenKey { hash: rumor_triage::features::token_hash("谣", 0), cjk: true, punctuation: false };
/// assert!(key.cjk);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenKey {
    /// [`token_hash`] of the token's text under the model's seed.
    pub hash: u64,
    /// Whether the token is one CJK ideograph.
    pub cjk: bool,
    /// Whether the token is one punctuation character.
    pub punctuation: bool,
}

/// Whether `token` is a single punctuation character (as the pre-tokenizer splits them).
#[inline]
fn is_punctuation_token(token: &str) -> bool {
    let mut chars = token.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if is_bert_punctuation(c))
}

/// The built-in pipeline, re-implemented for speed, with the vocabulary's token hashes
/// precomputed.
#[derive(Debug, Clone)]
pub struct FastTokenizer {
    hashes: rustc_hash::FxHashMap<Box<str>, u64>,
    unk_hash: u64,
}

impl FastTokenizer {
    /// Builds the fast path for `vocab`, hashing each word with `seed`.
    ///
    /// ```
    /// use rumor_triage::text::{Buffers, FastTokenizer};
    /// let fast = FastTokenizer::new(&["地".to_string(), "震".to_string()], 0);
    /// let mut buffers = Buffers::default();
    /// let mut tokens = Vec::new();
    /// fast.tokens("网传地震", &mut buffers, |t| tokens.push(t.to_string()));
    /// assert_eq!(tokens, ["[UNK]", "[UNK]", "地", "震"]);
    /// ```
    pub fn new(vocab: &[String], seed: u64) -> Self {
        let hashes = vocab
            .iter()
            .map(|w| (w.as_str().into(), token_hash(w, seed)))
            .collect();
        Self {
            hashes,
            unk_hash: token_hash(UNK_TOKEN, seed),
        }
    }

    /// Number of words in the vocabulary (without `[UNK]`).
    ///
    /// ```
    /// assert_eq!(rumor_triage::text::FastTokenizer::new(&["a".into()], 0).vocab_len(), 1);
    /// ```
    pub fn vocab_len(&self) -> usize {
        self.hashes.len()
    }

    /// Calls `token` with the text (`[UNK]` for an unknown word) and key of each token.
    #[inline]
    fn for_each(&self, text: &str, buffers: &mut Buffers, mut token: impl FnMut(&str, TokenKey)) {
        for_each_word(text, buffers, |word, cjk| match self.hashes.get(word) {
            Some(&hash) => token(
                word,
                TokenKey {
                    hash,
                    cjk,
                    punctuation: !cjk && is_punctuation_token(word),
                },
            ),
            None => token(
                UNK_TOKEN,
                TokenKey {
                    hash: self.unk_hash,
                    cjk,
                    punctuation: !cjk && is_punctuation_token(word),
                },
            ),
        });
    }

    /// Calls `key` for each token of `text`.
    ///
    /// ```
    /// use rumor_triage::text::{Buffers, FastTokenizer};
    /// let mut n = 0;
    /// FastTokenizer::new(&[], 0).keys("a b 谣言", &mut Buffers::default(), |_| n += 1);
    /// assert_eq!(n, 4);
    /// ```
    #[inline]
    pub fn keys(&self, text: &str, buffers: &mut Buffers, mut key: impl FnMut(TokenKey)) {
        self.for_each(text, buffers, |_, k| key(k));
    }

    /// Calls `token` with the text of each token of `text` (`[UNK]` for unknown words),
    /// exactly as the crate's `encode(..).get_tokens()` would give them.
    pub fn tokens(&self, text: &str, buffers: &mut Buffers, mut token: impl FnMut(&str)) {
        self.for_each(text, buffers, |t, _| token(t));
    }
}

/// Parses a `tokenizer.json`. The `tokenizers` crate panics on some malformed files (an
/// `expect` in its decoder deserializer, found by `tests/model.rs` flipping bits in a
/// model), so the parse runs under `catch_unwind` and such a file becomes an error.
///
/// ```
/// let json = rumor_triage::text::builtin_tokenizer(&["a".into()]).unwrap().to_string(false).unwrap();
/// assert!(rumor_triage::text::parse_tokenizer_json(json.as_bytes()).is_ok());
/// assert!(rumor_triage::text::parse_tokenizer_json(br#"{"decoder":{"type":7}}"#).is_err());
/// ```
pub fn parse_tokenizer_json(bytes: &[u8]) -> Result<Tokenizer, Error> {
    match std::panic::catch_unwind(|| Tokenizer::from_bytes(bytes)) {
        Ok(parsed) => parsed.map_err(Error::Tokenizer),
        Err(_) => Err(Error::invalid(
            "tokenizer.json is malformed (the tokenizers crate panicked reading it)",
        )),
    }
}

/// Which implementation turns a text into tokens.
///
/// ```
/// let model = rumor_triage::Model::load_default().unwrap();
/// assert!(matches!(model.tokenizer(), rumor_triage::text::TokenizerBackend::Builtin(_)));
/// ```
#[derive(Debug, Clone)]
pub enum TokenizerBackend {
    /// The built-in pipeline through [`FastTokenizer`].
    Builtin(FastTokenizer),
    /// A user-supplied `tokenizer.json`, run through the crate's `encode` (slower).
    Custom(Box<Tokenizer>),
}

impl TokenizerBackend {
    /// Calls `token` with the text and key of each token of `text`.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let mut tokens = Vec::new();
    /// model.tokenizer().for_each_token("RT @bbc", 0, &mut Default::default(), |t, _| tokens.push(t.to_owned())).unwrap();
    /// assert_eq!(tokens, ["rt", "xxuser", "bbc"]);
    /// ```
    ///
    /// For a custom tokenizer a failing `encode` yields an error.
    pub fn for_each_token(
        &self,
        text: &str,
        seed: u64,
        buffers: &mut Buffers,
        mut token: impl FnMut(&str, TokenKey),
    ) -> Result<(), Error> {
        match self {
            TokenizerBackend::Builtin(fast) => {
                fast.for_each(text, buffers, token);
                Ok(())
            }
            TokenizerBackend::Custom(tokenizer) => {
                let encoding = tokenizer.encode(text, false).map_err(Error::Tokenizer)?;
                for piece in encoding.get_tokens() {
                    let mut chars = piece.chars();
                    let cjk = matches!((chars.next(), chars.next()), (Some(c), None) if is_cjk_ideograph(c));
                    token(
                        piece,
                        TokenKey {
                            hash: token_hash(piece, seed),
                            cjk,
                            punctuation: !cjk && is_punctuation_token(piece),
                        },
                    );
                }
                Ok(())
            }
        }
    }

    /// Calls `key` for each token of `text` (the hot path).
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let mut n = 0;
    /// model.tokenizer().for_each_key("网传", 0, &mut Default::default(), |_| n += 1).unwrap();
    /// assert_eq!(n, 2);
    /// ```
    #[inline]
    pub fn for_each_key(
        &self,
        text: &str,
        seed: u64,
        buffers: &mut Buffers,
        mut key: impl FnMut(TokenKey),
    ) -> Result<(), Error> {
        match self {
            TokenizerBackend::Builtin(fast) => {
                fast.keys(text, buffers, key);
                Ok(())
            }
            TokenizerBackend::Custom(_) => self.for_each_token(text, seed, buffers, |_, k| key(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_word(text, &mut Buffers::default(), |w, _| out.push(w.to_owned()));
        out
    }

    #[test]
    fn placeholders_and_cjk_split() {
        assert_eq!(
            words("RT @Bob_1: 3 dead!! http://t.co/Ab1 网传地震"),
            [
                "rt", "xxuser", "bob", "_", "xxnum", ":", "xxnum", "dead", "!", "!", "xxurl", "网",
                "传", "地", "震"
            ]
        );
    }

    #[test]
    fn zero_width_and_full_width_fold_away() {
        assert_eq!(words("Ｒｕ\u{200b}mor"), ["rumor"]);
    }

    #[test]
    fn bare_scheme_is_not_a_url() {
        assert_eq!(words("http:// x"), ["http", ":", "/", "/", "x"]);
    }
}
