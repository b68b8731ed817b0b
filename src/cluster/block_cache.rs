//! A worker's feature blocks kept between tasks: only for fits that read them again, and only
//! up to the worker's share of the job's memory budget. A block beyond it is made again from
//! its file when next needed — the same bytes, so no result changes.

use std::collections::HashMap;

use super::worker::Part;

/// The blocks a worker keeps, and how many bytes they hold.
#[derive(Default)]
pub(crate) struct BlockCache {
    parts: HashMap<usize, Part>,
    bytes: u64,
    /// Whether the fit reads its blocks more than once (one-pass fits keep nothing).
    keep: bool,
    limit: u64,
}

impl BlockCache {
    /// Forgets every block; from now on keeps blocks (when `keep`) up to `limit` bytes.
    pub(crate) fn reset(&mut self, keep: bool, limit: u64) {
        *self = BlockCache {
            keep,
            limit,
            ..Default::default()
        };
    }

    /// Partition `p`'s block, if kept.
    pub(crate) fn get(&self, p: usize) -> Option<Part> {
        self.parts.get(&p).cloned()
    }

    /// Keeps partition `p`'s block if the fit reads it again and it fits the limit.
    pub(crate) fn offer(&mut self, p: usize, part: &Part) {
        let size = part.0.memory_bytes();
        if self.keep && self.bytes + size <= self.limit && !self.parts.contains_key(&p) {
            self.bytes += size;
            self.parts.insert(p, part.clone());
        }
    }

    /// Drops the blocks of partitions `gone` says no longer need them.
    pub(crate) fn drop_where(&mut self, gone: impl Fn(usize) -> bool) {
        self.parts.retain(|p, _| !gone(*p));
        self.bytes = self.parts.values().map(|part| part.0.memory_bytes()).sum();
    }
}
