//! Properties over generated input for the three surfaces that read strangers' bytes:
//! model loading, line parsing (JSONL and CSV), and scoring (tokenizer parity is a unit
//! test of `src/text`, where the fast path is).

#[path = "common/hostile_text.rs"]
mod hostile;

use hostile::hostile_text;
use proptest::prelude::*;
use rumor_triage::{InputFormat, Model, Scorer, FORMAT_VERSION};

fn model() -> &'static Model {
    static MODEL: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| Model::load_default().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

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
        let summary = Scorer::new(model()).score(&input[..], &mut out).unwrap();
        // Blank lines (whitespace only, a final CR aside) are skipped; every other line has
        // an output line, in order.
        let blank = |line: &Vec<u8>| {
            let kept: Vec<u8> = line.iter().copied().filter(|&b| b != b'\n').collect();
            let kept = kept.strip_suffix(b"\r").unwrap_or(&kept);
            std::str::from_utf8(kept).is_ok_and(|s| s.trim().is_empty())
        };
        let expected: Vec<u64> = (1..=lines.len() as u64)
            .filter(|&n| !blank(&lines[n as usize - 1]))
            .collect();
        prop_assert_eq!(summary.read, lines.len() as u64);
        prop_assert_eq!(summary.skipped, (lines.len() - expected.len()) as u64);
        prop_assert_eq!(summary.read, summary.scored + summary.rejected + summary.skipped);
        let text = String::from_utf8(out).unwrap();
        let numbers: Vec<u64> = text
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["line"].as_u64().unwrap())
            .collect();
        prop_assert_eq!(numbers, expected);
    }

    #[test]
    fn any_bytes_as_csv_add_up(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut input = b"id,text\n".to_vec();
        input.extend(body);
        let mut out = Vec::new();
        let summary = Scorer::new(model()).format(InputFormat::Csv).score(&input[..], &mut out).unwrap();
        // The records, counted by the csv crate alone, as the scorer's reader is configured.
        let records = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&input[..])
            .byte_records()
            .take_while(Result::is_ok)
            .count() as u64;
        prop_assert_eq!(summary.read, records);
        prop_assert_eq!(summary.skipped, 0);
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
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        use sha2::Digest;
        bytes.extend_from_slice(&sha2::Sha256::digest(&payload));
        bytes.extend_from_slice(&payload);
        prop_assert!(Model::from_bytes(&bytes).is_err());
    }
}
