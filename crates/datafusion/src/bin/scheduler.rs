//! `rumor-triage-scheduler`: a Ballista scheduler whose sessions hold the scoring
//! functions (Ballista's own options, plus the model).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{Config, SchedulerConfig};
use ballista_scheduler::scheduler_process::start_server;
use clap::Parser;
use rumor_triage_datafusion::process::{init_logging, load_checked, run_main};
use rumor_triage_datafusion::scheduler_session_builder;

/// A Ballista scheduler with the rumor-triage functions.
#[derive(Parser)]
#[command(name = "rumor-triage-scheduler", version)]
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
    let address = format!("{}:{}", args.ballista.bind_host, args.ballista.bind_port).parse()?;
    let config: SchedulerConfig = args.ballista.try_into()?;
    let config = config.with_override_session_builder(scheduler_session_builder(&functions));
    let cluster = BallistaCluster::new_from_config(&config).await?;
    eprintln!(
        "rumor-triage-scheduler on {address}, model {name} (sha256 {})",
        functions.digest()
    );
    start_server(cluster, address, Arc::new(config)).await?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    run_main(None, run(args))
}
