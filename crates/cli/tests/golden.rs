//! Golden outputs that need no evaluation data: what the shipped model writes for the
//! project's own seed posts, byte for byte, and the README's `explain` example. They fail
//! when a change alters what a shipped model scores (a hash constant, the tokenizer, the
//! scoring arithmetic, the output format). After a deliberate change, regenerate them with
//! `RUMOR_TRIAGE_BLESS=1 cargo test -p rumor-triage-cli --test golden` and say why in the
//! commit (models/README.md).

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rumor-triage"))
}

fn golden(name: &str) -> PathBuf {
    common::repo_root().join("tests/golden").join(name)
}

/// Compares `got` with the golden file `name`, or rewrites the file under
/// `RUMOR_TRIAGE_BLESS=1`.
fn check(name: &str, got: &[u8]) {
    let path = golden(name);
    if std::env::var_os("RUMOR_TRIAGE_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if got != want {
        let (got, want) = (String::from_utf8_lossy(got), String::from_utf8_lossy(&want));
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or(0);
        panic!(
            "{} differs from this build's output; first differing line {}:\n  golden: {}\n  now:    {}",
            path.display(),
            first + 1,
            want.lines().nth(first).unwrap_or(""),
            got.lines().nth(first).unwrap_or("")
        );
    }
}

#[test]
fn the_readme_score_command_writes_the_golden_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (out, counts) = (
        dir.path().join("scored.jsonl"),
        dir.path().join("counts.json"),
    );
    let status = bin()
        .current_dir(common::repo_root())
        .args(["score", "seeds/posts.jsonl", "--quiet", "--out"])
        .arg(&out)
        .arg("--counts")
        .arg(&counts)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let scored = std::fs::read(&out).unwrap();
    let seeds = std::fs::read_to_string(common::seeds()).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&scored).lines().count(),
        seeds.lines().count(),
        "one output line per seed post"
    );
    check("seeds.scored.jsonl", &scored);
    check("seeds.counts.json", &std::fs::read(&counts).unwrap());
}

#[test]
fn explain_with_k_gives_the_golden_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for k in ["5", "300"] {
        let out = dir.path().join(format!("explained-{k}.jsonl"));
        let status = bin()
            .current_dir(common::repo_root())
            .args([
                "score",
                "seeds/posts.jsonl",
                "--quiet",
                "--explain",
                k,
                "--out",
            ])
            .arg(&out)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0));
        all.push(std::fs::read(&out).unwrap());
    }
    check("seeds.explain5.jsonl", &all[0]);
    // Explaining more n-grams keeps the first five and their order.
    let (five, many) = (common::json_lines(&all[0]), common::json_lines(&all[1]));
    for (a, b) in five.iter().zip(&many) {
        if let Some(top) = a["explain"].as_array() {
            assert_eq!(top[..], b["explain"].as_array().unwrap()[..top.len()]);
        }
    }
}

/// The README's `explain` example: its command and the lines it shows.
fn readme_explain_example(readme: &Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(readme).unwrap();
    let block = text
        .split("```console\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a console example");
    let mut lines = block.lines();
    let command = lines.next().unwrap().trim_start_matches("$ ").to_owned();
    (command, lines.map(str::to_owned).collect())
}

#[test]
fn the_readme_explain_example_is_what_the_binary_prints() {
    let (command, expected) = readme_explain_example(&common::repo_root().join("README.md"));
    let text = command
        .split('"')
        .nth(1)
        .expect("the example quotes its text");
    let k = command.rsplit(" -k ").next().expect("the example gives -k");
    let out = bin().args(["explain", text, "-k", k]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(printed, expected);
}
