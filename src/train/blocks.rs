//! The blocks a local fit passes over: held in a slice (tests, tuning folds, linfa) or in a
//! [`BlockStore`] (a job's rows: in memory, spilled or streamed). Both are reduced in the same
//! fixed tree over block order, so a fit gives the same bits wherever its blocks live.

use rayon::prelude::*;

use crate::feature::{FeatureBlock, SparseColumn};
use crate::merge::tree_reduce;
use crate::model::ModelError;

use super::store::BlockStore;

/// Where a local fit's blocks are.
#[derive(Debug, Clone, Copy)]
pub enum Blocks<'a> {
    /// In memory, owned by the caller.
    Held(&'a [FeatureBlock]),
    /// In a store.
    Stored(&'a BlockStore<'a>),
}

impl<'a> Blocks<'a> {
    /// Number of blocks.
    pub fn len(&self) -> usize {
        match self {
            Blocks::Held(blocks) => blocks.len(),
            Blocks::Stored(store) => store.len(),
        }
    }

    /// Whether there is no block.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Maps every block and merges in [`tree_reduce`]'s fixed tree (`None` for no blocks).
    pub fn reduce<T, M, R>(&self, map: &M, merge: &R) -> Result<Option<T>, ModelError>
    where
        T: Send,
        M: Fn(&FeatureBlock) -> T + Sync,
        R: Fn(T, T) -> T + Sync,
    {
        match self {
            Blocks::Held(blocks) => Ok(tree_reduce(blocks, map, merge)),
            Blocks::Stored(store) => Ok(store.reduce(map, merge)?),
        }
    }

    /// Runs `f` on block `index`.
    pub fn with_block<T>(
        &self,
        index: usize,
        f: impl FnOnce(&FeatureBlock) -> T,
    ) -> Result<T, ModelError> {
        match self {
            Blocks::Held(blocks) => Ok(f(&blocks[index])),
            Blocks::Stored(store) => Ok(store.with_block(index, f)?),
        }
    }

    /// Maps every block in parallel, results in block order.
    pub fn map<T: Send>(
        &self,
        f: &(dyn Fn(usize, &FeatureBlock) -> T + Sync),
    ) -> Result<Vec<T>, ModelError> {
        (0..self.len())
            .into_par_iter()
            .map(|i| self.with_block(i, |b| f(i, b)))
            .collect()
    }

    /// Rows of block `index`.
    pub fn block_rows(&self, index: usize) -> Result<usize, ModelError> {
        match self {
            Blocks::Held(blocks) => Ok(blocks[index].rows()),
            Blocks::Stored(store) => Ok(store.block_rows(index)?),
        }
    }

    /// Rows of every block (those a store has seen so far).
    pub fn rows(&self) -> u64 {
        match self {
            Blocks::Held(blocks) => blocks.iter().map(|b| b.rows() as u64).sum(),
            Blocks::Stored(store) => store.rows(),
        }
    }

    /// The sparse columns' positions (offset and width, no rows) of the first block.
    pub fn sparse_layout(&self) -> Result<Vec<SparseColumn>, ModelError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        self.with_block(0, |b| {
            b.sparse
                .iter()
                .map(|c| SparseColumn {
                    offset: c.offset,
                    width: c.width,
                    indices: Vec::new(),
                    values: None,
                })
                .collect()
        })
    }
}
