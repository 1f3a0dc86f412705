//! `rumor-triage explain`: the n-grams behind one text's score.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use rumor_triage::Error;

use crate::args::load_model;
use crate::output::print;

/// Explain the score of one text: the n-grams that moved it most.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The text.
    pub(crate) text: String,
    /// Model file (default: the shipped model).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// How many n-grams to show.
    #[arg(long, short, default_value_t = 10)]
    pub(crate) k: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, Error> {
    let Args {
        text,
        model,
        k,
        json,
    } = args;
    let model = load_model(&model)?;
    let why = model.explain(&text, k)?;
    if json {
        print(&(serde_json::to_string_pretty(&why)? + "\n"))?;
    } else {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "label {}  probability {:.4}  flagged {}  (margin {:.4} = bias {:.4} + {} features)",
            why.score.label,
            why.score.probability,
            why.score.flagged,
            why.margin,
            why.bias,
            why.features
        );
        if why.score.insufficient_text {
            let _ = writeln!(
                text,
                "insufficient text: fewer than {} distinct content tokens, so the probability \
                 is the model's with no evidence and the post is never flagged",
                model.feature_config().min_content_tokens
            );
        }
        for c in &why.top {
            let _ = writeln!(text, "{:>+9.4}  {}", c.contribution, c.ngram);
        }
        print(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
