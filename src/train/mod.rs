//! Trainers: run a learner's per-block pieces over partitions and hand them to a solver.

pub mod local;
mod reduce;
mod summary;

pub use local::fit_local;
pub use reduce::tree_reduce;
pub use summary::TrainSummary;
