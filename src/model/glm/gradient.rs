//! Loss and gradient of a GLM on one block: the per-partition piece every first-order trainer
//! sums (rayon today, parameter-server shards later).

use std::ops::Range;

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use crate::feature::FeatureBlock;

use super::block_ops::{add_transposed, margins, row_weight};
use super::Family;

/// Weighted loss sum and gradient of one block (or of many, after [`BlockGradient::merge`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockGradient {
    /// Σ wᵢ·loss(ηᵢ, yᵢ).
    pub loss: f64,
    /// Σ wᵢ: the normaliser of the data term.
    pub weight: f64,
    /// Σ wᵢ·loss′(ηᵢ, yᵢ)·xᵢ, one entry per feature.
    pub grad: Array1<f64>,
    /// Σ wᵢ·loss′(ηᵢ, yᵢ): the intercept's gradient.
    pub grad_intercept: f64,
}

impl BlockGradient {
    /// The neutral element for `p` features.
    pub fn zeros(p: usize) -> Self {
        BlockGradient {
            loss: 0.0,
            weight: 0.0,
            grad: Array1::zeros(p),
            grad_intercept: 0.0,
        }
    }

    /// Adds `other` into `self` (associative and commutative up to rounding).
    pub fn merge(mut self, other: &BlockGradient) -> Self {
        self.loss += other.loss;
        self.weight += other.weight;
        self.grad += &other.grad;
        self.grad_intercept += other.grad_intercept;
        self
    }

    /// Loss and gradient of `family` on rows `rows` of `block` at coefficients `beta`, `intercept`.
    pub fn compute(
        family: Family,
        block: &FeatureBlock,
        rows: Range<usize>,
        beta: &[f64],
        intercept: f64,
    ) -> Self {
        let mut eta = margins(block, rows.clone(), beta, intercept);
        let (mut loss, mut weight, mut grad_intercept) = (0.0, 0.0, 0.0);
        // Overwrite η with the weighted derivative so no second buffer is allocated.
        for (k, e) in eta.iter_mut().enumerate() {
            let i = rows.start + k;
            let w = row_weight(block, i);
            let (l, d) = family.loss_dloss(*e, block.label[i]);
            if w == 0.0 {
                *e = 0.0;
                continue;
            }
            loss += w * l;
            weight += w;
            *e = w * d;
            grad_intercept += *e;
        }
        let mut grad = Array1::zeros(beta.len());
        add_transposed(
            block,
            rows,
            eta.as_slice().expect("contiguous"),
            grad.as_slice_mut().expect("contiguous"),
        );
        BlockGradient {
            loss,
            weight,
            grad,
            grad_intercept,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::glm::block_ops::tests::toy_block;

    #[test]
    fn gradient_matches_finite_differences() {
        let (block, layout) = toy_block();
        let p = layout.width();
        let beta: Vec<f64> = (0..p).map(|j| 0.1 * j as f64 - 0.2).collect();
        for family in [Family::Gaussian, Family::Poisson] {
            let g = BlockGradient::compute(family, &block, 0..4, &beta, 0.3);
            assert_eq!(g.weight, 4.5);
            for j in 0..p {
                let h = 1e-6;
                let mut up = beta.clone();
                up[j] += h;
                let mut down = beta.clone();
                down[j] -= h;
                let fu = BlockGradient::compute(family, &block, 0..4, &up, 0.3).loss;
                let fd = BlockGradient::compute(family, &block, 0..4, &down, 0.3).loss;
                assert!(
                    ((fu - fd) / (2.0 * h) - g.grad[j]).abs() < 1e-5,
                    "{family:?} {j}"
                );
            }
            let fu = BlockGradient::compute(family, &block, 0..4, &beta, 0.3 + 1e-6).loss;
            let fd = BlockGradient::compute(family, &block, 0..4, &beta, 0.3 - 1e-6).loss;
            assert!(((fu - fd) / 2e-6 - g.grad_intercept).abs() < 1e-5);
        }
    }

    #[test]
    fn row_ranges_add_up_to_the_whole_block() {
        let (block, _) = toy_block();
        let beta = [0.5, -0.1, 0.2, 0.0, 1.0, -0.3, 0.4];
        let whole = BlockGradient::compute(Family::Gaussian, &block, 0..4, &beta, 1.0);
        let parts = BlockGradient::compute(Family::Gaussian, &block, 0..1, &beta, 1.0).merge(
            &BlockGradient::compute(Family::Gaussian, &block, 1..4, &beta, 1.0),
        );
        assert!((whole.loss - parts.loss).abs() < 1e-12);
        assert!((&whole.grad - &parts.grad).iter().all(|d| d.abs() < 1e-12));
    }
}
