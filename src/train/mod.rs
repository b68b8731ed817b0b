//! Training jobs: the job's settings ([`JobConfig`]), the local trainer ([`LocalSums`]: the
//! learners' sums over this process's blocks), and the `distml train` job built on them.

mod blocks;
pub mod config;
mod error;
mod features;
pub mod job;
mod linfa;
pub mod local;
mod local_trees;
pub mod report;
pub mod split;
pub mod store;
mod summary;

pub use blocks::Blocks;
pub use config::{
    ConfigError, DataSettings, FeatureSettings, JobConfig, JobFlags, LearnerArgs, OutputSettings,
    Preset,
};
pub use error::JobError;
pub use features::pipeline_spec;
pub use job::{run_tracked, run_train, run_train_on, JobProgress, TrainOutcome};
pub use local::{check_blocks, fit_local, fit_local_with, gram_of, LocalSums};
pub use summary::{JobSummary, PhaseSeconds};
