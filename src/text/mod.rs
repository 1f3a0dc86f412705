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
//! `parity_tests.rs` checks that both give the same tokens on every post of the
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
use crate::util::{ngram_lead, token_hash};

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
pub fn builtin_tokenizer(vocab: &[String]) -> Result<Tokenizer, Error> {
    let mut ids = ahash::AHashMap::with_capacity(vocab.len() + 1);
    ids.insert(UNK_TOKEN.to_owned(), 0u32);
    for word in vocab {
        let next = u32::try_from(ids.len()).map_err(|_| Error::input("vocabulary too large"))?;
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
    let word_level = matches!(
        tokenizer.get_model(),
        tokenizers::ModelWrapper::WordLevel(model) if model.unk_token == UNK_TOKEN
    );
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
#[derive(Default, Debug, Clone)]
pub struct Buffers {
    first: String,
    second: String,
}

/// Checks whether `c` gets a token of its own as a CJK ideograph (the crate's definition).
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
///
/// NFKC runs only on the stretches that need it. A text is cut in front of every ASCII
/// character and around every common ideograph: those are starters that are never the
/// second half of a composition, so NFKC of the pieces is NFKC of the whole. An ASCII
/// character that a non-ASCII stretch follows goes into that stretch, since a combining
/// mark after it may compose with it.
fn normalize_clean_lower(text: &str, scratch: &mut String, out: &mut String) {
    out.clear();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&lead) = bytes.get(at) {
        let rest = bytes.get(at..).unwrap_or_default();
        if lead.is_ascii() {
            let run = rest.iter().take_while(|b| b.is_ascii()).count();
            let end = at + run;
            let next = bytes.get(end..).unwrap_or_default();
            let safe_end = if next.is_empty() || starts_with_common_ideograph(next) {
                end
            } else {
                end - 1
            };
            if safe_end > at {
                push_ascii_clean_lower(&text[at..safe_end], out);
                at = safe_end;
                continue;
            }
        } else if starts_with_common_ideograph(rest) {
            let run = rest
                .chunks_exact(3)
                .take_while(|c| starts_with_common_ideograph(c))
                .count();
            out.push_str(&text[at..at + 3 * run]);
            at += 3 * run;
            continue;
        }
        // A stretch that NFKC must see whole: this character and the ones after it up to
        // the next ASCII character or common ideograph.
        let Some(first) = text[at..].chars().next() else {
            break;
        };
        let mut end = at + first.len_utf8();
        while let Some(&b) = bytes.get(end) {
            if b.is_ascii() || starts_with_common_ideograph(bytes.get(end..).unwrap_or_default()) {
                break;
            }
            end += text[end..].chars().next().map_or(1, char::len_utf8);
        }
        match alone_normalized(first).filter(|_| end == at + first.len_utf8()) {
            Some(normalized) => out.push_str(normalized),
            None => push_stretch(&text[at..end], scratch, out),
        }
        at = end;
    }
}

/// NFKC of a stretch, then each character cleaned and lowercased, appended to `out`.
fn push_stretch(stretch: &str, scratch: &mut String, out: &mut String) {
    scratch.clear();
    scratch.extend(stretch.nfkc().map(|(c, _)| c));
    scratch.chars().for_each(|c| push_clean_lower(c, out));
}

/// The blocks whose characters come alone between Chinese characters or ASCII most often:
/// Latin-1 letters and signs, general punctuation, CJK punctuation, full-width forms.
const ALONE_BLOCKS: [std::ops::RangeInclusive<u32>; 4] = [
    0xa0..=0xff,
    0x2000..=0x206f,
    0x3000..=0x303f,
    0xff00..=0xffef,
];

/// [`push_stretch`] of `c` by itself, looked up instead of computed for the characters of
/// [`ALONE_BLOCKS`]: a stretch of one such character (a Chinese comma or full stop between
/// two ideographs, say) is most of the stretches of a Chinese post, and running NFKC on it
/// cost about a thousand instructions each time.
fn alone_normalized(c: char) -> Option<&'static str> {
    static ALONE: std::sync::OnceLock<Vec<Vec<String>>> = std::sync::OnceLock::new();
    let blocks = ALONE.get_or_init(|| {
        let mut scratch = String::new();
        ALONE_BLOCKS
            .iter()
            .map(|block| {
                block
                    .clone()
                    .map(|code| {
                        let mut out = String::new();
                        if let Some(c) = char::from_u32(code) {
                            push_stretch(c.encode_utf8(&mut [0; 4]), &mut scratch, &mut out);
                        }
                        out
                    })
                    .collect()
            })
            .collect()
    });
    let code = c as u32;
    ALONE_BLOCKS
        .iter()
        .zip(blocks)
        .find(|(block, _)| block.contains(&code))
        .and_then(|(block, normalized)| normalized.get((code - block.start()) as usize))
        .map(String::as_str)
}

