//! Sufficient statistics of weighted least squares on one block — `XᵀWX`, `XᵀWy`, `XᵀW1`,
//! Σw, Σw², Σwy, Σwy² — mergeable by addition, so partitions, workers and folds combine freely.
//!
//! The one-hot structure keeps the cost at O(rows · (dense² + dense·categoricals +
//! categoricals²)) instead of O(rows · features²): a categorical column adds counts to the
//! diagonal, one scatter-add per dense feature, and one count per pair of categorical columns.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::feature::{FeatureBlock, SparseColumn};
use crate::merge::lanes::sums;

/// Row weights: one per row, or all one when a block has no weight column (no vector of ones
/// to allocate and read).
trait RowWeights: Copy {
    /// The weight of row `i`.
    fn at(self, i: usize) -> f64;
}

impl RowWeights for &[f64] {
    #[inline]
    fn at(self, i: usize) -> f64 {
        self[i]
    }
}

/// Every row weighs one.
#[derive(Clone, Copy)]
struct Unweighted;

impl RowWeights for Unweighted {
    #[inline]
    fn at(self, _: usize) -> f64 {
        1.0
    }
}

/// The merged Gram statistics of a weighted least-squares problem with `p` features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GramSummary {
    /// Upper triangle (including the diagonal) of `XᵀWX`; the lower triangle stays zero.
    pub xtx: Array2<f64>,
    /// `XᵀWy`.
    pub xty: Array1<f64>,
    /// `XᵀW1`: weighted column sums.
    pub xsum: Array1<f64>,
    /// Σw.
    pub weight: f64,
    /// Σw² (for the unbiased weighted variance).
    pub weight_sq: f64,
    /// Σwy.
    pub ysum: f64,
    /// Σwy².
    pub yy: f64,
}

impl GramSummary {
    /// The neutral element for `p` features.
    pub fn zeros(p: usize) -> Self {
        GramSummary {
            xtx: Array2::zeros((p, p)),
            xty: Array1::zeros(p),
            xsum: Array1::zeros(p),
            weight: 0.0,
            weight_sq: 0.0,
            ysum: 0.0,
            yy: 0.0,
        }
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.xty.len()
    }

    /// Statistics of `block` with its own weights and labels, for `p` features.
    pub fn from_block(block: &FeatureBlock, p: usize) -> Self {
        let mut g = GramSummary::zeros(p);
        g.add_block(block);
        g
    }

    /// Adds the rows of `block` with its own weights and labels.
    pub fn add_block(&mut self, block: &FeatureBlock) {
        let z = block.label.as_slice().expect("contiguous labels");
        match &block.weight {
            Some(w) => self.add_rows(block, w.as_slice().expect("contiguous weights"), z),
            None => self.add_rows(block, Unweighted, z),
        }
    }

    /// Adds the rows of `block` with row weights `w` and responses `z` (IRLS passes its
    /// working weights and responses here).
    pub fn accumulate(&mut self, block: &FeatureBlock, w: &[f64], z: &[f64]) {
        self.add_rows(block, w, z);
    }

    fn add_rows<W: RowWeights>(&mut self, block: &FeatureBlock, w: W, z: &[f64]) {
        let [weight, weight_sq, ysum, yy] = sums(block.rows().min(z.len()), |i| {
            let (wi, zi) = (w.at(i), z[i]);
            [wi, wi * wi, wi * zi, wi * zi * zi]
        });
        self.weight += weight;
        self.weight_sq += weight_sq;
        self.ysum += ysum;
        self.yy += yy;
        let d = block.dense.ncols();
        let dense = block.dense.as_standard_layout();
        let x = dense.as_slice().expect("standard layout");
        match d {
            0 => {}
            1 => self.add_dense_rows::<1, W>(x, w, z),
            2 => self.add_dense_rows::<2, W>(x, w, z),
            3 => self.add_dense_rows::<3, W>(x, w, z),
            4 => self.add_dense_rows::<4, W>(x, w, z),
            _ => self.add_dense_products(&dense.view(), w, z),
        }
        for (c, col) in block.sparse.iter().enumerate() {
            self.add_sparse(col, x, d, w, z);
            for other in &block.sparse[c + 1..] {
                self.add_sparse_pair(col, other, w);
            }
        }
    }

