//! What the three programs (`rumor-triage-sql`, `-scheduler`, `-executor`) share: loading
//! and checking the model, and running on a Tokio runtime with a clear exit.

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;

use rumor_triage::Model;

use crate::{check_model, TriageFunctions};

/// The functions of the model at `path` (the shipped model without one), refused unless its
/// digest is `expected` when given; with the model's name for messages.
///
/// ```
/// let (functions, name) = rumor_triage_datafusion::process::load_checked(None, None).unwrap();
/// assert_eq!(name, "the shipped model");
/// assert!(rumor_triage_datafusion::process::load_checked(None, Some("00")).is_err());
/// # let _ = functions;
/// ```
pub fn load_checked(
    path: Option<&Path>,
    expected: Option<&str>,
) -> Result<(TriageFunctions, String), Box<dyn std::error::Error + Send + Sync>> {
    let model = match path {
        Some(path) => Model::load(path)?,
        None => Model::load_default()?,
    };
    let functions = TriageFunctions::new(model)?;
    let name = path.map_or("the shipped model".to_owned(), |p| p.display().to_string());
    check_model(&functions, &name, expected)?;
    Ok((functions, name))
}

/// Runs `work` on a multi-threaded runtime (`threads` workers, default all cores) and turns
/// its error into a message on stderr and exit code 2.
pub fn run_main<E: std::fmt::Display>(
    threads: Option<usize>,
    work: impl Future<Output = Result<(), E>>,
) -> ExitCode {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Logs to stderr as Ballista's own programs do (`RUST_LOG`, default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