/// The ASCII part of [`normalize_clean_lower`]: tab, newline and carriage return become a
/// space, other control characters go, letters are lowercased.
fn push_ascii_clean_lower(ascii: &str, out: &mut String) {
    if ascii.bytes().all(|b| b >= 0x20 && b != 0x7f) {
        let start = out.len();
        out.push_str(ascii);
        if let Some(added) = out.get_mut(start..) {
            added.make_ascii_lowercase();
        }
        return;
    }
    for b in ascii.bytes() {
        match b {
            b'\t' | b'\n' | b'\r' => out.push(' '),
            0..=0x1f | 0x7f => {}
            _ => out.push(char::from(b.to_ascii_lowercase())),
        }
    }
}

/// One character of NFKC output through look-alike folding, cleaning and lowercasing.
#[inline]
fn push_clean_lower(c: char, out: &mut String) {
    if is_common_ideograph(c) {
        out.push(c);
        return;
    }
    let c = fold_confusable(c);
    let removed = match c {
        '\t' | '\n' | '\r' => false,
        '\0' | '\u{fffd}' => true,
        _ => BMP_CLASSES.test(Class::Other, c),
    };
    if removed {
        return;
    }
    if c.is_whitespace() {
        out.push(' ');
    } else if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else {
        out.extend(c.to_lowercase());
    }
}

