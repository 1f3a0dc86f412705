//! The fast tokenizer gives exactly the tokens of the `tokenizers` crate pipeline it
//! stands for: on every post of the evaluation data, on hostile strings, and on generated
//! text.

use proptest::prelude::*;

use super::{
    builtin_tokenizer, learn_vocabulary, Buffers, FastTokenizer, TokenKey, TokenizerBackend,
};
use crate::test_data as common;

#[path = "../../tests/common/hostile_text.rs"]
mod hostile;
use hostile::hostile_text;

/// Each token's text and key, as `backend` gives them. Whether an `[UNK]` token is a CJK
/// ideograph or punctuation is left out: the fast path knows the word behind it, a
/// `tokenizer.json` run through the crate only sees `[UNK]`.
fn keyed_tokens(
    backend: &TokenizerBackend,
    text: &str,
    buffers: &mut Buffers,
) -> Vec<(String, TokenKey)> {
    let mut out = Vec::new();
    backend
        .for_each_token(text, 0, buffers, |t, mut k| {
            if t == "[UNK]" {
                (k.cjk, k.punctuation) = (false, false);
            }
            out.push((t.to_owned(), k));
        })
        .unwrap();
    out
}

#[test]
fn fast_path_matches_the_crate_on_every_post() {
    let Some(dir) = common::data_or_skip("fast_path_matches_the_crate_on_every_post") else {
        return;
    };
    let files = common::all_files(&dir);
    assert!(
        files.len() >= 8,
        "expected the weibo-ced, pheme and liar files, found {files:?}"
    );
    let mut all: Vec<String> = Vec::new();
    for f in &files {
        all.extend(common::texts(f));
    }
    // A vocabulary from half of the posts, so that both known words and [UNK] occur.
    let half: Vec<&str> = all.iter().step_by(2).map(String::as_str).collect();
    let vocab = learn_vocabulary(half.iter().copied(), 2);
    assert!(vocab.len() > 1000);
    // The crate's tokens with keys computed from their text (the path for a user's own
    // tokenizer.json), against the fast path's tokens with its precomputed keys.
    let crate_backend = TokenizerBackend::Custom(Box::new(builtin_tokenizer(&vocab).unwrap()));
    let fast = TokenizerBackend::Builtin(FastTokenizer::new(&vocab, 0));
    let mut buffers = Buffers::default();
    let mut compared = 0usize;
    let mut tokens_seen = 0usize;
    for text in &all {
        let expected = keyed_tokens(&crate_backend, text, &mut buffers);
        let got = keyed_tokens(&fast, text, &mut buffers);
        assert_eq!(got, expected, "tokens differ for {text:?}");
        compared += 1;
        tokens_seen += got.len();
    }
    assert_eq!(compared, all.len());
    assert!(tokens_seen > 500_000, "only {tokens_seen} tokens compared");
}

#[test]
fn hostile_strings_match_the_crate() {
    let vocab: Vec<String> = ["rumor", "xxurl", "xxuser", "xxnum", "地", "震", "breaking"]
        .map(String::from)
        .to_vec();
    let crate_backend = TokenizerBackend::Custom(Box::new(builtin_tokenizer(&vocab).unwrap()));
    let fast = TokenizerBackend::Builtin(FastTokenizer::new(&vocab, 0));
    let cases = [
        "",
        " ",
        "\u{feff}RUMOR\u{200b}\u{200d}",
        "ＲＵＭＯＲ！！！",
        "İstanbul ǅ ß ﬁ",
        "e\u{301}\u{302} à",
        "http://",
        "https://t.co/x1 http:/bad @ @_x @Ab9",
        "１２３ 4.5 ٣",
        "地震\u{3000}地 震\t\n\r\u{b}\u{c}\u{85}\u{2028}",
        "\u{0}\u{1}\u{7f}\u{fffd}\u{e000}",
        "😀😀 #tag &amp; «quote» —dash—",
        "مرحبا בעולם \u{202e}abc",
        "𠀀𪜀 〇 々 ー",
        "ВRЕАКІNG: Рοlісе соnfirm ΤΗΕ ѕhооtеr",
        "Россия Ελλάδα ΑΒΓ ԁԛԝ һ ӏ",
        "rumοr ＲＵМОＲ ℝ",
        "@http://x.co/a1 @@a abc123def h1 @1",
        "a\u{301}b x\u{301}地 地\u{301}\u{302} e\u{301}",
        "ｈｔｔｐｓ：／／ｔ．ｃｏ／ｘ 网传ｈｔｔｐ://x",
        "A\u{30a} Å \u{212b} \u{1100}\u{1161}\u{11a8} 가\u{11a8}",
        "地\u{200b}\u{301} \u{f900}\u{2f00}一",
    ];
    let mut buffers = Buffers::default();
    for text in cases {
        let expected = keyed_tokens(&crate_backend, text, &mut buffers);
        let got = keyed_tokens(&fast, text, &mut buffers);
        assert_eq!(got, expected, "tokens differ for {text:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn fast_tokenizer_gives_the_crates_tokens(text in hostile_text()) {
        let vocab: Vec<String> = ["rumor", "a", "xxurl", "xxuser", "xxnum", "谣", "!", "@"]
            .map(String::from)
            .to_vec();
        let crate_tokens = builtin_tokenizer(&vocab).unwrap().encode(text.as_str(), false).unwrap();
        let mut got = Vec::new();
        FastTokenizer::new(&vocab, 0).tokens(&text, &mut Buffers::default(), |t| got.push(t.to_owned()));
        prop_assert_eq!(got, crate_tokens.get_tokens());
    }
}
