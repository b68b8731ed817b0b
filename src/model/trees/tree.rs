//! A fitted tree, flattened as LightGBM stores one: internal nodes in creation order, each with
//! a feature, a rule and two children, a child `< 0` being leaf `!child`. While training, rules
//! are in bins ([`BinTree`]); a fitted [`Tree`] tests raw values (a numeric node's threshold is
//! its last left bin's upper bound, a categorical node holds category indices), so predicting
//! needs no binning.

use serde::{Deserialize, Serialize};

use super::binning::{BinColumn, Binning, FeatureBins};
use super::split::{Missing, Rule, Split};

/// A tree whose rules are in bins, as grown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BinTree {
    /// The split of each internal node.
    pub splits: Vec<Split>,
    /// Children of each internal node (`< 0`: leaf `!child`).
    pub left: Vec<i32>,
    /// Right children.
    pub right: Vec<i32>,
    /// Each leaf's value (after shrinkage, for boosting).
    pub values: Vec<f64>,
    /// Each leaf's depth.
    pub depth: Vec<usize>,
    /// The internal node whose child each leaf is (`None` for the root leaf).
    parent: Vec<Option<(usize, bool)>>,
}

impl BinTree {
    /// A one-leaf tree.
    pub fn root() -> Self {
        BinTree {
            values: vec![0.0],
            depth: vec![0],
            parent: vec![None],
            ..Default::default()
        }
    }

    /// Leaves.
    pub fn leaves(&self) -> usize {
        self.values.len()
    }

    /// Splits leaf `leaf` by `split`: the left child keeps the leaf's index, the right child is
    /// the next leaf. Returns the right child's index.
    pub fn split(&mut self, leaf: usize, split: Split) -> usize {
        let node = self.splits.len();
        let right_leaf = self.values.len();
        if let Some((p, is_left)) = self.parent[leaf] {
            let slot = if is_left {
                &mut self.left[p]
            } else {
                &mut self.right[p]
            };
            *slot = node as i32;
        }
        self.values[leaf] = split.left_output;
        self.values.push(split.right_output);
        let depth = self.depth[leaf] + 1;
        self.depth[leaf] = depth;
        self.depth.push(depth);
        self.parent[leaf] = Some((node, true));
        self.parent.push(Some((node, false)));
        self.left.push(!(leaf as i32));
        self.right.push(!(right_leaf as i32));
        self.splits.push(split);
        right_leaf
    }

    /// The leaf of row `i` of binned columns.
    pub fn leaf_of(&self, columns: &[BinColumn], i: usize, binning: &Binning) -> usize {
        if self.splits.is_empty() {
            return 0;
        }
        let mut node = 0i32;
        while node >= 0 {
            let s = &self.splits[node as usize];
            let f = s.feature;
            let left = s.goes_left(columns[f].get(i), binning.features[f].nan_bin());
            node = if left {
                self.left[node as usize]
            } else {
                self.right[node as usize]
            };
        }
        !node as usize
    }
}

/// A categorical node.
pub(crate) const CATEGORICAL: u8 = 1;
/// A numeric node sending NaN left.
pub(crate) const NAN_LEFT: u8 = 2;
/// A numeric node sending NaN where 0 goes.
pub(crate) const NAN_AS_ZERO: u8 = 4;

/// A fitted tree over raw feature values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Feature of each internal node.
    pub feature: Vec<u32>,
    /// Numeric nodes: values up to this go left (0 at categorical nodes).
    #[serde(with = "crate::merge::exact_float::reals")]
    pub threshold: Vec<f64>,
    /// `1` categorical, `2` NaN goes left, `4` NaN goes where 0 goes.
    pub flags: Vec<u8>,
    /// Categorical nodes: `(start, words)` of their category bitset in `categories`.
    pub category_sets: Vec<(u32, u32)>,
    /// Bitsets of category indices going left, 64 per word.
    pub categories: Vec<u64>,
    /// Children (`< 0`: leaf `!child`).
    pub left: Vec<i32>,
    /// Right children.
    pub right: Vec<i32>,
    /// Leaf values.
    #[serde(with = "crate::merge::exact_float::reals")]
    pub values: Vec<f64>,
    /// Gain of each split (for feature importance).
    #[serde(with = "crate::merge::exact_float::reals")]
    pub gain: Vec<f64>,
}

