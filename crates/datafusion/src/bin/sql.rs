//! `rumor-triage sql`: SQL over tables of posts with the scoring functions registered, on
//! all local cores or on a Ballista cluster; `--counts` runs the shipped cleanup-count query.

use std::path::PathBuf;
use std::process::ExitCode;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use clap::Parser;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::common::{DataFusionError, Result};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{SessionConfig, SessionContext};
use rumor_triage::{FieldPath, Fields, Preset};
use rumor_triage_datafusion::process::{load_checked, run_main};
use rumor_triage_datafusion::{
    register, register_table, session_state, CountsQuery, TriageFunctions,
};

/// SQL over tables of posts, with triage(text), rumor_probability(text), campaign_key(text)
/// and post_day(time [, zone [, format]]) registered.
#[derive(Parser)]
#[command(name = "rumor-triage sql", version)]
struct Args {
    /// The query (not with --counts).
    #[arg(required_unless_present = "counts")]
    query: Option<String>,
    /// A table: NAME=PATH, PATH a .parquet or .jsonl/.ndjson/.json (.gz, .zst) file, a
    /// directory of them, or a glob (repeatable).
    #[arg(long = "table", value_name = "NAME=PATH", required = true)]
    tables: Vec<String>,
    /// Run the shipped cleanup-count query on table `posts` (or --counts-table) and print the
    /// counts as `rumor-triage score --counts` writes them.
    #[arg(long, conflicts_with = "query")]
    counts: bool,
    /// The table --counts reads.
    #[arg(long, default_value = "posts")]
    counts_table: String,
    /// Accounts and campaigns --counts lists.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Field paths of a platform's records (twitter-v1, twitter-v2, weibo, reddit), for --counts.
    #[arg(long, value_parser = ["twitter-v1", "twitter-v2", "weibo", "reddit"])]
    preset: Option<String>,
    /// Field holding the post text [default: text].
    #[arg(long)]
    text_field: Option<String>,
    /// Field holding the post id [default: id].
    #[arg(long)]
    id_field: Option<String>,
    /// Field holding the account [default: account].
    #[arg(long)]
    account_field: Option<String>,
    /// Field holding the platform [default: platform; none with --preset].
    #[arg(long)]
    platform_field: Option<String>,
    /// Field holding the posting time [default: time].
    #[arg(long)]
    time_field: Option<String>,
    /// Count days in this IANA zone (--counts).
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Read times only in this strftime format (--counts).
    #[arg(long)]
    time_format: Option<String>,
    /// Model file (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Refuse to run unless the model's SHA-256 is this (as `rumor-triage-executor` does).
    #[arg(long)]
    model_digest: Option<String>,
    /// How results are printed: a table, a JSON array, JSON lines or CSV.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "jsonl", "csv"])]
    format: String,
    /// Write the results to this file instead (.parquet, .jsonl or .csv; JSON with --counts).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Partitions and threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Run on the Ballista cluster whose scheduler is here (df://host:port).
    #[arg(long)]
    cluster: Option<String>,
}

impl Args {
    fn fields(&self) -> Result<Fields, rumor_triage::Error> {
        let mut fields = match &self.preset {
            Some(name) => Fields::preset(name.parse::<Preset>()?),
            None => Fields::default(),
        };
        for (field, given) in [
            (&mut fields.text, &self.text_field),
            (&mut fields.id, &self.id_field),
            (&mut fields.account, &self.account_field),
            (&mut fields.platform, &self.platform_field),
            (&mut fields.time, &self.time_field),
        ] {
            if let Some(path) = given {
                *field = FieldPath::from(path);
            }
        }
        Ok(fields)
    }
}

fn external(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

async fn context(args: &Args, functions: &TriageFunctions) -> Result<SessionContext> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let ctx = match &args.cluster {
        Some(url) => {
            let config = SessionConfig::new_with_ballista().with_target_partitions(threads);
            let ctx =
                SessionContext::remote_with_state(url, session_state(functions, config)).await?;
            // Ballista 55 swaps the state's scalar functions for its own list on the way
            // (`upgrade_for_ballista`), so the functions go on again.
            register(&ctx, functions);
            ctx
        }
        None => {
            let ctx = SessionContext::new_with_config(
                SessionConfig::new().with_target_partitions(threads),
            );
            register(&ctx, functions);
            ctx
        }
    };
    for table in &args.tables {
        let Some((name, path)) = table.split_once('=') else {
            return Err(DataFusionError::Configuration(format!(
                "--table {table}: give NAME=PATH"
            )));
        };
        register_table(&ctx, name, path).await?;
    }
    Ok(ctx)
}

fn print_batches(batches: &[RecordBatch], format: &str) -> Result<()> {
    use datafusion::arrow::{csv, json};
    let mut out = std::io::stdout().lock();
    match format {
        "json" => {
            let mut writer = json::ArrayWriter::new(&mut out);
            writer.write_batches(&batches.iter().collect::<Vec<_>>())?;
            writer.finish()?;
            println!();
        }
        "jsonl" => {
            let mut writer = json::LineDelimitedWriter::new(&mut out);
            writer.write_batches(&batches.iter().collect::<Vec<_>>())?;
            writer.finish()?;
        }
        "csv" => {
            let mut writer = csv::Writer::new(&mut out);
            for batch in batches {
                writer.write(batch)?;
            }
        }
        _ => println!("{}", pretty_format_batches(batches)?),
    }
    Ok(())
}

async fn run(args: Args) -> Result<()> {
    let (functions, _) = load_checked(args.model.as_deref(), args.model_digest.as_deref())
        .map_err(DataFusionError::External)?;
    let ctx = context(&args, &functions).await?;
    if args.counts {
        let mut query = CountsQuery::new(&args.counts_table)
            .fields(args.fields().map_err(external)?)
            .top(args.top)
            .time_zone(&args.tz);
        if let Some(format) = &args.time_format {
            query = query.time_format(format);
        }
        let (counts, accounting) = functions.cleanup_counts(&ctx, &query).await?;
        let json = serde_json::to_string_pretty(&counts).map_err(external)? + "\n";
        match &args.out {
            Some(path) => std::fs::write(path, json)?,
            None => print!("{json}"),
        }
        eprintln!(
            "rows {}: counted {}, rejected {} (missing_text {}, tokenizer {}); flagged {}",
            accounting.rows,
            accounting.counted,
            accounting.missing_text + accounting.tokenizer,
            accounting.missing_text,
            accounting.tokenizer,
            counts.flagged
        );
        return Ok(());
    }
    let query = args.query.as_deref().unwrap_or_default();
    let frame = ctx.sql(query).await?;
    match &args.out {
        Some(path) => {
            let path = path.to_string_lossy();
            let options = DataFrameWriteOptions::new().with_single_file_output(true);
            if path.ends_with(".parquet") {
                frame.write_parquet(&path, options, None).await?;
            } else if path.ends_with(".jsonl") || path.ends_with(".json") {
                frame.write_json(&path, options, None).await?;
            } else if path.ends_with(".csv") {
                frame.write_csv(&path, options, None).await?;
            } else {
                return Err(DataFusionError::Configuration(format!(
                    "--out {path}: name a .parquet, .jsonl or .csv file"
                )));
            }
        }
        None => print_batches(&frame.collect().await?, &args.format)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let threads = args.threads;
    run_main(threads, run(args))
}
