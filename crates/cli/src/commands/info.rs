//! `rumor-triage info`: what a model file holds.

use std::path::PathBuf;
use std::process::ExitCode;

use rumor_triage::Error;

use crate::args::load_model;
use crate::output::print;

/// Show what a model holds.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Model file (default: the shipped model).
    pub(crate) model: Option<PathBuf>,
    /// Print the embedded tokenizer.json instead.
    #[arg(long)]
    pub(crate) tokenizer_json: bool,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, Error> {
    let Args {
        model,
        tokenizer_json,
    } = args;
    let model = load_model(&model)?;
    if tokenizer_json {
        print(&format!("{}\n", model.tokenizer_json()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let out = serde_json::to_string_pretty(&model.info())?;
    print(&(out + "\n"))?;
    Ok(ExitCode::SUCCESS)
}
