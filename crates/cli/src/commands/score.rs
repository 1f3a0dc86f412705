//! `rumor-triage score`: a dump in, one line per record out; files are written crash-safe
//! and a killed run continues with `--resume` (the protocol is the library's `OutputFiles`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rumor_triage::{
    is_parquet, Error, FieldPath, InputFormat, OutputFiles, ParquetOutput, Scorer, Summary,
};

use crate::args::{load_model, set_threads, FieldArgs};
use crate::output::{open_dump, progress_bar, write_json};

/// Score a JSONL or CSV dump (plain, gzip or zstd): one output line per post.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Input JSONL or CSV (plain, gzip or zstd), or - for stdin.
    #[arg(default_value = "-")]
    pub(crate) input: String,
    /// Input format; auto means CSV for a name ending in .csv or .csv.gz, else JSONL.
    #[arg(long, default_value = "auto", value_parser = ["auto", "jsonl", "csv"])]
    pub(crate) format: String,
    /// Model file (default: the shipped model).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// Output file (JSON lines; Parquet for a name ending in .parquet), or - for stdout.
    #[arg(long, default_value = "-")]
    pub(crate) out: String,
    #[command(flatten)]
    pub(crate) fields: FieldArgs,
    /// Write rejected lines here instead of inline.
    #[arg(long)]
    pub(crate) rejects: Option<PathBuf>,
    /// Write the run's cleanup counts here as JSON.
    #[arg(long)]
    pub(crate) counts: Option<PathBuf>,
    /// Write the run's summary here as JSON.
    #[arg(long)]
    pub(crate) summary: Option<PathBuf>,
    /// Override the model's threshold.
    #[arg(long)]
    pub(crate) threshold: Option<f32>,
    /// Read the input twice: first estimate its rumor share (the counts' prevalence), then
    /// flag with the threshold re-set for that share instead of the training data's (needs
    /// an input file).
    #[arg(long, conflicts_with_all = ["threshold", "resume"])]
    pub(crate) adapt_threshold: bool,
    /// Only write flagged posts.
    #[arg(long)]
    pub(crate) only_flagged: bool,
    /// Do not group flagged posts into near-duplicate campaigns (no `campaign` field, no
    /// campaigns in the counts; about a fifth faster).
    #[arg(long)]
    pub(crate) no_campaigns: bool,
    /// Add the top K n-grams to each flagged line.
    #[arg(long, default_value_t = 0)]
    pub(crate) explain: usize,
    /// Reject lines longer than this many bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub(crate) max_line_bytes: usize,
    /// Copy these input fields (dotted paths, comma-separated) into each output line
    /// under "kept", e.g. --keep text,user.screen_name.
    #[arg(long, value_delimiter = ',')]
    pub(crate) keep: Vec<String>,
    /// Stop with exit code 2 when more than this share of the records read are rejected
    /// (checked after the first chunk and at the end), e.g. 0.05.
    #[arg(long)]
    pub(crate) max_reject_rate: Option<f64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// No summary or progress bar on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Continue an interrupted run with the same arguments: skip the records its output
    /// already holds and append the rest (needs --out FILE).
    #[arg(long)]
    pub(crate) resume: bool,
}

/// The first pass of `--adapt-threshold`: the input scored without output or campaigns,
/// and its estimated rumor share.
fn estimate_prevalence(
    scorer: &Scorer<'_>,
    input: &str,
    fields: &rumor_triage::Fields,
) -> Result<rumor_triage::Prevalence, Error> {
    if input == "-" {
        return Err(Error::invalid_option(
            "adapt-threshold",
            "reads the input twice, so it needs an input file, not stdin",
        ));
    }
    let (reader, _, _) = open_dump(input, Some((fields, &[])))?;
    let summary = scorer
        .clone()
        .campaigns(false)
        .only_flagged(true)
        .explain(0)
        .score(reader, &mut std::io::sink())?;
    summary.counts.prevalence.ok_or_else(|| {
        Error::InvalidInput(format!(
            "no posts in {input} to estimate the rumor share from"
        ))
    })
}

