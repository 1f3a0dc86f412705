//! Near-duplicate campaigns on the real posts of `../shared/data`: copies of one text land in
//! one campaign, and a campaign's posts share most of their n-grams.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use rumor_triage::{Labeled, Model, Post};

/// The weibo-ced and pheme posts, with their `dup_group` (the smallest id among records
/// whose text is identical after normalization).
fn posts(dir: &std::path::Path) -> Vec<(Post, String)> {
    let mut out = Vec::new();
    for set in ["weibo-ced", "pheme"] {
        for split in ["train", "test"] {
            let path = dir.join(set).join(format!("{split}.jsonl"));
            for line in std::fs::read_to_string(path).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let post = Post {
                    id: format!("{set}/{}", v["id"].as_str().unwrap()),
                    text: v["text"].as_str().unwrap().to_owned(),
                    ..Default::default()
                };
                out.push((post, format!("{set}/{}", v["dup_group"].as_str().unwrap())));
            }
        }
    }
    out
}

/// The campaign of each flagged post, as positions in `labeled`: the `campaign` of each
/// line when the posts are scored as a dump.
fn campaigns_of(model: &Model, labeled: &[Labeled]) -> Vec<Option<u64>> {
    let dump: String = labeled
        .iter()
        .map(|l| serde_json::json!({"id": l.post.id, "text": l.post.text}).to_string() + "\n")
        .collect();
    let mut out = Vec::new();
    rumor_triage::Scorer::new(model)
        .score(dump.as_bytes(), &mut out)
        .unwrap();
    let scored: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(scored.len(), labeled.len());
    for (line, l) in scored.iter().zip(labeled) {
        assert_eq!(line["flagged"].as_bool(), Some(l.score.flagged));
    }
    scored
        .iter()
        .map(|line| line["campaign"].as_u64())
        .collect()
}

#[test]
fn exact_duplicates_share_a_campaign_and_campaigns_hold_near_copies() {
    let Some(dir) = common::data_or_skip("exact_duplicates_share_a_campaign") else {
        return;
    };
    let model = Model::load_default().unwrap();
    let (posts, groups): (Vec<Post>, Vec<String>) = posts(&dir).into_iter().unzip();
    let labeled = model.label_batch(posts).unwrap();
    let campaigns = campaigns_of(&model, &labeled);

    // Every duplicate group's flagged posts are in one campaign.
    let mut by_group: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for (group, campaign) in groups.iter().zip(&campaigns) {
        if let Some(c) = campaign {
            by_group.entry(group).or_default().insert(*c);
        }
    }
    let split: Vec<_> = by_group.iter().filter(|(_, c)| c.len() > 1).collect();
    let flagged_groups = by_group.len();
    assert!(
        split.is_empty(),
        "duplicate groups split across campaigns: {split:?}"
    );

    // A campaign's posts share most of their n-grams with its first post: their token sets
    // (the crate's own tokens) overlap by half or more, Jaccard: 580 of 581 when measured,
    // so at least 99.5% (a second miss among as many posts would still pass).
    let tokens = |text: &str| -> BTreeSet<String> {
        let mut set = BTreeSet::new();
        model
            .for_each_token(text, |t| {
                set.insert(t.to_owned());
            })
            .unwrap();
        set
    };
    let mut first: BTreeMap<u64, usize> = BTreeMap::new();
    let (mut members, mut close) = (0usize, 0usize);
    for (i, campaign) in campaigns.iter().enumerate() {
        let Some(c) = campaign else { continue };
        let &mut f = first.entry(*c).or_insert(i);
        if f == i {
            continue;
        }
        let (a, b) = (tokens(&labeled[f].post.text), tokens(&labeled[i].post.text));
        let jaccard = a.intersection(&b).count() as f64 / a.union(&b).count().max(1) as f64;
        members += 1;
        close += usize::from(jaccard >= 0.5);
    }
    println!(
        "{flagged_groups} duplicate groups with flagged posts; {members} posts joined a campaign, {close} of them with token Jaccard >= 0.5 to its first post"
    );
    assert!(
        members > 0,
        "the data has duplicate texts, so some campaign has two posts"
    );
    assert!(
        close * 1000 >= members * 995,
        "{close} of {members} campaign posts are near copies"
    );
}

/// weibo-ced train with every post twice (a campaign per flagged text), scored by the
/// streaming path with default options: the input, the scored output and the summary.
fn stream_weibo_train_twice(
    model: &Model,
    dir: &std::path::Path,
) -> (String, Vec<u8>, rumor_triage::Summary) {
    let input = std::fs::read_to_string(dir.join("weibo-ced/train.jsonl")).unwrap();
    let doubled = format!("{input}{input}");
    let mut out = Vec::new();
    let summary = rumor_triage::Scorer::new(model)
        .score(doubled.as_bytes(), &mut out)
        .unwrap();
    (doubled, out, summary)
}

#[test]
fn scored_output_rebuilds_the_campaigns_of_the_run() {
    let Some(dir) = common::data_or_skip("scored_output_rebuilds_the_campaigns") else {
        return;
    };
    let model = Model::load_default().unwrap();
    let (_, out, summary) = stream_weibo_train_twice(&model, &dir);
    let (rebuilt, skipped) =
        rumor_triage::counts_from_scored(&out[..], 20, &Default::default(), Some(&model)).unwrap();
    assert_eq!(skipped, 0);
    assert_eq!(summary.counts, rebuilt);
    assert!(summary.counts.campaigns > 0);
    assert_eq!(summary.counts.ungrouped_posts, 0);
    assert!(summary.counts.campaign_posts >= summary.counts.flagged * 9 / 10);
}

#[test]
fn the_batch_path_groups_as_the_stream_does_with_or_without_kept_sketches() {
    let Some(dir) = common::data_or_skip("the_batch_path_groups_as_the_stream_does") else {
        return;
    };
    let model = Model::load_default().unwrap();
    let (doubled, _, summary) = stream_weibo_train_twice(&model, &dir);
    let streamed = summary.counts;

    let posts: Vec<Post> = doubled
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            Post {
                id: v["id"].as_str().unwrap().to_owned(),
                text: v["text"].as_str().unwrap().to_owned(),
                time: v["time"].as_str().map(str::to_owned),
                ..Default::default()
            }
        })
        .collect();
    let labeled = model.label_batch(posts).unwrap();
    assert!(labeled
        .iter()
        .all(|l| l.sketch.is_some() == l.score.flagged));
    // Read back from storage, the sketches are gone and the flagged posts are scored again.
    let stored: Vec<Labeled> =
        serde_json::from_str(&serde_json::to_string(&labeled).unwrap()).unwrap();
    assert!(stored.iter().all(|l| l.sketch.is_none()));

    let kept = model.cleanup_counts(&labeled, 20);
    assert!(kept.campaigns > 0);
    assert_eq!(kept, streamed);
    assert_eq!(model.cleanup_counts(&stored, 20), streamed);
}
