//! Hyperparameters of the GLM learners with MLlib's names and defaults, checked before fitting.
//!
//! The objective minimised, as in MLlib (n = Σw, `λ` = `regParam`, `α` = `elasticNetParam`):
//!
//! ```text
//! (1/n) Σ wᵢ·loss(yᵢ, xᵢ·β + b) + λ·(α·Σ sⱼ|βⱼ| + (1 − α)/2·Σ sⱼ²βⱼ²)
//! ```
//!
//! with `sⱼ` = the feature's standard deviation when `standardization` is on, else 1; the
//! intercept is never penalised. Unlike MLlib the label is not standardised, so `regParam`
//! equals scikit-learn's penalties without rescaling (with `standardization(false)`):
//!
//! | scikit-learn | distml |
//! |---|---|
//! | `LinearRegression()` | `LinearRegression::params()` (reg 0) |
//! | `Ridge(alpha=a)` (objective ‖y − Xw‖² + a‖w‖²) | `.reg(a / n).elastic_net(0.0)` |
//! | `Lasso(alpha=a)` | `.reg(a).elastic_net(1.0)` |
//! | `ElasticNet(alpha=a, l1_ratio=r)` | `.reg(a).elastic_net(r)` |
//! | `LogisticRegression(C=c)` (l2, l1 or elasticnet with `l1_ratio=r`) | `.reg(1 / (c·n)).elastic_net(0, 1 or r)` |
//! | `PoissonRegressor(alpha=a)` | `.reg(a).elastic_net(0.0)` |

use std::fmt;
use std::str::FromStr;

use linfa::ParamGuard;
use serde::{Deserialize, Serialize};

use super::{Family, ModelError};

/// Largest feature count for which `Solver::Auto` picks the normal equations (as MLlib).
pub const NORMAL_MAX_FEATURES: usize = 4096;

/// How the coefficients are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Normal equations for least squares with at most 4096 features and no L1, else L-BFGS.
    #[default]
    Auto,
    /// Exact normal equations from merged Gram statistics (least squares only; with L1 the
    /// same statistics are solved by coordinate descent).
    Normal,
    /// L-BFGS, or OWL-QN when the penalty has an L1 part.
    Lbfgs,
    /// Mini-batch stochastic gradient with Adam steps (`maxIter` = epochs).
    Sgd,
}

impl Solver {
    /// The flag spelling (`auto`, `normal`, `lbfgs`, `sgd`).
    pub fn as_str(self) -> &'static str {
        match self {
            Solver::Auto => "auto",
            Solver::Normal => "normal",
            Solver::Lbfgs => "lbfgs",
            Solver::Sgd => "sgd",
        }
    }
}

impl fmt::Display for Solver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Solver {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Solver::Auto),
            "normal" => Ok(Solver::Normal),
            "lbfgs" | "l-bfgs" | "owlqn" => Ok(Solver::Lbfgs),
            "sgd" | "adam" => Ok(Solver::Sgd),
            _ => Err(invalid("solver", s, "expected auto, normal, lbfgs or sgd")),
        }
    }
}

/// The model names of `distml train --model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Ordinary least squares (regParam 0).
    Linear,
    /// Least squares with an L2 penalty (elasticNetParam 0).
    Ridge,
    /// Least squares with an L1 penalty (elasticNetParam 1).
    Lasso,
    /// Least squares with a mixed penalty (elasticNetParam 0.5 unless set).
    ElasticNet,
    /// Binary logistic regression.
    Logistic,
    /// Poisson regression with a log link.
    Poisson,
}

impl ModelKind {
    /// Default regParam of the penalised kinds, used when `--reg` is not given.
    pub const DEFAULT_REG: f64 = 0.01;

    /// The unchecked parameters of this kind: family, elasticNetParam and a default regParam
    /// (0 for linear, logistic and poisson, [`ModelKind::DEFAULT_REG`] for the penalised ones).
    pub fn params(self) -> GlmParams {
        let p = GlmParams::new(self.family());
        match self {
            ModelKind::Linear | ModelKind::Logistic | ModelKind::Poisson => p,
            ModelKind::Ridge => p.reg(Self::DEFAULT_REG).elastic_net(0.0),
            ModelKind::Lasso => p.reg(Self::DEFAULT_REG).elastic_net(1.0),
            ModelKind::ElasticNet => p.reg(Self::DEFAULT_REG).elastic_net(0.5),
        }
    }

