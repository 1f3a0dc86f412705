//! Dumps shaped as platforms ship them (`seeds/`): each scored with its preset and with the
//! same paths given one by one, in UTC and other zones, gives the cleanup counts worked out
//! by hand in `seeds/expected.json`. Also the formats that must stop a run, and the flags
//! that carry fields through, warn of misnamed fields and stop on too many rejects.

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::Array;
use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rumor-triage"))
}

fn seed(name: &str) -> PathBuf {
    common::repo_root().join("seeds").join(name)
}

/// `rumor-triage score seeds/NAME ARGS…`, run to its end.
fn score_seed(name: &str, args: &[&str]) -> Output {
    bin()
        .arg("score")
        .arg(seed(name))
        .args(args)
        .output()
        .unwrap()
}

fn expected() -> Value {
    let text = std::fs::read_to_string(seed("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs `score` on `input` with `args`, at threshold 0; returns the process output, the
/// summary and the counts.
fn score(input: &Path, args: &[&str]) -> (Output, Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let (summary, counts) = (dir.path().join("s.json"), dir.path().join("c.json"));
    let out = bin()
        .arg("score")
        .arg(input)
        .args(["--threshold", "0", "--quiet", "--summary"])
        .arg(&summary)
        .arg("--counts")
        .arg(&counts)
        .args(args)
        .output()
        .unwrap();
    let read = |p: &Path| -> Value {
        std::fs::read(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    };
    (out, read(&summary), read(&counts))
}

/// The parts of the counts that `seeds/expected.json` states, in its layout.
fn stated(counts: &Value, zone: &str) -> (Value, Value) {
    let totals = |map: &Value| -> BTreeMap<String, u64> {
        map.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["total"].as_u64().unwrap()))
            .collect()
    };
    let accounts: BTreeMap<String, u64> = counts["top_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["account"].as_str().unwrap().to_owned(),
                a["total"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts["time_zone"], zone);
    let by_zone = serde_json::json!({
        "days": totals(&counts["days"]),
        "no_time": counts["no_time"]["total"],
        "time_unparsed": counts["time_unparsed"]["total"],
        "time_unparsed_example": counts["time_unparsed_example"],
    });
    let rest = serde_json::json!({
        "accounts": accounts,
        "platforms": totals(&counts["platforms"]),
        "no_platform": counts["no_platform"]["total"],
    });
    (by_zone, rest)
}

fn check(name: &str, args: &[&str]) {
    let all = expected();
    let want = &all[name];
    for (zone, want_zone) in want["counts"].as_object().unwrap() {
        if !want_zone.get("days").is_some_and(Value::is_object) {
            continue;
        }
        let mut with_zone = args.to_vec();
        let tz = format!("--tz={zone}");
        with_zone.push(&tz);
        let (out, summary, counts) = score(&seed(name), &with_zone);
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let rejected = want["summary"]["rejected"].as_u64().unwrap();
        assert_eq!(
            code,
            Some(i32::from(rejected > 0)),
            "{name} {args:?}: {stderr}"
        );
        for key in [
            "read",
            "scored",
            "rejected",
            "skipped",
            "skipped_by_kind",
            "rejected_by_reason",
        ] {
            assert_eq!(
                summary[key], want["summary"][key],
                "{name} {args:?} {zone}: {key}"
            );
        }
        assert_eq!(
            summary["warnings"],
            serde_json::json!([]),
            "{name} {args:?}"
        );
        let (by_zone, rest) = stated(&counts, zone);
        assert_eq!(&by_zone, want_zone, "{name} {args:?} in {zone}");
        let want_rest = serde_json::json!({
            "accounts": want["counts"]["accounts"],
            "platforms": want["counts"]["platforms"],
            "no_platform": want["counts"]["no_platform"],
        });
        assert_eq!(rest, want_rest, "{name} {args:?}");
        // Every scored post has an output line; with --threshold 0 all are flagged.
        let lines = common::json_lines(&out.stdout);
        let scored: Vec<&Value> = lines.iter().filter(|l| l.get("error").is_none()).collect();
        assert_eq!(
            scored.len() as u64,
            want["summary"]["scored"].as_u64().unwrap()
        );
        assert!(scored.iter().all(|l| l["flagged"] == true));
    }
}

fn paths(name: &str) -> Vec<String> {
    expected()[name]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn each_platform_shape_gives_the_hand_checked_counts_with_its_preset_and_with_paths() {
    for name in [
        "twitter-v1.jsonl",
        "twitter-v2.jsonl",
        "weibo.jsonl",
        "reddit.jsonl.zst",
    ] {
        let preset = expected()[name]["preset"].as_str().unwrap().to_owned();
        check(name, &["--preset", &preset]);
        let explicit = paths(name);
        let explicit: Vec<&str> = explicit.iter().map(String::as_str).collect();
        check(name, &explicit);
    }
}

/// The Parquet sample: posts with a nested `author` struct, a UTC timestamp column that is
/// null in one row, and a platform that is null in another.
fn write_parquet_sample(path: &Path) {
    use arrow_array::types::TimestampMillisecondType;
    use arrow_array::{
        ArrayRef, Int64Array, PrimitiveArray, RecordBatch, StringArray, StructArray,
    };
    use parquet::arrow::arrow_writer::ArrowWriter;
    let author = StructArray::try_from(vec![
        (
            "name",
            Arc::new(StringArray::from(vec!["a", "a", "b"])) as ArrayRef,
        ),
        ("id", Arc::new(Int64Array::from(vec![1, 1, 2])) as ArrayRef),
    ])
    .unwrap();
    // 2024-06-19T23:30:00Z and 2024-06-20T00:30:00Z.
    let posted = PrimitiveArray::<TimestampMillisecondType>::from(vec![
        Some(1_718_839_800_000),
        Some(1_718_843_400_000),
        None,
    ])
    .with_timezone("UTC");
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(StringArray::from(vec!["p1", "p2", "p3"])) as ArrayRef,
        ),
        (
            "body",
            Arc::new(StringArray::from(vec![
                "Unconfirmed: the old mill downtown is on fire, share now",
                "The fire department says the mill fire is out.",
                "Market day moved to Saturday this week.",
            ])) as ArrayRef,
        ),
        ("author", Arc::new(author) as ArrayRef),
        ("posted", Arc::new(posted) as ArrayRef),
        (
            "platform",
            Arc::new(StringArray::from(vec![Some("forum"), None, Some("forum")])) as ArrayRef,
        ),
        (
            "unused",
            Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn the_parquet_sample_gives_the_hand_checked_counts() {
    let path = seed("posts.parquet");
    if std::env::var_os("RUMOR_TRIAGE_BLESS").is_some() {
        write_parquet_sample(&path);
    }
    let explicit = paths("posts.parquet");
    let explicit: Vec<&str> = explicit.iter().map(String::as_str).collect();
    check("posts.parquet", &explicit);
}

#[test]
fn parquet_output_holds_every_scored_post_and_rejects_go_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scored.parquet");
    let run = score_seed(
        "twitter-v1.jsonl",
        &[
            "--preset",
            "twitter-v1",
            "--keep",
            "user.screen_name,user",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rejects = std::fs::read_to_string(dir.path().join("scored.parquet.rejects.jsonl")).unwrap();
    assert_eq!(rejects.lines().count(), 1);
    assert!(rejects.contains("\"line\":10"), "{rejects}");
    let file = std::fs::File::open(&out).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 6);
    let batch = &batches[0];
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .clone()
    };
    let names = column("kept.user.screen_name");
    let names = names
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    assert_eq!(names.value(0), "citywatch");
    let users = column("kept.user");
    let users = users
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    let user: Value = serde_json::from_str(users.value(0)).unwrap();
    assert_eq!(user["id_str"], "11");
    let times = column("time_utc");
    let times = times
        .as_any()
        .downcast_ref::<arrow_array::TimestampNanosecondArray>()
        .unwrap();
    assert_eq!(times.value(0), 1_539_202_764_000_000_000);
    assert!(times.is_null(4), "the unparsed time has no UTC instant");
}

#[test]
fn kept_fields_carry_the_records_own_json() {
    let run = score_seed(
        "weibo.jsonl",
        &[
            "--preset",
            "weibo",
            "--keep",
            "text,user.screen_name,longText",
            "--quiet",
        ],
    );
    let lines = common::json_lines(&run.stdout);
    assert_eq!(lines[0]["kept"]["user.screen_name"], "城市观察");
    assert_eq!(
        lines[0]["kept"]["text"],
        "网传明天本市将发生七级地震，请大家转发"
    );
    assert_eq!(lines[0]["kept"]["longText"], Value::Null);
    assert_eq!(
        lines[2]["kept"]["longText"]["longTextContent"],
        "长微博全文：网传某地水源被污染，官方尚未回应，请转发扩散"
    );
    assert_eq!(lines[1]["kept"]["user.screen_name"], Value::Null);
}

#[test]
fn a_misnamed_field_warns_with_the_fields_the_records_have() {
    let run = score_seed(
        "twitter-v1.jsonl",
        &[
            "--text-field",
            "extended_tweet.full_text,full_text,text",
            "--account-field",
            "screen_name",
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("warning: no account field \"screen_name\" in the first 6 scored records; they have the fields: created_at, extended_tweet, id, id_str, text, truncated, user"),
        "{stderr}"
    );
    assert!(stderr.contains("no time field \"time\""), "{stderr}");
}

#[test]
fn too_many_rejects_stop_the_run_with_the_fields_the_records_have() {
    let run = score_seed("twitter-v2.jsonl", &["--max-reject-rate", "0.4", "--quiet"]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("2 of 4 records rejected, more than the allowed share 0.4"),
        "{stderr}"
    );
    assert!(
        stderr.contains("The records have the fields: data, includes"),
        "{stderr}"
    );
    // Under the limit the run goes on.
    let run = score_seed(
        "twitter-v1.jsonl",
        &[
            "--preset",
            "twitter-v1",
            "--max-reject-rate",
            "0.2",
            "--quiet",
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bad = score_seed("weibo.jsonl", &["--max-reject-rate", "1.5"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("max-reject-rate"));
}

#[test]
fn archive_formats_this_build_does_not_read_are_one_fatal_error() {
    let dir = tempfile::tempdir().unwrap();
    let posts = std::fs::read(seed("weibo.jsonl")).unwrap();
    for (tool, format) in [("bzip2", "bzip2"), ("xz", "xz")] {
        let Ok(child) = Command::new(tool)
            .arg("-c")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        else {
            panic!("{tool} is needed by this test (Debian package {tool})");
        };
        let mut child = child;
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&posts).unwrap();
        let compressed = child.wait_with_output().unwrap().stdout;
        let path = dir.path().join(format!("posts.{tool}"));
        std::fs::write(&path, compressed).unwrap();
        let run = bin().arg("score").arg(&path).output().unwrap();
        assert_eq!(run.status.code(), Some(2), "{tool}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains(&format!("the input is {format}")),
            "{stderr}"
        );
        assert!(run.stdout.is_empty(), "no reject lines for {tool}");
    }
    let zip = dir.path().join("posts.zip");
    std::fs::write(&zip, b"PK\x03\x04\x14\x00\x00\x00").unwrap();
    let run = bin().arg("score").arg(&zip).output().unwrap();
    assert!(String::from_utf8_lossy(&run.stderr).contains("a ZIP archive"));
    // Parquet piped through stdin cannot be read (it needs its footer): named, not rejected.
    let parquet = std::fs::read(seed("posts.parquet")).unwrap();
    let mut child = bin()
        .args(["score", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(&parquet);
    }
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("the input is Parquet"));
}

#[test]
fn a_long_window_zstd_frame_needs_the_raised_limit_and_gets_it() {
    let compressed = std::fs::read(seed("reddit.jsonl.zst")).unwrap();
    // The frame declares a 2 GiB window, beyond zstd's default decoding limit (128 MiB).
    let mut plain = String::new();
    let default = std::io::Read::read_to_string(
        &mut zstd::stream::read::Decoder::new(&compressed[..]).unwrap(),
        &mut plain,
    );
    assert!(default.is_err(), "the sample must need the long window");
    let mut reader = rumor_triage::open_reader(&compressed[..]).unwrap();
    std::io::Read::read_to_string(&mut reader, &mut plain).unwrap();
    assert_eq!(plain.lines().count(), 4);
}

#[test]
fn eval_chrono_orders_by_parsed_time_and_refuses_an_unparsed_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("timed.jsonl");
    // Weekday-first times: as strings, "Fri" < "Mon" < "Thu" < "Wed"; as times the 2019
    // posts are the latest, and they must be the test set.
    let mut lines = Vec::new();
    for i in 0..10 {
        let (label, text) = if i % 2 == 0 {
            ("rumor", "unconfirmed reports share now")
        } else {
            ("non-rumor", "lunch was nice today")
        };
        let day = if i < 8 {
            rumor_triage::jiff::civil::date(2018, 10, 10 + i)
        } else {
            rumor_triage::jiff::civil::date(2019, 10, i)
        };
        let time = day.strftime("%a %b %d 20:19:24 +0000 %Y").to_string();
        lines.push(
            serde_json::json!({"text": format!("{text} {i}"), "label": label, "created_at": time})
                .to_string(),
        );
    }
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let run = bin()
        .args([
            "eval",
            "--chrono",
            "created_at",
            "--test-fraction",
            "0.2",
            "--c",
            "1",
            "--folds",
            "2",
            "--format",
            "json",
            "--input",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("test from 2019-10-08T20:19:24.000000000Z"),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    lines[3] =
        serde_json::json!({"text": "x", "label": "rumor", "created_at": "Wed Oct 10"}).to_string();
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let run = bin()
        .args(["eval", "--chrono", "created_at", "--input"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("timed.jsonl:4: time \"Wed Oct 10\" is not a time"),
        "{stderr}"
    );
}

#[test]
fn a_dump_read_from_a_named_pipe_loses_no_bytes_to_format_detection() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("posts.pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let posts = std::fs::read(seed("weibo.jsonl")).unwrap();
            std::fs::write(&fifo, posts).unwrap();
        })
    };
    let run = bin()
        .arg("score")
        .arg(&fifo)
        .args(["--preset", "weibo", "--quiet"])
        .output()
        .unwrap();
    writer.join().unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let lines = common::json_lines(&run.stdout);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["id"], "3581830525474048");
}
