//! `rumor-triage-executor`: a Ballista executor with the scoring functions compiled in,
//! refusing to start with a model other than the one the operator names by digest.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ballista_executor::config::Config;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use clap::Parser;
use rumor_triage_datafusion::executor_registry;
use rumor_triage_datafusion::process::{init_logging, load_checked, run_main};

/// A Ballista executor with the rumor-triage functions.
#[derive(Parser)]
#[command(name = "rumor-triage-executor", version)]
struct Args {
    /// Model file (default: the shipped model); every process of the cluster loads the same.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Refuse to start unless the model's SHA-256 is this (what `sha256sum MODEL` prints).
    #[arg(long)]
    model_digest: Option<String>,
    #[command(flatten)]
    ballista: Config,
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (functions, name) = load_checked(args.model.as_deref(), args.model_digest.as_deref())?;
    let mut config: ExecutorProcessConfig = args.ballista.try_into()?;
    config.override_function_registry = Some(Arc::new(executor_registry(&functions)));
    eprintln!(
        "rumor-triage-executor on port {} for scheduler {}:{}, model {name} (sha256 {})",
        config.port,
        config.scheduler_host,
        config.scheduler_port,
        functions.digest()
    );
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    run_main(None, run(args))
}
