//! The trees as scoring reads them: every node of every tree in one array of 24-byte records
//! (threshold, feature, how NaN and categories go, both children), leaf values and category
//! bitsets in arrays of their own — a walk touches one record per level.

use super::tree::{Tree, CATEGORICAL, NAN_AS_ZERO, NAN_LEFT};

/// One internal node.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    /// Numeric: values up to it go left. Categorical: the bitset's `(start << 32) | words`.
    threshold: f64,
    feature: u32,
    categorical: bool,
    /// Where NaN goes at a numeric node.
    nan_left: bool,
    /// Left and right child (`< 0`: leaf `!child`).
    children: [i32; 2],
}

/// Rows walked down a tree together by [`FlatTrees::add_to`].
const LANES: usize = 8;

/// Every tree's nodes, leaves and category sets, flattened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlatTrees {
    nodes: Vec<Node>,
    values: Vec<f64>,
    categories: Vec<u64>,
    /// Per tree: its first node and its first leaf value.
    trees: Vec<(u32, u32)>,
    /// Per feature: whether nodes test it as a category.
    categorical: Vec<bool>,
}

impl FlatTrees {
    /// The flat form of `trees` over `width` features.
    pub fn new(trees: &[Tree], width: usize) -> Self {
        let mut flat = FlatTrees {
            categorical: vec![false; width],
            ..FlatTrees::default()
        };
        for t in trees {
            flat.trees
                .push((flat.nodes.len() as u32, flat.values.len() as u32));
            let cat_base = flat.categories.len() as u64;
            for n in 0..t.feature.len() {
                let threshold = match t.flags[n] & CATEGORICAL != 0 {
                    true => {
                        let (start, words) = t.category_sets[n];
                        f64::from_bits(((cat_base + u64::from(start)) << 32) | u64::from(words))
                    }
                    false => t.threshold[n],
                };
                let nan_left = match t.flags[n] {
                    NAN_LEFT => true,
                    NAN_AS_ZERO => 0.0 <= t.threshold[n],
                    _ => false,
                };
                if t.flags[n] & CATEGORICAL != 0 {
                    if let Some(c) = flat.categorical.get_mut(t.feature[n] as usize) {
                        *c = true;
                    }
                }
                flat.nodes.push(Node {
                    threshold,
                    feature: t.feature[n],
                    categorical: t.flags[n] & CATEGORICAL != 0,
                    nan_left,
                    children: [t.left[n], t.right[n]],
                });
            }
            flat.values.extend_from_slice(&t.values);
            flat.categories.extend_from_slice(&t.categories);
        }
        flat
    }

    /// Feature `f`'s value `v` as the walk reads it: a category is stored as its index's bits
    /// (`u64::MAX` for NaN and negative values), so a node tests it without converting.
    #[inline]
    pub fn encode(&self, f: usize, v: f64) -> f64 {
        match self.categorical.get(f) {
            Some(true) if v >= 0.0 => f64::from_bits(v as u64),
            Some(true) => f64::from_bits(u64::MAX),
            _ => v,
        }
    }

    /// Trees.
    pub fn len(&self) -> usize {
        self.trees.len()
    }

    /// Whether there are no trees.
    pub fn is_empty(&self) -> bool {
        self.trees.is_empty()
    }

    /// The value tree `t` gives the row whose tree features are `x` ([encoded](Self::encode)).
    #[inline]
    pub fn value(&self, t: usize, x: &[f64]) -> f64 {
        let (first, values) = self.trees[t];
        let end = self
            .trees
            .get(t + 1)
            .map_or(self.nodes.len(), |n| n.0 as usize);
        let nodes = &self.nodes[first as usize..end];
        let leaf = match nodes.is_empty() {
            true => 0,
            false => self.leaf(nodes, x),
        };
        self.values[values as usize + leaf]
    }

    /// Adds tree `t`'s value to the score of every row of `x` (rows of `width` features).
    pub fn add_to(&self, t: usize, x: &[f64], width: usize, scores: &mut [f64]) {
        let (first, values) = self.trees[t];
        let end = self
            .trees
            .get(t + 1)
            .map_or(self.nodes.len(), |n| n.0 as usize);
        let nodes = &self.nodes[first as usize..end];
        let values = &self.values[values as usize..];
        if nodes.is_empty() {
            scores.iter_mut().for_each(|s| *s += values[0]);
            return;
        }
        let block = width * LANES;
        let mut rows = x.chunks_exact(block);
        let mut lanes = scores.chunks_exact_mut(LANES);
        for (rows, scores) in rows.by_ref().zip(lanes.by_ref()) {
            for (leaf, s) in self.leaves(nodes, rows, width).into_iter().zip(scores) {
                *s += values[leaf];
            }
        }
        let rest = rows.remainder().chunks_exact(width);
        for (row, s) in rest.zip(lanes.into_remainder().iter_mut()) {
            *s += values[self.leaf(nodes, row)];
        }
    }

    /// The leaves of `LANES` rows, walked down together: their dependent loads and compares
    /// overlap instead of waiting on each other.
    #[inline]
    fn leaves(&self, nodes: &[Node], rows: &[f64], width: usize) -> [usize; LANES] {
        let mut n = [0i32; LANES];
        let mut walking = true;
        while walking {
            walking = false;
            for (lane, n) in n.iter_mut().enumerate() {
                if *n >= 0 {
                    let node = &nodes[*n as usize];
                    let v = rows[lane * width + node.feature as usize];
                    *n = node.children[usize::from(!self.goes_left(node, v))];
                    walking = true;
                }
            }
        }
        n.map(|n| !n as usize)
    }

    #[inline]
    fn leaf(&self, nodes: &[Node], x: &[f64]) -> usize {
        let mut n = 0i32;
        while n >= 0 {
            let node = &nodes[n as usize];
            let left = self.goes_left(node, x[node.feature as usize]);
            n = if left {
                node.children[0]
            } else {
                node.children[1]
            };
        }
        !n as usize
    }

    #[inline(always)]
    fn goes_left(&self, node: &Node, v: f64) -> bool {
        match node.categorical {
            false => (v <= node.threshold) | (v.is_nan() & node.nan_left),
            true => self.category_left(node.threshold.to_bits(), v),
        }
    }

    /// Whether the category whose index's bits are `v` (see [`encode`](Self::encode)) is in
    /// the bitset `(start << 32) | words`; unseen categories are not.
    #[inline]
    fn category_left(&self, set: u64, v: f64) -> bool {
        let (start, words) = ((set >> 32) as usize, set & 0xFFFF_FFFF);
        let c = v.to_bits();
        c / 64 < words && self.categories[start + (c / 64) as usize] >> (c % 64) & 1 == 1
    }
}