pub(crate) fn run(args: Args) -> Result<ExitCode, Error> {
    let Args {
        input,
        format,
        model,
        out,
        fields,
        rejects,
        counts,
        summary,
        threshold,
        adapt_threshold,
        only_flagged,
        no_campaigns,
        explain,
        max_line_bytes,
        keep,
        max_reject_rate,
        threads,
        quiet,
        resume,
    } = args;
    set_threads(threads)?;
    let model = load_model(&model)?;
    let paths = fields.fields()?;
    let kept: Vec<FieldPath> = keep.iter().map(FieldPath::from).collect();
    let parquet_in = input != "-" && is_parquet(&input);
    let (reader, size, bytes_read) = open_dump(&input, Some((&paths, &kept)))?;
    let mut scorer = Scorer::new(&model)
        .format(match format.as_str() {
            "csv" if !parquet_in => InputFormat::Csv,
            "auto" if !parquet_in => InputFormat::from_path(&input),
            _ => InputFormat::Jsonl,
        })
        .fields(paths)
        .times(fields.times.parser()?)
        .keep(kept.iter().cloned())
        .max_line_bytes(max_line_bytes)
        .only_flagged(only_flagged)
        .campaigns(!no_campaigns)
        .explain(explain);
    if let Some(threshold) = threshold {
        scorer = scorer.threshold(threshold);
    }
    if adapt_threshold {
        let estimate = estimate_prevalence(&scorer, &input, &fields.fields()?)?;
        let adapted = estimate.adapted_threshold(model.threshold());
        if !quiet {
            eprintln!(
                "rumor-triage: estimated rumor share {:.4} (training {:.4}); threshold {:.4} -> {adapted:.4}",
                estimate.share,
                estimate.training_share,
                model.threshold(),
            );
        }
        scorer = scorer.threshold(adapted);
    }
    if let Some(share) = max_reject_rate {
        scorer = scorer.max_reject_rate(share);
    }
    let bar = progress_bar(quiet, size);
    let started = Instant::now();
    let mut warned = 0;
    let mut on_chunk = |so_far: &Summary| {
        if !quiet {
            for warning in so_far.warnings.iter().skip(warned) {
                match &bar {
                    Some(bar) => bar.suspend(|| eprintln!("rumor-triage: warning: {warning}")),
                    None => eprintln!("rumor-triage: warning: {warning}"),
                }
            }
        }
        warned = so_far.warnings.len();
        if let Some(bar) = &bar {
            bar.set_position(bytes_read.load(Ordering::Relaxed));
            let rate = so_far.read as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{} posts, {rate:.0} posts/s", so_far.read));
        }
    };
    let result = if out.to_ascii_lowercase().ends_with(".parquet") {
        if resume {
            return Err(Error::Resume(
                "Parquet output cannot be resumed (its footer is written at the end)".into(),
            ));
        }
        score_to_parquet(
            &scorer,
            reader,
            &out,
            rejects.as_deref(),
            &kept,
            &mut on_chunk,
        )?
    } else if out == "-" {
        if resume {
            return Err(Error::Resume("--resume needs --out FILE".into()));
        }
        let mut rejects_file = match &rejects {
            Some(path) => Some(BufWriter::new(
                File::create(path).map_err(|e| Error::io(path, e))?,
            )),
            None => None,
        };
        let mut stdout = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        let result = scorer.score_to(
            reader,
            &mut stdout,
            rejects_file.as_mut().map(|w| w as &mut dyn Write),
            &mut on_chunk,
        )?;
        stdout.flush()?;
        if let Some(mut w) = rejects_file {
            w.flush()?;
        }
        result
    } else {
        let mut files = OutputFiles::new(&out).resume(resume);
        if let Some(path) = &rejects {
            files = files.rejects(path);
        }
        if resume && only_flagged && counts.is_some() && files.interrupted() {
            return Err(Error::Resume(
                "--counts cannot be rebuilt from --only-flagged output".into(),
            ));
        }
        scorer.score_files(reader, &files, &mut on_chunk)?
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(path) = &counts {
        write_json(path, &result.counts)?;
    }
    if let Some(path) = &summary {
        write_json(path, &result)?;
    }
    if !quiet {
        eprintln!(
            "read {} scored {} rejected {} skipped {} flagged {} in {:.3} s ({:.0} posts/s)",
            result.read,
            result.scored,
            result.rejected,
            result.skipped,
            result.flagged,
            result.seconds,
            result.posts_per_second
        );
    }
    Ok(if result.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Scores into a Parquet file, written as `OUT.partial` and renamed when complete; rejects
/// go to their own JSON-lines file (`OUT.rejects.jsonl` unless --rejects names one).
fn score_to_parquet(
    scorer: &Scorer<'_>,
    reader: impl std::io::BufRead,
    out: &str,
    rejects: Option<&std::path::Path>,
    kept: &[FieldPath],
    on_chunk: &mut dyn FnMut(&Summary),
) -> Result<Summary, Error> {
    let partial = format!("{out}.partial");
    let file = File::create(&partial).map_err(|e| Error::io(&partial, e))?;
    let mut parquet = ParquetOutput::new(BufWriter::new(file), kept)?;
    let rejects_path = rejects.map_or_else(
        || PathBuf::from(format!("{out}.rejects.jsonl")),
        PathBuf::from,
    );
    let mut rejects_file =
        BufWriter::new(File::create(&rejects_path).map_err(|e| Error::io(&rejects_path, e))?);
    let summary = scorer.score_to(reader, &mut parquet, Some(&mut rejects_file), on_chunk)?;
    rejects_file
        .flush()
        .map_err(|e| Error::io(&rejects_path, e))?;
    parquet.finish()?;
    std::fs::rename(&partial, out).map_err(|e| Error::io(out, e))?;
    Ok(summary)
}
