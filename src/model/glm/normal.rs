//! Exact least squares from merged Gram statistics: prepared once, solvable for many
//! `regParam`/`elasticNetParam` values (one `XᵀX` per fold serves a whole tuning grid).
//!
//! The system is centred (when an intercept is fitted) and standardised before solving, then
//! - without L1: a pivoted Cholesky factorisation plus one step of iterative refinement; when
//!   the design is rank-deficient (pivots below 1e-10 of the largest diagonal, e.g. one-hot
//!   columns with every category plus an intercept, or duplicated columns) the minimum-norm
//!   solution in the raw coefficient space is returned — the solution scikit-learn's
//!   `lstsq`-based `LinearRegression` gives, with identical predictions;
//! - with L1: cyclic coordinate descent on the same Gram matrix (covariance updates, as glmnet).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ndarray::{Array1, Array2, Axis};

use super::{FeatureStats, GlmValidParams, GramSummary, Objective};
use crate::model::solve::cholesky::{spd_solve, PivotedCholesky};
use crate::model::ModelError;

/// Pivots below this fraction of the largest diagonal count as rank deficiency.
const RANK_TOL: f64 = 1e-10;

/// Centred, standardised normal equations, ready to solve for any penalty.
///
/// Work that does not depend on the penalty is done once and kept: the standardised system per
/// `fitIntercept`, and each direct solution per L2 weights (at `regParam` 0 every
/// `elasticNetParam` is the same problem), so a sweep pays one factorisation per distinct
/// ridge penalty.
#[derive(Debug)]
pub struct NormalEquations {
    stats: FeatureStats,
    gram: GramSummary,
    cache: Mutex<Cache>,
}

/// θ-space system `Ã·θ = b̃` of one centring.
#[derive(Debug)]
struct System {
    a: Array2<f64>,
    b: Array1<f64>,
    ybar: f64,
    /// Weighted variance of the label about `ybar`.
    yvar: f64,
}

/// Direct solutions by (`fitIntercept`, bits of the per-feature L2 weights).
type DirectKey = (bool, Vec<u64>);

#[derive(Debug, Default)]
struct Cache {
    systems: HashMap<bool, Arc<System>>,
    direct: HashMap<DirectKey, (Array1<f64>, usize)>,
}

/// Coefficients found by [`NormalEquations::solve`].
#[derive(Debug, Clone, PartialEq)]
pub struct NormalSolution {
    /// Coefficients in the raw feature space.
    pub coefficients: Array1<f64>,
    /// Intercept (0 without `fitIntercept`).
    pub intercept: f64,
    /// The objective (½·weighted MSE + penalty) at the solution.
    pub objective: f64,
    /// Coordinate-descent sweeps (1 for the direct solve).
    pub iterations: usize,
    /// Numerical rank of the penalised system.
    pub rank: usize,
    /// Whether coordinate descent met `tol` (always true for the direct solve).
    pub converged: bool,
}

impl NormalEquations {
    /// Prepares merged Gram statistics for solving.
    pub fn new(gram: GramSummary) -> Self {
        NormalEquations {
            stats: FeatureStats::from_gram(&gram),
            gram,
            cache: Mutex::default(),
        }
    }

    /// The merged statistics.
    pub fn gram(&self) -> &GramSummary {
        &self.gram
    }

