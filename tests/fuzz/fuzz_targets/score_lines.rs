//! Any bytes as a JSONL or CSV dump (the first byte picks which): the run never panics,
//! writes one line per record, and `read == scored + rejected`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rumor_triage::{InputFormat, Model, Scorer};

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::load_default().expect("the shipped model loads"))
}

fuzz_target!(|bytes: &[u8]| {
    let Some((&selector, input)) = bytes.split_first() else {
        return;
    };
    let scorer = Scorer::new(model())
        .format(if selector % 2 == 0 {
            InputFormat::Jsonl
        } else {
            InputFormat::Csv
        })
        .max_line_bytes(4096)
        .chunk_lines(3);
    let mut out = Vec::new();
    // A CSV header without a text column is a clean fatal error.
    let Ok(summary) = scorer.score(input, &mut out) else {
        return;
    };
    assert_eq!(summary.read, summary.scored + summary.rejected);
    let text = String::from_utf8(out).expect("output is UTF-8");
    assert_eq!(text.lines().count() as u64, summary.read);
    for line in text.lines() {
        let _: serde_json::Value = serde_json::from_str(line).expect("output lines are JSON");
    }
});
