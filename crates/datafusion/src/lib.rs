//! rumor-triage inside [Apache DataFusion](https://datafusion.apache.org) and
//! [Apache Ballista](https://datafusion.apache.org/ballista/): the scorer as SQL functions,
//! the cleanup counts as one SQL query, on one machine or a cluster.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> datafusion::common::Result<()> {
//! use datafusion::prelude::SessionContext;
//! let functions = rumor_triage_datafusion::TriageFunctions::new(rumor_triage::Model::load_default().unwrap()).unwrap();
//! let ctx = SessionContext::new();
//! rumor_triage_datafusion::register(&ctx, &functions);
//! let rows = ctx
//!     .sql("SELECT triage('网传明天有地震，请转发')['flagged'] AS flagged, post_day('Tue May 31 17:46:55 +0000 2011', 'Asia/Shanghai') AS day")
//!     .await?
//!     .collect()
//!     .await?;
//! assert_eq!(rows[0].num_rows(), 1);
//! # Ok(()) }
//! ```
//!
//! `docs/sql.md` describes the functions, the shipped query and running on a cluster.

mod cluster;
mod counts;
pub mod process;
mod tables;
mod udf;

pub use cluster::{
    check_model, executor_registry, scheduler_session_builder, session_state, ModelMismatch,
};
pub use counts::{Accounting, CountsQuery, CLEANUP_COUNTS_SQL};
pub use tables::{register_table, TableFormat};
pub use udf::{triage_fields, TriageFunctions};

use datafusion::prelude::SessionContext;

/// Registers the functions ([`TriageFunctions::udfs`]) on `ctx`, next to the built-ins.
pub fn register(ctx: &SessionContext, functions: &TriageFunctions) {
    for udf in functions.udfs() {
        ctx.register_udf(udf);
    }
}
