//! Trainers: run a learner's per-block pieces over partitions and hand them to a solver; and
//! the training job (`distml train`) built on them.

pub mod config;
mod features;
pub mod local;
mod reduce;
mod summary;

pub use config::{ConfigError, Preset, TrainConfig};
pub use features::pipeline_spec;
pub use local::fit_local;
pub use reduce::tree_reduce;
pub use summary::TrainSummary;
