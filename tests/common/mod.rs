//! Shared helpers: locating `../shared/data` and reading its records.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository's top folder (the one with `models/`), from any crate of the workspace.
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|dir| dir.join("models/default.rtm").is_file())
        .unwrap_or(&here)
        .to_path_buf()
}

/// The project's seed posts.
pub fn seeds() -> PathBuf {
    repo_root().join("seeds/posts.jsonl")
}

/// The evaluation data directory: `RUMOR_TRIAGE_DATA`, or `../shared/data` beside the repo.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RUMOR_TRIAGE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data"));
    if dir.join("MANIFEST.json").is_file() {
        Some(dir)
    } else {
        None
    }
}

/// The data directory, or `None` after printing why the test is skipped. Under CI
/// (`CI` set) a missing directory fails the test instead.
pub fn data_or_skip(test: &str) -> Option<PathBuf> {
    let dir = data_dir();
    if dir.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: ../shared/data is missing, and CI must have it"
        );
        eprintln!("{test}: skipped, ../shared/data not found (set RUMOR_TRIAGE_DATA)");
    }
    dir
}

/// Output lines (JSONL) parsed, one value per line.
pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(bytes)
        .expect("output is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("an output line is JSON"))
        .collect()
}

/// Every JSONL file of the data directory.
pub fn all_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in ["weibo-ced", "pheme", "liar"] {
        let mut here: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        here.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
        here.sort();
        files.extend(here);
    }
    files
}

/// The `text` of every record of a file.
pub fn texts(path: &std::path::Path) -> Vec<String> {
    let content = std::fs::read_to_string(path).expect("data file readable");
    content
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("data line is JSON");
            v["text"].as_str().expect("text is a string").to_owned()
        })
        .collect()
}
