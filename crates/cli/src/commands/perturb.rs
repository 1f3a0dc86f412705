//! `rumor-triage perturb`: evasion copies of a labeled file's texts.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use rumor_triage::eval::Perturbation;
use rumor_triage::Error;

use crate::output::open_input;

/// Write perturbed copies of a labeled JSONL file's texts (evasion tests).
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Input JSONL, or - for stdin.
    #[arg(default_value = "-")]
    pub(crate) input: String,
    /// The perturbation: zero-width, homoglyphs, full-width, spaced-chinese,
    /// repeated-punctuation or case-games.
    #[arg(long)]
    pub(crate) kind: String,
    /// Seed of the edits (each line draws from seed + its line number).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// JSON field holding the text.
    #[arg(long, default_value = "text")]
    pub(crate) text_field: String,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, Error> {
    let Args {
        input,
        kind,
        seed,
        text_field,
    } = args;
    let perturbation = Perturbation::from_name(&kind).ok_or_else(|| {
        let names: Vec<&str> = Perturbation::ALL.iter().map(|p| p.name()).collect();
        Error::invalid_option(
            "--kind",
            format!("unknown perturbation {kind:?}; one of {names:?}"),
        )
    })?;
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    for (n, line) in open_input(&input)?.0.lines().enumerate() {
        let line = line?;
        let mut value: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| Error::BadRecord {
                path: input.clone(),
                line: n as u64 + 1,
                reason: format!("not JSON: {e}"),
            })?;
        let Some(text) = value.get_mut(&text_field) else {
            return Err(Error::MissingField {
                path: input.clone(),
                line: n as u64 + 1,
                field: text_field.clone(),
            });
        };
        if let Some(original) = text.as_str() {
            *text = perturbation
                .apply(original, seed.wrapping_add(n as u64))
                .into();
        }
        writeln!(stdout, "{value}")?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
