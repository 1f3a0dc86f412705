//! `rumor-triage review apply`: decisions into the checked log, exported as training data,
//! suggestions for the rest of a campaign; a killed run and a tampered log.

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rumor-triage"))
}

fn run(args: &[&str], dir: &Path) -> Output {
    bin().args(args).current_dir(dir).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn decisions_export_as_training_data_and_suggest_for_their_campaigns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scored = run(
        &[
            "score",
            common::seeds().to_str().unwrap(),
            "--keep",
            "text",
            "--out",
            "scored.jsonl",
        ],
        d,
    );
    assert!(scored.status.code() == Some(0), "{}", stderr(&scored));
    let lines: Vec<serde_json::Value> =
        common::json_lines(&std::fs::read(d.join("scored.jsonl")).unwrap());
    // A post of a campaign with more than one post, and one without a campaign.
    let in_campaign = lines
        .iter()
        .find(|l| {
            l.get("campaign").is_some()
                && lines
                    .iter()
                    .filter(|m| m.get("campaign") == l.get("campaign"))
                    .count()
                    > 1
        })
        .unwrap();
    let campaign = in_campaign["campaign"].as_u64().unwrap();
    let members = lines
        .iter()
        .filter(|m| m["campaign"].as_u64() == Some(campaign))
        .count();
    let alone = lines.iter().find(|l| l.get("campaign").is_none()).unwrap();
    let decisions = format!(
        "{}\n{}\nnot json\n{}\n{}\n",
        serde_json::json!({"id": in_campaign["id"], "label": "non-rumor", "reviewer": "ana"}),
        serde_json::json!({"id": alone["id"], "label": "rumor", "reviewer": "ben", "note": "seen before"}),
        serde_json::json!({"id": "own-text", "label": "rumor", "text": "a text the reviewer pasted"}),
        serde_json::json!({"id": alone["id"], "label": "non-rumor", "reviewer": "ana"}),
    );
    std::fs::write(d.join("decisions.jsonl"), decisions).unwrap();
    let out = run(
        &[
            "review",
            "apply",
            "decisions.jsonl",
            "--log",
            "review.log",
            "--export",
            "reviewed.jsonl",
            "--scored",
            "scored.jsonl",
            "--suggest",
            "suggestions.jsonl",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("decisions.jsonl:3: not a decision"));
    assert!(stderr(&out).contains("read 5 decisions, appended 4, rejected 1; the log holds 4"));

    let reviewed = common::json_lines(&std::fs::read(d.join("reviewed.jsonl")).unwrap());
    assert_eq!(reviewed.len(), 3, "one line per reviewed post");
    assert_eq!(reviewed[0]["text"], in_campaign["kept"]["text"]);
    assert_eq!(reviewed[1]["id"], alone["id"]);
    assert_eq!(
        reviewed[1]["label"], "non-rumor",
        "the latest decision wins"
    );
    assert_eq!(reviewed[2]["text"], "a text the reviewer pasted");

    let suggestions = common::json_lines(&std::fs::read(d.join("suggestions.jsonl")).unwrap());
    assert_eq!(suggestions.len(), members - 1);
    for s in &suggestions {
        assert_eq!(s["campaign"].as_u64(), Some(campaign));
        assert_eq!(s["suggested_label"], "non-rumor");
        assert_eq!(s["from"], in_campaign["id"]);
    }

    // The export is training input as `train --input` reads it.
    let examples =
        rumor_triage::read_examples(d.join("reviewed.jsonl"), &rumor_triage::Fields::default())
            .unwrap();
    let labels: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels, ["non-rumor", "non-rumor", "rumor"]);
}

