//! What the coordinator sends workers (the job, then one task at a time) and what they report.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::data::Partition;
use crate::feature::{DropCounts, FitPass, PassSummaries};
use crate::model::glm::FeatureStats;
use crate::model::trees::{Binning, DataSketch, Source, Split, TreeStart, ValueSketch};
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
    /// Bytes of feature blocks each worker may keep between passes (none: no limit).
    #[serde(default)]
    pub worker_memory: Option<u64>,
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
    /// Sketch partitions' tree features and labels (the bins and the starting score).
    TreeSketch {
        /// Partitions.
        partitions: Vec<usize>,
    },
    /// One step of growing a tree on partitions, its sums pushed at `clock`.
    Tree {
        /// Partitions.
        partitions: Vec<usize>,
        /// Shard phase.
        phase: u64,
        /// Clock.
        clock: u64,
        /// Where the partitions stand before the step (see [`TreeHistory::version`]).
        version: (usize, bool, usize),
        /// What to do.
        step: TreeStep,
        /// The trees so far, for partitions this worker does not hold up to date (its first
        /// tree task, or partitions of a lost worker): they are rebuilt from it first.
        catch_up: Option<Box<TreeHistory>>,
    },
    /// Connect to these shards from now on (a lost shard was replaced).
    Shards(Vec<String>),
    /// The job is over.
    Shutdown,
}

/// One step of growing trees, in this order: apply a split, finish the tree (add its leaf
/// values to the scores), start a tree (gradients, all rows in leaf 0), build a leaf's
/// histogram, sketch the leaves' residuals. What a step computes is pushed as one vector:
/// loss sums (2), root sums (3), then the histogram ([`TREE_PUSH_HEAD`] + 3 × bins).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeStep {
    /// `(leaf, split, right)`: the rows of `leaf` the split sends right move to `right`.
    pub apply: Option<(usize, Split, usize)>,
    /// The finished tree's leaf values.
    pub finish: Option<Vec<f64>>,
    /// The tree to start.
    pub start: Option<TreeStart>,
    /// The leaf whose histogram to push.
    pub build: Option<usize>,
    /// Sketch the residuals of this many leaves (returned, not pushed).
    pub residuals: Option<usize>,
}

/// Floats before the histogram in a tree push: loss sums (Σw·loss, Σw), root sums (g, h, c).
pub const TREE_PUSH_HEAD: usize = 5;

/// How every partition is binned: the tree features, their bins, the starting score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeSetup {
    /// Tree features and names.
    pub sources: Vec<(Source, String)>,
    /// Their bins.
    pub binning: Binning,
    /// The score every row starts from.
    pub init: f64,
}

/// A tree as grown: its start, its splits in order, its leaf values (once finished).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrownTree {
    /// How it started.
    pub start: TreeStart,
    /// `(leaf, split, right)` in the order they were made.
    pub splits: Vec<(usize, Split, usize)>,
    /// Leaf values.
    pub values: Vec<f64>,
}

/// Everything a partition's tree state follows from: rebuild it by binning the partition and
/// replaying the trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeHistory {
    /// The binning.
    pub setup: TreeSetup,
    /// Finished trees.
    pub trees: Vec<GrownTree>,
    /// The tree being grown (no values yet).
    pub current: Option<GrownTree>,
}

impl TreeHistory {
    /// `(finished trees, a tree started, its splits)`: where a partition following it stands.
    pub fn version(&self) -> (usize, bool, usize) {
        let current = self.current.as_ref();
        (
            self.trees.len(),
            current.is_some(),
            current.map_or(0, |t| t.splits.len()),
        )
    }
}

impl Task {
    /// The partitions a task covers (empty for whole-worker tasks).
    pub fn partitions(&self) -> &[usize] {
        match self {
            Task::Summarize { partitions, .. }
            | Task::Compute { partitions, .. }
            | Task::Sgd { partitions, .. }
            | Task::TreeSketch { partitions }
            | Task::Tree { partitions, .. } => partitions,
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
    /// A partition's tree features (source and name) and sketch.
    Sketch(Vec<(Source, String)>, DataSketch),
    /// Sketches of the residuals of each leaf (and the sums pushed).
    Residuals(Vec<ValueSketch>),
}

/// A task's result.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskOutput {
    /// One entry per partition of the task (none for whole-worker tasks).
    pub parts: Vec<(usize, PartOutput)>,
    /// Pushes the shards ignored as duplicates.
    pub duplicates: u32,
}
