//! The local trainer's tree sums: every block binned once (a [`TreePartition`] each, rayon over
//! blocks), leaf histograms merged over blocks in [`tree_reduce`]'s fixed tree — the order a
//! parameter-server shard merges the workers' per-partition pushes in — so a distributed fit
//! grows the same trees bit for bit.

use rayon::prelude::*;

use crate::feature::{FeatureBlock, FeatureLayout};
use crate::merge::tree_merge;
use crate::model::trees::routed_row_bytes;
use crate::model::trees::TreeModel;
use crate::model::trees::{
    built_child, sources, BinTree, Binning, DataSketch, Histogram, LeafHistograms, LossSums,
    Losses, NodeSums, Split, SplitRequest, SplitSearch, TreePartition, TreeStart, ValueSketch,
};
use crate::model::{MetricSums, ModelError, TreeSketches, TreeSums};

use super::store::{ByteSize, MemoryBudget};
use super::LocalSums;

/// The binned blocks and the open leaves' histograms.
#[derive(Debug)]
pub(super) struct LocalTrees {
    binning: Binning,
    offsets: Vec<usize>,
    bins: usize,
    parts: Vec<TreePartition>,
    valid: Vec<TreePartition>,
    leaves: LeafHistograms,
    search: SplitSearch,
    root: NodeSums,
    /// A split made and not yet applied to the rows: it is, in the pass that builds the next
    /// histogram (one parallel pass per split, not two).
    pending: Option<(usize, Split, usize)>,
    /// Trees finished: every row's score holds their values.
    finished: usize,
}

/// The metrics' sums of a tree model on the rows it was fitted on, from the fit's scores.
#[derive(Debug)]
pub(super) struct FitMetrics {
    /// On the training rows.
    pub(super) train: MetricSums,
    /// On the validation rows.
    pub(super) valid: MetricSums,
}

/// Sums `items` in the fixed tree every trainer uses.
fn merged<T>(items: Vec<T>, merge: impl Fn(T, T) -> T) -> Option<T> {
    tree_merge(items, &merge)
}

impl LocalSums<'_> {
    fn trees(&mut self) -> Result<&mut LocalTrees, ModelError> {
        self.trees
            .as_deref_mut()
            .ok_or(ModelError::Internal("tree sums used before bin()"))
    }

    /// `model`'s metric sums on the training and validation rows, read off the scores the fit
    /// kept (the bits scoring the blocks again gives: the same additions in the same order,
    /// merged in the same fixed tree) — `None` unless `model` holds every tree grown here.
    pub(super) fn fit_metrics(&self, model: &TreeModel) -> Option<FitMetrics> {
        let trees = self.trees.as_deref()?;
        if model.trees.len() != trees.finished {
            return None;
        }
        let task = model.params.task();
        let sums = |parts: &[TreePartition]| {
            let per_part: Vec<MetricSums> = parts
                .par_iter()
                .map(|p| {
                    let outputs = model.metric_outputs(p.scores().to_vec());
                    MetricSums::of_outputs(task, p.labels(), p.weights(), &outputs)
                })
                .collect();
            merged(per_part, MetricSums::merge).unwrap_or_else(|| MetricSums::empty(task))
        };
        Some(FitMetrics {
            train: sums(&trees.parts),
            valid: sums(&trees.valid),
        })
    }
}

