//! The command line end to end on the project's own seed posts.

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rumor-triage"))
}

fn seeds() -> PathBuf {
    common::seeds()
}

#[test]
fn score_seeds_with_the_default_model_one_line_per_post() {
    let out = bin().arg("score").arg(seeds()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let input = std::fs::read_to_string(seeds()).unwrap();
    let posts: Vec<serde_json::Value> = input
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let scored = common::json_lines(&out.stdout);
    assert_eq!(scored.len(), posts.len());
    for (n, (s, p)) in scored.iter().zip(&posts).enumerate() {
        assert_eq!(s["id"], p["id"]);
        assert_eq!(s["line"], n as u64 + 1);
        let prob = s["probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&prob));
        assert_eq!(s["flagged"].as_bool().unwrap(), s["label"] == "rumor");
        assert_eq!(s["account"], p["account"]);
    }
    // The near-copies of one rumor get the same verdict.
    let by_id = |id: &str| scored.iter().find(|s| s["id"] == id).unwrap()["flagged"].clone();
    assert_eq!(by_id("tw-001"), by_id("tw-016"));
    assert_eq!(by_id("wb-001"), by_id("wb-011"));
}

#[test]
fn bad_lines_are_reported_and_the_run_goes_on() {
    let mut child = bin()
        .args(["score", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: &[u8] = b"{\"id\":\"a\",\"text\":\"is it true?\"}\nnot json\n{\"id\":\"b\"}\n\xff\xfe\n{\"id\":7,\"text\":\"ok\"}\n";
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "some lines rejected gives exit code 1"
    );
    let got = common::json_lines(&out.stdout);
    assert_eq!(got.len(), 5);
    assert_eq!(got[0]["id"], "a");
    assert_eq!(
        (got[1]["line"].as_u64(), got[1]["error"].as_str()),
        (Some(2), Some("bad_json"))
    );
    assert_eq!(got[2]["error"], "missing_text");
    assert_eq!(got[3]["error"], "invalid_utf8");
    assert_eq!(got[4]["id"], "7");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("read 5 scored 2 rejected 3"), "{stderr}");
}

#[test]
fn counts_of_the_scored_output_match_the_counts_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let scored = dir.path().join("scored.jsonl");
    let run_counts = dir.path().join("counts.json");
    let status = bin()
        .arg("score")
        .arg(seeds())
        .arg("--out")
        .arg(&scored)
        .arg("--counts")
        .arg(&run_counts)
        .arg("--quiet")
        .status()
        .unwrap();
    assert!(status.success());
    let later = bin().arg("counts").arg(&scored).output().unwrap();
    assert!(later.status.success());
    let a: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&run_counts).unwrap()).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&later.stdout).unwrap();
    assert_eq!(a, b);
    assert_eq!(a["total"], 32);
    let flagged = a["flagged"].as_u64().unwrap();
    assert!(flagged > 0 && flagged < 32);
    assert_eq!(
        a["platforms"]["weibo"]["total"].as_u64().unwrap()
            + a["platforms"]["twitter"]["total"].as_u64().unwrap(),
        32
    );
}

#[test]
fn flagged_lines_name_their_campaign_unless_grouping_is_off() {
    let grouped = bin()
        .arg("score")
        .arg(seeds())
        .arg("--quiet")
        .output()
        .unwrap();
    let off = bin()
        .args([
            "score",
            "--quiet",
            "--no-campaigns",
            "--counts",
            "/dev/stdout",
            "--out",
            "/dev/null",
        ])
        .arg(seeds())
        .output()
        .unwrap();
    assert!(grouped.status.success() && off.status.success());
    let scored = common::json_lines(&grouped.stdout);
    for line in &scored {
        let flagged = line["flagged"].as_bool().unwrap();
        assert_eq!(line.get("campaign").is_some(), flagged, "{line}");
        if let Some(c) = line["campaign"].as_u64() {
            // A campaign is named by the line of its first post, which came first.
            assert!(c <= line["line"].as_u64().unwrap());
            assert!(scored[c as usize - 1]["flagged"].as_bool().unwrap());
        }
    }
    // The seeds hold near copies (a repeated alarm with added punctuation), so some flagged
    // post joins a campaign begun by an earlier one.
    assert!(scored.iter().any(|l| l["campaign"]
        .as_u64()
        .is_some_and(|c| c < l["line"].as_u64().unwrap())));
    let counts: serde_json::Value = serde_json::from_slice(&off.stdout).unwrap();
    assert_eq!(counts["campaigns"], 0);
    assert_eq!(counts["ungrouped_posts"], counts["flagged"]);
}