    /// Dense × dense and dense moments row by row (`x` row-major with `D` columns), summed in
    /// registers: for a few dense columns, cheaper than a weighted copy and matrix products.
    fn add_dense_rows<const D: usize, W: RowWeights>(&mut self, x: &[f64], w: W, z: &[f64]) {
        let mut xtx = [[0.0; D]; D];
        let (mut xty, mut xsum) = ([0.0; D], [0.0; D]);
        for (i, (row, &zi)) in x.chunks_exact(D).zip(z).enumerate() {
            let wi = w.at(i);
            for (a, &xa) in row.iter().enumerate() {
                let wx = wi * xa;
                xsum[a] += wx;
                xty[a] += wx * zi;
                for (g, &xb) in xtx[a].iter_mut().zip(row).skip(a) {
                    *g += wx * xb;
                }
            }
        }
        self.add_dense(xtx.as_flattened(), &xty, &xsum);
    }

    /// Dense × dense and dense moments with one weighted copy of the block and matrix products.
    fn add_dense_products<W: RowWeights>(&mut self, x: &ArrayView2<f64>, w: W, z: &[f64]) {
        let w = Array1::from_shape_fn(x.nrows(), |i| w.at(i));
        let xw = x * &w.view().insert_axis(Axis(1));
        let gram = xw.t().dot(x);
        let xty = xw.t().dot(&ArrayView1::from(z));
        let xsum = x.t().dot(&w);
        let d = x.ncols();
        let upper = Array2::from_shape_fn((d, d), |(a, b)| if b >= a { gram[[a, b]] } else { 0.0 });
        self.add_dense(
            upper.as_slice().expect("fresh"),
            xty.as_slice().expect("fresh"),
            xsum.as_slice().expect("fresh"),
        );
    }

    /// Adds the dense columns' upper triangle `xtx` (`d` × `d`, row-major), `Xᵀz` and sums.
    fn add_dense(&mut self, xtx: &[f64], xty: &[f64], xsum: &[f64]) {
        let d = xty.len();
        for a in 0..d {
            for b in a..d {
                self.xtx[[a, b]] += xtx[a * d + b];
            }
            self.xty[a] += xty[a];
            self.xsum[a] += xsum[a];
        }
    }

    /// One categorical column's own entries (its block of `XᵀWX` is diagonal: one active index
    /// per row), its `XᵀWz` and sums, and its products with the dense columns (`x`, `d` wide).
    /// They are summed per category side by side, so a row updates one cache line, and kept
    /// apart from the pairs of columns so each loop touches little memory.
    fn add_sparse<W: RowWeights>(
        &mut self,
        col: &SparseColumn,
        x: &[f64],
        d: usize,
        w: W,
        z: &[f64],
    ) {
        // Per category: [Σwv², Σwvz, Σwv, Σwv·x₀, …, Σwv·x_{d−1}].
        let stride = 3 + d;
        let mut acc = vec![0.0; col.width * stride];
        for (i, &k) in col.indices.iter().enumerate() {
            let wi = w.at(i);
            if k == SparseColumn::NONE || wi == 0.0 {
                continue;
            }
            let v = col.values.as_ref().map_or(1.0, |v| v[i]);
            let wv = wi * v;
            let slot = &mut acc[k as usize * stride..(k as usize + 1) * stride];
            slot[0] += wv * v;
            slot[1] += wv * z[i];
            slot[2] += wv;
            for (s, &xa) in slot[3..].iter_mut().zip(&x[i * d..(i + 1) * d]) {
                *s += wv * xa;
            }
        }
        for (k, slot) in acc.chunks_exact(stride).enumerate() {
            let j = col.offset + k;
            self.xtx[[j, j]] += slot[0];
            self.xty[j] += slot[1];
            self.xsum[j] += slot[2];
            for (a, &s) in slot[3..].iter().enumerate() {
                // Dense columns come first, so (a, j) is in the upper triangle.
                self.xtx[[a, j]] += s;
            }
        }
    }

