//! Training across processes: a coordinator (the `train` process) plans partitions, assigns
//! them to worker processes (`distml worker`) and drives iterations; parameter-server shards
//! (`distml ps`, [`crate::ps`]) sum the workers' pushes. On one machine [`fit_distributed`]
//! spawns the processes itself on 127.0.0.1; on a cluster any launcher starts them and they
//! meet through the environment ([`rendezvous`]).
//!
//! ```no_run
//! use distml::cluster::{fit_distributed, ClusterJob, ClusterOptions};
//! use distml::feature::presets;
//! use distml::model::Learner;
//!
//! let job = ClusterJob {
//!     data: vec!["trips.parquet".into()],
//!     partitions: None,
//!     pipeline: presets::taxi(),
//!     learner: Learner::with_settings("ridge".parse()?, [("reg", "0.001")])?,
//!     valid: Vec::new(),
//! };
//! let options = ClusterOptions { workers: 4, ps_shards: 2, ..Default::default() };
//! let fit = fit_distributed(&job, &options, &|line| eprintln!("{line}"))?;
//! println!("{} features from {} workers", fit.pipeline.layout().width(), fit.workers);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod block_cache;
mod checkpoint;
pub(crate) mod coordinator;
mod driver;
mod error;
mod glm_sums;
pub mod job;
pub(crate) mod launcher;
pub(crate) mod member;
mod options;
mod pipeline_fit;
pub mod rendezvous;
mod replay;
mod rounds;
mod settings;
mod sgd;
mod sgd_driver;
mod shard_member;
mod tree_sums;
mod tree_worker;
mod vectors;
mod worker;

pub use error::ClusterError;
pub use options::{
    local_process_cap, ClusterEvent, ClusterOptions, Consistency, EventSink, Launch,
    LOCAL_PROCESSES_PER_CORE,
};
pub use settings::ClusterSettings;
pub use shard_member::run_shard;
pub use worker::run_worker;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::ReadOptions;
use crate::feature::{DropCounts, FittedPipeline, PipelineSpec};
use crate::model::{Learner, Model, TrainSummary};

/// What a distributed fit is given: the files, the unfitted pipeline and the checked learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterJob {
    /// Training files, directories or globs (every worker reads them by path).
    pub data: Vec<PathBuf>,
    /// Partition count (default: one per row group / 64 MiB of CSV, at least one per core).
    pub partitions: Option<usize>,
    /// The unfitted feature pipeline.
    pub pipeline: PipelineSpec,
    /// The learner and its checked parameters.
    pub learner: Learner,
    /// Validation files, which the coordinator reads (trees report their loss on them and
    /// stop early by it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub valid: Vec<PathBuf>,
}

impl ClusterJob {
    /// How the files are opened.
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            partitions: self.partitions,
            ..Default::default()
        }
    }
}

/// The result of a distributed fit.
#[derive(Debug, Clone)]
pub struct DistributedFit {
    /// The feature pipeline, fitted from the workers' merged partition summaries.
    pub pipeline: FittedPipeline,
    /// The model.
    pub model: Model,
    /// Solver, iterations, objective history, rows and time.
    pub summary: TrainSummary,
    /// Workers that started the job.
    pub workers: usize,
    /// Rows read from the training files.
    pub rows_read: u64,
    /// Rows dropped by the pipeline, per reason.
    pub dropped: DropCounts,
}

/// Fits `job` with worker and parameter-server processes; `progress` receives one line per
/// stage and iteration.
pub fn fit_distributed(
    job: &ClusterJob,
    options: &ClusterOptions,
    progress: &dyn Fn(&str),
) -> Result<DistributedFit, ClusterError> {
    driver::run(job, options, progress)
}
