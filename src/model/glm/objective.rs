//! The penalised GLM objective in the solvers' internal coordinates.
//!
//! Solvers work on `u = (θ, c)` with `βⱼ = θⱼ/sⱼ` and `b = c − Σ μⱼβⱼ` (`sⱼ` = the feature's
//! standard deviation, `μⱼ` = its mean when an intercept is fitted): the problem the solvers
//! see is standardised and centred, hence well conditioned, whatever the raw feature scales —
//! MLlib does the same. The penalty is expressed on θ so that `standardization` only changes
//! its per-coordinate weights, never the data.

use ndarray::Array1;

use super::{BlockGradient, FeatureStats, GlmValidParams};

/// Feature scaling, centring and per-coordinate penalty weights of one fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    mean: Array1<f64>,
    scale: Array1<f64>,
    l2: Array1<f64>,
    l1: Array1<f64>,
    fit_intercept: bool,
}

impl Objective {
    /// The objective of `params` on data summarised by `stats`.
    pub fn new(stats: &FeatureStats, params: &GlmValidParams) -> Self {
        let std = stats.std();
        let p = std.len();
        let mean = if params.fit_intercept() {
            stats.mean()
        } else {
            Array1::zeros(p)
        };
        let scale = std.mapv(|s| if s > 0.0 { s } else { 1.0 });
        // Penalty on βⱼ·penⱼ with penⱼ = σⱼ (standardization) or 1, i.e. on θⱼ·penⱼ/sⱼ.
        let ratio = Array1::from_shape_fn(p, |j| {
            if params.standardization() {
                std[j] / scale[j]
            } else {
                1.0 / scale[j]
            }
        });
        Objective {
            l2: ratio.mapv(|r| params.l2() * r * r),
            l1: ratio.mapv(|r| params.l1() * r),
            mean,
            scale,
            fit_intercept: params.fit_intercept(),
        }
    }

    /// Per-feature L2 weights on θ (λ(1 − α)·penⱼ²/sⱼ²).
    pub(crate) fn l2_theta(&self) -> &Array1<f64> {
        &self.l2
    }

    /// Per-feature L1 weights on θ (λα·penⱼ/sⱼ).
    pub(crate) fn l1_theta(&self) -> &Array1<f64> {
        &self.l1
    }

    /// The scale sⱼ of each feature (its standard deviation, or 1 for a constant feature).
    pub fn scale(&self) -> &Array1<f64> {
        &self.scale
    }

    /// The centre μⱼ of each feature (zeros without an intercept).
    pub fn centre(&self) -> &Array1<f64> {
        &self.mean
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.scale.len()
    }

    /// Length of the internal vector `u` (features, plus one for the intercept).
    pub fn dim(&self) -> usize {
        self.features() + usize::from(self.fit_intercept)
    }

    /// Per-coordinate L1 weights on `u` (zero for the intercept); all zero without L1.
    pub fn l1_weights(&self) -> Vec<f64> {
        let mut w = self.l1.to_vec();
        if self.fit_intercept {
            w.push(0.0);
        }
        w
    }

    /// Whether the penalty has an L1 part.
    pub fn has_l1(&self) -> bool {
        self.l1.iter().any(|&w| w > 0.0)
    }

    /// Coefficients and intercept in the model's (raw feature) space.
    pub fn to_model(&self, u: &[f64]) -> (Vec<f64>, f64) {
        let p = self.features();
        let beta: Vec<f64> = (0..p).map(|j| u[j] / self.scale[j]).collect();
        let intercept = if self.fit_intercept {
            u[p] - beta.iter().zip(&self.mean).map(|(b, m)| b * m).sum::<f64>()
        } else {
            0.0
        };
        (beta, intercept)
    }

    /// The internal vector of model-space coefficients and intercept.
    pub fn from_model(&self, beta: &[f64], intercept: f64) -> Vec<f64> {
        let mut u: Vec<f64> = beta.iter().zip(&self.scale).map(|(b, s)| b * s).collect();
        if self.fit_intercept {
            u.push(intercept + beta.iter().zip(&self.mean).map(|(b, m)| b * m).sum::<f64>());
        }
        u
    }

    /// Smooth part of the objective (mean loss + L2) and its gradient in `u`, from the block
    /// gradients summed at `to_model(u)`.
    pub fn smooth(&self, u: &[f64], sum: &BlockGradient) -> (f64, Vec<f64>) {
        let p = self.features();
        let n = sum.weight;
        let gb = sum.grad_intercept / n;
        let mut value = sum.loss / n;
        let mut grad = Vec::with_capacity(self.dim());
        for (j, &uj) in u.iter().enumerate().take(p) {
            let gj = sum.grad[j] / n;
            let centred = if self.fit_intercept {
                gj - self.mean[j] * gb
            } else {
                gj
            };
            grad.push(centred / self.scale[j] + self.l2[j] * uj);
            value += 0.5 * self.l2[j] * uj * uj;
        }
        if self.fit_intercept {
            grad.push(gb);
        }
        (value, grad)
    }

    /// The L1 part of the objective at `u`.
    pub fn l1_value(&self, u: &[f64]) -> f64 {
        self.l1.iter().zip(u).map(|(w, x)| w * x.abs()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::glm::block_ops::tests::toy_block;
    use crate::model::glm::GlmParams;
    use crate::model::Family;

    #[test]
    fn internal_gradient_matches_finite_differences() {
        let (block, layout) = toy_block();
        let p = layout.width();
        let stats = FeatureStats::from_block(&block, p);
        let params = GlmParams::new(Family::Poisson).reg(0.3).check().unwrap();
        let obj = Objective::new(&stats, &params);
        let f = |u: &[f64]| {
            let (beta, b) = obj.to_model(u);
            obj.smooth(
                u,
                &BlockGradient::compute(Family::Poisson, &block, 0..4, &beta, b),
            )
        };
        let u: Vec<f64> = (0..obj.dim()).map(|j| 0.05 * j as f64 - 0.1).collect();
        let (_, g) = f(&u);
        for j in 0..u.len() {
            let mut up = u.clone();
            up[j] += 1e-6;
            let mut down = u.clone();
            down[j] -= 1e-6;
            let numeric = (f(&up).0 - f(&down).0) / 2e-6;
            assert!((numeric - g[j]).abs() < 1e-6, "{j}: {numeric} vs {}", g[j]);
        }
        let (beta, b) = obj.to_model(&u);
        let back = obj.from_model(&beta, b);
        assert!(back.iter().zip(&u).all(|(a, b)| (a - b).abs() < 1e-12));
    }
}
