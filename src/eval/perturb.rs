//! Evasion perturbations: the cheap edits people make so that a filter misses a post.
//!
//! Each [`Perturbation`] rewrites a text the way an evader would while a reader still sees
//! the same words; `rumor-triage perturb` applies one to a JSONL file, and
//! `tests/evasion.rs` checks that the shipped model's macro-F1 on perturbed copies of the
//! weibo-ced and pheme test sets stays within one point of the clean sets. All edits are
//! seeded (SplitMix64), so the same seed gives the same perturbed file.

use crate::util::SplitMix;

/// One kind of evasive edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Perturbation {
    /// Zero-width characters (U+200B, U+200C, U+200D, U+2060, U+FEFF) after a fifth of the
    /// characters.
    ZeroWidth,
    /// Half the Latin letters that have a Cyrillic or Greek look-alike replaced by it.
    Homoglyphs,
    /// ASCII letters, digits and punctuation as their full-width forms (U+FF01..U+FF5E).
    FullWidth,
    /// A space between every two adjacent Chinese characters.
    SpacedChinese,
    /// Every punctuation mark tripled, except inside URLs and @handles (where it would
    /// change the link or the account, not just the look).
    RepeatedPunctuation,
    /// Each letter's case flipped at random.
    CaseGames,
}

impl Perturbation {
    /// Every perturbation, in report order.
    pub const ALL: [Perturbation; 6] = [
        Perturbation::ZeroWidth,
        Perturbation::Homoglyphs,
        Perturbation::FullWidth,
        Perturbation::SpacedChinese,
        Perturbation::RepeatedPunctuation,
        Perturbation::CaseGames,
    ];

    /// Its name on the command line.
    ///
    /// ```
    /// use rumor_triage::eval::Perturbation;
    /// assert_eq!(Perturbation::from_name("zero-width"), Some(Perturbation::ZeroWidth));
    /// assert_eq!(Perturbation::ZeroWidth.name(), "zero-width");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Perturbation::ZeroWidth => "zero-width",
            Perturbation::Homoglyphs => "homoglyphs",
            Perturbation::FullWidth => "full-width",
            Perturbation::SpacedChinese => "spaced-chinese",
            Perturbation::RepeatedPunctuation => "repeated-punctuation",
            Perturbation::CaseGames => "case-games",
        }
    }

    /// The perturbation called `name`.
    ///
    /// ```
    /// assert!(rumor_triage::eval::Perturbation::from_name("nope").is_none());
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// `text` perturbed, with edits drawn from `seed`.
    ///
    /// ```
    /// use rumor_triage::eval::Perturbation;
    /// assert_eq!(Perturbation::FullWidth.apply("Hi 1!", 0), "Ｈｉ １！");
    /// assert_eq!(Perturbation::SpacedChinese.apply("谣言a", 0), "谣 言a");
    /// assert_eq!(Perturbation::RepeatedPunctuation.apply("No! @a_b http://t.co/x", 0), "No!!! @a_b http://t.co/x");
    /// ```
    pub fn apply(self, text: &str, seed: u64) -> String {
        let mut rng = SplitMix(seed);
        let mut out = String::with_capacity(text.len() * 2);
        let mut previous: Option<char> = None;
        let mut verbatim = false;
        for (at, c) in text.char_indices() {
            let rest = text.get(at..).unwrap_or_default();
            if c.is_whitespace() {
                verbatim = false;
            } else if c == '@' || rest.starts_with("http://") || rest.starts_with("https://") {
                verbatim = true;
            } else if verbatim && rest.starts_with(|c: char| !c.is_ascii_graphic()) {
                verbatim = false;
            }
            match self {
                Perturbation::ZeroWidth => {
                    out.push(c);
                    if rng.below(5) == 0 {
                        let mark = ZERO_WIDTH.get(rng.below(ZERO_WIDTH.len()));
                        out.push(mark.copied().unwrap_or('\u{200b}'));
                    }
                }
                Perturbation::Homoglyphs => match homoglyph(c) {
                    Some(lookalike) if rng.below(2) == 0 => out.push(lookalike),
                    _ => out.push(c),
                },
                Perturbation::FullWidth => match c {
                    '!'..='~' => out.push(char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)),
                    ' ' => out.push(' '),
                    _ => out.push(c),
                },
                Perturbation::SpacedChinese => {
                    if previous.is_some_and(is_chinese) && is_chinese(c) {
                        out.push(' ');
                    }
                    out.push(c);
                }
                Perturbation::RepeatedPunctuation => {
                    let punctuation = c.is_ascii_punctuation() || is_cjk_punctuation(c);
                    let times = if punctuation && !verbatim { 3 } else { 1 };
                    out.extend(std::iter::repeat_n(c, times));
                }
                Perturbation::CaseGames => {
                    if c.is_alphabetic() && rng.below(2) == 0 {
                        if c.is_uppercase() {
                            out.extend(c.to_lowercase());
                        } else {
                            out.extend(c.to_uppercase());
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
            previous = Some(c);
        }
        out
    }
}

const ZERO_WIDTH: [char; 5] = ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}'];

fn is_chinese(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

fn is_cjk_punctuation(c: char) -> bool {
    ('\u{3000}'..='\u{303f}').contains(&c) || ('\u{ff01}'..='\u{ff0f}').contains(&c)
}

/// A Cyrillic or Greek letter that looks like the Latin letter `c`.
fn homoglyph(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'c' => 'с',
        'e' => 'е',
        'i' => 'і',
        'j' => 'ј',
        'o' => 'о',
        'p' => 'р',
        's' => 'ѕ',
        'x' => 'х',
        'y' => 'у',
        'v' => 'ν',
        'u' => 'υ',
        'A' => 'А',
        'B' => 'В',
        'C' => 'С',
        'E' => 'Е',
        'H' => 'Н',
        'I' => 'І',
        'K' => 'К',
        'M' => 'М',
        'N' => 'Ν',
        'O' => 'О',
        'P' => 'Р',
        'T' => 'Т',
        'X' => 'Х',
        'Y' => 'Υ',
        'Z' => 'Ζ',
        _ => return None,
    })
}
