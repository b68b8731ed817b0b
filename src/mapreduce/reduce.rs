//! The reduce side: every reduce partition's sorted runs (one per map split), held in memory
//! up to a budget and spilled to disk beyond it, then merged key by key — values in split
//! order, folded by the combiner — into the job's outputs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::Path;

use super::job::{Group, Outputs};
use super::shuffle::{push_value, RunReader, RunSource};
use super::{MapReduce, MapReduceError};

/// A run of one reduce partition.
enum Run {
    Memory(Vec<u8>),
    Spilled(tempfile::TempPath),
}

/// Every reduce partition's runs, keyed by the map split that made them.
pub(crate) struct ShuffleStore {
    partitions: Vec<Vec<(usize, Run)>>,
    budget: u64,
    held: u64,
    spill_dir: tempfile::TempDir,
    /// Runs written to disk, and their bytes.
    pub(crate) spilled: (u64, u64),
    /// Bytes of every run received.
    pub(crate) bytes: u64,
}

impl ShuffleStore {
    /// An empty store for `reducers` partitions holding at most `budget` bytes in memory;
    /// spill files go to a fresh directory under `spill_root` (removed when the store is).
    pub(crate) fn new(
        reducers: usize,
        budget: u64,
        spill_root: &Path,
    ) -> Result<Self, MapReduceError> {
        let spill_dir = tempfile::Builder::new()
            .prefix("distml-shuffle-")
            .tempdir_in(spill_root)
            .map_err(MapReduceError::io(spill_root))?;
        Ok(ShuffleStore {
            partitions: (0..reducers).map(|_| Vec::new()).collect(),
            budget,
            held: 0,
            spill_dir,
            spilled: (0, 0),
            bytes: 0,
        })
    }

    /// Adds split `split`'s runs, one per reduce partition.
    pub(crate) fn add(&mut self, split: usize, runs: Vec<Vec<u8>>) -> Result<(), MapReduceError> {
        for (partition, run) in runs.into_iter().enumerate() {
            if run.is_empty() {
                continue;
            }
            let len = run.len() as u64;
            self.bytes += len;
            let run = if self.held + len > self.budget {
                self.spilled.0 += 1;
                self.spilled.1 += len;
                Run::Spilled(self.spill(&run)?)
            } else {
                self.held += len;
                Run::Memory(run)
            };
            self.partitions[partition].push((split, run));
        }
        Ok(())
    }

    fn spill(&self, run: &[u8]) -> Result<tempfile::TempPath, MapReduceError> {
        let dir = self.spill_dir.path();
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(MapReduceError::io(dir))?;
        file.write_all(run)
            .and_then(|()| file.flush())
            .map_err(MapReduceError::io(file.path()))?;
        Ok(file.into_temp_path())
    }

    /// Partition `reducer`'s runs in split order, as bytes (what a reduce task carries).
    pub(crate) fn runs_of(&self, reducer: usize) -> Result<Vec<Vec<u8>>, MapReduceError> {
        self.sorted(reducer)
            .into_iter()
            .map(|run| match run {
                Run::Memory(bytes) => Ok(bytes.clone()),
                Run::Spilled(path) => std::fs::read(path).map_err(MapReduceError::io(&**path)),
            })
            .collect()
    }

    /// Merges partition `reducer`'s runs and reduces every key.
    pub(crate) fn reduce<J: MapReduce>(
        &self,
        job: &J,
        reducer: usize,
        combine: bool,
    ) -> Result<Outputs<J>, MapReduceError> {
        let sources = self
            .sorted(reducer)
            .into_iter()
            .map(|run| match run {
                Run::Memory(bytes) => RunSource::Memory(bytes),
                Run::Spilled(path) => RunSource::File(path.to_path_buf()),
            })
            .collect();
        merge_and_reduce(job, sources, combine)
    }

    fn sorted(&self, reducer: usize) -> Vec<&Run> {
        let mut runs: Vec<&(usize, Run)> = self.partitions[reducer].iter().collect();
        runs.sort_by_key(|(split, _)| *split);
        runs.into_iter().map(|(_, run)| run).collect()
    }
}

/// Merges sorted runs (in the given order) key by key and reduces each key's values.
pub(crate) fn merge_and_reduce<J: MapReduce>(
    job: &J,
    sources: Vec<RunSource<'_>>,
    combine: bool,
) -> Result<Outputs<J>, MapReduceError> {
    let mut readers: Vec<RunReader<'_, Group<J>>> =
        sources.into_iter().map(RunReader::new).collect();
    let mut heads: Vec<Vec<J::Value>> = readers.iter().map(|_| Vec::new()).collect();
    // Ties on the key pop in run order, so values reach `reduce` in split order.
    let mut heap = BinaryHeap::new();
    for i in 0..readers.len() {
        advance(&mut readers, &mut heads, &mut heap, i)?;
    }
    let mut out = Vec::new();
    while let Some(Reverse((key, i))) = heap.pop() {
        let mut values = std::mem::take(&mut heads[i]);
        advance(&mut readers, &mut heads, &mut heap, i)?;
        while heap.peek().is_some_and(|Reverse((k, _))| *k == key) {
            let Some(Reverse((_, j))) = heap.pop() else {
                break;
            };
            for value in std::mem::take(&mut heads[j]) {
                push_value(job, combine, &mut values, value);
            }
            advance(&mut readers, &mut heads, &mut heap, j)?;
        }
        if let Some(output) = job.reduce(&key, values)? {
            out.push((key, output));
        }
    }
    Ok(out)
}

/// Reads run `i`'s next record into `heads[i]` and the heap.
fn advance<K: Ord, V>(
    readers: &mut [RunReader<'_, (K, Vec<V>)>],
    heads: &mut [Vec<V>],
    heap: &mut BinaryHeap<Reverse<(K, usize)>>,
    i: usize,
) -> Result<(), MapReduceError>
where
    (K, Vec<V>): serde::de::DeserializeOwned,
{
    if let Some(record) = readers[i].next() {
        let (key, values) = record?;
        heads[i] = values;
        heap.push(Reverse((key, i)));
    }
    Ok(())
}
