//! `rumor-triage counts`: cleanup counts rebuilt from `score` output.

use std::process::ExitCode;

use rumor_triage::{counts_from_scored, Error};

use crate::args::{load_model, TimeArgs};
use crate::output::{open_input, print};

/// Cleanup counts from `score` output.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Scored JSONL, or - for stdin.
    #[arg(default_value = "-")]
    pub(crate) input: String,
    /// Accounts and campaigns to list (the largest first).
    #[arg(long, default_value_t = 20)]
    pub(crate) top: usize,
    #[command(flatten)]
    pub(crate) times: TimeArgs,
    /// The model that scored the posts (default: the shipped model): its training share
    /// is the prior of the prevalence estimate.
    #[arg(long)]
    pub(crate) model: Option<std::path::PathBuf>,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, Error> {
    let Args {
        input,
        top,
        times,
        model,
    } = args;
    let model = load_model(&model)?;
    let (counts, skipped) =
        counts_from_scored(open_input(&input)?.0, top, &times.parser()?, Some(&model))?;
    print(&(serde_json::to_string_pretty(&counts)? + "\n"))?;
    if skipped > 0 {
        eprintln!("skipped {skipped} lines that are not scored posts (rejects or not JSON)");
    }
    Ok(ExitCode::SUCCESS)
}