impl Tree {
    /// The fitted form of `tree`, its bin rules turned into raw-value tests by `binning`.
    pub fn from_bins(tree: &BinTree, binning: &Binning) -> Self {
        let mut t = Tree {
            feature: Vec::with_capacity(tree.splits.len()),
            threshold: Vec::with_capacity(tree.splits.len()),
            flags: Vec::with_capacity(tree.splits.len()),
            category_sets: Vec::with_capacity(tree.splits.len()),
            categories: Vec::new(),
            left: tree.left.clone(),
            right: tree.right.clone(),
            values: tree.values.clone(),
            gain: tree.splits.iter().map(|s| s.gain).collect(),
        };
        for s in &tree.splits {
            t.feature.push(s.feature as u32);
            match (&s.rule, &binning.features[s.feature]) {
                (Rule::Threshold { bin, missing }, FeatureBins::Numeric { upper, .. }) => {
                    t.threshold.push(upper[(*bin).min(upper.len() - 1)]);
                    t.flags.push(match missing {
                        Missing::Left => NAN_LEFT,
                        Missing::Right => 0,
                        Missing::AsZero => NAN_AS_ZERO,
                    });
                    t.category_sets.push((0, 0));
                }
                (Rule::Categories { bins }, _) => {
                    // Bin b holds category b − 1.
                    let cats: Vec<u32> = bins.iter().map(|b| b - 1).collect();
                    let words = cats.iter().max().map_or(0, |m| *m as usize / 64 + 1);
                    let start = t.categories.len();
                    t.categories.resize(start + words, 0);
                    for c in cats {
                        t.categories[start + c as usize / 64] |= 1 << (c % 64);
                    }
                    t.threshold.push(0.0);
                    t.flags.push(CATEGORICAL);
                    t.category_sets.push((start as u32, words as u32));
                }
                (Rule::Threshold { .. }, FeatureBins::Categorical { .. }) => {
                    unreachable!("a threshold split of a categorical feature")
                }
            }
        }
        t
    }

    /// The leaf `x` falls in (`x(f)`: the row's value of feature `f`).
    #[inline]
    pub fn leaf(&self, x: impl Fn(usize) -> f64) -> usize {
        if self.feature.is_empty() {
            return 0;
        }
        let mut node = 0i32;
        while node >= 0 {
            let n = node as usize;
            let v = x(self.feature[n] as usize);
            let left = if self.flags[n] & CATEGORICAL != 0 {
                self.category_left(n, v)
            } else if v.is_nan() {
                match self.flags[n] {
                    NAN_LEFT => true,
                    NAN_AS_ZERO => 0.0 <= self.threshold[n],
                    _ => false,
                }
            } else {
                v <= self.threshold[n]
            };
            node = if left { self.left[n] } else { self.right[n] };
        }
        !node as usize
    }

    /// Whether category `v` (truncated) goes left at categorical node `n` (NaN, negative and
    /// unseen categories go right).
    #[inline]
    fn category_left(&self, n: usize, v: f64) -> bool {
        if v.is_nan() || v < 0.0 {
            return false;
        }
        let (start, words) = self.category_sets[n];
        let c = v as usize;
        c / 64 < words as usize && self.categories[start as usize + c / 64] >> (c % 64) & 1 == 1
    }

    /// The value of the leaf `x` falls in.
    #[inline]
    pub fn predict(&self, x: impl Fn(usize) -> f64) -> f64 {
        self.values[self.leaf(x)]
    }

    /// Leaves.
    pub fn leaves(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::trees::histogram::NodeSums;

    fn split(feature: usize, rule: Rule, l: f64, r: f64) -> Split {
        Split {
            feature,
            rule,
            gain: 1.0,
            left: NodeSums::default(),
            right: NodeSums::default(),
            left_output: l,
            right_output: r,
        }
    }

    #[test]
    fn a_fitted_tree_routes_raw_values_as_its_bins_did() {
        let binning = Binning {
            features: vec![
                FeatureBins::Numeric {
                    upper: vec![1.0, 2.0, f64::INFINITY],
                    nan_bin: Some(3),
                },
                FeatureBins::Categorical { bins: 70, seen: 69 },
            ],
            names: vec!["x".into(), "zone".into()],
        };
        let mut bins = BinTree::root();
        let right = bins.split(
            0,
            split(
                0,
                Rule::Threshold {
                    bin: 1,
                    missing: Missing::Left,
                },
                -1.0,
                1.0,
            ),
        );
        bins.split(
            right,
            split(1, Rule::Categories { bins: vec![2, 66] }, 5.0, 7.0),
        );
        let tree = Tree::from_bins(&bins, &binning);
        let at = |x: f64, zone: f64| tree.predict(|f| if f == 0 { x } else { zone });
        assert_eq!(at(1.5, 0.0), -1.0, "1.5 <= 2.0, the upper bound of bin 1");
        assert_eq!(at(f64::NAN, 0.0), -1.0, "NaN learned to go left");
        assert_eq!(at(2.5, 1.0), 5.0, "category 1 is bin 2");
        assert_eq!(at(2.5, 65.0), 5.0, "category 65 is bin 66");
        assert_eq!(at(2.5, 0.0), 7.0);
        assert_eq!(at(2.5, 300.0), 7.0, "an unseen category goes right");
        assert_eq!(at(2.5, f64::NAN), 7.0);
        assert_eq!(bins.leaves(), 3);
        assert_eq!(bins.depth, vec![1, 2, 2]);
    }
}
