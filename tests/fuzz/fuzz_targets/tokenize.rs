//! Any UTF-8 text: the fast tokenizer gives the `tokenizers` crate's tokens, token for
//! token, and the shipped model scores it to a probability.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rumor_triage::text::{builtin_tokenizer, Buffers, FastTokenizer};

struct Pair {
    reference: tokenizers::Tokenizer,
    fast: FastTokenizer,
    model: rumor_triage::Model,
}

fn pair() -> &'static Pair {
    static PAIR: OnceLock<Pair> = OnceLock::new();
    PAIR.get_or_init(|| {
        let vocab: Vec<String> = ["rumor", "a", "xxurl", "xxuser", "xxnum", "谣", "!", "@"]
            .map(String::from)
            .to_vec();
        Pair {
            reference: builtin_tokenizer(&vocab).expect("the built-in pipeline builds"),
            fast: FastTokenizer::new(&vocab, 0),
            model: rumor_triage::Model::load_default().expect("the shipped model loads"),
        }
    })
}

fuzz_target!(|text: &str| {
    let p = pair();
    let expected = p.reference.encode(text, false).expect("the crate encodes any text");
    let mut got = Vec::new();
    p.fast.tokens(text, &mut Buffers::default(), |t| got.push(t.to_owned()));
    assert_eq!(got, expected.get_tokens(), "tokens differ for {text:?}");
    let score = p.model.score(text).expect("any text scores");
    assert!((0.0..=1.0).contains(&score.probability));
});