/// CJK Unified Ideographs U+4E00..=U+9FFF: starters without decomposition that compose
/// with nothing, so NFKC leaves them and their neighbours' normalization independent.
#[inline]
fn is_common_ideograph(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Whether valid UTF-8 `bytes` start with a common ideograph (U+4E00 is `E4 B8 80`,
/// U+9FFF is `E9 BF BF`).
#[inline]
fn starts_with_common_ideograph(bytes: &[u8]) -> bool {
    match bytes {
        [0xe5..=0xe9, ..] => true,
        [0xe4, second, ..] => *second >= 0xb8,
        _ => false,
    }
}

/// The byte length of a URL (`https?://` and at least one printable ASCII byte) at the
/// start of `bytes`, or 0.
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

/// A pre-vocabulary word, as the splitter finds it in normalized text.
#[derive(Clone, Copy)]
enum Piece<'a> {
    /// A run of characters that are neither whitespace, punctuation nor CJK ideographs.
    Run(&'a str),
    /// One punctuation character or CJK ideograph, a word of its own.
    Alone { text: &'a str, c: char, cjk: bool },
    /// A placeholder word.
    Placeholder(Placeholder),
}

impl<'a> Piece<'a> {
    fn text(self) -> &'a str {
        match self {
            Piece::Run(text) | Piece::Alone { text, .. } => text,
            Piece::Placeholder(p) => p.word(),
        }
    }

    fn is_cjk(self) -> bool {
        matches!(self, Piece::Alone { cjk: true, .. })
    }
}

#[derive(Clone, Copy)]
enum Placeholder {
    Url,
    User,
    Number,
}

impl Placeholder {
    fn word(self) -> &'static str {
        match self {
            Placeholder::Url => URL_TOKEN,
            Placeholder::User => USER_TOKEN,
            Placeholder::Number => NUMBER_TOKEN,
        }
    }
}

/// Runs the built-in normalizer and pre-tokenizer over `text`, calling `word` for each
/// pre-vocabulary word with whether it is a single CJK ideograph.
pub(crate) fn for_each_word(text: &str, buffers: &mut Buffers, mut word: impl FnMut(&str, bool)) {
    for_each_piece(text, buffers, |piece| word(piece.text(), piece.is_cjk()));
}

fn for_each_piece(text: &str, buffers: &mut Buffers, mut piece: impl FnMut(Piece<'_>)) {
    let Buffers { first, second } = buffers;
    normalize_clean_lower(text, first, second);
    split_pieces(second, &mut piece);
}

/// The placeholder passes (URLs, then `@` before an ASCII handle, then digit runs, each on
/// the output of the one before) and BERT pre-tokenization after CJK spacing, in one scan
/// of the normalized text: whitespace separates words, each punctuation character and each
/// CJK ideograph is a word of its own, and a placeholder is a word of its own.
///
/// The passes' order shows in two places: an `@` right before a URL stays punctuation
/// (the URL pass put a space after it), and digits inside a URL are part of the URL.
fn split_pieces<'a>(text: &'a str, piece: &mut impl FnMut(Piece<'a>)) {
    let bytes = text.as_bytes();
    let mut start: Option<usize> = None;
    let mut at = 0;
    #[inline]
    fn flush<'a>(
        text: &'a str,
        start: &mut Option<usize>,
        end: usize,
        piece: &mut impl FnMut(Piece<'a>),
    ) {
        if let Some(s) = start.take() {
            piece(Piece::Run(&text[s..end]));
        }
    }
    while let Some(&b) = bytes.get(at) {
        if b.is_ascii() {
            let rest = bytes.get(at..).unwrap_or_default();
            // Letters go on a word; of them only an `h` may start something else (a URL).
            let letters = rest
                .iter()
                .take_while(|&&c| c.is_ascii_lowercase() && c != b'h')
                .count();
            if letters > 0 {
                start.get_or_insert(at);
                at += letters;
                continue;
            }
            let placeholder = match b {
                b'h' => match url_match_len(rest) {
                    0 => None,
                    len => Some((Placeholder::Url, len)),
                },
                b'@' => match rest.get(1) {
                    Some(&next)
                        if (next.is_ascii_lowercase() || next.is_ascii_digit() || next == b'_')
                            && url_match_len(rest.get(1..).unwrap_or_default()) == 0 =>
                    {
                        Some((Placeholder::User, 1))
                    }
                    _ => None,
                },
                b'0'..=b'9' => Some((
                    Placeholder::Number,
                    rest.iter().take_while(|b| b.is_ascii_digit()).count(),
                )),
                _ => None,
            };
            if let Some((kind, len)) = placeholder {
                flush(text, &mut start, at, piece);
                piece(Piece::Placeholder(kind));
                at += len;
            } else if b == b' ' {
                flush(text, &mut start, at, piece);
                at += 1;
            } else if b.is_ascii_punctuation() {
                flush(text, &mut start, at, piece);
                piece(Piece::Alone {
                    text: &text[at..at + 1],
                    c: char::from(b),
                    cjk: false,
                });
                at += 1;
            } else {
                start.get_or_insert(at);
                at += 1;
            }
            continue;
        }
        if let Some(&[b0, b1, b2]) = bytes.get(at..at + 3) {
            if starts_with_common_ideograph(&[b0, b1]) {
                let code =
                    u32::from(b0 & 0x0f) << 12 | u32::from(b1 & 0x3f) << 6 | u32::from(b2 & 0x3f);
                flush(text, &mut start, at, piece);
                piece(Piece::Alone {
                    text: &text[at..at + 3],
                    c: char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER),
                    cjk: true,
                });
                at += 3;
                continue;
            }
        }
        let Some(c) = text[at..].chars().next() else {
            break;
        };
        let end = at + c.len_utf8();
        if c.is_whitespace() {
            flush(text, &mut start, at, piece);
        } else {
            let cjk = is_cjk_ideograph(c);
            if cjk || is_bert_punctuation(c) {
                flush(text, &mut start, at, piece);
                piece(Piece::Alone {
                    text: &text[at..end],
                    c,
                    cjk,
                });
            } else {
                start.get_or_insert(at);
            }
        }
        at = end;
    }
    flush(text, &mut start, bytes.len(), piece);
}

/// A token as the feature hasher sees it: its frozen 64-bit hash and whether it is a
/// single CJK ideograph (which admits longer n-grams).
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

/// The one character of `word`, if it is a single Basic Multilingual Plane character.
#[inline]
fn single_bmp_char(word: &str) -> Option<char> {
    let mut chars = word.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if (c as u32) < 0x1_0000 => Some(c),
        _ => None,
    }
}

/// Whether `token` is a single punctuation character (as the pre-tokenizer splits them).
#[inline]
fn is_punctuation_token(token: &str) -> bool {
    let mut chars = token.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if is_bert_punctuation(c))
}

