//! Batch scoring: nothing lost, order kept, CSV read like JSONL.

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::process::Command;

use rumor_triage::{InputFormat, Model, Scorer};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rumor-triage"))
}

/// Every kind of line `score` rejects, with the reason it must give, and the lines it
/// skips (`skip:` and the kind).
fn bad_lines() -> Vec<(Vec<u8>, &'static str)> {
    let mut too_long = br#"{"id":"big","text":""#.to_vec();
    too_long.extend(std::iter::repeat_n(b'a', (1 << 20) + 10));
    too_long.extend_from_slice(br#""}"#);
    vec![
        (b"not json at all".to_vec(), "bad_json"),
        (br#"{"id":"t","text":"truncated"#.to_vec(), "bad_json"),
        (br#"["an","array"]"#.to_vec(), "bad_json"),
        (b"".to_vec(), "skip:blank"),
        (
            br#"{"delete":{"status":{"id":1,"id_str":"1"}}}"#.to_vec(),
            "skip:delete",
        ),
        (br#"{"id":"n","text":42}"#.to_vec(), "missing_text"),
        (
            br#"{"id":"m","body":"no text field"}"#.to_vec(),
            "missing_text",
        ),
        (br#"{"id":"x","text":null}"#.to_vec(), "missing_text"),
        (
            b"{\"id\":\"u\",\"text\":\"\xff\xfe bad bytes\"}".to_vec(),
            "invalid_utf8",
        ),
        (too_long, "too_long"),
    ]
}

#[test]
fn a_dump_salted_with_every_bad_line_adds_up() {
    let Some(data) = common::data_or_skip("a_dump_salted_with_every_bad_line_adds_up") else {
        return;
    };
    let good = std::fs::read_to_string(data.join("pheme/test.jsonl")).unwrap();
    let good: Vec<&str> = good.lines().collect();
    let bad = bad_lines();
    // Each bad line goes in after every 60 good ones, so they land in different chunks.
    let mut dump = Vec::new();
    let mut expected_rejects = BTreeMap::new();
    let mut expected_skips: BTreeMap<u64, &str> = BTreeMap::new();
    let mut line = 0u64;
    let mut bad_iter = bad.iter().cycle().take(bad.len() * 2);
    for (i, text) in good.iter().enumerate() {
        dump.extend_from_slice(text.as_bytes());
        dump.push(b'\n');
        line += 1;
        if i % 60 == 59 {
            if let Some((bytes, reason)) = bad_iter.next() {
                dump.extend_from_slice(bytes);
                dump.push(b'\n');
                line += 1;
                match reason.strip_prefix("skip:") {
                    Some(kind) => expected_skips.insert(line, kind),
                    None => expected_rejects.insert(line, *reason),
                };
            }
        }
    }
    assert!(expected_rejects.len() + expected_skips.len() >= bad.len());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("salted.jsonl");
    std::fs::write(&input, &dump).unwrap();
    let (rejects, summary) = (
        dir.path().join("rejects.jsonl"),
        dir.path().join("summary.json"),
    );
    let out = bin()
        .arg("score")
        .arg(&input)
        .arg("--rejects")
        .arg(&rejects)
        .arg("--summary")
        .arg(&summary)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "rejected lines give exit code 1"
    );

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let (read, scored, rejected) = (
        summary["read"].as_u64().unwrap(),
        summary["scored"].as_u64().unwrap(),
        summary["rejected"].as_u64().unwrap(),
    );
    assert_eq!(read, line);
    assert_eq!(
        read,
        scored + rejected + summary["skipped"].as_u64().unwrap()
    );
    let mut skipped_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for kind in expected_skips.values() {
        *skipped_by_kind.entry((*kind).to_owned()).or_default() += 1;
    }
    let reported: BTreeMap<String, u64> =
        serde_json::from_value(summary["skipped_by_kind"].clone()).unwrap();
    assert_eq!(reported, skipped_by_kind);
    assert_eq!(scored, good.len() as u64);
    assert_eq!(rejected, expected_rejects.len() as u64);
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for reason in expected_rejects.values() {
        *by_reason.entry((*reason).to_owned()).or_default() += 1;
    }
    let reported: BTreeMap<String, u64> =
        serde_json::from_value(summary["rejected_by_reason"].clone()).unwrap();
    assert_eq!(reported, by_reason);

    let rejected_lines = common::json_lines(&std::fs::read(&rejects).unwrap());
    let got: BTreeMap<u64, &str> = rejected_lines
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["error"].as_str().unwrap()))
        .collect();
    assert_eq!(got, expected_rejects);
    // Each reject's byte offset points at the start of its line in the dump.
    for r in &rejected_lines {
        let offset = r["offset"].as_u64().unwrap() as usize;
        assert!(offset == 0 || dump[offset - 1] == b'\n');
    }

    let scored_lines = common::json_lines(&out.stdout);
    assert_eq!(scored_lines.len() as u64, scored);
    let numbers: Vec<u64> = scored_lines
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=line)
        .filter(|n| !expected_rejects.contains_key(n) && !expected_skips.contains_key(n))
        .collect();
    assert_eq!(numbers, expected, "every good line scored, in input order");
}

#[test]
fn order_is_kept_with_many_threads_and_small_chunks() {
    let Some(data) = common::data_or_skip("order_is_kept_with_many_threads_and_small_chunks")
    else {
        return;
    };
    let model = Model::load_default().unwrap();
    let input = std::fs::read(data.join("weibo-ced/test.jsonl")).unwrap();
    let run = |threads: usize, chunk_lines: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let scorer = Scorer::new(&model).chunk_lines(chunk_lines);
        let mut out = Vec::new();
        let summary = pool.install(|| scorer.score(&input[..], &mut out)).unwrap();
        let lines = input.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!((summary.read, summary.scored), (lines, lines));
        out
    };
    let one = run(1, 4096);
    let lines = common::json_lines(&one);
    assert!(lines.len() > 300);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["line"].as_u64(), Some(i as u64 + 1));
    }
    assert_eq!(one, run(8, 7));
    assert_eq!(one, run(3, 1));
}

