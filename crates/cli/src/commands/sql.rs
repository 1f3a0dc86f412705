//! `rumor-triage sql`: runs `rumor-triage-sql` (the workspace's DataFusion crate), which is
//! built apart so that this command line does not carry a query engine and its build.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use rumor_triage::Error;

/// What `rumor-triage-sql` takes; `rumor-triage sql --help` shows it.
#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub(crate) struct Args {
    /// Arguments for rumor-triage-sql.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

const PROGRAM: &str = "rumor-triage-sql";

/// `rumor-triage-sql` next to this program (where `cargo build` and `cargo install` put
/// both), else the name alone, for the search path.
fn program() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(PROGRAM)))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(PROGRAM))
}

pub(crate) fn run(args: Args) -> Result<ExitCode, Error> {
    let program = program();
    match std::process::Command::new(&program)
        .args(&args.args)
        .status()
    {
        Ok(status) => Ok(match status.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(2)),
            None => ExitCode::from(2),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::invalid_option(
            "sql",
            "needs the rumor-triage-sql program, next to rumor-triage or on the PATH: \
             cargo install --path crates/datafusion (docs/sql.md)",
        )),
        Err(e) => Err(Error::io(&program, e)),
    }
}
