//! How a map/reduce job runs, and what it reports.

use std::path::PathBuf;

use serde::Serialize;

use crate::cluster::ClusterOptions;

/// Shuffle bytes held in memory by default before runs spill to disk.
pub const DEFAULT_MEMORY_BUDGET: u64 = 1 << 30;

/// Settings of a map/reduce run.
#[derive(Debug, Clone)]
pub struct MapReduceOptions {
    /// Map splits (default: one per 8 MiB of text or row group, at least two per core).
    pub splits: Option<usize>,
    /// Reduce partitions (default: as many as splits, at most 64).
    pub reducers: Option<usize>,
    /// Run the job's combiner on the map side and while merging (default on).
    pub combine: bool,
    /// Shuffle bytes held in memory; sorted runs beyond it spill to `spill_dir`.
    pub memory_budget: u64,
    /// Where spilled runs go (default: the system's temporary directory); removed afterwards.
    pub spill_dir: Option<PathBuf>,
    /// Run across worker processes (`None`: in this process, on rayon's threads).
    pub cluster: Option<ClusterOptions>,
}

impl Default for MapReduceOptions {
    fn default() -> Self {
        MapReduceOptions {
            splits: None,
            reducers: None,
            combine: true,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            spill_dir: None,
            cluster: None,
        }
    }
}

impl MapReduceOptions {
    /// The reduce partition count for `splits` map splits.
    pub(crate) fn reducer_count(&self, splits: usize) -> usize {
        self.reducers.unwrap_or(splits.clamp(1, 64)).max(1)
    }

    /// The directory spilled runs go under.
    pub(crate) fn spill_root(&self) -> PathBuf {
        self.spill_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}

/// What a run did, for the summary line and the tests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobStats {
    /// Map splits.
    pub splits: usize,
    /// Reduce partitions.
    pub reducers: usize,
    /// Pairs the maps emitted.
    pub emitted: u64,
    /// Pairs shuffled (after the map-side combiner).
    pub shuffled: u64,
    /// Bytes of the sorted runs shuffled.
    pub shuffle_bytes: u64,
    /// Runs spilled to disk.
    pub spilled_runs: u64,
    /// Bytes spilled to disk.
    pub spilled_bytes: u64,
    /// Keys with an output.
    pub outputs: usize,
    /// Worker processes (0: in-process).
    pub workers: usize,
    /// Tasks run again because their worker was lost.
    pub rerun_tasks: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A finished job: every key's output in key order, and what it took.
#[derive(Debug, Clone)]
pub struct JobOutput<K, O> {
    /// `(key, output)` in ascending key order.
    pub results: Vec<(K, O)>,
    /// Counters.
    pub stats: JobStats,
}
