//! `rumor-triage review`: reviewers' decisions into a checked, append-only log, and out as
//! labeled data.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use rumor_triage::{review_queue, Candidate, Decision, DecisionLog, Error, Strategy};

use crate::args::load_model;
use crate::output::open_input;

/// Record reviewer decisions, export what was reviewed.
#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Append decisions (JSONL: id, label, and optional reviewer, time, note, text) to a
    /// decision log, checked before anything is added.
    Apply(ApplyArgs),
    /// Pick the scored posts most worth reviewing: near the threshold, one per
    /// near-duplicate campaign weighted by its size, not one story many times.
    Queue(QueueArgs),
}

#[derive(clap::Args)]
pub(crate) struct QueueArgs {
    /// `score` output (with `--keep text` for grouping all posts and explanations), or -.
    scored: String,
    /// How many posts to queue.
    #[arg(long)]
    budget: usize,
    /// Where to write the queue (JSONL, most worth reviewing first).
    #[arg(long)]
    out: PathBuf,
    /// uncertainty (nearest the threshold), campaign-weighted (one per campaign, weighted
    /// by its size, similar stories held back) or random.
    #[arg(long, default_value = "campaign-weighted", value_parser = ["uncertainty", "campaign-weighted", "random"])]
    strategy: String,
    /// Seed of the random strategy.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The model that scored the posts (default: the shipped model): its threshold and
    /// explanations.
    #[arg(long)]
    model: Option<PathBuf>,
    /// N-grams of explanation per queued post (needs the text kept).
    #[arg(long, default_value_t = 5)]
    explain: usize,
}

#[derive(clap::Args)]
pub(crate) struct ApplyArgs {
    /// Decisions, one JSON object per line, or - for stdin.
    decisions: String,
    /// The decision log (created if missing; a log that fails its check is refused).
    #[arg(long)]
    log: PathBuf,
    /// Write the reviewed posts as labeled JSONL (id, text, label; a post's latest decision),
    /// ready for `train --input`.
    #[arg(long)]
    export: Option<PathBuf>,
    /// `score` output (with `--keep text`): the texts of decisions that lack one, and the
    /// campaigns whose other posts get suggestions.
    #[arg(long)]
    scored: Option<String>,
    /// With --scored: write a suggestion for every other post of a reviewed post's campaign
    /// (a suggestion for a person to confirm, not a decision).
    #[arg(long, requires = "scored")]
    suggest: Option<PathBuf>,
}

pub(crate) fn run(command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::Apply(args) => apply(args),
        Command::Queue(args) => queue(args),
    }
}