impl TreeSums for LocalSums<'_> {
    fn sketches(&mut self, layout: &FeatureLayout) -> Result<TreeSketches, ModelError> {
        let sparse = self.blocks.sparse_layout()?;
        let sources = sources(layout, &sparse);
        let sketch = self
            .blocks
            .reduce(&|b| DataSketch::of(b, &sources), &|a, b| a.merge(&b))?
            .ok_or(ModelError::EmptyData)?;
        self.tree_sources = sources.clone();
        Ok((sources, sketch))
    }

    fn bin(
        &mut self,
        binning: &Binning,
        init: f64,
        search: &SplitSearch,
    ) -> Result<(), ModelError> {
        let sources = std::mem::take(&mut self.tree_sources);
        let bin = |i: usize, b: &FeatureBlock| TreePartition::new(i, b, &sources, binning, init);
        let (offsets, bins) = binning.offsets();
        let parts = self.blocks.map(&bin)?;
        let valid = self.valid.map(&bin)?;
        if let Some((budget, row_state)) = self.held {
            charge(budget, binning, (&parts, row_state), &valid)?;
        }
        self.trees = Some(Box::new(LocalTrees {
            leaves: LeafHistograms::new(&binning.features, 0..binning.features.len()),
            binning: binning.clone(),
            offsets,
            bins,
            parts,
            valid,
            search: *search,
            root: NodeSums::default(),
            pending: None,
            finished: 0,
        }));
        Ok(())
    }

    fn start_tree(&mut self, start: &TreeStart) -> Result<NodeSums, ModelError> {
        let trees = self.trees()?;
        trees.apply_pending();
        let sums: Vec<NodeSums> = trees
            .parts
            .par_iter_mut()
            .map(|p| p.start_tree(start))
            .collect();
        trees
            .valid
            .par_iter_mut()
            .for_each(TreePartition::start_routing);
        trees.root = merged(sums, NodeSums::plus).unwrap_or_default();
        Ok(trees.root)
    }

    fn best_splits(&mut self, requests: &[SplitRequest]) -> Result<Vec<Option<Split>>, ModelError> {
        let trees = self.trees()?;
        let mut out = Vec::new();
        for request in requests {
            match request {
                SplitRequest::Root { features } => {
                    let hist = trees.histogram(0);
                    trees.leaves.root(hist, trees.root);
                    out.push(trees.best(0, features));
                }
                SplitRequest::Children {
                    left,
                    right,
                    left_features,
                    right_features,
                } => {
                    let (l, r) = (*left, *right);
                    if left_features.is_empty() && right_features.is_empty() {
                        trees.apply_pending();
                        trees.leaves.close(l);
                        out.extend([None, None]);
                        continue;
                    }
                    let built = match built_child(trees.leaves.sums(l), trees.leaves.sums(r)) {
                        true => l,
                        false => r,
                    };
                    let hist = trees.histogram(built);
                    trees.leaves.children(l, r, hist);
                    out.push(trees.best(l, left_features));
                    out.push(trees.best(r, right_features));
                }
            }
        }
        Ok(out)
    }

    fn split(&mut self, leaf: usize, split: &Split, right: usize) -> Result<(), ModelError> {
        let trees = self.trees()?;
        trees.apply_pending();
        trees.pending = Some((leaf, split.clone(), right));
        trees.leaves.split(leaf, split, right);
        Ok(())
    }

    fn leaf_residuals(&mut self, leaves: usize) -> Result<Vec<ValueSketch>, ModelError> {
        let trees = self.trees()?;
        trees.apply_pending();
        let per_part: Vec<Vec<ValueSketch>> = trees
            .parts
            .par_iter()
            .map(|p| {
                (0..leaves)
                    .map(|leaf| ValueSketch::of(p.residuals(leaf)))
                    .collect()
            })
            .collect();
        let merge = |a: Vec<ValueSketch>, b: Vec<ValueSketch>| {
            a.into_iter().zip(&b).map(|(x, y)| x.merge(y)).collect()
        };
        Ok(merged(per_part, merge).unwrap_or_else(|| vec![ValueSketch::default(); leaves]))
    }

    fn finish_tree(&mut self, tree: &BinTree, start: &TreeStart) -> Result<Losses, ModelError> {
        let trees = self.trees()?;
        trees.apply_pending();
        let train: Vec<LossSums> = trees
            .parts
            .par_iter_mut()
            .map(|p| p.finish_tree(tree, start))
            .collect();
        let valid: Vec<LossSums> = trees
            .valid
            .par_iter_mut()
            .map(|p| p.finish_tree(tree, start))
            .collect();
        trees.finished += 1;
        let mean = |sums: Vec<LossSums>| merged(sums, LossSums::plus).and_then(LossSums::mean);
        Ok(Losses {
            train: mean(train).unwrap_or(f64::NAN),
            valid: mean(valid),
        })
    }
}

/// Reserves on `budget` what the binned training rows (`row_state` bytes each besides their
/// bins) and validation rows hold; refuses the fit, naming `--memory-budget`, when it cannot.
fn charge(
    budget: &MemoryBudget,
    binning: &Binning,
    (parts, row_state): (&[TreePartition], u64),
    valid: &[TreePartition],
) -> Result<(), ModelError> {
    let rows = |parts: &[TreePartition]| parts.iter().map(|p| p.rows() as u64).sum::<u64>();
    let bins = binning.bytes_per_row();
    let weighted = parts.iter().any(|p| p.weights().is_some());
    let (train_rows, valid_rows) = (rows(parts), rows(valid));
    let need = train_rows * (bins + row_state) + valid_rows * (bins + routed_row_bytes(weighted));
    if budget.try_reserve(need) {
        return Ok(());
    }
    Err(ModelError::Input {
        user: true,
        message: format!(
            "--memory-budget {}",
            too_small_for_trees(budget, need, train_rows + valid_rows, bins + row_state)
        ),
    })
}

/// Why `budget` cannot hold a tree fit needing `need` bytes for `rows` rows of `per_row`
/// bytes (training rows; the flag's value first, for the flag's name to precede).
pub(super) fn too_small_for_trees(
    budget: &MemoryBudget,
    need: u64,
    rows: u64,
    per_row: u64,
) -> String {
    format!(
        "{}: the tree fit holds about {} for {rows} rows ({per_row} bytes a training row: \
         binned features, label, score, gradient and leaf order), and cached blocks take {}; \
         raise --memory-budget, or train on several machines with --workers",
        budget.limit(),
        ByteSize(need).human(),
        budget.used().human(),
    )
}

impl LocalTrees {
    /// Applies the pending split to every block's rows, training and validation, and for
    /// `Some(leaf)` builds that leaf's histogram of each training block in the same pass.
    fn rows_pass(&mut self, build: Option<usize>) -> Vec<Histogram> {
        let pending = self.pending.take();
        let (binning, offsets, bins) = (&self.binning, &self.offsets, self.bins);
        let split = |p: &mut TreePartition| {
            if let Some((leaf, split, right)) = &pending {
                p.split(*leaf, split, *right, binning);
            }
        };
        let train = self.parts.par_iter_mut().map(|p| {
            split(p);
            build.map(|leaf| p.histogram(leaf, offsets, bins))
        });
        let valid = self.valid.par_iter_mut().map(|p| {
            split(p);
            None
        });
        train.chain(valid).flatten().collect()
    }

    /// Applies the pending split, if any.
    fn apply_pending(&mut self) {
        if self.pending.is_some() {
            self.rows_pass(None);
        }
    }

    /// The histogram of `leaf` (once the pending split is applied) over every block, merged in
    /// the fixed tree.
    fn histogram(&mut self, leaf: usize) -> Histogram {
        let per_block = self.rows_pass(Some(leaf));
        merged(per_block, |a, b| a.merge(&b)).unwrap_or_else(|| Histogram::zeros(self.bins))
    }

    fn best(&mut self, leaf: usize, features: &[usize]) -> Option<Split> {
        self.leaves
            .best(leaf, &self.binning.features, features, &self.search)
    }
}
