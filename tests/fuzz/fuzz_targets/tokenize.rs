//! Any UTF-8 text: the shipped model's fast tokenizer gives the tokens of the `tokenizers`
//! crate running the model's own `tokenizer.json`, token for token, and the model scores it
//! to a probability.
#![no_main]

use std::str::FromStr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

struct Pair {
    reference: tokenizers::Tokenizer,
    model: rumor_triage::Model,
}

fn pair() -> &'static Pair {
    static PAIR: OnceLock<Pair> = OnceLock::new();
    PAIR.get_or_init(|| {
        let model = rumor_triage::Model::load_default().expect("the shipped model loads");
        Pair {
            reference: tokenizers::Tokenizer::from_str(model.tokenizer_json())
                .expect("the model's tokenizer.json loads"),
            model,
        }
    })
}

fuzz_target!(|text: &str| {
    let p = pair();
    let expected = p.reference.encode(text, false).expect("the crate encodes any text");
    let mut got = Vec::new();
    p.model
        .for_each_token(text, |t| got.push(t.to_owned()))
        .expect("the built-in tokenizer never fails");
    assert_eq!(got, expected.get_tokens(), "tokens differ for {text:?}");
    let score = p.model.score(text).expect("any text scores");
    assert!((0.0..=1.0).contains(&score.probability));
});