    /// Solves the least-squares problem with the penalty, intercept and standardisation of
    /// `params` (`maxIter` and `tol` bound coordinate descent when there is an L1 part).
    pub fn solve(&self, params: &GlmValidParams) -> Result<NormalSolution, ModelError> {
        if self.gram.weight <= 0.0 {
            return Err(ModelError::EmptyData);
        }
        let obj = Objective::new(&self.stats, params);
        let (mean, scale) = (obj.centre(), obj.scale());
        let p = self.gram.features();
        let system = self.system(params.fit_intercept(), &obj);
        let (a, b, l2) = (&system.a, &system.b, obj.l2_theta());
        let (beta, rank, iterations, converged) = if obj.has_l1() {
            let (theta, sweeps, converged) = coordinate_descent(a, l2, b, obj.l1_theta(), params);
            (&theta / scale, p, sweeps, converged)
        } else {
            let key = (
                params.fit_intercept(),
                l2.iter().map(|v| v.to_bits()).collect(),
            );
            let (beta, rank) = self.direct_once(key, || direct(a, l2, b, scale));
            (beta, rank, 1, true)
        };
        let theta = &beta * scale;
        // θᵀ(Ã + diag(l2))θ without forming the penalised matrix.
        let quadratic =
            theta.dot(&a.dot(&theta)) + l2.iter().zip(&theta).map(|(w, t)| w * t * t).sum::<f64>();
        let objective = 0.5 * (system.yvar - 2.0 * b.dot(&theta) + quadratic)
            + obj
                .l1_theta()
                .iter()
                .zip(&theta)
                .map(|(w, t)| w * t.abs())
                .sum::<f64>();
        if !objective.is_finite() || beta.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::Numerical(
                "normal equations produced non-finite coefficients".into(),
            ));
        }
        let intercept = if params.fit_intercept() {
            system.ybar - beta.dot(mean)
        } else {
            0.0
        };
        Ok(NormalSolution {
            coefficients: beta,
            intercept,
            objective,
            iterations,
            rank,
            converged,
        })
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache only ever holds finished values, so a panic elsewhere cannot leave it torn.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The θ-space system for this centring: Ã = S⁻¹(XᵀWX − n·μμᵀ)S⁻¹/n,
    /// b̃ = S⁻¹(XᵀWy − n·ȳμ)/n.
    fn system(&self, fit_intercept: bool, obj: &Objective) -> Arc<System> {
        if let Some(s) = self.cache().systems.get(&fit_intercept) {
            return s.clone();
        }
        let g = &self.gram;
        let n = g.weight;
        let (mean, scale) = (obj.centre(), obj.scale());
        let ybar = if fit_intercept { g.ysum / n } else { 0.0 };
        let mut a = g.gram();
        let inv: Vec<f64> = scale.iter().map(|s| 1.0 / s).collect();
        let centre: Vec<f64> = mean.iter().zip(&inv).map(|(m, i)| m * i).collect();
        for (j, mut row) in a.axis_iter_mut(Axis(0)).enumerate() {
            let (rj, cj) = (inv[j] / n, centre[j]);
            for ((v, &ik), &ck) in row.iter_mut().zip(&inv).zip(&centre) {
                *v = *v * rj * ik - cj * ck;
            }
        }
        let b = Array1::from_shape_fn(g.features(), |j| {
            (g.xty[j] - n * ybar * mean[j]) / (n * scale[j])
        });
        let system = Arc::new(System {
            a,
            b,
            ybar,
            yvar: g.yy / n - ybar * ybar,
        });
        self.cache()
            .systems
            .entry(fit_intercept)
            .or_insert(system)
            .clone()
    }

    /// The direct solution for `key`, computed by `solve` the first time it is asked for.
    fn direct_once(
        &self,
        key: DirectKey,
        solve: impl FnOnce() -> (Array1<f64>, usize),
    ) -> (Array1<f64>, usize) {
        if let Some(found) = self.cache().direct.get(&key) {
            return found.clone();
        }
        // Solved outside the lock: trials with other penalties go on meanwhile.
        let solved = solve();
        self.cache().direct.entry(key).or_insert(solved).clone()
    }
}

/// Solves `(Ã + diag(l2))·θ = b` and returns `β = θ/s` with its rank: exact for full rank,
/// minimum-‖β‖ among all solutions otherwise.
fn direct(
    a: &Array2<f64>,
    l2: &Array1<f64>,
    b: &Array1<f64>,
    scale: &Array1<f64>,
) -> (Array1<f64>, usize) {
    let p = b.len();
    let mut m = a.to_owned();
    for (j, w) in l2.iter().enumerate() {
        m[[j, j]] += w;
    }
    let f = PivotedCholesky::factor_owned(m, RANK_TOL);
    if f.rank() == p {
        let mut theta = f.solve(b.view());
        // One refinement step recovers the digits the factorisation loses on ill-conditioned M.
        let residual = b - &(a.dot(&theta) + l2 * &theta);
        theta += &f.solve(residual.view());
        return (&theta / scale, p);
    }
    // The solutions are θ₀ + N·c. With θ = S·β, β = β₀ + H·c for β₀ = S⁻¹θ₀ and H = S⁻¹N, and
    // the minimum-norm β takes c from the small least-squares problem min ‖β₀ + H·c‖.
    let (theta0, null) = f.solution_and_null_space(b.view());
    let beta0 = &theta0 / scale;
    let mut h = null;
    for (mut row, &s) in h.axis_iter_mut(Axis(0)).zip(scale) {
        row /= s;
    }
    let c = spd_solve(&h.t().dot(&h), (-h.t().dot(&beta0)).view());
    (beta0 + h.dot(&c), f.rank())
}