/// A word's token hash and the first step of the hash of each n-gram it starts
/// (`ngram_lead` for n = 1, 2, 3), computed once per vocabulary word
/// instead of once per occurrence.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WordHashes {
    pub(crate) hash: u64,
    pub(crate) leads: [u64; 3],
    /// Where the word's character n-gram buckets are in [`FastTokenizer::subword_buckets`],
    /// or [`NOT_CACHED`].
    subwords: [u32; 2],
}

/// The subword range of a word whose character n-grams are not cached (`[UNK]`, or every
/// word of a tokenizer built without a feature configuration).
const NOT_CACHED: [u32; 2] = [u32::MAX; 2];

impl WordHashes {
    pub(crate) fn of(hash: u64) -> Self {
        Self {
            hash,
            leads: [1, 2, 3].map(|n| ngram_lead(n, hash)),
            subwords: NOT_CACHED,
        }
    }
}

/// The built-in pipeline, re-implemented for speed, with the vocabulary's token hashes
/// precomputed.
#[derive(Debug, Clone)]
pub struct FastTokenizer {
    words: rustc_hash::FxHashMap<Box<str>, WordHashes>,
    /// For every Basic Multilingual Plane character, where its hashes as a word by itself
    /// are in `known` (0: not in the vocabulary). CJK ideographs and punctuation, most of
    /// the tokens of a Chinese post, cost an index instead of a string lookup.
    char_slots: Box<[u32]>,
    /// The hashes of the single-character words and the placeholder words, after an
    /// unused slot 0.
    known: Vec<WordHashes>,
    /// Where the placeholder words' hashes are in `known`, in [`Placeholder`] order (0: not
    /// in the vocabulary).
    placeholder_slots: [u32; 3],
    unk: WordHashes,
    /// The character n-gram buckets of every vocabulary word, back to back, in
    /// the order the feature stage hashes them in: hashed once per word instead of once
    /// per occurrence.
    subword_buckets: Vec<u32>,
}

impl FastTokenizer {
    /// Builds the fast path for `vocab`, hashing each word with `seed` (and no character
    /// n-gram cache: the tests' reference).
    #[cfg(test)]
    pub(crate) fn new(vocab: &[String], seed: u64) -> Self {
        Self::build(vocab, seed, None::<fn(&str, &mut Vec<u32>)>)
    }

    /// The fast path for `vocab`, with each vocabulary word's character n-gram buckets computed up front
    /// by `subwords_of(word, out)` (the model's scoring path; the feature stage knows how).
    pub(crate) fn with_word_cache(
        vocab: &[String],
        seed: u64,
        subwords_of: impl FnMut(&str, &mut Vec<u32>),
    ) -> Self {
        Self::build(vocab, seed, Some(subwords_of))
    }

    fn build(
        vocab: &[String],
        seed: u64,
        mut subwords_of: Option<impl FnMut(&str, &mut Vec<u32>)>,
    ) -> Self {
        let mut subword_buckets = Vec::new();
        let mut cache_subwords = |word: &str| -> [u32; 2] {
            let Some(subwords_of) = subwords_of.as_mut() else {
                return NOT_CACHED;
            };
            let start = subword_buckets.len();
            subwords_of(word, &mut subword_buckets);
            match (u32::try_from(start), u32::try_from(subword_buckets.len())) {
                (Ok(start), Ok(end)) if end < u32::MAX => [start, end],
                _ => NOT_CACHED,
            }
        };
        let words: rustc_hash::FxHashMap<Box<str>, WordHashes> = vocab
            .iter()
            .map(|w| {
                let hashes = WordHashes {
                    subwords: cache_subwords(w),
                    ..WordHashes::of(token_hash(w, seed))
                };
                (w.as_str().into(), hashes)
            })
            .collect();
        let unk = WordHashes::of(token_hash(UNK_TOKEN, seed));
        let mut known = vec![unk];
        let mut add = |hashes: WordHashes| {
            u32::try_from(known.len()).map_or(0, |slot| {
                known.push(hashes);
                slot
            })
        };
        let mut char_slots = vec![0u32; 0x1_0000].into_boxed_slice();
        for (word, &hashes) in &words {
            if let Some(slot) = single_bmp_char(word).and_then(|c| char_slots.get_mut(c as usize)) {
                *slot = add(hashes);
            }
        }
        let placeholder_slots = [Placeholder::Url, Placeholder::User, Placeholder::Number]
            .map(|p| words.get(p.word()).map_or(0, |&hashes| add(hashes)));
        Self {
            words,
            char_slots,
            known,
            placeholder_slots,
            unk,
            subword_buckets,
        }
    }

