//! Linear algebra on one [`FeatureBlock`] that exploits its one-hot structure: a categorical
//! column contributes one gathered coefficient per row to `X·β` and one scatter-add to `Xᵀr`.

use std::ops::Range;

use ndarray::{s, Array1, ArrayView1};

use crate::feature::{FeatureBlock, SparseColumn};

/// Linear predictor `X·β + b` for the rows `rows` of `block`.
pub fn margins(
    block: &FeatureBlock,
    rows: Range<usize>,
    beta: &[f64],
    intercept: f64,
) -> Array1<f64> {
    let d = block.dense.ncols();
    let dense = block.dense.slice(s![rows.clone(), ..]);
    let mut eta = Array1::from_elem(rows.len(), intercept);
    let out = eta.as_slice_mut().expect("fresh arrays are contiguous");
    match dense.as_slice() {
        // Row by row: a matrix–vector product call per row costs more than a few columns.
        Some(x) if d > 0 => {
            for (e, row) in out.iter_mut().zip(x.chunks_exact(d)) {
                *e += row.iter().zip(&beta[..d]).map(|(x, b)| x * b).sum::<f64>();
            }
        }
        _ if d > 0 => {
            for (e, m) in out.iter_mut().zip(dense.dot(&ArrayView1::from(&beta[..d]))) {
                *e += m;
            }
        }
        _ => {}
    }
    for col in &block.sparse {
        let coef = &beta[col.offset..col.offset + col.width];
        let idx = &col.indices[rows.clone()];
        match &col.values {
            None => {
                for (e, &k) in out.iter_mut().zip(idx) {
                    if k != SparseColumn::NONE {
                        *e += coef[k as usize];
                    }
                }
            }
            Some(values) => {
                for ((e, &k), &v) in out.iter_mut().zip(idx).zip(&values[rows.clone()]) {
                    if k != SparseColumn::NONE {
                        *e += coef[k as usize] * v;
                    }
                }
            }
        }
    }
    eta
}

/// Adds `Xᵀr` for the rows `rows` of `block` into `grad` (length = feature count).
pub fn add_transposed(block: &FeatureBlock, rows: Range<usize>, r: &[f64], grad: &mut [f64]) {
    let d = block.dense.ncols();
    if d > 0 {
        let dense = block.dense.slice(s![rows.clone(), ..]);
        let g = dense.t().dot(&ArrayView1::from(r));
        for (acc, v) in grad[..d].iter_mut().zip(g.iter()) {
            *acc += v;
        }
    }
    for col in &block.sparse {
        let acc = &mut grad[col.offset..col.offset + col.width];
        let idx = &col.indices[rows.clone()];
        match &col.values {
            None => {
                for (&k, &ri) in idx.iter().zip(r) {
                    if k != SparseColumn::NONE {
                        acc[k as usize] += ri;
                    }
                }
            }
            Some(values) => {
                for ((&k, &ri), &v) in idx.iter().zip(r).zip(&values[rows.clone()]) {
                    if k != SparseColumn::NONE {
                        acc[k as usize] += ri * v;
                    }
                }
            }
        }
    }
}

/// Weight of row `i` (1 when the block has no weight column).
#[inline]
pub(crate) fn row_weight(block: &FeatureBlock, i: usize) -> f64 {
    block.weight.as_ref().map_or(1.0, |w| w[i])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::feature::FeatureLayout;
    use ndarray::{array, Array2};

    /// A small block with 2 dense features and two one-hot columns (widths 3 and 2), one row
    /// without an active index and one valued sparse column.
    pub(crate) fn toy_block() -> (FeatureBlock, FeatureLayout) {
        let dense = array![[1.0, 2.0], [0.5, -1.0], [3.0, 0.0], [-2.0, 1.5]];
        let sparse = vec![
            SparseColumn {
                offset: 2,
                width: 3,
                indices: vec![0, 2, SparseColumn::NONE, 2],
                values: None,
            },
            SparseColumn {
                offset: 5,
                width: 2,
                indices: vec![1, 0, 1, 1],
                values: Some(vec![2.0, 1.0, 0.5, 1.0]),
            },
        ];
        let names = ["a", "b", "c0", "c1", "c2", "d0", "d1"]
            .map(String::from)
            .to_vec();
        let block = FeatureBlock {
            dense,
            sparse,
            label: array![1.0, 2.0, 0.0, 3.0],
            weight: Some(array![1.0, 2.0, 0.5, 1.0]),
        };
        (
            block,
            FeatureLayout {
                names,
                dense: 2,
                ..Default::default()
            },
        )
    }

    /// The block as a dense row-major matrix (only for tests).
    pub(crate) fn densify(block: &FeatureBlock, p: usize) -> Array2<f64> {
        let mut x = Array2::zeros((block.rows(), p));
        x.slice_mut(s![.., ..block.dense.ncols()])
            .assign(&block.dense);
        for col in &block.sparse {
            for (i, &k) in col.indices.iter().enumerate() {
                if k != SparseColumn::NONE {
                    x[[i, col.offset + k as usize]] = col.values.as_ref().map_or(1.0, |v| v[i]);
                }
            }
        }
        x
    }

    #[test]
    fn margins_and_transpose_match_the_dense_matrix() {
        let (block, layout) = toy_block();
        let x = densify(&block, layout.width());
        let beta = [0.1, -0.2, 1.0, 2.0, 3.0, -1.0, 0.5];
        let eta = margins(&block, 0..4, &beta, 0.25);
        let expected = x.dot(&ArrayView1::from(&beta[..])) + 0.25;
        assert!((&eta - &expected).iter().all(|d| d.abs() < 1e-12));
        let tail = margins(&block, 1..4, &beta, 0.25);
        assert!((&tail - &expected.slice(s![1..]))
            .iter()
            .all(|d| d.abs() < 1e-12));

        let r = [0.3, -1.0, 2.0, 0.7];
        let mut g = vec![0.0; 7];
        add_transposed(&block, 0..4, &r, &mut g);
        let expected = x.t().dot(&ArrayView1::from(&r[..]));
        assert!(g
            .iter()
            .zip(expected.iter())
            .all(|(a, b)| (a - b).abs() < 1e-12));
    }
}