/// Minimises ½θᵀ(Ã + diag(l2))θ − bᵀθ + Σ l1ⱼ|θⱼ| by cyclic coordinate descent.
fn coordinate_descent(
    a: &Array2<f64>,
    l2: &Array1<f64>,
    b: &Array1<f64>,
    l1: &Array1<f64>,
    params: &GlmValidParams,
) -> (Array1<f64>, usize, bool) {
    let p = b.len();
    let mut theta = Array1::<f64>::zeros(p);
    // at = Ã·θ, kept current after every coordinate update; the ridge part only touches θⱼ.
    let mut at = Array1::<f64>::zeros(p);
    for sweep in 1..=params.max_iter() {
        let mut max_change: f64 = 0.0;
        for j in 0..p {
            let ajj = a[[j, j]];
            let mjj = ajj + l2[j];
            if mjj <= 0.0 {
                continue;
            }
            let rho = b[j] - (at[j] - ajj * theta[j]);
            let new = soft_threshold(rho, l1[j]) / mjj;
            let delta = new - theta[j];
            if delta != 0.0 {
                theta[j] = new;
                // Ã is symmetric: its row j is column j, contiguous in memory.
                at.scaled_add(delta, &a.row(j));
                max_change = max_change.max(delta.abs());
            }
        }
        if max_change <= params.tol() {
            return (theta, sweep, true);
        }
    }
    (theta, params.max_iter(), false)
}

/// sign(x)·max(|x| − t, 0).
fn soft_threshold(x: f64, t: f64) -> f64 {
    if x > t {
        x - t
    } else if x < -t {
        x + t
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::FeatureBlock;
    use crate::model::glm::GlmParams;
    use crate::model::Family;

    /// x₂ = 2·x₁ makes the design rank-deficient; with standardisation on, the answer must be
    /// the least-squares solution of smallest raw-space norm: residuals orthogonal to every
    /// column, and β orthogonal to the null direction (2, −1, 0).
    #[test]
    fn standardised_rank_deficient_design_gives_the_minimum_norm_solution() {
        let rows = 200;
        let x = Array2::from_shape_fn((rows, 3), |(i, j)| {
            let x1 = ((i * 7) % 23) as f64 - 11.0;
            match j {
                0 => x1,
                1 => 2.0 * x1,
                _ => ((i * 5) % 13) as f64 * 0.5,
            }
        });
        let y: Vec<f64> = (0..rows)
            .map(|i| 1.0 + 3.0 * x[[i, 0]] + 0.5 * x[[i, 2]] + ((i * 3) % 7) as f64 * 0.1)
            .collect();
        let block = FeatureBlock {
            dense: x.clone(),
            sparse: vec![],
            label: y.clone().into(),
            weight: None,
        };
        let params = GlmParams::new(Family::Gaussian).check().unwrap();
        let s = NormalEquations::new(GramSummary::from_block(&block, 3))
            .solve(&params)
            .unwrap();
        assert_eq!(s.rank, 2);
        let beta = &s.coefficients;
        assert!((2.0 * beta[0] - beta[1]).abs() < 1e-9, "{beta}");
        let residual: Vec<f64> = (0..rows)
            .map(|i| y[i] - s.intercept - x.row(i).dot(beta))
            .collect();
        for j in 0..3 {
            let g: f64 = (0..rows).map(|i| residual[i] * x[[i, j]]).sum();
            assert!(g.abs() < 1e-6, "column {j}: {g}");
        }
        assert!(residual.iter().sum::<f64>().abs() < 1e-6);
    }
}
