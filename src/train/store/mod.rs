//! Where a local fit's feature blocks live between passes: recomputed from the source on every
//! pass (one-pass fits: memory flat in the number of rows), or made once and cached — in
//! memory while they fit the `--memory-budget`, in spill files beyond it (multi-pass fits).
//!
//! Every pass merges per-block results in [`tree_reduce`]'s fixed tree over block order, so a
//! streamed, a cached and a spilled fit give the bits of a fit over blocks held in a `Vec`.

mod budget;
mod recipe;
pub mod spill;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::data::DataError;
use crate::feature::{DropCounts, FeatureBlock, FeatureError, FeatureLayout};
use crate::merge::tree_reduce;
use crate::model::ModelError;

pub use budget::{ByteSize, MemoryBudget, DEFAULT_RAM_SHARE};
pub use recipe::{BlockRecipe, Made, Side};
pub use spill::SpillDir;

/// Why a block could not be made, cached or read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading the source.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The feature pipeline.
    #[error(transparent)]
    Feature(#[from] FeatureError),
    /// A block the learner refuses (bad label, non-finite feature).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A bad value, located in its file.
    #[error("{location}: {cause}")]
    AtRow {
        /// The file and its row or line.
        location: String,
        /// What is wrong with the row.
        #[source]
        cause: ModelError,
    },
    /// The spill directory could not be made (`--spill-dir`).
    #[error("--spill-dir {}: cannot create a spill directory there: {source}", path.display())]
    SpillDir {
        /// The parent directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A spill file could not be written or read (a full disk).
    #[error("spill file {}: {source}", path.display())]
    Spill {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A spill file changed under the job.
    #[error("spill file {} is not the block this job wrote", .0.display())]
    Corrupt(PathBuf),
}

impl StoreError {
    /// Whether the user's input is at fault (exit code 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            StoreError::Data(e) => e.is_user_error(),
            StoreError::Feature(e) => e.is_user_error(),
            StoreError::Model(e) => e.is_user_error(),
            StoreError::AtRow { .. } | StoreError::SpillDir { .. } => true,
            StoreError::Spill { .. } | StoreError::Corrupt(_) => false,
        }
    }
}

impl From<StoreError> for ModelError {
    /// A learner's pass over a store fails with the store's error (a learner's own error as is).
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Model(e) => e,
            other => ModelError::Input {
                user: other.is_user_error(),
                message: other.to_string(),
            },
        }
    }
}

/// One block's place.
#[derive(Debug)]
enum Slot {
    /// Held in memory.
    Memory(FeatureBlock),
    /// In a spill file.
    Spilled(PathBuf),
    /// Made again from the source on each use.
    Source,
}

/// What making a block once told about it.
#[derive(Debug, Clone)]
struct Seen {
    rows: usize,
    rows_read: u64,
    dropped: DropCounts,
}

/// Where the blocks went, for the job's log and summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Placement {
    /// Blocks held in memory.
    pub in_memory: usize,
    /// Blocks in spill files.
    pub spilled: usize,
    /// Blocks made from the source on every pass.
    pub streamed: usize,
    /// Bytes of the blocks in memory.
    pub memory_bytes: u64,
    /// Bytes of the spill files.
    pub spill_bytes: u64,
}

/// The blocks of one source, one per partition, each in memory, spilled or streamed.
#[derive(Debug)]
pub struct BlockStore<'a> {
    recipe: BlockRecipe<'a>,
    slots: Vec<Slot>,
    seen: Vec<OnceLock<Seen>>,
    placement: Placement,
    // Dropped last: the spill files go with the store.
    _spill: Option<SpillDir>,
}

impl<'a> BlockStore<'a> {
    /// Blocks made from the source on every pass: for fits that read the rows once.
    pub fn streamed(recipe: BlockRecipe<'a>) -> Self {
        let n = recipe.len();
        BlockStore {
            slots: (0..n).map(|_| Slot::Source).collect(),
            seen: (0..n).map(|_| OnceLock::new()).collect(),
            placement: Placement {
                streamed: n,
                ..Placement::default()
            },
            recipe,
            _spill: None,
        }
    }

