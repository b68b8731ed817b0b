//! The shuffle's data: a map split's pairs grouped by key (combined when the job has a
//! combiner), hashed into reduce partitions, each written as a **sorted run** — a sequence of
//! length-prefixed `(key, values)` records in key order. Runs are what crosses processes and
//! what spills to disk; reducing is merging them.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, Read};
use std::marker::PhantomData;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::job::Group;
use super::{MapReduce, MapReduceError};

/// The reduce partition of `key` among `reducers`. `DefaultHasher::new()` has fixed keys, so
/// every process of one build sends a key to the same place.
pub fn bucket_of<K: Hash>(key: &K, reducers: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % reducers.max(1) as u64) as usize
}

/// One map split's output while it is being produced.
pub(crate) struct MapBuffer<'j, J: MapReduce> {
    job: &'j J,
    combine: bool,
    groups: HashMap<J::Key, Vec<J::Value>>,
    /// Pairs the map emitted.
    pub(crate) emitted: u64,
}

impl<'j, J: MapReduce> MapBuffer<'j, J> {
    pub(crate) fn new(job: &'j J, combine: bool) -> Self {
        MapBuffer {
            job,
            combine,
            groups: HashMap::new(),
            emitted: 0,
        }
    }

    /// Adds one emitted pair, folded into the key's last value when combining.
    pub(crate) fn push(&mut self, key: J::Key, value: J::Value) {
        self.emitted += 1;
        match self.groups.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(vec![value]);
            }
            Entry::Occupied(mut slot) => push_value(self.job, self.combine, slot.get_mut(), value),
        }
    }

    /// The sorted run of each reduce partition, and the pairs they hold.
    pub(crate) fn into_runs(self, reducers: usize) -> Result<(Vec<Vec<u8>>, u64), MapReduceError> {
        let mut parts: Vec<Vec<Group<J>>> = (0..reducers).map(|_| Vec::new()).collect();
        let mut pairs = 0;
        for (key, values) in self.groups {
            pairs += values.len() as u64;
            parts[bucket_of(&key, reducers)].push((key, values));
        }
        let runs = parts
            .into_iter()
            .map(|mut part| {
                part.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                encode_run(&part)
            })
            .collect::<Result<_, _>>()?;
        Ok((runs, pairs))
    }
}

/// Appends `value` to a key's values, folding it into the last one when combining.
pub(crate) fn push_value<J: MapReduce>(
    job: &J,
    combine: bool,
    values: &mut Vec<J::Value>,
    value: J::Value,
) {
    match values.last_mut() {
        Some(last) if combine => {
            if let Some(kept) = job.combine(last, value) {
                values.push(kept);
            }
        }
        _ => values.push(value),
    }
}

/// Encodes records as a run: each a little-endian `u32` length, then its postcard bytes.
pub(crate) fn encode_run<T: Serialize>(records: &[T]) -> Result<Vec<u8>, MapReduceError> {
    let mut out = Vec::new();
    for record in records {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out = postcard::to_extend(record, out).map_err(|e| MapReduceError::Codec(e.to_string()))?;
        let len = u32::try_from(out.len() - start - 4)
            .map_err(|_| MapReduceError::Codec("a record over 4 GiB".into()))?;
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    }
    Ok(out)
}

/// Decodes a whole run held in memory.
pub(crate) fn decode_run<T: DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>, MapReduceError> {
    RunReader::new(RunSource::Memory(bytes)).collect()
}

/// Where a run's bytes are.
pub(crate) enum RunSource<'a> {
    /// In memory.
    Memory(&'a [u8]),
    /// Spilled to this file.
    File(PathBuf),
}

/// Streams a run's records one at a time (a spilled run is never loaded whole).
pub(crate) struct RunReader<'a, T> {
    input: Box<dyn Read + 'a>,
    buf: Vec<u8>,
    failed: bool,
    record: PhantomData<T>,
}

impl<'a, T: DeserializeOwned> RunReader<'a, T> {
    pub(crate) fn new(source: RunSource<'a>) -> Self {
        let input: Box<dyn Read + 'a> = match source {
            RunSource::Memory(bytes) => Box::new(bytes),
            RunSource::File(path) => match File::open(&path) {
                Ok(f) => Box::new(BufReader::with_capacity(1 << 16, f)),
                Err(e) => Box::new(Failing(Some(e))),
            },
        };
        RunReader {
            input,
            buf: Vec::new(),
            failed: false,
            record: PhantomData,
        }
    }

    fn read_next(&mut self) -> Result<Option<T>, MapReduceError> {
        let mut len = [0u8; 4];
        match self.input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(MapReduceError::Codec(format!("reading a run: {e}"))),
        }
        self.buf.resize(u32::from_le_bytes(len) as usize, 0);
        self.input
            .read_exact(&mut self.buf)
            .map_err(|e| MapReduceError::Codec(format!("a truncated run: {e}")))?;
        postcard::from_bytes(&self.buf)
            .map(Some)
            .map_err(|e| MapReduceError::Codec(e.to_string()))
    }
}

impl<T: DeserializeOwned> Iterator for RunReader<'_, T> {
    type Item = Result<T, MapReduceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.read_next().transpose();
        self.failed = matches!(next, Some(Err(_)));
        next
    }
}

/// A reader whose first read reports why the file could not be opened.
struct Failing(Option<std::io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(self
            .0
            .take()
            .unwrap_or_else(|| std::io::Error::other("unreadable run")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_round_trip_record_by_record() {
        let records: Vec<(u64, Vec<String>)> = vec![
            (1, vec!["a".into()]),
            (7, vec![]),
            (9, vec!["b".into(), "c".into()]),
        ];
        let bytes = encode_run(&records).unwrap();
        assert_eq!(decode_run::<(u64, Vec<String>)>(&bytes).unwrap(), records);
        let cut = &bytes[..bytes.len() - 1];
        assert!(decode_run::<(u64, Vec<String>)>(cut).is_err());
    }

    #[test]
    fn a_key_always_goes_to_the_same_reducer() {
        for key in 0u64..1000 {
            let b = bucket_of(&key, 7);
            assert!(b < 7);
            assert_eq!(b, bucket_of(&key, 7));
        }
        let used: std::collections::BTreeSet<usize> =
            (0u64..1000).map(|k| bucket_of(&k, 7)).collect();
        assert_eq!(used.len(), 7, "keys spread over every reducer");
    }
}
