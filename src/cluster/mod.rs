//! Training across processes: a coordinator (the `train` process) plans partitions, assigns
//! them to worker processes (`distml worker`) and drives iterations; parameter-server shards
//! (`distml ps`, [`crate::ps`]) sum the workers' pushes. On one machine [`fit_distributed`]
//! spawns the processes itself on 127.0.0.1; on a cluster any launcher starts them and they
//! meet through the environment ([`rendezvous`]).
//!
//! ```no_run
//! use distml::cluster::{fit_distributed, ClusterOptions};
//! use distml::train::TrainConfig;
//!
//! let config = TrainConfig { data: vec!["trips.parquet".into()], ..Default::default() };
//! let options = ClusterOptions { workers: 4, ps_shards: 2, ..Default::default() };
//! let fit = fit_distributed(&config, &options, &|line| eprintln!("{line}"))?;
//! println!("{} coefficients from {} workers", fit.model.coefficients.len(), fit.workers);
//! # Ok::<(), distml::cluster::ClusterError>(())
//! ```

mod checkpoint;
mod coordinator;
mod driver;
mod error;
pub mod job;
mod launcher;
mod member;
mod options;
pub mod rendezvous;
mod sgd;
mod shard_member;
mod vectors;
mod worker;

pub use error::ClusterError;
pub use options::{ClusterEvent, ClusterOptions, Consistency, EventSink, Launch};
pub use shard_member::run_shard;
pub use worker::run_worker;

use crate::feature::{DropCounts, FittedPipeline};
use crate::model::LinearModel;
use crate::train::{TrainConfig, TrainSummary};

/// The result of a distributed fit.
#[derive(Debug, Clone)]
pub struct DistributedFit {
    /// The feature pipeline, fitted from the workers' merged partition summaries.
    pub pipeline: FittedPipeline,
    /// The model.
    pub model: LinearModel,
    /// Solver, iterations, objective history, rows and time.
    pub summary: TrainSummary,
    /// Workers that started the job.
    pub workers: usize,
    /// Rows read from the training files.
    pub rows_read: u64,
    /// Rows dropped by the pipeline, per reason.
    pub dropped: DropCounts,
}

/// Fits `config` with worker and parameter-server processes; `progress` receives one line per
/// stage and iteration.
pub fn fit_distributed(
    config: &TrainConfig,
    options: &ClusterOptions,
    progress: &dyn Fn(&str),
) -> Result<DistributedFit, ClusterError> {
    driver::run(config, options, progress)
}