#[test]
fn train_eval_explain_info_round_trip() {
    let Some(data) = common::data_or_skip("train_eval_explain_info_round_trip") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("pheme.rtm");
    let out = bin()
        .args(["train", "--input"])
        .arg(data.join("pheme/train.jsonl"))
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eval = bin()
        .args(["eval", "--format", "json", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(data.join("pheme/test.jsonl"))
        .output()
        .unwrap();
    assert!(eval.status.success());
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    let macro_f1 = report["macro_f1"].as_f64().unwrap();
    assert!(macro_f1 > 0.8, "macro-F1 {macro_f1}");
    assert!(report["accuracy"].as_f64().unwrap() > 0.8);
    assert_eq!(report["per_class"].as_array().unwrap().len(), 2);

    let explain = bin()
        .args(["explain", "--json", "-k", "4", "--model"])
        .arg(&model)
        .arg("Unconfirmed: police say gunman still inside")
        .output()
        .unwrap();
    let why: serde_json::Value = serde_json::from_slice(&explain.stdout).unwrap();
    assert_eq!(why["top"].as_array().unwrap().len(), 4);

    let info = bin().arg("info").arg(&model).output().unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["metadata"]["examples"], 3483);
    assert_eq!(info["labels"], serde_json::json!(["non-rumor", "rumor"]));
}

#[test]
fn a_corrupt_model_is_a_fatal_error_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.rtm");
    let mut truncated = b"RUMORTRG".to_vec();
    truncated.extend_from_slice(&rumor_triage::FORMAT_VERSION.to_le_bytes());
    truncated.extend_from_slice(b"garbage");
    std::fs::write(&bad, truncated).unwrap();
    let out = bin()
        .arg("score")
        .arg(seeds())
        .arg("--model")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    assert!(out.stdout.is_empty());
    // Versions 1 and 2 are retired; version 3 is still read (it is version 4 without the
    // short-text settings), so its garbage is a truncated file like the current version's.
    for retired in [1u32, 2] {
        let mut old_file = b"RUMORTRG".to_vec();
        old_file.extend_from_slice(&retired.to_le_bytes());
        old_file.extend_from_slice(b"garbage");
        std::fs::write(&bad, old_file).unwrap();
        let old = bin().arg("info").arg(&bad).output().unwrap();
        assert_eq!(old.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&old.stderr).contains("older than this build reads"));
    }
}

#[test]
fn gzip_input_gives_the_same_output_as_plain() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("posts.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&std::fs::read(seeds()).unwrap()).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let plain = bin().arg("score").arg(seeds()).output().unwrap();
    let packed = bin().arg("score").arg(&gz).output().unwrap();
    assert!(plain.status.success() && packed.status.success());
    assert!(!plain.stdout.is_empty());
    assert_eq!(plain.stdout, packed.stdout);
}

