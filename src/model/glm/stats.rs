//! Weighted per-feature means and standard deviations, mergeable across blocks: the scaling
//! that standardisation and the solvers' preconditioning use, at O(rows · columns) cost.

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use crate::feature::{FeatureBlock, SparseColumn};

use super::block_ops::row_weight;
use super::GramSummary;

/// Σw, Σw², Σwx, Σwx² per feature and Σwy of some blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStats {
    /// Σw.
    pub weight: f64,
    /// Σw².
    pub weight_sq: f64,
    /// Σwx per feature.
    pub sum: Array1<f64>,
    /// Σwx² per feature.
    pub sum_sq: Array1<f64>,
    /// Σwy.
    pub ysum: f64,
}

impl FeatureStats {
    /// The neutral element for `p` features.
    pub fn zeros(p: usize) -> Self {
        FeatureStats {
            weight: 0.0,
            weight_sq: 0.0,
            sum: Array1::zeros(p),
            sum_sq: Array1::zeros(p),
            ysum: 0.0,
        }
    }

    /// Statistics of one block for `p` features.
    pub fn from_block(block: &FeatureBlock, p: usize) -> Self {
        let mut s = FeatureStats::zeros(p);
        let d = block.dense.ncols();
        for (i, row) in block.dense.rows().into_iter().enumerate() {
            let w = row_weight(block, i);
            s.weight += w;
            s.weight_sq += w * w;
            s.ysum += w * block.label[i];
            for (j, &x) in row.iter().enumerate() {
                s.sum[j] += w * x;
                s.sum_sq[j] += w * x * x;
            }
        }
        if d == 0 {
            for i in 0..block.rows() {
                let w = row_weight(block, i);
                s.weight += w;
                s.weight_sq += w * w;
                s.ysum += w * block.label[i];
            }
        }
        for col in &block.sparse {
            for (i, &k) in col.indices.iter().enumerate() {
                if k != SparseColumn::NONE {
                    let v = col.values.as_ref().map_or(1.0, |v| v[i]);
                    let w = row_weight(block, i);
                    let j = col.offset + k as usize;
                    s.sum[j] += w * v;
                    s.sum_sq[j] += w * v * v;
                }
            }
        }
        s
    }

    /// The same statistics read off merged Gram statistics.
    pub fn from_gram(g: &GramSummary) -> Self {
        FeatureStats {
            weight: g.weight,
            weight_sq: g.weight_sq,
            sum: g.xsum.clone(),
            sum_sq: g.xtx.diag().to_owned(),
            ysum: g.ysum,
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(mut self, other: &FeatureStats) -> Self {
        self.weight += other.weight;
        self.weight_sq += other.weight_sq;
        self.sum += &other.sum;
        self.sum_sq += &other.sum_sq;
        self.ysum += other.ysum;
        self
    }

    /// Weighted means.
    pub fn mean(&self) -> Array1<f64> {
        &self.sum / self.weight
    }

    /// Weighted mean of the label.
    pub fn label_mean(&self) -> f64 {
        self.ysum / self.weight
    }

    /// Unbiased weighted standard deviations, as MLlib's summariser computes them
    /// (Σw(x − x̄)² / (Σw − Σw²/Σw); n − 1 for unit weights).
    pub fn std(&self) -> Array1<f64> {
        let denom = self.weight - self.weight_sq / self.weight;
        let mean = self.mean();
        let mut out = Array1::zeros(self.sum.len());
        for j in 0..out.len() {
            let m2 = self.sum_sq[j] - self.sum[j] * mean[j];
            // A constant column leaves only rounding noise: call it exactly zero variance.
            let m2 = if m2 <= 1e-12 * self.sum_sq[j].abs() {
                0.0
            } else {
                m2
            };
            out[j] = if denom > 0.0 {
                (m2 / denom).sqrt()
            } else {
                0.0
            };
        }
        out
    }
}