    /// The [`Word`] of a word's own text, with the cached buckets of the vocabulary word
    /// whose `hashes` these are.
    #[inline]
    fn word<'a>(&'a self, text: Option<&'a str>, hashes: &WordHashes) -> Option<Word<'a>> {
        text.map(|text| Word {
            text,
            subwords: self.cached_subwords(hashes),
        })
    }

    /// The cached character n-gram buckets of the word `hashes` belong to, if cached.
    #[inline]
    pub(crate) fn cached_subwords(&self, hashes: &WordHashes) -> Option<&[u32]> {
        let [start, end] = hashes.subwords;
        self.subword_buckets.get(start as usize..end as usize)
    }

    /// The hashes of a vocabulary word.
    #[inline]
    fn hashes_of_word(&self, word: &str) -> Option<&WordHashes> {
        match single_bmp_char(word) {
            Some(c) => self.hashes_of_char(c),
            None => self.words.get(word),
        }
    }

    /// The hashes of a character that is a word by itself, if it is in the vocabulary.
    #[inline]
    fn hashes_of_char(&self, c: char) -> Option<&WordHashes> {
        match self.char_slots.get(c as usize) {
            Some(&slot) => self.known_slot(slot),
            None => self.words.get(c.encode_utf8(&mut [0; 4]) as &str),
        }
    }

    /// The hashes in slot `slot` of `known`; slot 0 stands for "not in the vocabulary".
    #[inline]
    fn known_slot(&self, slot: u32) -> Option<&WordHashes> {
        if slot == 0 {
            None
        } else {
            self.known.get(slot as usize)
        }
    }

    /// Calls `token` with the text (`[UNK]` for an unknown word), the word's own text
    /// (before the vocabulary lookup turns an unknown one into `[UNK]`; `None` for a
    /// single-character token, a CJK ideograph or punctuation), key and hashes of each
    /// token: the one walk of the fast path.
    #[inline]
    pub(crate) fn for_each_with_word(
        &self,
        text: &str,
        buffers: &mut Buffers,
        mut token: impl FnMut(&str, Option<&str>, TokenKey, &WordHashes),
    ) {
        for_each_piece(text, buffers, |piece| {
            let (hashes, cjk, punctuation) = match piece {
                Piece::Run(word) => (self.hashes_of_word(word), false, false),
                Piece::Alone { c, cjk, .. } => (self.hashes_of_char(c), cjk, !cjk),
                Piece::Placeholder(p) => {
                    let slot = self.placeholder_slots.get(p as usize).copied();
                    (slot.and_then(|s| self.known_slot(s)), false, false)
                }
            };
            let word = match piece {
                Piece::Alone { .. } => None,
                _ => Some(piece.text()),
            };
            let (text, hashes) = match hashes {
                Some(hashes) => (piece.text(), hashes),
                None => (UNK_TOKEN, &self.unk),
            };
            let key = TokenKey {
                hash: hashes.hash,
                cjk,
                punctuation,
            };
            token(text, word, key, hashes);
        });
    }

    /// Calls `token` with the text of each token of `text` (`[UNK]` for unknown words),
    /// exactly as the crate's `encode(..).get_tokens()` would give them.
    #[cfg(test)]
    pub(crate) fn tokens(&self, text: &str, buffers: &mut Buffers, mut token: impl FnMut(&str)) {
        self.for_each_with_word(text, buffers, |t, _, _, _| token(t));
    }
}

/// Parses a `tokenizer.json`. The `tokenizers` crate panics when the JSON inside its
/// `decoder` is malformed (an `expect` in its decoder deserializer, found by
/// `tests/model.rs` flipping bits in a model), so the bytes are first checked to be JSON at
/// all, which turns that case into a plain error, and the parse still runs under
/// `catch_unwind` for anything else of the kind.
pub fn parse_tokenizer_json(bytes: &[u8]) -> Result<Tokenizer, Error> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|e| Error::tokenizer(format!("tokenizer.json is not valid JSON: {e}")))?;
    match std::panic::catch_unwind(|| Tokenizer::from_bytes(bytes)) {
        Ok(parsed) => parsed.map_err(Error::Tokenizer),
        Err(_) => Err(Error::tokenizer(
            "tokenizer.json is malformed (the tokenizers crate panicked reading it)",
        )),
    }
}