#[test]
fn one_and_two_threads_give_the_same_output() {
    let Some(data) = common::data_or_skip("one_and_two_threads_give_the_same_output") else {
        return;
    };
    // Six copies of pheme test: 5,178 lines, so two chunks of the scorer's 4,096, and the
    // second is scored while the first is written.
    let pheme = std::fs::read_to_string(data.join("pheme/test.jsonl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("six.jsonl");
    std::fs::write(&input, pheme.repeat(6)).unwrap();
    let texts = common::texts(&data.join("pheme/test.jsonl"));
    let run = |threads: &str| {
        let out = bin()
            .arg("score")
            .arg(&input)
            .args(["--threads", threads, "--explain", "3"])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let one = run("1");
    let scored = common::json_lines(&one);
    assert_eq!(scored.len(), 6 * texts.len());
    assert!(scored.len() > 4096);
    // The explanations are Model::explain's, in every chunk.
    let model = rumor_triage::Model::load_default().unwrap();
    for (i, line) in scored.iter().enumerate().step_by(97) {
        let why = model.explain(&texts[i % texts.len()], 3).unwrap();
        let shown: Vec<&str> = line["explain"]
            .as_array()
            .map(|top| top.iter().map(|c| c["ngram"].as_str().unwrap()).collect())
            .unwrap_or_default();
        let expected: Vec<&str> = if why.score.flagged {
            why.top.iter().map(|c| c.ngram.as_str()).collect()
        } else {
            Vec::new()
        };
        assert_eq!(shown, expected, "line {}", i + 1);
    }
    assert_eq!(one, run("2"));
}

#[test]
fn fields_are_picked_out_of_any_json_object() {
    let model = rumor_triage::Model::load_default().unwrap();
    let input = concat!(
        r#"{"meta":{"text":"nested, not the text"},"text":"esc\u00e9 \"quoted\" \n line","id":12,"user":"@u","tags":[1,{"a":2}]}"#,
        "\n",
        r#"{"text":"first","text":"网传地震","time":1.5e3,"account":true}"#,
        "\n",
        r#"["not","an","object"]"#,
        "\n",
    );
    let mut out = Vec::new();
    let summary = rumor_triage::Scorer::new(&model)
        .fields(rumor_triage::Fields::default().account("user"))
        .score(input.as_bytes(), &mut out)
        .unwrap();
    assert_eq!((summary.read, summary.scored, summary.rejected), (3, 2, 1));
    let got = common::json_lines(&out);
    assert_eq!(
        (got[0]["id"].as_str(), got[0]["account"].as_str()),
        (Some("12"), Some("@u"))
    );
    let escaped = model.score("esc\u{e9} \"quoted\" \n line").unwrap();
    assert_eq!(
        got[0]["probability"].as_f64().unwrap() as f32,
        escaped.probability
    );
    // The last duplicate key wins, as in serde_json's own Value.
    let second = model.score("网传地震").unwrap();
    assert_eq!(
        got[1]["probability"].as_f64().unwrap() as f32,
        second.probability
    );
    assert_eq!(
        (got[1]["time"].as_str(), got[1].get("account")),
        (Some("1500.0"), None)
    );
    assert_eq!(
        (got[2]["error"].as_str(), got[2]["detail"].as_str()),
        (Some("bad_json"), Some("line is not a JSON object"))
    );
}

#[test]
fn a_killed_run_resumes_to_the_same_bytes_as_an_uninterrupted_one() {
    let Some(data) = common::data_or_skip("a_killed_run_resumes_to_the_same_bytes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dump.jsonl");
    let mut dump = Vec::new();
    let posts = [
        std::fs::read(data.join("weibo-ced/test.jsonl")).unwrap(),
        std::fs::read(data.join("pheme/test.jsonl")).unwrap(),
    ]
    .concat();
    for round in 0..120 {
        dump.extend_from_slice(&posts);
        if round % 7 == 0 {
            dump.extend_from_slice(b"{\"id\":\"bad\"}\n");
        }
    }
    std::fs::write(&input, &dump).unwrap();
    let score = |name: &str, extra: &[&str]| {
        let mut command = bin();
        command
            .arg("score")
            .arg(&input)
            .arg("--out")
            .arg(dir.path().join(format!("{name}.jsonl")))
            .arg("--rejects")
            .arg(dir.path().join(format!("{name}.rejects")))
            .arg("--counts")
            .arg(dir.path().join(format!("{name}.counts")))
            .args(["--quiet", "--threads", "1"])
            .args(extra);
        command
    };
    let status = score("whole", &[]).status().unwrap();
    assert_eq!(status.code(), Some(1), "the salted lines are rejected");

    let mut child = score("killed", &[]).spawn().unwrap();
    let progress = dir.path().join("killed.jsonl.progress");
    let started = std::time::Instant::now();
    while !progress.exists() {
        assert!(
            started.elapsed().as_secs() < 60,
            "no chunk was flushed within a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let final_path = dir.path().join("killed.jsonl");
    assert!(
        !final_path.exists(),
        "the run was killed before it finished, so only the .partial file exists"
    );
    assert!(dir.path().join("killed.jsonl.partial").exists());

    let status = score("killed", &["--resume"]).status().unwrap();
    assert_eq!(status.code(), Some(1));
    for ext in ["jsonl", "rejects", "counts"] {
        let whole = std::fs::read(dir.path().join(format!("whole.{ext}"))).unwrap();
        let resumed = std::fs::read(dir.path().join(format!("killed.{ext}"))).unwrap();
        assert!(!whole.is_empty());
        assert!(whole == resumed, "{ext} differs after the resume");
    }
    assert!(!progress.exists(), "a finished run leaves no progress file");
    let again = score("killed", &["--resume"]).output().unwrap();
    assert_eq!(
        again.status.code(),
        Some(2),
        "a finished run has nothing to resume"
    );
}

#[test]
fn out_to_a_fifo_or_a_symlink_writes_through_it_and_leaves_it_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let status = bin()
        .arg("score")
        .arg(seeds())
        .arg("--out")
        .arg(&fifo)
        .arg("-q")
        .status()
        .unwrap();
    assert!(status.success());
    // Checked before joining: had the FIFO been renamed over, the reader would wait forever.
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced by a {kind:?}");
    let through_fifo = reader.join().unwrap();
    assert_eq!(common::json_lines(&through_fifo).len(), 32);

    let target = dir.path().join("real.jsonl");
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    std::fs::write(&target, b"old").unwrap();
    let status = bin()
        .arg("score")
        .arg(seeds())
        .arg("--out")
        .arg(&link)
        .arg("-q")
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        common::json_lines(&std::fs::read(&target).unwrap()).len(),
        32
    );
    let resume = bin()
        .arg("score")
        .arg(seeds())
        .arg("--out")
        .arg(&link)
        .arg("--resume")
        .output()
        .unwrap();
    assert_eq!(
        resume.status.code(),
        Some(2),
        "--resume needs regular files"
    );
}

#[test]
fn a_malformed_tokenizer_json_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // Malformed JSON inside the decoder: the `tokenizers` crate panics on this one.
    let tokenizer = dir.path().join("tokenizer.json");
    std::fs::write(&tokenizer, br#"{"decoder":{"type":"\q"}}"#).unwrap();
    let out = bin()
        .args(["train", "--input"])
        .arg(seeds())
        .args(["--label-field", "platform", "--positive", "weibo", "--out"])
        .arg(dir.path().join("model.rtm"))
        .arg("--tokenizer")
        .arg(&tokenizer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tokenizer.json is not valid JSON"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Runs the binary with its stdout a pipe whose reader closes after `keep` bytes, as
/// `| head -c KEEP` does, and returns its exit status and stderr.
fn with_closed_pipe(args: &[&str], keep: usize) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = vec![0u8; keep];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_ends_every_printing_command_quietly() {
    // Each command prints more than a pipe holds (64 KiB on Linux), so it is still writing
    // when the reader goes away.
    let dir = tempfile::tempdir().unwrap();
    let many_ideographs: String = (0x4e00u32..0x4e00 + 3000)
        .filter_map(char::from_u32)
        .collect();
    let dump = dir.path().join("dump.jsonl");
    std::fs::write(&dump, std::fs::read_to_string(seeds()).unwrap().repeat(40)).unwrap();
    let scored = dir.path().join("scored.jsonl");
    let lines: String = (1..=3000)
        .map(|i| format!("{{\"line\":{i},\"id\":\"p{i}\",\"label\":\"rumor\",\"probability\":0.9,\"flagged\":true,\"account\":\"account-{i}\"}}\n"))
        .collect();
    std::fs::write(&scored, lines).unwrap();
    let (dump, scored) = (dump.to_str().unwrap(), scored.to_str().unwrap());
    for (args, keep) in [
        (vec!["explain", "-k", "100000", many_ideographs.as_str()], 1),
        (vec!["info", "--tokenizer-json"], 10),
        (vec!["score", dump, "--quiet"], 10),
        (vec!["counts", scored, "--top", "3000"], 5),
    ] {
        let whole = bin().args(&args).output().unwrap();
        assert!(
            whole.stdout.len() > 1 << 16,
            "{} prints only {} bytes",
            args[0],
            whole.stdout.len()
        );
        let (status, stderr) = with_closed_pipe(&args, keep);
        assert_eq!(status.code(), Some(0), "{}: {stderr}", args[0]);
        assert!(!stderr.contains("panicked"), "{}: {stderr}", args[0]);
        assert!(!stderr.contains("Broken pipe"), "{}: {stderr}", args[0]);
    }
}

#[test]
fn a_threshold_outside_zero_to_one_is_an_error() {
    for threshold in ["1.5", "-0.1", "NaN"] {
        let out = bin()
            .args(["score", "--quiet", &format!("--threshold={threshold}")])
            .arg(seeds())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{threshold}: {stderr}");
        assert!(stderr.contains("threshold"), "{stderr}");
        assert!(
            out.stdout.is_empty(),
            "nothing is scored with a bad threshold"
        );
    }
    let ok = bin()
        .args(["score", "--quiet", "--threshold", "1"])
        .arg(seeds())
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn help_shows_an_example_and_the_exit_codes() {
    let out = bin().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("rumor-triage score posts.jsonl"), "{help}");
    assert!(help.contains("Exit codes: 0"), "{help}");
}

/// The seed posts scored by the binary with `args` added, as JSON lines.
fn score_seeds(args: &[&str]) -> (Option<i32>, Vec<serde_json::Value>) {
    let out = bin()
        .arg("score")
        .arg(seeds())
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap();
    (out.status.code(), common::json_lines(&out.stdout))
}

#[test]
fn only_flagged_writes_exactly_the_flagged_lines() {
    let (code, all) = score_seeds(&[]);
    assert_eq!(code, Some(0));
    let (code, flagged) = score_seeds(&["--only-flagged"]);
    assert_eq!(code, Some(0));
    let expected: Vec<&serde_json::Value> = all.iter().filter(|l| l["flagged"] == true).collect();
    assert!(!expected.is_empty() && expected.len() < all.len());
    assert_eq!(flagged.iter().collect::<Vec<_>>(), expected);
}

#[test]
fn explain_k_on_score_lines_is_model_explain() {
    let model = rumor_triage::Model::load_default().unwrap();
    let texts = common::texts(&seeds());
    let (code, got) = score_seeds(&["--explain", "3"]);
    assert_eq!(code, Some(0));
    let mut explained = 0;
    for (line, text) in got.iter().zip(&texts) {
        let why = model.explain(text, 3).unwrap();
        match line["explain"].as_array() {
            Some(top) => {
                explained += 1;
                assert!(why.score.flagged);
                assert_eq!(top.len(), why.top.len());
                for (shown, c) in top.iter().zip(&why.top) {
                    assert_eq!(shown["ngram"], c.ngram.as_str());
                    // serde_json's default parser may be one f64 ulp off; the f32 is exact.
                    assert_eq!(
                        shown["contribution"].as_f64().unwrap() as f32,
                        c.contribution
                    );
                }
            }
            None => assert!(
                !why.score.flagged,
                "a flagged line lacks its explanation: {line}"
            ),
        }
    }
    assert!(explained > 0);
}

#[test]
fn max_line_bytes_rejects_exactly_the_longer_lines() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.jsonl");
    let short = r#"{"id":"s","text":"short post"}"#;
    let long = format!(r#"{{"id":"l","text":"{}"}}"#, "x".repeat(200));
    std::fs::write(&input, format!("{short}\n{long}\n{short}\n")).unwrap();
    let limit = (short.len() + 10).to_string();
    let out = bin()
        .args(["score", "--quiet", "--max-line-bytes", &limit])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a rejected line gives exit code 1"
    );
    let got = common::json_lines(&out.stdout);
    assert_eq!(got.len(), 3);
    assert_eq!(
        (got[0]["id"].as_str(), got[2]["id"].as_str()),
        (Some("s"), Some("s"))
    );
    assert_eq!(got[1]["error"], "too_long");
    assert_eq!(got[1]["line"], 2);
    assert_eq!(got[1]["offset"], short.len() + 1);
}

#[test]
fn perturb_rewrites_only_the_text_field_and_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"text\":\"Breaking news tonight\",\"label\":\"rumor\",\"id\":1}\n{\"text\":\"网传地震\",\"label\":\"non-rumor\",\"id\":2}\n",
    )
    .unwrap();
    let run = |kind: &str, seed: &str| {
        let out = bin()
            .args(["perturb", "--kind", kind, "--seed", seed])
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        common::json_lines(&out.stdout)
    };
    for kind in [
        "zero-width",
        "homoglyphs",
        "full-width",
        "spaced-chinese",
        "repeated-punctuation",
        "case-games",
    ] {
        let a = run(kind, "3");
        assert_eq!(
            a,
            run(kind, "3"),
            "{kind}: the same seed gives the same file"
        );
        assert_eq!(a.len(), 2);
        for (got, (id, label)) in a.iter().zip([(1, "rumor"), (2, "non-rumor")]) {
            assert_eq!(
                (got["id"].as_u64(), got["label"].as_str()),
                (Some(id), Some(label))
            );
        }
    }
    assert_ne!(run("zero-width", "3")[0]["text"], "Breaking news tonight");
    assert_eq!(
        run("spaced-chinese", "0")[1]["text"]
            .as_str()
            .map(|t| t.replace(' ', "")),
        Some("网传地震".to_owned())
    );
    let bad = bin()
        .args(["perturb", "--kind", "nope"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown perturbation"));
}

#[test]
fn every_eval_protocol_runs_and_reports_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("labeled.jsonl");
    let mut lines_out = String::new();
    for i in 0..60 {
        let (text, label) = if i % 2 == 0 {
            (format!("unconfirmed share before deleted {i}"), "rumor")
        } else {
            (format!("police statement confirmed today {i}"), "non-rumor")
        };
        let event = ["a", "b", "c"][i % 3];
        lines_out.push_str(&format!(
            "{{\"text\":\"{text}\",\"label\":\"{label}\",\"event\":\"{event}\",\"time\":\"2024-01-{:02}\"}}\n",
            i % 28 + 1
        ));
    }
    std::fs::write(&data, lines_out).unwrap();
    let eval = |args: &[&str]| {
        let out = bin()
            .args(["eval", "--format", "json", "--folds", "3", "--input"])
            .arg(&data)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let kfold = eval(&["--kfold", "3", "--at-precision", "0.9"]);
    assert_eq!(kfold["groups"].as_array().unwrap().len(), 3);
    assert!(kfold["macro_f1"].as_f64().unwrap() > 0.9);
    let groups = eval(&["--group-by", "event"]);
    let held: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(held, ["a", "b", "c"]);
    let chrono = eval(&["--chrono", "time", "--test-fraction", "0.25"]);
    assert_eq!(
        (chrono["protocol"].as_str(), chrono["test_items"].as_u64()),
        (Some("chronological"), Some(15))
    );
    let holdout = eval(&["--train", data.to_str().unwrap()]);
    assert_eq!(holdout["test_items"], 60);
    let shipped = bin()
        .args(["eval", "--format", "json", "--input"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(shipped.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&shipped.stdout).unwrap();
    assert_eq!(report["items"], 60);
    // A protocol that cannot be run is a fatal error, not an empty report.
    let bad = bin()
        .args(["eval", "--kfold", "1", "--input"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn train_with_tune_and_calibration_by_group_writes_a_model_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("labeled.jsonl");
    let body: String = (0..60)
        .map(|i| {
            let (text, label) = if i % 2 == 0 {
                ("unconfirmed share before deleted", "rumor")
            } else {
                ("police statement confirmed today", "non-rumor")
            };
            format!(
                "{{\"text\":\"{text} {i}\",\"label\":\"{label}\",\"event\":\"e{}\"}}\n",
                i % 4
            )
        })
        .collect();
    std::fs::write(&data, body).unwrap();
    let model = dir.path().join("m.rtm");
    let out = bin()
        .args([
            "train",
            "--tune",
            "--tune-c",
            "1,10",
            "--tune-word-ngrams",
            "1,2",
            "--tune-folds",
            "3",
            "--folds",
            "3",
            "--calibrate-by-group",
            "event",
            "--input",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("tune: chose C"), "{stderr}");
    let loaded = rumor_triage::Model::load(&model).unwrap();
    assert!(loaded.metadata().grouped_calibration);
    assert!(
        loaded
            .score("unconfirmed share before deleted")
            .unwrap()
            .flagged
    );
}

#[test]
fn adapt_threshold_reads_the_file_twice_and_refuses_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scored.jsonl");
    let counts = dir.path().join("counts.json");
    let run = bin()
        .arg("score")
        .arg(seeds())
        .arg("--out")
        .arg(&out)
        .arg("--counts")
        .arg(&counts)
        .arg("--adapt-threshold")
        .output()
        .unwrap();
    assert!(run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("estimated rumor share"), "{stderr}");
    let counts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&counts).unwrap()).unwrap();
    let prevalence = &counts["prevalence"];
    let share = prevalence["share"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share), "{prevalence}");
    let (low, high) = (
        prevalence["interval"][0].as_f64().unwrap(),
        prevalence["interval"][1].as_f64().unwrap(),
    );
    assert!(low <= share && share <= high, "{prevalence}");
    let stdin = bin()
        .args(["score", "-", "--adapt-threshold"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(stdin.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stdin.stderr).contains("stdin"));
}

#[test]
fn explain_says_when_a_text_is_too_short_to_flag() {
    let short = bin().args(["explain", "Prince hostage"]).output().unwrap();
    assert!(short.status.success());
    let table = String::from_utf8_lossy(&short.stdout);
    assert!(table.contains("flagged false"), "{table}");
    assert!(table.contains("insufficient text"), "{table}");
    let long = bin()
        .args([
            "explain",
            "Unconfirmed reports: gunman still inside the mall?",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&long.stdout).contains("insufficient text"));
}
