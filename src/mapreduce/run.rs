//! Running a job: in this process on rayon's threads, or across worker processes
//! ([`super::cluster`]); both map the same splits and merge the same runs in the same order,
//! so they give the same output.

use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use super::input::{Inputs, Split};
use super::reduce::ShuffleStore;
use super::shuffle::MapBuffer;
use super::{cluster, JobOutput, JobStats, MapReduce, MapReduceError, MapReduceOptions};

/// What mapping one split gives: a sorted run per reduce partition, and its counts.
pub(crate) struct MapResult {
    pub(crate) runs: Vec<Vec<u8>>,
    pub(crate) emitted: u64,
    pub(crate) shuffled: u64,
}

/// Runs `job` over `inputs`; results in ascending key order.
///
/// ```
/// use distml::mapreduce::{run, Inputs, MapReduce, MapReduceError, MapReduceOptions, Record};
///
/// /// Words and their counts.
/// struct WordCount;
///
/// impl MapReduce for WordCount {
///     type Key = String;
///     type Value = u64;
///     type Output = u64;
///     fn map(&self, r: Record<'_>, emit: &mut dyn FnMut(String, u64)) -> Result<(), MapReduceError> {
///         r.line()?.text.split_whitespace().for_each(|w| emit(w.to_string(), 1));
///         Ok(())
///     }
///     fn combine(&self, acc: &mut u64, value: u64) -> Option<u64> {
///         *acc += value;
///         None
///     }
///     fn reduce(&self, _: &String, values: Vec<u64>) -> Result<Option<u64>, MapReduceError> {
///         Ok(Some(values.iter().sum()))
///     }
/// }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("words.txt");
/// std::fs::write(&path, "a rose is a rose\nis a rose")?;
/// let out = run(&WordCount, &Inputs::Lines(vec![path]), &MapReduceOptions::default(), &|_| {})?;
/// assert_eq!(out.results, [("a".to_string(), 3), ("is".into(), 2), ("rose".into(), 3)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run<J: MapReduce>(
    job: &J,
    inputs: &Inputs,
    options: &MapReduceOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<JobOutput<J::Key, J::Output>, MapReduceError> {
    let started = Instant::now();
    let splits = inputs.plan(options.splits)?;
    let reducers = options.reducer_count(splits.len());
    let mut out = match &options.cluster {
        None => run_local(job, inputs, &splits, reducers, options, progress)?,
        Some(cluster) => cluster::run::<J>(inputs, &splits, reducers, options, cluster, progress)?,
    };
    out.stats.splits = splits.len();
    out.stats.reducers = reducers;
    out.stats.outputs = out.results.len();
    out.stats.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// Maps one split into sorted runs, one per reduce partition.
pub(crate) fn map_split<J: MapReduce>(
    job: &J,
    inputs: &Inputs,
    split: &Split,
    reducers: usize,
    combine: bool,
) -> Result<MapResult, MapReduceError> {
    let mut buffer = MapBuffer::new(job, combine);
    inputs.for_each_record(split, &mut |record| {
        job.map(record, &mut |k, v| buffer.push(k, v))
    })?;
    let emitted = buffer.emitted;
    let (runs, shuffled) = buffer.into_runs(reducers)?;
    Ok(MapResult {
        runs,
        emitted,
        shuffled,
    })
}

/// Concatenates the reduce partitions' outputs (each in key order; a key lives in one) into
/// one list in key order.
pub(crate) fn in_key_order<K: Ord, O>(parts: Vec<Vec<(K, O)>>) -> Vec<(K, O)> {
    let mut all: Vec<(K, O)> = parts.into_iter().flatten().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn run_local<J: MapReduce>(
    job: &J,
    inputs: &Inputs,
    splits: &[Split],
    reducers: usize,
    options: &MapReduceOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<JobOutput<J::Key, J::Output>, MapReduceError> {
    let store = Mutex::new(ShuffleStore::new(
        reducers,
        options.memory_budget,
        &options.spill_root(),
    )?);
    let counts = Mutex::new((0u64, 0u64));
    splits.par_iter().enumerate().try_for_each(|(i, split)| {
        let mapped = map_split(job, inputs, split, reducers, options.combine)?;
        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
        c.0 += mapped.emitted;
        c.1 += mapped.shuffled;
        drop(c);
        store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(i, mapped.runs)
    })?;
    let store = store.into_inner().unwrap_or_else(|p| p.into_inner());
    progress(&format!(
        "mapped {} splits; reducing {reducers} partitions",
        splits.len()
    ));
    let parts = (0..reducers)
        .into_par_iter()
        .map(|r| store.reduce(job, r, options.combine))
        .collect::<Result<Vec<_>, _>>()?;
    let (emitted, shuffled) = counts.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(JobOutput {
        results: in_key_order(parts),
        stats: JobStats {
            emitted,
            shuffled,
            shuffle_bytes: store.bytes,
            spilled_runs: store.spilled.0,
            spilled_bytes: store.spilled.1,
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapreduce::Record;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Each line `key value`: a key's output is its values in input order, comma-joined —
    /// an order-sensitive reduce, so any reordering of values would show.
    struct InOrder;

    impl MapReduce for InOrder {
        type Key = u8;
        type Value = String;
        type Output = String;
        fn map(
            &self,
            record: Record<'_>,
            emit: &mut dyn FnMut(u8, String),
        ) -> Result<(), MapReduceError> {
            let line = record.line()?;
            let (k, v) = line
                .text
                .split_once(' ')
                .ok_or_else(|| line.error("no value"))?;
            emit(k.parse().map_err(|_| line.error("bad key"))?, v.to_string());
            Ok(())
        }
        fn combine(&self, acc: &mut String, value: String) -> Option<String> {
            acc.push(',');
            acc.push_str(&value);
            None
        }
        fn reduce(&self, _: &u8, values: Vec<String>) -> Result<Option<String>, MapReduceError> {
            Ok(Some(values.join(",")))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn splits_reducers_combiner_and_spills_keep_each_keys_order(
            pairs in proptest::collection::vec((0u8..6, 0u32..1000), 1..120),
            splits in 1usize..9,
            reducers in 1usize..5,
            combine in any::<bool>(),
            spill in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("pairs.txt");
            let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} {v}")).collect();
            std::fs::write(&path, text.join("\n")).unwrap();
            let mut want: BTreeMap<u8, Vec<String>> = BTreeMap::new();
            for (k, v) in &pairs {
                want.entry(*k).or_default().push(v.to_string());
            }
            let want: Vec<(u8, String)> = want.into_iter().map(|(k, vs)| (k, vs.join(","))).collect();
            let options = MapReduceOptions {
                splits: Some(splits),
                reducers: Some(reducers),
                combine,
                memory_budget: if spill { 0 } else { 1 << 20 },
                ..Default::default()
            };
            let out = run(&InOrder, &Inputs::Lines(vec![path]), &options, &|_| {}).unwrap();
            prop_assert_eq!(&out.results, &want);
            prop_assert_eq!(out.stats.emitted, pairs.len() as u64);
            prop_assert_eq!(out.stats.spilled_runs > 0, spill);
        }
    }

    #[test]
    fn a_bad_record_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pairs.txt");
        std::fs::write(&path, "1 a\n2 b\nx c\n").unwrap();
        let options = MapReduceOptions {
            splits: Some(2),
            ..Default::default()
        };
        let e = run(
            &InOrder,
            &Inputs::Lines(vec![path.clone()]),
            &options,
            &|_| {},
        )
        .unwrap_err();
        assert!(e.is_user_error());
        assert_eq!(e.to_string(), format!("{}:3: bad key", path.display()));
    }
}
