//! What the coordinator sends workers (the job, then one task at a time) and what they report.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::data::Partition;
use crate::feature::{DropCounts, FitPass, PassSummaries};
use crate::model::glm::FeatureStats;
use crate::ps::Precision;

use super::ClusterJob;

/// The job as every worker needs it: read the same files, cut the same partitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    /// The files, the unfitted pipeline and the checked learner.
    pub job: ClusterJob,
    /// The partitions, as the coordinator planned them (workers do not re-plan).
    pub partitions: Vec<Partition>,
    /// Columns to read (the pipeline's inputs).
    pub columns: Vec<String>,
    /// Parameter-server shard addresses, in shard order.
    pub shards: Vec<String>,
}

/// A per-partition statistic a worker computes and pushes to the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Statistic {
    /// Feature sums and squares (scaling for the iterative solvers).
    FeatureStats,
    /// Normal-equation statistics.
    Gram,
    /// Loss and gradient at the parameters published for the clock.
    Gradient,
}

/// One unit of work.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum Task {
    /// Open the data and connect to the shards.
    Setup(JobSpec),
    /// Summarise partitions for one pass of the feature pipeline's fit.
    Summarize {
        /// Partitions to summarise.
        partitions: Vec<usize>,
        /// The pass.
        pass: FitPass,
    },
    /// The fitted pipeline (JSON of `FittedPipeline::to_json`).
    Pipeline(String),
    /// Compute a statistic on partitions and push it at `clock`.
    Compute {
        /// Partitions.
        partitions: Vec<usize>,
        /// Shard phase.
        phase: u64,
        /// Clock.
        clock: u64,
        /// What to compute.
        statistic: Statistic,
    },
    /// Run SGD clocks on partitions: pull, mini-batch gradient, push.
    Sgd {
        /// Partitions.
        partitions: Vec<usize>,
        /// Shard phase.
        phase: u64,
        /// The epoch (selects the shuffle).
        epoch: u64,
        /// Clocks of the epoch (global clock numbers).
        clocks: Range<u64>,
        /// Feature statistics (the objective's scaling).
        stats: FeatureStats,
        /// Wire precision of pulls and pushes.
        precision: Precision,
    },
    /// The job is over.
    Shutdown,
}

impl Task {
    /// The partitions a task covers (empty for whole-worker tasks).
    pub fn partitions(&self) -> &[usize] {
        match self {
            Task::Summarize { partitions, .. }
            | Task::Compute { partitions, .. }
            | Task::Sgd { partitions, .. } => partitions,
            _ => &[],
        }
    }
}

/// What a worker learned about one partition while transforming it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartInfo {
    /// Rows in the feature block.
    pub rows: usize,
    /// Rows read from the files.
    pub rows_read: u64,
    /// Rows dropped by the pipeline.
    pub dropped: DropCounts,
}

/// The result of one partition's share of a task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PartOutput {
    /// Feature-pipeline summaries.
    Summaries(PassSummaries),
    /// Pushed to the shards.
    Pushed(PartInfo),
}

/// A task's result.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskOutput {
    /// One entry per partition of the task (none for whole-worker tasks).
    pub parts: Vec<(usize, PartOutput)>,
    /// Pushes the shards ignored as duplicates.
    pub duplicates: u32,
}