#[test]
fn a_tampered_log_is_refused_and_nothing_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("decisions.jsonl"),
        "{\"id\":\"1\",\"label\":\"rumor\"}\n{\"id\":\"2\",\"label\":\"non-rumor\"}\n",
    )
    .unwrap();
    let out = run(
        &["review", "apply", "decisions.jsonl", "--log", "review.log"],
        d,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let log = std::fs::read_to_string(d.join("review.log")).unwrap();
    std::fs::write(d.join("review.log"), log.replace("non-rumor", "rumor")).unwrap();
    let tampered = std::fs::read(d.join("review.log")).unwrap();
    let out = run(
        &["review", "apply", "decisions.jsonl", "--log", "review.log"],
        d,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("decision log refused"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(d.join("review.log")).unwrap(), tampered);
}

#[test]
fn a_killed_run_leaves_a_log_that_opens_with_every_finished_decision() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let decisions: String = (0..20_000)
        .map(|i| {
            format!(
                "{{\"id\":\"{i}\",\"label\":\"rumor\",\"note\":\"{}\"}}\n",
                "x".repeat(i % 300)
            )
        })
        .collect();
    let mut previous = 0;
    for wait in [150u64, 300, 450] {
        let mut child = bin()
            .args(["review", "apply", "-", "--log", "review.log"])
            .current_dir(d)
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feed = decisions.clone();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(feed.as_bytes());
        });
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap();
        child.wait().unwrap();
        let _ = writer.join();
        // Whatever the kill interrupted, the log opens with its finished records, in order.
        let check = run(&["review", "apply", "-", "--log", "review.log"], d);
        assert!(check.status.success(), "{}", stderr(&check));
        let text = String::from_utf8_lossy(&check.stderr);
        let holds: usize = text
            .split("the log holds ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(holds >= previous, "{holds} < {previous}");
        previous = holds;
    }
    let log = rumor_triage::DecisionLog::open(d.join("review.log")).unwrap();
    assert_eq!(log.decisions().len(), previous);
    for (i, decision) in log.decisions().iter().enumerate() {
        // Each run starts again from the first decision, so ids repeat across runs but stay
        // in order within each.
        assert_eq!(decision.label, "rumor");
        assert!(decision.id.parse::<usize>().unwrap() <= i);
    }
}

#[test]
fn the_queue_puts_each_campaign_once_and_accounts_for_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut posts = std::fs::read_to_string(common::seeds()).unwrap();
    posts.push_str("{\"id\":\"tiny\",\"text\":\"ok\"}\n");
    std::fs::write(d.join("posts.jsonl"), posts).unwrap();
    let scored = run(
        &[
            "score",
            "posts.jsonl",
            "--keep",
            "text",
            "--out",
            "scored.jsonl",
        ],
        d,
    );
    assert_eq!(scored.status.code(), Some(0), "{}", stderr(&scored));
    let mut lines = std::fs::read_to_string(d.join("scored.jsonl")).unwrap();
    lines.push_str("not json\n");
    std::fs::write(d.join("scored.jsonl"), lines).unwrap();
    let posts = common::json_lines(&std::fs::read(common::seeds()).unwrap()).len();

    let out = run(
        &[
            "review",
            "queue",
            "scored.jsonl",
            "--budget",
            "8",
            "--out",
            "queue.jsonl",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1), "one reject: {}", stderr(&out));
    let summary = stderr(&out);
    assert!(
        summary.contains(&format!("read {} scored lines: {posts} candidates, 1 skipped as too short to flag, 1 rejected; queued 8", posts + 2)),
        "{summary}"
    );
    let queue = common::json_lines(&std::fs::read(d.join("queue.jsonl")).unwrap());
    assert_eq!(queue.len(), 8);
    let ids: std::collections::HashSet<&str> =
        queue.iter().map(|q| q["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 8);
    assert!(!ids.contains("tiny"));
    let groups: std::collections::HashSet<u64> = queue
        .iter()
        .filter_map(|q| q["campaign"].as_u64())
        .collect();
    assert_eq!(
        groups.len(),
        queue.iter().filter(|q| q.get("campaign").is_some()).count(),
        "a campaign once"
    );
    for q in &queue {
        assert!(q["kept"]["text"].is_string());
        assert!(!q["explain"].as_array().unwrap().is_empty());
    }

    // With room for every group, each candidate is settled by exactly one queued post.
    let all = queue_of(d, "1000", &[]);
    let settled: u64 = all
        .iter()
        .map(|q| q["campaign_size"].as_u64().unwrap())
        .sum();
    assert_eq!(settled, posts as u64);
    assert!(all.len() < posts, "copies share one queued post");

    let plain = queue_of(d, "8", &["--strategy", "uncertainty"]);
    let priorities: Vec<f64> = plain
        .iter()
        .map(|q| q["priority"].as_f64().unwrap())
        .collect();
    assert!(priorities.windows(2).all(|w| w[0] >= w[1]));
}

/// `review queue scored.jsonl` in `dir` with `budget` and `extra` options (the file holds one
/// reject, so the exit code is 1); the queue it wrote.
fn queue_of(dir: &Path, budget: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec![
        "review",
        "queue",
        "scored.jsonl",
        "--budget",
        budget,
        "--out",
        "q.jsonl",
    ];
    args.extend_from_slice(extra);
    let out = run(&args, dir);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    common::json_lines(&std::fs::read(dir.join("q.jsonl")).unwrap())
}
