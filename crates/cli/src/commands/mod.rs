//! One module per subcommand: its arguments (`Args`) and its `run`.

pub(crate) mod counts;
pub(crate) mod eval;
pub(crate) mod explain;
pub(crate) mod info;
pub(crate) mod perturb;
pub(crate) mod review;
pub(crate) mod score;
pub(crate) mod sql;
pub(crate) mod train;
