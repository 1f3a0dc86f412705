//! The functions on a Ballista cluster. A query plan carries only a function's name, so
//! the client, the scheduler and every executor each hold the functions themselves; each
//! process loads the model from its own path and checks it against the digest the
//! operator gives ([`check_model`]), so that no executor scores with another model.

use std::collections::HashMap;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_scheduler::scheduler_server::SessionBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionConfig;

use crate::TriageFunctions;

/// A model whose digest is not the one a process was started to expect.
///
/// ```
/// let m = rumor_triage_datafusion::ModelMismatch { path: "m.rtm".into(), expected: "ab".into(), found: "cd".into() };
/// assert!(m.to_string().contains("m.rtm"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model {path} has digest {found}, not the expected {expected}: every process of a cluster must load the same model file")]
pub struct ModelMismatch {
    /// The model file (or `the shipped model`).
    pub path: String,
    /// The digest asked for.
    pub expected: String,
    /// The loaded model's digest.
    pub found: String,
}

/// Checks that `functions` hold the model of digest `expected` (when one is given; case is
/// ignored), for the process that loaded it from `path`.
///
/// ```
/// use rumor_triage_datafusion::{check_model, TriageFunctions};
/// let functions = TriageFunctions::new(rumor_triage::Model::load_default()?)?;
/// assert!(check_model(&functions, "default", Some(functions.digest())).is_ok());
/// assert!(check_model(&functions, "default", Some("00")).is_err());
/// assert!(check_model(&functions, "default", None).is_ok());
/// # Ok::<(), rumor_triage::Error>(())
/// ```
pub fn check_model(
    functions: &TriageFunctions,
    path: &str,
    expected: Option<&str>,
) -> Result<(), ModelMismatch> {
    match expected {
        Some(expected) if !expected.eq_ignore_ascii_case(functions.digest()) => {
            Err(ModelMismatch {
                path: path.to_owned(),
                expected: expected.to_owned(),
                found: functions.digest().to_owned(),
            })
        }
        _ => Ok(()),
    }
}

/// A session state with DataFusion's default functions and `functions` on top (replacing
/// the defaults with `with_scalar_functions` would drop the built-ins), for a client
/// (`SessionContext::remote_with_state`) or a standalone cluster.
///
/// ```
/// use rumor_triage_datafusion::{session_state, TriageFunctions};
/// let functions = TriageFunctions::new(rumor_triage::Model::load_default()?)?;
/// let state = session_state(&functions, datafusion::prelude::SessionConfig::new());
/// assert!(state.scalar_functions().contains_key("triage") && state.scalar_functions().contains_key("lower"));
/// # Ok::<(), rumor_triage::Error>(())
/// ```
pub fn session_state(functions: &TriageFunctions, config: SessionConfig) -> SessionState {
    let mut builder = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features();
    if let Some(scalars) = builder.scalar_functions() {
        scalars.extend(functions.udfs().into_iter().map(Arc::new));
    }
    builder.build()
}

/// The scheduler's session builder: each job's session state holds `functions`.
pub fn scheduler_session_builder(functions: &TriageFunctions) -> SessionBuilder {
    let functions = functions.clone();
    Arc::new(move |config: SessionConfig| Ok(session_state(&functions, config)))
}

/// An executor's function registry: Ballista's defaults and `functions`.
///
/// ```
/// use rumor_triage_datafusion::{executor_registry, TriageFunctions};
/// let functions = TriageFunctions::new(rumor_triage::Model::load_default()?)?;
/// let registry = executor_registry(&functions);
/// assert!(registry.scalar_functions.contains_key("rumor_probability"));
/// # Ok::<(), rumor_triage::Error>(())
/// ```
pub fn executor_registry(functions: &TriageFunctions) -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    let ours: HashMap<String, Arc<ScalarUDF>> = functions
        .udfs()
        .into_iter()
        .map(|udf| (udf.name().to_owned(), Arc::new(udf)))
        .collect();
    registry.scalar_functions.extend(ours);
    registry
}