    /// Every block made now, in parallel, and kept in memory while `budget` has room, in a
    /// spill file under `spill_dir` (default: the system temp directory) beyond it.
    /// `on_block` is called once per block.
    pub fn cached(
        recipe: BlockRecipe<'a>,
        budget: &MemoryBudget,
        spill_dir: Option<&Path>,
        on_block: &(dyn Fn() + Sync),
    ) -> Result<Self, StoreError> {
        let spill = SpillDir::new(spill_dir).map_err(|e| match e {
            StoreError::Spill { path, source } => StoreError::SpillDir { path, source },
            other => other,
        })?;
        let made = (0..recipe.len())
            .into_par_iter()
            .map(|i| {
                let made = recipe.make(i).map_err(|e| locate(&recipe, i, e))?;
                let seen = seen_of(&made);
                let slot = match budget.try_reserve(memory_size(&made.block)) {
                    true => Slot::Memory(made.block),
                    false => Slot::Spilled(spill.write(i, &made.block)?),
                };
                on_block();
                Ok((slot, seen))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut placement = Placement::default();
        let (mut slots, mut seen) = (Vec::with_capacity(made.len()), Vec::new());
        for (slot, s) in made {
            match &slot {
                Slot::Memory(b) => {
                    placement.in_memory += 1;
                    placement.memory_bytes += memory_size(b);
                }
                Slot::Spilled(path) => {
                    placement.spilled += 1;
                    placement.spill_bytes += std::fs::metadata(path).map_or(0, |m| m.len());
                }
                Slot::Source => placement.streamed += 1,
            }
            slots.push(slot);
            seen.push(OnceLock::from(s));
        }
        Ok(BlockStore {
            recipe,
            slots,
            seen,
            placement,
            _spill: (placement.spilled > 0).then_some(spill),
        })
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there is no block.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The blocks' feature layout.
    pub fn layout(&self) -> &FeatureLayout {
        self.recipe.layout()
    }

    /// Whether the blocks carry a weight per row.
    pub fn is_weighted(&self) -> bool {
        self.recipe.pipeline().is_weighted()
    }

    /// Where the blocks are.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// Maps every block and merges the results in [`tree_reduce`]'s fixed tree over block
    /// order (`None` for no blocks); blocks in files or the source are loaded one at a time
    /// per thread and dropped after `map`.
    pub fn reduce<T, M, R>(&self, map: &M, merge: &R) -> Result<Option<T>, StoreError>
    where
        T: Send,
        M: Fn(&FeatureBlock) -> T + Sync,
        R: Fn(T, T) -> T + Sync,
    {
        let indices: Vec<usize> = (0..self.len()).collect();
        let per_block = |&i: &usize| self.with_block(i, map);
        let both = |a: Result<T, StoreError>, b: Result<T, StoreError>| Ok(merge(a?, b?));
        tree_reduce(&indices, &per_block, &both).transpose()
    }

    /// Runs `f` on block `index`, loading it first if it is not in memory.
    pub fn with_block<T>(
        &self,
        index: usize,
        f: impl FnOnce(&FeatureBlock) -> T,
    ) -> Result<T, StoreError> {
        match &self.slots[index] {
            Slot::Memory(block) => Ok(f(block)),
            Slot::Spilled(path) => Ok(f(&spill::read(path)?)),
            Slot::Source => {
                let made = self
                    .recipe
                    .make(index)
                    .map_err(|e| locate(&self.recipe, index, e))?;
                let _ = self.seen[index].set(seen_of(&made));
                Ok(f(&made.block))
            }
        }
    }

    /// Rows of block `index` (made once if no pass has seen it yet).
    pub fn block_rows(&self, index: usize) -> Result<usize, StoreError> {
        match self.seen[index].get() {
            Some(seen) => Ok(seen.rows),
            None => self.with_block(index, FeatureBlock::rows),
        }
    }

    /// Rows in the blocks seen so far (all of them after any whole pass).
    pub fn rows(&self) -> u64 {
        self.seen_iter().map(|s| s.rows as u64).sum()
    }

    /// Raw rows read to make the blocks seen so far.
    pub fn rows_read(&self) -> u64 {
        self.seen_iter().map(|s| s.rows_read).sum()
    }

    /// Rows the pipeline dropped from the blocks seen so far, per reason.
    pub fn dropped(&self) -> DropCounts {
        let mut all = DropCounts::default();
        for seen in self.seen_iter() {
            all.merge(&seen.dropped);
        }
        all
    }

    fn seen_iter(&self) -> impl Iterator<Item = &Seen> {
        self.seen.iter().filter_map(OnceLock::get)
    }
}

fn seen_of(made: &Made) -> Seen {
    Seen {
        rows: made.block.rows(),
        rows_read: made.rows_read,
        dropped: made.dropped.clone(),
    }
}

/// Bytes a block holds in memory.
pub fn memory_size(block: &FeatureBlock) -> u64 {
    block.memory_bytes()
}

/// A learner's complaint about a block row, located in the row's file where possible.
fn locate(recipe: &BlockRecipe<'_>, index: usize, error: StoreError) -> StoreError {
    let StoreError::Model(cause) = error else {
        return error;
    };
    match recipe.locate(index, &cause) {
        Some(location) => StoreError::AtRow { location, cause },
        None => StoreError::Model(cause),
    }
}

#[cfg(test)]
mod tests;