/// A user's own Hugging Face `tokenizer.json`, to train with instead of the built-in
/// pipeline ([`crate::TrainOptions::tokenizer`]). Any pipeline works, but every text then
/// goes through the `tokenizers` crate's `encode`, which is several times slower than the
/// built-in fast path.
///
/// ```
/// use rumor_triage::CustomTokenizer;
/// let json = r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
///   "normalizer":{"type":"Lowercase"},"pre_tokenizer":{"type":"Whitespace"},
///   "post_processor":null,"decoder":null,
///   "model":{"type":"WordLevel","vocab":{"[UNK]":0,"rumor":1},"unk_token":"[UNK]"}}"#;
/// let tokenizer = CustomTokenizer::from_json(json.as_bytes())?;
/// assert!(tokenizer.to_json()?.contains("WordLevel"));
/// assert!(CustomTokenizer::from_json(b"{not json").is_err());
/// # Ok::<(), rumor_triage::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CustomTokenizer(Box<Tokenizer>);

impl CustomTokenizer {
    /// Parses a `tokenizer.json`; malformed JSON is an [`Error::Tokenizer`], never a panic.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        parse_tokenizer_json(bytes).map(|t| Self(Box::new(t)))
    }

    /// Reads and parses a `tokenizer.json` file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&bytes)
    }

    /// The pipeline as `tokenizer.json` text.
    pub fn to_json(&self) -> Result<String, Error> {
        self.0.to_string(false).map_err(Error::Tokenizer)
    }

    /// The tokenizer as a scoring backend.
    pub(crate) fn backend(&self) -> TokenizerBackend {
        TokenizerBackend::Custom(self.0.clone())
    }
}

/// A word of the text as featurizing sees it: its own text and, for a vocabulary word of
/// the built-in pipeline, its cached character n-gram buckets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Word<'a> {
    pub(crate) text: &'a str,
    pub(crate) subwords: Option<&'a [u32]>,
}

impl<'a> Word<'a> {
    fn uncached(text: &'a str) -> Self {
        Word {
            text,
            subwords: None,
        }
    }
}

/// Which implementation turns a text into tokens.
#[derive(Debug, Clone)]
pub enum TokenizerBackend {
    /// The built-in pipeline through [`FastTokenizer`].
    Builtin(FastTokenizer),
    /// A user-supplied `tokenizer.json`, run through the crate's `encode` (slower).
    Custom(Box<Tokenizer>),
}

impl TokenizerBackend {
    /// Calls `token` with the text and key of each token of `text` (`[UNK]` for a word
    /// outside the vocabulary); for a custom tokenizer a failing `encode` is an error.
    pub(crate) fn for_each_token(
        &self,
        text: &str,
        seed: u64,
        buffers: &mut Buffers,
        mut token: impl FnMut(&str, TokenKey),
    ) -> Result<(), Error> {
        self.for_each_token_with_leads(text, seed, buffers, |t, k, _, _| token(t, k))
    }