#[test]
fn csv_input_scores_like_the_same_posts_in_jsonl() {
    let seeds = std::fs::read_to_string(common::seeds()).unwrap();
    let posts: Vec<serde_json::Value> = seeds
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["time", "text", "id", "platform", "account"])
        .unwrap();
    for p in &posts {
        let field = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
        csv.write_record([
            field("time"),
            field("text"),
            field("id"),
            field("platform"),
            field("account"),
        ])
        .unwrap();
    }
    let csv = csv.into_inner().unwrap();

    let model = Model::load_default().unwrap();
    let score = |input: &[u8], format| {
        let mut out = Vec::new();
        let summary = Scorer::new(&model)
            .format(format)
            .score(input, &mut out)
            .unwrap();
        assert_eq!((summary.read, summary.rejected), (posts.len() as u64, 0));
        common::json_lines(&out)
    };
    let from_jsonl = score(seeds.as_bytes(), InputFormat::Jsonl);
    let from_csv = score(&csv, InputFormat::Csv);
    for (j, c) in from_jsonl.iter().zip(&from_csv) {
        for key in ["id", "account", "platform", "time", "label", "probability"] {
            assert_eq!(j[key], c[key], "{key}");
        }
        // The header is line 1, so each record sits one line lower (no text spans lines).
        assert_eq!(c["line"].as_u64().unwrap(), j["line"].as_u64().unwrap() + 1);
    }
}

#[test]
fn csv_records_keep_their_physical_line_numbers() {
    let model = Model::load_default().unwrap();
    let input =
        "\u{feff}id,text\r\n1,\"two\r\nlines\"\r\n\r\n2,after a blank line\r\n3\r\n,no id\n";
    let mut out = Vec::new();
    let summary = Scorer::new(&model)
        .format(InputFormat::Csv)
        .score(input.as_bytes(), &mut out)
        .unwrap();
    assert_eq!((summary.read, summary.scored, summary.rejected), (4, 3, 1));
    let got = common::json_lines(&out);
    let lines: Vec<u64> = got.iter().map(|l| l["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 5, 6, 7]);
    assert_eq!(got[0]["id"], "1");
    assert_eq!(got[2]["error"], "missing_text");
    assert_eq!(
        got[2]["offset"].as_u64(),
        input.find("3\r\n").map(|o| o as u64)
    );
    assert_eq!(
        got[3]["id"], "7",
        "a post without an id gets its line number"
    );
}

#[test]
fn csv_without_the_text_column_is_a_fatal_error() {
    let mut child = bin()
        .args(["score", "--format", "csv", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"id,body\n1,hello\n").unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no text column \"text\""));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_gzipped_csv_file_is_recognized_by_its_name_and_scored_like_jsonl() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["id", "text"]).unwrap();
    csv.write_record(["a", "Unconfirmed: shots fired, \"gunman\" still inside?"])
        .unwrap();
    csv.write_record(["b", "网传明天本市将发生七级地震，请大家转发"])
        .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&csv.into_inner().unwrap()).unwrap();
    let path = dir.path().join("posts.CSV.gz");
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let out = bin().arg("score").arg(&path).arg("-q").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = common::json_lines(&out.stdout);
    let model = Model::load_default().unwrap();
    let expected = [
        model
            .score("Unconfirmed: shots fired, \"gunman\" still inside?")
            .unwrap(),
        model
            .score("网传明天本市将发生七级地震，请大家转发")
            .unwrap(),
    ];
    assert_eq!(got.len(), 2);
    for ((line, id), score) in got.iter().zip(["a", "b"]).zip(&expected) {
        assert_eq!(line["id"], id);
        assert_eq!(
            line["probability"].as_f64().unwrap() as f32,
            score.probability
        );
    }
}