fn apply(args: ApplyArgs) -> Result<ExitCode, Error> {
    let mut log = DecisionLog::open(&args.log)?;
    if log.torn_bytes() > 0 {
        eprintln!(
            "review: {}: dropped an unfinished last record ({} bytes, from a killed run); the {} complete records are intact",
            args.log.display(),
            log.torn_bytes(),
            log.decisions().len()
        );
    }
    let (reader, _, _) = open_input(&args.decisions)?;
    let (mut read, mut rejected) = (0u64, 0u64);
    for (number, line) in (1u64..).zip(reader.lines()) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        read += 1;
        match serde_json::from_str::<Decision>(&line) {
            Ok(decision) if !decision.id.is_empty() && !decision.label.is_empty() => {
                log.append(&decision)?;
            }
            Ok(_) => {
                rejected += 1;
                eprintln!(
                    "{}:{number}: a decision needs an id and a label",
                    args.decisions
                );
            }
            Err(e) => {
                rejected += 1;
                eprintln!("{}:{number}: not a decision: {e}", args.decisions);
            }
        }
    }
    eprintln!(
        "review: read {read} decisions, appended {}, rejected {rejected}; the log holds {} (digest {})",
        read - rejected,
        log.decisions().len(),
        log.digest()
    );
    let scored = match &args.scored {
        Some(path) => Some(Scored::read(path)?),
        None => None,
    };
    if let Some(path) = &args.export {
        export(&log, scored.as_ref(), path)?;
    }
    if let (Some(path), Some(scored)) = (&args.suggest, &scored) {
        suggest(&log, scored, path)?;
    }
    Ok(if rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn queue(args: QueueArgs) -> Result<ExitCode, Error> {
    let model = load_model(&args.model)?;
    let (reader, _, _) = open_input(&args.scored)?;
    let (mut read, mut too_short, mut rejected) = (0u64, 0u64, 0u64);
    let mut candidates = Vec::new();
    for (number, line) in (1u64..).zip(reader.lines()) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        read += 1;
        let value: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                rejected += 1;
                eprintln!("{}:{number}: not a scored line: {e}", args.scored);
                continue;
            }
        };
        let Some(probability) = value.get("probability").and_then(|p| p.as_f64()) else {
            // A reject of `score` carries no probability: nothing to review.
            rejected += 1;
            eprintln!(
                "{}:{number}: no probability (not a scored post)",
                args.scored
            );
            continue;
        };
        if value.get("insufficient_text").and_then(|v| v.as_bool()) == Some(true) {
            too_short += 1;
            continue;
        }
        let id = match value.get("id") {
            Some(serde_json::Value::String(id)) => id.clone(),
            Some(other) if !other.is_null() => other.to_string(),
            _ => format!(
                "line:{}",
                value.get("line").and_then(|l| l.as_u64()).unwrap_or(number)
            ),
        };
        let kept = value.get("kept").cloned();
        candidates.push(Candidate {
            id,
            probability: probability as f32,
            text: kept
                .as_ref()
                .and_then(|k| k.get("text"))
                .and_then(|t| t.as_str())
                .map(str::to_owned),
            campaign: value.get("campaign").and_then(|c| c.as_u64()),
            kept,
        });
    }
    let strategy = match args.strategy.as_str() {
        "uncertainty" => Strategy::Uncertainty,
        "random" => Strategy::Random,
        _ => Strategy::CampaignWeighted,
    };
    let queue = review_queue(
        &model,
        &candidates,
        args.budget,
        strategy,
        args.seed,
        args.explain,
    )?;
    let file = std::fs::File::create(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let mut out = BufWriter::new(file);
    for item in &queue {
        writeln!(out, "{}", serde_json::to_string(item)?).map_err(|e| Error::io(&args.out, e))?;
    }
    out.flush().map_err(|e| Error::io(&args.out, e))?;
    let settles: u64 = queue.iter().map(|q| q.campaign_size).sum();
    eprintln!(
        "review: read {read} scored lines: {} candidates, {too_short} skipped as too short to flag, {rejected} rejected; queued {} ({}), settling {settles} posts",
        candidates.len(),
        queue.len(),
        args.strategy
    );
    Ok(if rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A post's latest decision, in the order posts were first decided.
fn latest(log: &DecisionLog) -> Vec<&Decision> {
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut latest: Vec<&Decision> = Vec::new();
    for decision in log.decisions() {
        match position.get(decision.id.as_str()) {
            Some(&i) => latest[i] = decision,
            None => {
                position.insert(&decision.id, latest.len());
                latest.push(decision);
            }
        }
    }
    latest
}

fn export(log: &DecisionLog, scored: Option<&Scored>, path: &PathBuf) -> Result<(), Error> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = BufWriter::new(file);
    let (mut written, mut without_text) = (0u64, 0u64);
    for decision in latest(log) {
        let text = decision.text.as_deref().or_else(|| {
            scored
                .and_then(|s| s.posts.get(&decision.id))
                .and_then(|p| p.text.as_deref())
        });
        let Some(text) = text else {
            without_text += 1;
            continue;
        };
        let line = serde_json::json!({ "id": decision.id, "text": text, "label": decision.label });
        writeln!(out, "{line}").map_err(|e| Error::io(path, e))?;
        written += 1;
    }
    out.flush().map_err(|e| Error::io(path, e))?;
    eprintln!(
        "review: exported {written} reviewed posts to {}{}",
        path.display(),
        if without_text > 0 {
            format!("; {without_text} left out for lack of a text (give --scored with `score --keep text` output, or a text in the decision)")
        } else {
            String::new()
        }
    );
    Ok(())
}

fn suggest(log: &DecisionLog, scored: &Scored, path: &PathBuf) -> Result<(), Error> {
    let decided: HashMap<&str, &Decision> = latest(log)
        .into_iter()
        .map(|d| (d.id.as_str(), d))
        .collect();
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = BufWriter::new(file);
    let mut written = 0u64;
    for id in &scored.order {
        let Some(post) = scored.posts.get(id) else {
            continue;
        };
        if decided.contains_key(id.as_str()) {
            continue;
        }
        let Some(campaign) = post.campaign else {
            continue;
        };
        let Some(from) = scored.campaigns.get(&campaign).and_then(|members| {
            members
                .iter()
                .filter_map(|m| decided.get(m.as_str()))
                .next_back()
        }) else {
            continue;
        };
        let line = serde_json::json!({
            "id": id,
            "suggested_label": from.label,
            "from": from.id,
            "campaign": campaign,
        });
        writeln!(out, "{line}").map_err(|e| Error::io(path, e))?;
        written += 1;
    }
    out.flush().map_err(|e| Error::io(path, e))?;
    eprintln!(
        "review: wrote {written} suggestions (posts in the campaign of a reviewed post) to {}",
        path.display()
    );
    Ok(())
}

/// What `score` output says about each post.
struct ScoredPost {
    text: Option<String>,
    campaign: Option<u64>,
}

struct Scored {
    posts: HashMap<String, ScoredPost>,
    order: Vec<String>,
    campaigns: HashMap<u64, Vec<String>>,
}

impl Scored {
    fn read(path: &str) -> Result<Self, Error> {
        let (reader, _, _) = open_input(path)?;
        let mut scored = Scored {
            posts: HashMap::new(),
            order: Vec::new(),
            campaigns: HashMap::new(),
        };
        for (number, line) in (1u64..).zip(reader.lines()) {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| Error::BadRecord {
                    path: path.to_owned(),
                    line: number,
                    reason: format!("not a scored line: {e}"),
                })?;
            let Some(id) = value.get("id").and_then(|v| v.as_str()) else {
                continue;
            };
            let campaign = value.get("campaign").and_then(|v| v.as_u64());
            let text = value
                .pointer("/kept/text")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            if let Some(c) = campaign {
                scored.campaigns.entry(c).or_default().push(id.to_owned());
            }
            scored.order.push(id.to_owned());
            scored
                .posts
                .insert(id.to_owned(), ScoredPost { text, campaign });
        }
        Ok(scored)
    }
}
