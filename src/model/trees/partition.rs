//! One partition's rows as a tree trainer keeps them: binned columns, the running score, and
//! for the tree being grown each sampled row's gradient, hessian and count, grouped by leaf
//! (LightGBM's data partition: a leaf is a range of a row-index array, split in place). The
//! local trainer keeps one per block; a cluster worker one per partition it owns.

use std::cell::RefCell;
use std::ops::Range;

use crate::feature::FeatureBlock;
use crate::merge::lanes;

use super::binning::{BinColumn, BinnedBlock, Binning, Source};
use super::fit::{Target, TreeStart};
use super::histogram::{Histogram, NodeSums};
use super::params::{Ensemble, Loss};
use super::split::Split;
use super::tree::BinTree;

/// Σ weight·loss and Σ weight of some rows: a mean loss, mergeable.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossSums {
    /// Σ weight·loss.
    pub loss: f64,
    /// Σ weight.
    pub weight: f64,
}

impl LossSums {
    /// `self + other`.
    pub fn plus(self, other: LossSums) -> LossSums {
        LossSums {
            loss: self.loss + other.loss,
            weight: self.weight + other.weight,
        }
    }

    /// The mean loss (`None` without rows).
    pub fn mean(self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.loss / self.weight)
    }
}

thread_local! {
    /// The rows a split moves right, in passing: one buffer per thread rather than a
    /// row-sized one per partition.
    static SCRATCH: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// Bytes a partition holds per row besides its binned columns: label, score, gradient and the
/// row's place in the leaf order, plus its hessian (`hessian`: it differs from the count), its
/// bootstrap count (`counted`) and its weight (`weighted`) where they are kept.
pub fn row_state_bytes(hessian: bool, counted: bool, weighted: bool) -> u64 {
    let kept = |keep: bool| if keep { 8 } else { 0 };
    8 + 8 + 8 + 4 + kept(hessian) + kept(counted) + kept(weighted)
}

/// Bytes a validation row holds besides its binned columns: label, score and place in the
/// leaf order, plus its weight (`weighted`).
pub fn routed_row_bytes(weighted: bool) -> u64 {
    8 + 8 + 4 + if weighted { 8 } else { 0 }
}

/// Row indices grouped by leaf: each leaf a range of `order`, split in place.
#[derive(Debug, Clone, Default)]
struct LeafRows {
    order: Vec<u32>,
    leaves: Vec<Range<usize>>,
}

impl LeafRows {
    /// No rows, and no leaves but an empty leaf 0.
    fn clear(&mut self) {
        self.order.clear();
        self.leaves.clear();
        self.leaves.push(0..0);
    }

    /// Adds a row to leaf 0 (before any split).
    #[inline]
    fn push(&mut self, row: u32) {
        self.order.push(row);
        self.leaves[0].end += 1;
    }

    fn rows(&self, leaf: usize) -> &[u32] {
        self.leaves
            .get(leaf)
            .map_or(&[], |r| &self.order[r.clone()])
    }

    /// Splits `leaf`: rows where `left(row)` stay, the others move to the new leaf `right`;
    /// both keep their order (a stable partition through `scratch`).
    fn split(
        &mut self,
        leaf: usize,
        right: usize,
        left: impl Fn(usize) -> bool,
        scratch: &mut Vec<u32>,
    ) {
        if self.leaves.len() <= right {
            self.leaves.resize(right + 1, 0..0);
        }
        let range = self.leaves[leaf].clone();
        if scratch.len() < range.len() {
            // Grown only: shrinking and growing again would zero it anew on every split.
            scratch.resize(range.len(), 0);
        }
        let kept = stable_partition(&mut self.order[range.clone()], scratch, left);
        self.leaves[leaf] = range.start..range.start + kept;
        self.leaves[right] = range.start + kept..range.end;
    }

    /// Adds each leaf's value to its rows' scores.
    fn add(&self, values: &[f64], score: &mut [f64]) {
        for (range, &value) in self.leaves.iter().zip(values) {
            for &r in &self.order[range.clone()] {
                score[r as usize] += value;
            }
        }
    }
}

/// Moves the rows where `left(row)` to the front of `rows`, the others after them, each side in
/// its order; returns how many went left. `scratch` holds at least `rows.len()` values.
fn stable_partition(rows: &mut [u32], scratch: &mut [u32], left: impl Fn(usize) -> bool) -> usize {
    let n = rows.len();
    let scratch = &mut scratch[..n];
    let (mut kept, mut moved) = (0, 0);
    // Every row is written to both sides and one counter advanced: no branch on the
    // direction, which is data and mispredicted half the time.
    for i in 0..n {
        let r = rows[i];
        let goes_left = left(r as usize);
        rows[kept] = r;
        scratch[moved] = r;
        kept += usize::from(goes_left);
        moved += usize::from(!goes_left);
    }
    rows[kept..].copy_from_slice(&scratch[..moved]);
    kept
}

/// `values` sized for `n` rows when `keep`, else emptied (its memory returned).
fn keep_rows(values: &mut Vec<f64>, n: usize, keep: bool) {
    match keep {
        true => values.resize(n, 0.0),
        false => *values = Vec::new(),
    }
}

/// A partition's binned rows and its training state.
#[derive(Debug, Clone)]
pub struct TreePartition {
    /// The partition's index in the data set (row samples are drawn from it).
    pub index: usize,
    block: BinnedBlock,
    score: Vec<f64>,
    grad: Vec<f64>,
    /// Hessians, kept only when they differ from the counts (empty otherwise).
    hess: Vec<f64>,
    /// Bootstrap counts, kept only when a row may be drawn more than once (empty otherwise:
    /// every sampled row counts once).
    count: Vec<f64>,
    /// Whether every hessian equals its row's count (squared error without weights).
    unit_hessian: bool,
    /// Whether rows carry bootstrap counts.
    counted: bool,
    /// The rows the current tree samples, by leaf (their histograms grow the tree).
    sampled: LeafRows,
    /// The other rows (out of the bag, or every validation row), by leaf: routed alongside so
    /// that their scores move too.
    others: LeafRows,
}

impl TreePartition {
    /// Bins `block` (partition `index`) with `binning`, every score at `init`.
    pub fn new(
        index: usize,
        block: &FeatureBlock,
        sources: &[(Source, String)],
        binning: &Binning,
        init: f64,
    ) -> Self {
        let block = BinnedBlock::new(block, sources, binning);
        let n = block.rows();
        TreePartition {
            index,
            block,
            score: vec![init; n],
            grad: Vec::new(),
            hess: Vec::new(),
            count: Vec::new(),
            unit_hessian: false,
            counted: false,
            sampled: LeafRows::default(),
            others: LeafRows::default(),
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.block.rows()
    }

    /// Each row's score: the starting score plus every finished tree's value.
    pub fn scores(&self) -> &[f64] {
        &self.score
    }

    /// Each row's label.
    pub fn labels(&self) -> &[f64] {
        &self.block.label
    }

    /// Each row's weight, when given.
    pub fn weights(&self) -> Option<&[f64]> {
        self.block.weight.as_deref()
    }

    /// Bytes of binned data held (one or two per row and feature).
    pub fn binned_bytes(&self) -> usize {
        self.block.columns.iter().map(|c| c.bytes()).sum()
    }

    /// Starts a tree: draws the row sample, computes each sampled row's gradient and hessian
    /// (times its weight and multiplicity), puts every row in leaf 0 and returns the sampled
    /// rows' sums.
    pub fn start_tree(&mut self, start: &TreeStart) -> NodeSums {
        let n = self.rows();
        self.unit_hessian = self.block.weight.is_none()
            && match start.target {
                Target::Label => true,
                Target::Gradient { loss, .. } => loss != Loss::Logistic,
            };
        self.counted = start.sample.with_replacement;
        self.grad.resize(n, 0.0);
        keep_rows(&mut self.hess, n, !self.unit_hessian);
        keep_rows(&mut self.count, n, self.counted);
        self.sampled.clear();
        self.others.clear();
        let mut sums = NodeSums::default();
        for i in 0..n {
            let times = start.sample.weight(self.index, i);
            if times == 0.0 {
                self.others.push(i as u32);
                continue;
            }
            let w = times * self.block.weight.as_ref().map_or(1.0, |w| w[i]);
            let y = self.block.label[i];
            let (g, h) = match start.target {
                Target::Gradient { loss, alpha } => loss.grad_hess(self.score[i], y, alpha),
                Target::Label => (-y, 1.0),
            };
            let (g, h) = (g * w, h * w);
            self.grad[i] = g;
            if !self.unit_hessian {
                self.hess[i] = h;
            }
            if self.counted {
                self.count[i] = times;
            }
            self.sampled.push(i as u32);
            sums.g += g;
            sums.h += h;
            sums.c += times;
        }
        sums
    }

    /// Starts a tree on a validation partition: every row in leaf 0, none sampled.
    pub fn start_routing(&mut self) {
        self.sampled.clear();
        self.others.clear();
        for r in 0..self.rows() as u32 {
            self.others.push(r);
        }
    }

    /// The histogram of leaf `leaf`'s sampled rows (`offsets`: each feature's first bin; `bins`
    /// in all).
    pub fn histogram(&self, leaf: usize, offsets: &[usize], bins: usize) -> Histogram {
        let rows = self.sampled.rows(leaf);
        let hess = (!self.unit_hessian).then_some(&self.hess[..]);
        let count = self.counted.then_some(&self.count[..]);
        Histogram::of_rows(&self.block, rows, &self.grad, hess, count, offsets, bins)
    }

    /// Moves the rows of `leaf` that `split` sends right to the new leaf `right`.
    pub fn split(&mut self, leaf: usize, split: &Split, right: usize, binning: &Binning) {
        let nan_bin = binning.features[split.feature].nan_bin();
        let bins = binning.features[split.feature].len();
        let column = &self.block.columns[split.feature];
        let (sampled, others) = (&mut self.sampled, &mut self.others);
        SCRATCH.with_borrow_mut(|scratch| match column {
            BinColumn::U8(v) => {
                // A full table: a u8 bin indexes it without a bounds check.
                let mut left = [false; 256];
                for (b, l) in left.iter_mut().enumerate().take(bins) {
                    *l = split.goes_left(b, nan_bin);
                }
                for rows in [sampled, others] {
                    rows.split(leaf, right, |r| left[usize::from(v[r])], scratch);
                }
            }
            BinColumn::U16(v) => {
                let left: Vec<bool> = (0..bins).map(|b| split.goes_left(b, nan_bin)).collect();
                for rows in [sampled, others] {
                    rows.split(leaf, right, |r| left[usize::from(v[r])], scratch);
                }
            }
        });
    }

    /// Ends the tree: adds its leaf values to every row's score and returns the losses at the
    /// new predictions.
    pub fn finish_tree(&mut self, tree: &BinTree, start: &TreeStart) -> LossSums {
        self.finish_values(&tree.values, start)
    }

    /// [`finish_tree`](Self::finish_tree) given the tree's leaf values.
    pub fn finish_values(&mut self, values: &[f64], start: &TreeStart) -> LossSums {
        self.sampled.add(values, &mut self.score);
        self.others.add(values, &mut self.score);
        self.losses(start)
    }

    /// Σ weight·loss and Σ weight over every row at the current predictions.
    fn losses(&self, start: &TreeStart) -> LossSums {
        // One loop per loss, so that none decides the loss row by row.
        match (start.ensemble, start.loss) {
            (Ensemble::Boosting, Loss::Squared) => {
                self.sum_losses(|s, y| Loss::Squared.value(s, y, 0.0))
            }
            (Ensemble::Boosting, _) => self.sum_losses(|s, y| start.loss_of(s, y)),
            (_, Loss::Logistic) => self.sum_losses(|s, y| start.loss_of(s, y)),
            (_, _) => {
                let trees = (start.tree + 1) as f64;
                self.sum_losses(|s, y| {
                    let d = s / trees - y;
                    d * d
                })
            }
        }
    }

    /// Σ weight·`loss(score, label)` and Σ weight, over interleaved partial sums (a chain of
    /// dependent additions would cost a few cycles a row).
    #[inline]
    fn sum_losses(&self, loss: impl Fn(f64, f64) -> f64) -> LossSums {
        let (score, label) = (&self.score[..], &self.block.label[..]);
        let [loss, weight] = match &self.block.weight {
            None => lanes::sums(score.len(), |i| [loss(score[i], label[i]), 1.0]),
            Some(w) => lanes::sums(score.len(), |i| [w[i] * loss(score[i], label[i]), w[i]]),
        };
        LossSums { loss, weight }
    }

    /// The residuals `label − score` of leaf `leaf`'s sampled rows (to re-fit leaf values).
    pub fn residuals(&self, leaf: usize) -> impl Iterator<Item = f64> + '_ {
        self.sampled
            .rows(leaf)
            .iter()
            .map(|&r| self.block.label[r as usize] - self.score[r as usize])
    }
}
