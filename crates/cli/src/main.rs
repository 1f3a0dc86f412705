//! The `rumor-triage` command line: argument parsing and dispatch over the library, one file
//! per command under `commands/`.

mod args;
mod commands;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Shown under `--help`: what a first run looks like and what the exit codes mean.
const AFTER_HELP: &str = "\
Examples:
  rumor-triage score posts.jsonl --out scored.jsonl --counts counts.json
  rumor-triage explain \"BREAKING: unconfirmed reports of a second gunman\"
  rumor-triage train --input train.jsonl --out model.rtm
  rumor-triage eval --group-by event --input pheme.jsonl

Exit codes: 0 every line scored (or the command succeeded), 1 some input lines were
rejected (each one is reported), 2 a fatal error. A closed output pipe ends quietly.
Reference: docs/cli.md.";

#[derive(Parser)]
#[command(
    name = "rumor-triage",
    version,
    about = "Flag candidate rumor posts for human review",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from labeled JSONL or CSV files.
    Train(commands::train::Args),
    /// Score a JSONL or CSV dump: one output line per input record.
    Score(commands::score::Args),
    /// Evaluate: a model on a test file, or train-and-test under a protocol (a given
    /// test file with --train, --kfold, --group-by, --chrono).
    Eval(commands::eval::Args),
    /// Explain the score of one text: the n-grams that moved it most.
    Explain(commands::explain::Args),
    /// Cleanup counts from `score` output.
    Counts(commands::counts::Args),
    /// Write perturbed copies of a labeled JSONL file's texts (evasion tests).
    Perturb(commands::perturb::Args),
    /// Show what a model holds.
    Info(commands::info::Args),
    /// The review loop: record reviewer decisions in a checked log, export them.
    #[command(subcommand)]
    Review(commands::review::Command),
    /// SQL over Parquet and NDJSON tables with the scoring functions, on all cores or a
    /// Ballista cluster; --counts runs the cleanup-count query (runs rumor-triage-sql).
    Sql(commands::sql::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Train(args) => commands::train::run(args),
        Command::Score(args) => commands::score::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Explain(args) => commands::explain::run(args),
        Command::Counts(args) => commands::counts::run(args),
        Command::Perturb(args) => commands::perturb::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Review(command) => commands::review::run(command),
        Command::Sql(args) => commands::sql::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rumor-triage: {e}");
            ExitCode::from(2)
        }
    }
}
