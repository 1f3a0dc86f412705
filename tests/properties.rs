//! Properties over generated input for the three surfaces that read strangers' bytes:
//! model loading, line parsing (JSONL and CSV), and normalization + tokenization.

use proptest::prelude::*;
use rumor_triage::text::{builtin_tokenizer, Buffers, FastTokenizer};
use rumor_triage::triage::{score_stream, InputFormat, StreamOptions};
use rumor_triage::Model;

fn model() -> &'static Model {
    static MODEL: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| Model::load_default().unwrap())
}

/// Text that mixes the characters the tokenizer treats specially.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "Z",
        "rumor",
        " ",
        "\t",
        "\n",
        "\r",
        "!",
        "！",
        "。",
        "@",
        "@x",
        "http://t.co/a",
        "https://",
        "12",
        "３",
        "谣",
        "言",
        "地震",
        "\u{200b}",
        "\u{feff}",
        "\u{0}",
        "\u{7f}",
        "\u{301}",
        "е",
        "Ο",
        "ß",
        "İ",
        "ǅ",
        "ﬁ",
        "😀",
        "\u{202e}",
        "ع",
        "𠀀",
        "\u{fffd}",
        "\u{e000}",
    ]);
    prop::collection::vec(
        prop_oneof![3 => pieces.prop_map(str::to_owned), 1 => any::<String>()],
        0..24,
    )
    .prop_map(|parts| parts.concat())
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

    #[test]
    fn any_text_scores_to_a_probability(text in hostile_text()) {
        let score = model().score(&text).unwrap();
        prop_assert!((0.0..=1.0).contains(&score.probability));
    }

    #[test]
    fn any_bytes_as_jsonl_add_up(lines in prop::collection::vec(
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            hostile_text().prop_map(|t| serde_json::json!({"id": 1, "text": t}).to_string().into_bytes()),
        ],
        0..12,
    )) {
        let mut input = Vec::new();
        for line in &lines {
            input.extend(line.iter().filter(|&&b| b != b'\n'));
            input.push(b'\n');
        }
        let mut out = Vec::new();
        let summary = score_stream(model(), &input[..], &mut out, None, &StreamOptions::default()).unwrap();
        prop_assert_eq!(summary.read, lines.len() as u64);
        prop_assert_eq!(summary.read, summary.scored + summary.rejected);
        let text = String::from_utf8(out).unwrap();
        prop_assert_eq!(text.lines().count() as u64, summary.read);
        for (n, line) in text.lines().enumerate() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            prop_assert_eq!(value["line"].as_u64(), Some(n as u64 + 1));
        }
    }

    #[test]
    fn any_bytes_as_csv_add_up(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut input = b"id,text\n".to_vec();
        input.extend(body);
        let options = StreamOptions { format: InputFormat::Csv, ..Default::default() };
        let mut out = Vec::new();
        let summary = score_stream(model(), &input[..], &mut out, None, &options).unwrap();
        prop_assert_eq!(summary.read, summary.scored + summary.rejected);
        prop_assert_eq!(String::from_utf8(out).unwrap().lines().count() as u64, summary.read);
    }

    #[test]
    fn any_bytes_are_refused_as_a_model(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(Model::from_bytes(&bytes).is_err());
    }

    #[test]
    fn a_model_header_with_any_payload_is_refused(payload in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = b"RUMORTRG".to_vec();
        bytes.extend_from_slice(&rumor_triage::model::FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        use sha2::Digest;
        bytes.extend_from_slice(&sha2::Sha256::digest(&payload));
        bytes.extend_from_slice(&payload);
        prop_assert!(Model::from_bytes(&bytes).is_err());
    }
}
