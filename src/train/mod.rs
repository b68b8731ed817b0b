//! Trainers: run a learner's per-block pieces over partitions and hand them to a solver; and
//! the training job (`distml train`) built on them.

pub mod config;
mod error;
mod evaluate;
mod features;
pub mod job;
pub mod local;
pub mod split;
mod summary;

pub use config::{ConfigError, Preset, TrainConfig};
pub use error::JobError;
pub use evaluate::evaluate_blocks;
pub use features::pipeline_spec;
pub use job::{run_train, run_train_on, JobProgress, JobSummary, PhaseSeconds, TrainOutcome};
pub use local::{fit_local, gram_of};
pub use summary::TrainSummary;
