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

use ndarray::{Array1, Array2, Axis};

use super::cholesky::{spd_solve, PivotedCholesky};
use super::{FeatureStats, GlmValidParams, GramSummary, ModelError, Objective};

/// Pivots below this fraction of the largest diagonal count as rank deficiency.
const RANK_TOL: f64 = 1e-10;

/// Centred, standardised normal equations, ready to solve for any penalty.
#[derive(Debug, Clone)]
pub struct NormalEquations {
    stats: FeatureStats,
    gram: GramSummary,
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
        }
    }

    /// The merged statistics.
    pub fn gram(&self) -> &GramSummary {
        &self.gram
    }

    /// Solves the least-squares problem with the penalty, intercept and standardisation of
    /// `params` (`maxIter` and `tol` bound coordinate descent when there is an L1 part).
    pub fn solve(&self, params: &GlmValidParams) -> Result<NormalSolution, ModelError> {
        let g = &self.gram;
        let n = g.weight;
        if n <= 0.0 {
            return Err(ModelError::EmptyData);
        }
        let obj = Objective::new(&self.stats, params);
        let (mean, scale) = (obj.centre(), obj.scale());
        let p = g.features();
        let ybar = if params.fit_intercept() {
            g.ysum / n
        } else {
            0.0
        };
        // θ-space system: Ã = S⁻¹(XᵀWX − n·μμᵀ)S⁻¹/n, b̃ = S⁻¹(XᵀWy − n·ȳμ)/n.
        let mut a = g.gram();
        for j in 0..p {
            for k in 0..p {
                a[[j, k]] = (a[[j, k]] - n * mean[j] * mean[k]) / (n * scale[j] * scale[k]);
            }
        }
        let b = Array1::from_shape_fn(p, |j| (g.xty[j] - n * ybar * mean[j]) / (n * scale[j]));
        let yvar = g.yy / n - ybar * ybar;
        let mut m = a;
        for j in 0..p {
            m[[j, j]] += obj.l2_theta()[j];
        }
        let (beta, rank, iterations, converged) = if obj.has_l1() {
            let (theta, sweeps, converged) = coordinate_descent(&m, &b, obj.l1_theta(), params);
            (&theta / scale, p, sweeps, converged)
        } else {
            let (beta, rank) = direct(&m, &b, scale);
            (beta, rank, 1, true)
        };
        let theta = &beta * scale;
        let objective = 0.5 * (yvar - 2.0 * b.dot(&theta) + theta.dot(&m.dot(&theta)))
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
            ybar - beta.dot(mean)
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
}

/// Solves `M·θ = b` and returns `β = θ/s` with its rank: exact for full rank, minimum-‖β‖
/// among all solutions otherwise.
fn direct(m: &Array2<f64>, b: &Array1<f64>, scale: &Array1<f64>) -> (Array1<f64>, usize) {
    let p = b.len();
    let f = PivotedCholesky::factor(m, RANK_TOL);
    if f.rank() == p {
        let mut theta = f.solve(b.view());
        // One refinement step recovers the digits the factorisation loses on ill-conditioned M.
        let residual = b - &m.dot(&theta);
        theta += &f.solve(residual.view());
        return (&theta / scale, p);
    }
    // M ≈ G·Gᵀ (G: p × r, full column rank). The solutions are {θ : Gᵀθ = z} with
    // z = (GᵀG)⁻¹Gᵀb; with θ = S·β the minimum-norm β is H·(HᵀH)⁻¹·z for H = S·G.
    let gmat = f.factor_columns();
    let z = spd_solve(&gmat.t().dot(&gmat), gmat.t().dot(b).view());
    let mut h = gmat;
    for (mut row, &s) in h.axis_iter_mut(Axis(0)).zip(scale) {
        row *= s;
    }
    let beta = h.dot(&spd_solve(&h.t().dot(&h), z.view()));
    (beta, f.rank())
}

/// Minimises ½θᵀMθ − bᵀθ + Σ l1ⱼ|θⱼ| by cyclic coordinate descent.
fn coordinate_descent(
    m: &Array2<f64>,
    b: &Array1<f64>,
    l1: &Array1<f64>,
    params: &GlmValidParams,
) -> (Array1<f64>, usize, bool) {
    let p = b.len();
    let mut theta = Array1::<f64>::zeros(p);
    // mt = M·θ, kept current after every coordinate update.
    let mut mt = Array1::<f64>::zeros(p);
    for sweep in 1..=params.max_iter() {
        let mut max_change: f64 = 0.0;
        for j in 0..p {
            let mjj = m[[j, j]];
            if mjj <= 0.0 {
                continue;
            }
            let rho = b[j] - (mt[j] - mjj * theta[j]);
            let new = soft_threshold(rho, l1[j]) / mjj;
            let delta = new - theta[j];
            if delta != 0.0 {
                theta[j] = new;
                mt.scaled_add(delta, &m.column(j));
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