    /// The products of two categorical columns: one weighted count per row where both are active.
    fn add_sparse_pair<W: RowWeights>(&mut self, a: &SparseColumn, b: &SparseColumn, w: W) {
        let p = self.features();
        let xtx = self.xtx.as_slice_mut().expect("standard layout");
        for (i, (&ka, &kb)) in a.indices.iter().zip(&b.indices).enumerate() {
            if ka == SparseColumn::NONE || kb == SparseColumn::NONE {
                continue;
            }
            let va = a.values.as_ref().map_or(1.0, |v| v[i]);
            let vb = b.values.as_ref().map_or(1.0, |v| v[i]);
            let (ja, jb) = (a.offset + ka as usize, b.offset + kb as usize);
            let (lo, hi) = if ja < jb { (ja, jb) } else { (jb, ja) };
            xtx[lo * p + hi] += w.at(i) * va * vb;
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(mut self, other: &GramSummary) -> Self {
        self.xtx += &other.xtx;
        self.xty += &other.xty;
        self.xsum += &other.xsum;
        self.weight += other.weight;
        self.weight_sq += other.weight_sq;
        self.ysum += other.ysum;
        self.yy += other.yy;
        self
    }

    /// The full symmetric `XᵀWX`.
    pub fn gram(&self) -> Array2<f64> {
        let mut g = self.xtx.clone();
        let p = self.features();
        for a in 0..p {
            for b in 0..a {
                g[[a, b]] = g[[b, a]];
            }
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::glm::block_ops::tests::{densify, toy_block};
    use proptest::prelude::*;

    #[test]
    fn matches_the_dense_computation() {
        let (block, layout) = toy_block();
        let p = layout.width();
        let x = densify(&block, p);
        let w = block.weight.clone().unwrap();
        let mut xw = x.clone();
        for (mut r, &wi) in xw.rows_mut().into_iter().zip(w.iter()) {
            r *= wi;
        }
        let g = GramSummary::from_block(&block, p);
        let expected = xw.t().dot(&x);
        assert!((&g.gram() - &expected).iter().all(|d| d.abs() < 1e-12));
        assert!((&g.xty - &xw.t().dot(&block.label))
            .iter()
            .all(|d| d.abs() < 1e-12));
        assert!((&g.xsum - &xw.sum_axis(ndarray::Axis(0)))
            .iter()
            .all(|d| d.abs() < 1e-12));
        assert_eq!(g.weight, 4.5);
    }

    /// Splits `block` into row ranges given by `cuts`.
    fn split(block: &FeatureBlock, cuts: &[usize]) -> Vec<FeatureBlock> {
        let mut bounds = vec![0];
        bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < block.rows()));
        bounds.push(block.rows());
        bounds.sort_unstable();
        bounds.dedup();
        bounds
            .windows(2)
            .map(|r| {
                let (a, b) = (r[0], r[1]);
                FeatureBlock {
                    dense: block.dense.slice(ndarray::s![a..b, ..]).to_owned(),
                    sparse: block
                        .sparse
                        .iter()
                        .map(|c| SparseColumn {
                            offset: c.offset,
                            width: c.width,
                            indices: c.indices[a..b].to_vec(),
                            values: c.values.as_ref().map(|v| v[a..b].to_vec()),
                        })
                        .collect(),
                    label: block.label.slice(ndarray::s![a..b]).to_owned(),
                    weight: block
                        .weight
                        .as_ref()
                        .map(|w| w.slice(ndarray::s![a..b]).to_owned()),
                }
            })
            .collect()
    }

    #[test]
    fn row_by_row_and_matrix_product_paths_match_the_dense_computation() {
        for d in [1, 3, 4, 5, 12] {
            let base = random_block(50, d as u64);
            let wide = Array2::from_shape_fn((50, d), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let block = FeatureBlock {
                dense: wide,
                sparse: base
                    .sparse
                    .iter()
                    .map(|c| SparseColumn {
                        offset: c.offset - 2 + d,
                        ..c.clone()
                    })
                    .collect(),
                ..base
            };
            let p = d + 7;
            let x = densify(&block, p);
            let w = block.weight.clone().unwrap();
            let xw = &x * &w.view().insert_axis(ndarray::Axis(1));
            let g = GramSummary::from_block(&block, p);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + a.abs());
            let expected = xw.t().dot(&x);
            assert!(
                g.gram().iter().zip(&expected).all(|(a, b)| close(*a, *b)),
                "d = {d}"
            );
            let xty = xw.t().dot(&block.label);
            assert!(
                g.xty.iter().zip(&xty).all(|(a, b)| close(*a, *b)),
                "d = {d}"
            );
            let xsum = xw.sum_axis(ndarray::Axis(0));
            assert!(
                g.xsum.iter().zip(&xsum).all(|(a, b)| close(*a, *b)),
                "d = {d}"
            );
        }
    }

    fn random_block(rows: usize, seed: u64) -> FeatureBlock {
        // A small deterministic generator keeps the test independent of rand's API.
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f64 / (1u64 << 31) as f64
        };
        let dense = Array2::from_shape_fn((rows, 2), |_| next() * 4.0 - 2.0);
        let mut pick = |width: u32| -> Vec<u32> {
            (0..rows)
                .map(|_| {
                    let u = next();
                    if u < 0.1 {
                        SparseColumn::NONE
                    } else {
                        ((u * width as f64) as u32).min(width - 1)
                    }
                })
                .collect()
        };
        let a = pick(4);
        let b = pick(3);
        let values = Some((0..rows).map(|_| next() + 0.5).collect());
        FeatureBlock {
            dense,
            sparse: vec![
                SparseColumn {
                    offset: 2,
                    width: 4,
                    indices: a,
                    values: None,
                },
                SparseColumn {
                    offset: 6,
                    width: 3,
                    indices: b,
                    values,
                },
            ],
            label: (0..rows).map(|_| next() * 10.0).collect(),
            weight: Some((0..rows).map(|_| next() * 2.0).collect()),
        }
    }

    proptest! {
        #[test]
        fn merging_in_any_partitioning_and_order_equals_one_block(
            rows in 1usize..60,
            seed in any::<u64>(),
            cuts in proptest::collection::vec(0usize..60, 0..6),
            reverse in any::<bool>(),
        ) {
            let block = random_block(rows, seed);
            let whole = GramSummary::from_block(&block, 9);
            let mut parts: Vec<GramSummary> =
                split(&block, &cuts).iter().map(|b| GramSummary::from_block(b, 9)).collect();
            if reverse {
                parts.reverse();
            }
            // Merge as a balanced tree, not left to right, to exercise associativity.
            while parts.len() > 1 {
                let mut next = Vec::new();
                for pair in parts.chunks(2) {
                    next.push(match pair {
                        [a, b] => a.clone().merge(b),
                        [a] => a.clone(),
                        _ => unreachable!(),
                    });
                }
                parts = next;
            }
            let merged = &parts[0];
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()));
            prop_assert!(whole.xtx.iter().zip(merged.xtx.iter()).all(|(a, b)| close(*a, *b)));
            prop_assert!(whole.xty.iter().zip(merged.xty.iter()).all(|(a, b)| close(*a, *b)));
            prop_assert!(whole.xsum.iter().zip(merged.xsum.iter()).all(|(a, b)| close(*a, *b)));
            prop_assert!(close(whole.weight, merged.weight) && close(whole.yy, merged.yy));
            prop_assert!(close(whole.ysum, merged.ysum) && close(whole.weight_sq, merged.weight_sq));
        }
    }
}