    /// Calls `key` for each token of `text` with the first steps of its n-gram hashes and,
    /// for a word, the word with its cached character n-gram buckets: the hot path of
    /// featurizing. For the built-in pipeline the word is its text before the vocabulary
    /// lookup; for a custom tokenizer, whose raw words are not known here, the token text of
    /// a token that is neither one CJK ideograph nor punctuation (`[UNK]` included).
    #[inline]
    pub(crate) fn for_each_key_with_leads(
        &self,
        text: &str,
        seed: u64,
        buffers: &mut Buffers,
        mut key: impl FnMut(TokenKey, [u64; 3], Option<Word<'_>>),
    ) -> Result<(), Error> {
        match self {
            TokenizerBackend::Builtin(fast) => {
                fast.for_each_with_word(text, buffers, |_, word, k, hashes| {
                    key(k, hashes.leads, fast.word(word, hashes))
                });
                Ok(())
            }
            TokenizerBackend::Custom(tokenizer) => {
                custom_tokens(tokenizer, text, seed, |_, word, k| {
                    key(k, WordHashes::of(k.hash).leads, word.map(Word::uncached))
                })
            }
        }
    }

    /// [`Self::for_each_key_with_leads`], also giving each token's text: the walk with which
    /// explaining names the n-grams, and every other walk that wants the texts. (A copy of
    /// the hot walk rather than one walk for both, because passing the text through the hot
    /// path cost it about 500 instructions per post, callgrind, docs/decisions.md.)
    pub(crate) fn for_each_token_with_leads(
        &self,
        text: &str,
        seed: u64,
        buffers: &mut Buffers,
        mut token: impl FnMut(&str, TokenKey, [u64; 3], Option<Word<'_>>),
    ) -> Result<(), Error> {
        match self {
            TokenizerBackend::Builtin(fast) => {
                fast.for_each_with_word(text, buffers, |t, word, k, hashes| {
                    token(t, k, hashes.leads, fast.word(word, hashes))
                });
                Ok(())
            }
            TokenizerBackend::Custom(tokenizer) => {
                custom_tokens(tokenizer, text, seed, |t, word, k| {
                    token(t, k, WordHashes::of(k.hash).leads, word.map(Word::uncached))
                })
            }
        }
    }
}

/// The tokens of a user's own `tokenizer.json`, through the crate's `encode`, each with its
/// key computed from its text and, unless it is one CJK ideograph or punctuation, itself
/// as its word.
fn custom_tokens(
    tokenizer: &Tokenizer,
    text: &str,
    seed: u64,
    mut token: impl FnMut(&str, Option<&str>, TokenKey),
) -> Result<(), Error> {
    let encoding = tokenizer.encode(text, false).map_err(Error::Tokenizer)?;
    for piece in encoding.get_tokens() {
        let mut chars = piece.chars();
        let cjk = matches!((chars.next(), chars.next()), (Some(c), None) if is_cjk_ideograph(c));
        let punctuation = !cjk && is_punctuation_token(piece);
        let key = TokenKey {
            hash: token_hash(piece, seed),
            cjk,
            punctuation,
        };
        token(piece, (!cjk && !punctuation).then_some(piece), key);
    }
    Ok(())
}

#[cfg(test)]
mod parity_tests;

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
    fn the_fast_path_gives_unk_for_words_outside_its_vocabulary() {
        let fast = FastTokenizer::new(&["地".to_string(), "震".to_string()], 0);
        let mut tokens = Vec::new();
        fast.tokens("网传地震", &mut Buffers::default(), |t| {
            tokens.push(t.to_string())
        });
        assert_eq!(tokens, ["[UNK]", "[UNK]", "地", "震"]);
        let mut n = 0;
        FastTokenizer::new(&[], 0).tokens("a b 谣言", &mut Buffers::default(), |_| n += 1);
        assert_eq!(n, 4);
    }

    #[test]
    fn bare_scheme_is_not_a_url() {
        assert_eq!(words("http:// x"), ["http", ":", "/", "/", "x"]);
    }
}

#[cfg(test)]
mod doc_examples {
    //! What the items' doc examples showed before the module became private.

    #[test]
    fn builtin_tokenizer_example() {
        let tokenizer = crate::text::builtin_tokenizer(&["rumor".to_string()]).unwrap();
        let encoding = tokenizer
            .encode("RUMOR: 3 dead http://t.co/x", false)
            .unwrap();
        assert_eq!(
            encoding.get_tokens(),
            ["rumor", "[UNK]", "[UNK]", "[UNK]", "[UNK]"]
        );
    }

    #[test]
    fn learn_vocabulary_example() {
        let vocab = crate::text::learn_vocabulary(["a b b", "b c"].into_iter(), 2);
        assert_eq!(vocab, ["b"]);
    }

    #[test]
    fn buffers_example() {
        let mut buffers = crate::text::Buffers::default();
        let fast = crate::text::FastTokenizer::new(&[], 0);
        fast.tokens("x", &mut buffers, |t| assert_eq!(t, "[UNK]"));
    }

    #[test]
    fn is_cjk_ideograph_example() {
        assert!(crate::text::is_cjk_ideograph('谣'));
        assert!(!crate::text::is_cjk_ideograph('あ'));
    }

    #[test]
    fn parse_tokenizer_json_example() {
        use crate::text::parse_tokenizer_json;
        let json = crate::text::builtin_tokenizer(&["a".into()])
            .unwrap()
            .to_string(false)
            .unwrap();
        assert!(parse_tokenizer_json(json.as_bytes()).is_ok());
        assert!(parse_tokenizer_json(br#"{"decoder":{"type":7}}"#).is_err());
        let err = parse_tokenizer_json(br#"{"decoder":{"type":"\q"}}"#).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"));
    }

    #[test]
    fn tokenizerbackend_example() {
        let model = crate::Model::load_default().unwrap();
        assert!(model.uses_builtin_tokenizer());
    }
}
