//! The histograms of the leaves a tree may still split, over a contiguous range of features:
//! all of them in-process, a parameter-server shard's own range in a cluster. Built for the
//! root, then for the smaller child of each split, the larger child derived as its parent
//! minus it; each leaf's best split is searched over its features in the range.

use std::ops::Range;

use super::binning::FeatureBins;
use super::histogram::{Histogram, NodeSums, STRIDE};
use super::split::{best_split, Split, SplitSearch};

/// The histograms and sums of a tree's open leaves over features `features`.
#[derive(Debug, Clone)]
pub struct LeafHistograms {
    features: Range<usize>,
    /// Each feature's first bin, relative to the range's first bin.
    offsets: Vec<usize>,
    bins: usize,
    hists: Vec<Option<Histogram>>,
    sums: Vec<NodeSums>,
}

/// Which child of a split has its histogram built (the other is derived): the one with
/// fewer rows, the left on a tie.
pub fn built_child(left: NodeSums, right: NodeSums) -> bool {
    left.c <= right.c
}

impl LeafHistograms {
    /// Leaves over `features` of `all` (every feature's bins, in order).
    pub fn new(all: &[FeatureBins], features: Range<usize>) -> Self {
        let mut offsets = vec![0; all.len()];
        let mut bins = 0;
        for f in features.clone() {
            offsets[f] = bins;
            bins += all[f].len();
        }
        LeafHistograms {
            features,
            offsets,
            bins,
            hists: Vec::new(),
            sums: Vec::new(),
        }
    }

    /// The bins of the range (a histogram's length over it is `bins × 3`).
    pub fn bins(&self) -> usize {
        self.bins
    }

    /// The range's slice of a histogram over every feature (`offsets`: every feature's first bin).
    pub fn slice_of(
        features: &Range<usize>,
        all: &[FeatureBins],
        offsets: &[usize],
        hist: &Histogram,
    ) -> Histogram {
        let start = offsets.get(features.start).copied().unwrap_or(0);
        let len: usize = all[features.clone()].iter().map(FeatureBins::len).sum();
        Histogram {
            sums: hist.sums[start * STRIDE..(start + len) * STRIDE].to_vec(),
        }
    }

    /// A new tree: the root's histogram and sums.
    pub fn root(&mut self, hist: Histogram, sums: NodeSums) {
        self.hists = vec![Some(hist)];
        self.sums = vec![sums];
    }

    /// Leaf `leaf` split into itself (left) and `right` by `split`: records the children's
    /// sums and frees the parent's histogram until [`children`](Self::children) replaces it.
    pub fn split(&mut self, leaf: usize, split: &Split, right: usize) {
        self.sums[leaf] = split.left;
        if self.sums.len() <= right {
            self.sums.resize(right + 1, NodeSums::default());
            self.hists.resize(right + 1, None);
        }
        self.sums[right] = split.right;
    }

    /// The children's histograms: `built` is the built child's (see [`built_child`]), the
    /// other is the parent's minus it.
    pub fn children(&mut self, left: usize, right: usize, built: Histogram) {
        let mut parent = self.hists[left]
            .take()
            .expect("the parent's histogram is kept");
        parent.subtract(&built);
        let (l, r) = match built_child(self.sums[left], self.sums[right]) {
            true => (built, parent),
            false => (parent, built),
        };
        self.hists[left] = Some(l);
        self.hists[right] = Some(r);
    }

    /// Leaf `leaf` will not split again: its histogram is dropped.
    pub fn close(&mut self, leaf: usize) {
        self.hists[leaf] = None;
    }

    /// The sums of leaf `leaf`.
    pub fn sums(&self, leaf: usize) -> NodeSums {
        self.sums[leaf]
    }

    /// The best split of `leaf` over its `allowed` features in the range (`None`: no split, or
    /// none allowed — its histogram is then dropped, as the leaf will never split).
    pub fn best(
        &mut self,
        leaf: usize,
        all: &[FeatureBins],
        allowed: &[usize],
        search: &SplitSearch,
    ) -> Option<Split> {
        let mine: Vec<usize> = allowed
            .iter()
            .copied()
            .filter(|f| self.features.contains(f))
            .collect();
        if allowed.is_empty() {
            self.hists[leaf] = None;
            return None;
        }
        let hist = self.hists[leaf].as_ref()?;
        best_split(hist, self.sums[leaf], all, &self.offsets, &mine, search)
    }
}
