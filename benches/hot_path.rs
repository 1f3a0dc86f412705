//! Single-thread throughput of the scoring hot path, stage by stage, in bytes of post text
//! per second, on the evaluation data's posts (Chinese and English), with the shipped model.
//!
//! Run: `cargo bench --bench hot_path`. Reads `../shared/data` (or `RUMOR_TRIAGE_DATA`);
//! falls back to the project's seed posts when the data is absent.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rumor_triage::{Labeled, Model, Post, Workspace};

fn texts() -> Vec<String> {
    let dir = std::env::var_os("RUMOR_TRIAGE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let files = ["weibo-ced/test.jsonl", "pheme/test.jsonl"];
    let mut out = Vec::new();
    for f in files {
        if let Ok(content) = std::fs::read_to_string(dir.join(f)) {
            for line in content.lines() {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                    if let Some(t) = v["text"].as_str() {
                        out.push(t.to_owned());
                    }
                }
            }
        }
    }
    if out.is_empty() {
        let seeds = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds/posts.jsonl"),
        )
        .unwrap_or_default();
        for line in seeds.lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                if let Some(t) = v["text"].as_str() {
                    out.push(t.to_owned());
                }
            }
        }
    }
    out
}

fn hot_path(c: &mut Criterion) {
    let model = Model::load_default().expect("shipped model loads");
    let texts = texts();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut group = c.benchmark_group("hot_path");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);

    group.bench_function("normalize_tokenize", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for t in &texts {
                model.for_each_token(t, |token| n += token.len()).unwrap();
            }
            n
        })
    });
    let mut ws = Workspace::default();
    group.bench_function("featurize", |b| {
        b.iter(|| {
            let mut nnz = 0usize;
            for t in &texts {
                model.featurize(t, &mut ws).unwrap();
                nnz += model.row(&ws).nnz();
            }
            nnz
        })
    });
    group.bench_function("score", |b| {
        b.iter(|| {
            let mut flagged = 0usize;
            for t in &texts {
                flagged += usize::from(model.score_with(t, &mut ws, None).unwrap().flagged);
            }
            flagged
        })
    });
    group.bench_function("explain_top5", |b| {
        b.iter(|| {
            let mut features = 0usize;
            for t in &texts {
                features += model.explain(t, 5).unwrap().features;
            }
            features
        })
    });
    let lines: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({"id": i.to_string(), "text": t}).to_string())
        .collect();
    group.bench_function("parse_jsonl_line", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for l in &lines {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                total += v["text"].as_str().map_or(0, str::len);
            }
            total
        })
    });
    // The cleanup counts of labeled posts, on one thread: with the sketches `label_batch`
    // keeps, and as for posts read back from storage, whose flagged ones are scored again.
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let posts: Vec<Post> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Post {
            id: i.to_string(),
            text: t.clone(),
            ..Default::default()
        })
        .collect();
    let labeled = one_thread
        .install(|| model.label_batch(posts))
        .expect("the posts score");
    let stored: Vec<Labeled> = labeled
        .iter()
        .map(|l| Labeled {
            sketch: None,
            ..l.clone()
        })
        .collect();
    group.bench_function("cleanup_counts", |b| {
        b.iter(|| one_thread.install(|| model.cleanup_counts(&labeled, 20).campaigns))
    });
    group.bench_function("cleanup_counts_scoring_again", |b| {
        b.iter(|| one_thread.install(|| model.cleanup_counts(&stored, 20).campaigns))
    });
    group.finish();
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
