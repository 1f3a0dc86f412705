//! A corpus of hostile lines: each has its documented outcome, none panics, and the
//! accounting adds up. The outcomes are the contract written in the README ("score").

use rumor_triage::{InputFormat, Model, Scorer, Summary};

/// What `score` must do with a line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Scored,
    Rejected(&'static str),
    /// No output line; counted under this kind.
    Skipped(&'static str),
}
use Outcome::{Rejected, Scored, Skipped};

fn corpus() -> Vec<(&'static str, Vec<u8>, Outcome)> {
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    // Fields other than the configured ones are skipped, not built: nesting there is fine.
    let deep_skipped = format!(
        r#"{{"text":"deep","meta":{}}}"#,
        "{\"a\":".repeat(100_000) + "1" + &"}".repeat(100_000)
    );
    let deep_id = format!(
        r#"{{"text":"x","id":{}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    vec![
        (
            "invalid UTF-8",
            b"{\"text\":\"caf\xe9\"}".to_vec(),
            Rejected("invalid_utf8"),
        ),
        (
            "a lone continuation byte",
            b"\x80".to_vec(),
            Rejected("invalid_utf8"),
        ),
        (
            "truncated JSON",
            br#"{"id":"1","text":"half"#.to_vec(),
            Rejected("bad_json"),
        ),
        (
            "malformed JSON",
            br#"{"text" "no colon"}"#.to_vec(),
            Rejected("bad_json"),
        ),
        (
            "trailing garbage",
            br#"{"text":"a"} extra"#.to_vec(),
            Rejected("bad_json"),
        ),
        (
            "two objects on a line",
            br#"{"text":"a"}{"text":"b"}"#.to_vec(),
            Rejected("bad_json"),
        ),
        (
            "a JSON string, not an object",
            br#""text""#.to_vec(),
            Rejected("bad_json"),
        ),
        (
            "text is a number",
            br#"{"text":12}"#.to_vec(),
            Rejected("missing_text"),
        ),
        (
            "text is an object",
            br#"{"text":{"t":"x"}}"#.to_vec(),
            Rejected("missing_text"),
        ),
        (
            "text is null",
            br#"{"text":null}"#.to_vec(),
            Rejected("missing_text"),
        ),
        (
            "no text field",
            br#"{"id":"1","body":"x"}"#.to_vec(),
            Rejected("missing_text"),
        ),
        ("an empty object", b"{}".to_vec(), Rejected("missing_text")),
        ("an empty line", b"".to_vec(), Skipped("blank")),
        ("only spaces", b"   \t ".to_vec(), Skipped("blank")),
        (
            "a stream's delete notice",
            br#"{"delete":{"status":{"id":1,"id_str":"1","user_id":3}}}"#.to_vec(),
            Skipped("delete"),
        ),
        (
            "a stream's limit notice",
            br#"{"limit":{"track":1234,"timestamp_ms":"1539202764000"}}"#.to_vec(),
            Skipped("limit"),
        ),
        (
            "a notice key beside a text is a post",
            br#"{"limit":1,"text":"still a post"}"#.to_vec(),
            Scored,
        ),
        (
            "a notice key with a text that is not a string",
            br#"{"warning":{"code":"FALLING_BEHIND"},"text":7}"#.to_vec(),
            Skipped("warning"),
        ),
        (
            "a raw NUL byte",
            b"{\"text\":\"a\x00b\"}".to_vec(),
            Rejected("bad_json"),
        ),
        (
            "an escaped NUL in the text",
            br#"{"text":"a\u0000b"}"#.to_vec(),
            Scored,
        ),
        (
            "a lone surrogate escape",
            br#"{"text":"\ud800"}"#.to_vec(),
            Rejected("bad_json"),
        ),
        (
            "arrays nested 10,000 deep",
            nested.into_bytes(),
            Rejected("bad_json"),
        ),
        (
            "a skipped field nested 100,000 deep",
            deep_skipped.into_bytes(),
            Scored,
        ),
        (
            "an id nested 200 deep (no usable id: the line number)",
            deep_id.into_bytes(),
            Scored,
        ),
        ("an empty text", br#"{"text":""}"#.to_vec(), Scored),
        (
            "only emoji",
            "{\"text\":\"😀😡🔥🔥\"}".as_bytes().to_vec(),
            Scored,
        ),
        (
            "only punctuation",
            br#"{"text":"!!!???...,,,"}"#.to_vec(),
            Scored,
        ),
        (
            "right-to-left with marks",
            "{\"text\":\"\u{202e}عاجل: انفجار\u{200f} שמועה\"}"
                .as_bytes()
                .to_vec(),
            Scored,
        ),
        (
            "combining marks",
            "{\"text\":\"Z\u{0351}\u{036b}\u{0343}a\u{0310}\u{0302}l\u{0300}go\u{0327}\"}"
                .as_bytes()
                .to_vec(),
            Scored,
        ),
        (
            "zero-width characters",
            "{\"text\":\"谣\u{200b}言\u{200d}\u{feff}\"}"
                .as_bytes()
                .to_vec(),
            Scored,
        ),
        (
            "a CRLF line end",
            b"{\"text\":\"windows\"}\r".to_vec(),
            Scored,
        ),
        (
            "an id of every type",
            br#"{"id":[1,2],"text":"x","account":{"a":1},"time":false}"#.to_vec(),
            Scored,
        ),
        (
            "a duplicate text key",
            br#"{"text":1,"text":"second wins"}"#.to_vec(),
            Scored,
        ),
    ]
}

fn run(input: &[u8], format: InputFormat) -> (Summary, Vec<serde_json::Value>) {
    let model = Model::load_default().unwrap();
    let mut out = Vec::new();
    let summary = Scorer::new(&model)
        .format(format)
        .score(input, &mut out)
        .unwrap();
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (summary, lines)
}

#[test]
fn every_hostile_line_gets_its_documented_outcome() {
    let corpus = corpus();
    let mut input = Vec::new();
    for (_, line, _) in &corpus {
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    let (summary, lines) = run(&input, InputFormat::Jsonl);
    let skipped = corpus
        .iter()
        .filter(|(_, _, o)| matches!(o, Skipped(_)))
        .count();
    assert_eq!(summary.read, corpus.len() as u64);
    assert_eq!(summary.skipped, skipped as u64);
    assert_eq!(
        summary.skipped_by_kind.values().sum::<u64>(),
        skipped as u64
    );
    let mut kinds = std::collections::BTreeMap::new();
    for (_, _, outcome) in &corpus {
        if let Skipped(kind) = outcome {
            *kinds.entry((*kind).to_owned()).or_insert(0u64) += 1;
        }
    }
    assert_eq!(summary.skipped_by_kind, kinds);
    assert_eq!(lines.len(), corpus.len() - skipped);
    let mut offset = 0u64;
    let mut lines = lines.iter();
    for (n, (name, line, expected)) in corpus.iter().enumerate() {
        if let Skipped(kind) = expected {
            assert!(summary.skipped_by_kind.contains_key(*kind), "{name}");
            offset += line.len() as u64 + 1;
            continue;
        }
        let got = lines.next().unwrap();
        assert_eq!(got["line"], n as u64 + 1, "{name}");
        let outcome = match got.get("error").and_then(|e| e.as_str()) {
            Some("invalid_utf8") => Rejected("invalid_utf8"),
            Some("bad_json") => Rejected("bad_json"),
            Some("missing_text") => Rejected("missing_text"),
            Some(other) => panic!("{name}: unexpected reason {other}"),
            None => Scored,
        };
        assert_eq!(outcome, *expected, "{name}: {got}");
        if outcome != Scored {
            assert_eq!(got["offset"], offset, "{name}: the byte offset of its line");
        }
        offset += line.len() as u64 + 1;
    }
}

#[test]
fn a_100_mb_line_is_rejected_without_being_held() {
    let mut input = br#"{"text":"before"}"#.to_vec();
    input.push(b'\n');
    input.extend_from_slice(br#"{"text":""#);
    input.extend(std::iter::repeat_n(b'x', 100 << 20));
    input.extend_from_slice(b"\"}\n{\"text\":\"after\"}\n");
    let (summary, lines) = run(&input, InputFormat::Jsonl);
    assert_eq!((summary.read, summary.scored, summary.rejected), (3, 2, 1));
    assert_eq!(lines[1]["error"], "too_long");
    assert_eq!(lines[2]["offset"], serde_json::Value::Null);
    assert_eq!(lines[2]["line"], 3);
}

#[test]
fn a_byte_order_mark_opens_the_first_record_of_jsonl_and_csv() {
    let (summary, lines) = run(
        b"\xef\xbb\xbf{\"id\":\"a\",\"text\":\"x\"}\r\n{\"id\":\"b\",\"text\":\"y\"}\r\n",
        InputFormat::Jsonl,
    );
    assert_eq!((summary.scored, summary.rejected), (2, 0));
    assert_eq!(lines[0]["id"], "a");
    let csv = InputFormat::Csv;
    let (summary, lines) = run(b"\xef\xbb\xbfid,text\r\nc,z\r\n", csv);
    assert_eq!((summary.scored, lines[0]["id"].as_str()), (1, Some("c")));
}

#[test]
fn byte_offsets_stay_exact_with_crlf_line_ends() {
    let input = b"{\"text\":\"a\"}\r\nbad\r\n{\"text\":\"b\"}\r\nworse\r\n";
    let (_, lines) = run(input, InputFormat::Jsonl);
    assert_eq!(lines[1]["offset"], 14);
    assert_eq!(lines[3]["offset"], 33);
}

#[test]
fn hostile_csv_records_are_rejected_or_scored_and_counted() {
    let csv = InputFormat::Csv;
    // An unterminated quote swallows the rest of the file into one field: one record.
    let (summary, lines) = run(b"id,text\n1,\"unterminated\n2,more\n", csv);
    assert_eq!((summary.read, summary.scored), (1, 1));
    assert_eq!(lines[0]["id"], "1");
    let input = b"id,text,account\n2,\xff\xfe,acct\n3,fine,\xff\n4\n5,\"\",x\n";
    let (summary, lines) = run(input, csv);
    assert_eq!((summary.read, summary.scored, summary.rejected), (4, 1, 3));
    let reasons: Vec<Option<&str>> = lines.iter().map(|l| l["error"].as_str()).collect();
    assert!(reasons.contains(&Some("invalid_utf8")), "{lines:?}");
    assert!(reasons.contains(&Some("missing_text")), "{lines:?}");
}