    /// The GLM family this kind fits.
    pub fn family(self) -> Family {
        match self {
            ModelKind::Logistic => Family::Binomial,
            ModelKind::Poisson => Family::Poisson,
            _ => Family::Gaussian,
        }
    }

    /// The flag spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Linear => "linear",
            ModelKind::Ridge => "ridge",
            ModelKind::Lasso => "lasso",
            ModelKind::ElasticNet => "elastic-net",
            ModelKind::Logistic => "logistic",
            ModelKind::Poisson => "poisson",
        }
    }
}

impl FromStr for ModelKind {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "linear" | "ols" => Ok(ModelKind::Linear),
            "ridge" => Ok(ModelKind::Ridge),
            "lasso" => Ok(ModelKind::Lasso),
            "elastic-net" | "elasticnet" | "elastic_net" => Ok(ModelKind::ElasticNet),
            "logistic" => Ok(ModelKind::Logistic),
            "poisson" => Ok(ModelKind::Poisson),
            _ => Err(invalid(
                "model",
                s,
                "expected linear, ridge, lasso, elastic-net, logistic or poisson",
            )),
        }
    }
}

fn invalid(param: &'static str, value: impl fmt::Display, reason: &str) -> ModelError {
    ModelError::InvalidParam {
        param,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Checked hyperparameters of a GLM learner: the only thing that can be fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlmValidParams {
    family: Family,
    reg: f64,
    elastic_net: f64,
    fit_intercept: bool,
    standardization: bool,
    max_iter: usize,
    tol: f64,
    solver: Solver,
    learning_rate: f64,
    batch_size: usize,
    seed: u64,
}

impl GlmValidParams {
    /// The family (which learner these parameters belong to).
    pub fn family(&self) -> Family {
        self.family
    }
    /// `regParam` λ ≥ 0.
    pub fn reg(&self) -> f64 {
        self.reg
    }
    /// `elasticNetParam` α ∈ [0, 1]: 0 is L2 (ridge), 1 is L1 (lasso).
    pub fn elastic_net(&self) -> f64 {
        self.elastic_net
    }
    /// `fitIntercept`.
    pub fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }
    /// `standardization`: penalise coefficients of standardised features.
    pub fn standardization(&self) -> bool {
        self.standardization
    }
    /// `maxIter`: iterations (L-BFGS), sweeps (coordinate descent) or epochs (SGD).
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// `tol`: convergence tolerance on the relative objective decrease (and the gradient).
    pub fn tol(&self) -> f64 {
        self.tol
    }
    /// The requested solver (before `Auto` is resolved).
    pub fn solver(&self) -> Solver {
        self.solver
    }
    /// Adam's step size (SGD only).
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    /// Rows per mini-batch (SGD only).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }
    /// Seed of the mini-batch order (SGD only).
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// λα: the weight of the L1 part.
    pub fn l1(&self) -> f64 {
        self.reg * self.elastic_net
    }
    /// λ(1 − α): the weight of the L2 part.
    pub fn l2(&self) -> f64 {
        self.reg * (1.0 - self.elastic_net)
    }

    /// The solver `fit` uses for `features` features: `Auto` resolved as MLlib does.
    pub fn resolved_solver(&self, features: usize) -> Solver {
        match self.solver {
            Solver::Auto
                if self.family == Family::Gaussian
                    && features <= NORMAL_MAX_FEATURES
                    && self.l1() == 0.0 =>
            {
                Solver::Normal
            }
            Solver::Auto => Solver::Lbfgs,
            s => s,
        }
    }

    /// Back to unchecked parameters, e.g. to change one value for a tuning trial.
    pub fn into_params(self) -> GlmParams {
        GlmParams(self)
    }
}

/// Unchecked hyperparameters with consuming setters; `check()` turns them into [`GlmValidParams`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlmParams(GlmValidParams);

impl GlmParams {
    /// MLlib's defaults for `family`: regParam 0, elasticNetParam 0, fitIntercept true,
    /// standardization true, maxIter 100, tol 1e-6, solver auto.
    pub fn new(family: Family) -> Self {
        GlmParams(GlmValidParams {
            family,
            reg: 0.0,
            elastic_net: 0.0,
            fit_intercept: true,
            standardization: true,
            max_iter: 100,
            tol: 1e-6,
            solver: Solver::Auto,
            learning_rate: 0.01,
            batch_size: 1024,
            seed: 0,
        })
    }
    /// Validates the parameters (the same as linfa's `ParamGuard::check`, without the import).
    pub fn check(self) -> Result<GlmValidParams, ModelError> {
        ParamGuard::check(self)
    }

    /// Sets `regParam` (λ ≥ 0).
    pub fn reg(mut self, reg: f64) -> Self {
        self.0.reg = reg;
        self
    }
    /// Sets `elasticNetParam` (α ∈ [0, 1]).
    pub fn elastic_net(mut self, alpha: f64) -> Self {
        self.0.elastic_net = alpha;
        self
    }
    /// Sets `fitIntercept`.
    pub fn fit_intercept(mut self, yes: bool) -> Self {
        self.0.fit_intercept = yes;
        self
    }
    /// Sets `standardization`.
    pub fn standardization(mut self, yes: bool) -> Self {
        self.0.standardization = yes;
        self
    }
    /// Sets `maxIter` (≥ 1).
    pub fn max_iter(mut self, n: usize) -> Self {
        self.0.max_iter = n;
        self
    }
    /// Sets `tol` (≥ 0; 0 runs until no further progress is possible).
    pub fn tol(mut self, tol: f64) -> Self {
        self.0.tol = tol;
        self
    }
    /// Sets the solver.
    pub fn solver(mut self, solver: Solver) -> Self {
        self.0.solver = solver;
        self
    }
    /// Sets Adam's step size (> 0; SGD only).
    pub fn learning_rate(mut self, lr: f64) -> Self {
        self.0.learning_rate = lr;
        self
    }
    /// Sets the mini-batch size (≥ 1; SGD only).
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.0.batch_size = rows;
        self
    }
    /// Sets the seed of the mini-batch order (SGD only).
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl ParamGuard for GlmParams {
    type Checked = GlmValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&GlmValidParams, ModelError> {
        let p = &self.0;
        if !(p.reg.is_finite() && p.reg >= 0.0) {
            return Err(invalid("regParam", p.reg, "must be finite and >= 0"));
        }
        if !(0.0..=1.0).contains(&p.elastic_net) {
            return Err(invalid(
                "elasticNetParam",
                p.elastic_net,
                "must be in [0, 1]",
            ));
        }
        if p.max_iter == 0 {
            return Err(invalid("maxIter", p.max_iter, "must be >= 1"));
        }
        if !(p.tol.is_finite() && p.tol >= 0.0) {
            return Err(invalid("tol", p.tol, "must be finite and >= 0"));
        }
        if !(p.learning_rate.is_finite() && p.learning_rate > 0.0) {
            return Err(invalid(
                "learningRate",
                p.learning_rate,
                "must be finite and > 0",
            ));
        }
        if p.batch_size == 0 {
            return Err(invalid("batchSize", p.batch_size, "must be >= 1"));
        }
        if p.solver == Solver::Normal && p.family != Family::Gaussian {
            return Err(invalid(
                "solver",
                p.solver,
                "the normal equations fit least squares only; use lbfgs or auto",
            ));
        }
        Ok(p)
    }

    fn check(self) -> Result<GlmValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_name_the_param() {
        let cases = [
            (GlmParams::new(Family::Gaussian).reg(-1.0), "regParam"),
            (GlmParams::new(Family::Gaussian).reg(f64::NAN), "regParam"),
            (
                GlmParams::new(Family::Gaussian).elastic_net(1.5),
                "elasticNetParam",
            ),
            (GlmParams::new(Family::Gaussian).max_iter(0), "maxIter"),
            (GlmParams::new(Family::Gaussian).tol(-1e-3), "tol"),
            (
                GlmParams::new(Family::Binomial).solver(Solver::Normal),
                "solver",
            ),
        ];
        for (params, name) in cases {
            let err = params.check().unwrap_err();
            assert!(err.is_user_error());
            assert!(matches!(err, ModelError::InvalidParam { param, .. } if param == name));
        }
    }

    #[test]
    fn auto_follows_mllib() {
        let ols = GlmParams::new(Family::Gaussian).check().unwrap();
        assert_eq!(ols.resolved_solver(531), Solver::Normal);
        assert_eq!(ols.resolved_solver(5000), Solver::Lbfgs);
        let lasso = ModelKind::Lasso.params().check().unwrap();
        assert_eq!(lasso.resolved_solver(10), Solver::Lbfgs);
        let logistic = ModelKind::Logistic.params().check().unwrap();
        assert_eq!(logistic.resolved_solver(10), Solver::Lbfgs);
        assert_eq!(
            "elastic-net".parse::<ModelKind>().unwrap(),
            ModelKind::ElasticNet
        );
        assert!("tree".parse::<ModelKind>().unwrap_err().is_user_error());
    }
}
