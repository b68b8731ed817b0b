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

use super::Family;
use crate::model::params::flag_of;
use crate::model::ModelError;
use crate::model::{ParamKind, ParamType};

/// Largest feature count for which `Solver::Auto` picks the normal equations (as MLlib).
pub const NORMAL_MAX_FEATURES: usize = 4096;

/// Default regParam of the penalised kinds (ridge, lasso, elastic net).
pub const DEFAULT_REG: f64 = 0.01;

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
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Solver::Auto),
            "normal" => Ok(Solver::Normal),
            "lbfgs" | "l-bfgs" | "owlqn" => Ok(Solver::Lbfgs),
            "sgd" | "adam" => Ok(Solver::Sgd),
            _ => Err(ModelError::InvalidParam {
                param: "--solver".into(),
                value: s.to_string(),
                reason: "expected auto, normal, lbfgs or sgd".into(),
            }),
        }
    }
}

impl ParamType for Solver {
    const KIND: ParamKind = ParamKind::Choice;
    fn from_text(text: &str) -> Result<Self, String> {
        text.parse()
            .map_err(|_| "expected auto, normal, lbfgs or sgd".to_string())
    }
}

crate::learner_params! {
    /// Checked hyperparameters of a GLM learner: the only thing that can be fitted.
    valid GlmValidParams;
    /// Unchecked hyperparameters with consuming setters; `check()` turns them into
    /// [`GlmValidParams`].
    params GlmParams;
    fixed {
        /// The family (which learner these parameters belong to).
        family: Family;
    }
    flags {
        /// Regularisation strength λ >= 0 (MLlib regParam).
        reg: f64 = 0.0, mllib "regParam";
        /// L1 share α of the penalty, 0..=1: 0 is ridge, 1 is lasso (MLlib elasticNetParam).
        elastic_net: f64 = 0.0, mllib "elasticNetParam";
        /// Fit an intercept (MLlib fitIntercept).
        fit_intercept: bool = true, mllib "fitIntercept";
        /// Penalise the coefficients of standardised features (MLlib standardization).
        standardization: bool = true, mllib "standardization";
        /// Iterations (L-BFGS), sweeps (coordinate descent) or epochs (SGD) (MLlib maxIter).
        max_iter: usize = 100, mllib "maxIter";
        /// Convergence tolerance on the relative objective decrease (MLlib tol).
        tol: f64 = 1e-6, mllib "tol";
        /// Solver: auto, normal, lbfgs or sgd (MLlib solver).
        solver: Solver = Solver::Auto, mllib "solver";
        /// Adam's step size, SGD only (MLlib stepSize).
        learning_rate: f64 = 0.01, mllib "stepSize";
        /// Rows per mini-batch, SGD only.
        batch_size: usize = 1024, mllib "batchSize";
        /// Seed of the mini-batch order, SGD only (MLlib seed).
        seed: u64 = 0, mllib "seed";
    }
}

impl GlmValidParams {
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

    /// Validates the values (what `GlmParams::check` runs).
    pub(crate) fn validate(&self) -> Result<(), ModelError> {
        let invalid = |mllib: &'static str, value: &dyn fmt::Display, reason: &str| {
            ModelError::InvalidParam {
                param: format!("{} ({mllib})", flag_of(Self::SPECS, mllib)),
                value: value.to_string(),
                reason: reason.to_string(),
            }
        };
        if !(self.reg.is_finite() && self.reg >= 0.0) {
            return Err(invalid("regParam", &self.reg, "must be finite and >= 0"));
        }
        if !(0.0..=1.0).contains(&self.elastic_net) {
            return Err(invalid(
                "elasticNetParam",
                &self.elastic_net,
                "must be in [0, 1]",
            ));
        }
        if self.max_iter == 0 {
            return Err(invalid("maxIter", &self.max_iter, "must be >= 1"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(invalid("tol", &self.tol, "must be finite and >= 0"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid(
                "stepSize",
                &self.learning_rate,
                "must be finite and > 0",
            ));
        }
        if self.batch_size == 0 {
            return Err(invalid("batchSize", &self.batch_size, "must be >= 1"));
        }
        if self.solver == Solver::Normal && self.family != Family::Gaussian {
            return Err(invalid(
                "solver",
                &self.solver,
                "the normal equations fit least squares only; use lbfgs or auto",
            ));
        }
        Ok(())
    }
}

impl GlmParams {
    /// MLlib's defaults for `family`: regParam 0, elasticNetParam 0, fitIntercept true,
    /// standardization true, maxIter 100, tol 1e-6, solver auto.
    pub fn new(family: Family) -> Self {
        GlmParams(GlmValidParams::with_defaults(family))
    }

    /// Validates the parameters (the same as linfa's `ParamGuard::check`, without the import).
    pub fn check(self) -> Result<GlmValidParams, ModelError> {
        ParamGuard::check(self)
    }
}

impl ParamGuard for GlmParams {
    type Checked = GlmValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&GlmValidParams, ModelError> {
        self.0.validate()?;
        Ok(&self.0)
    }

    fn check(self) -> Result<GlmValidParams, ModelError> {
        self.0.validate()?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::glm::{LinearRegression, LogisticRegression};
    use crate::model::ModelKind;

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
            assert!(
                matches!(&err, ModelError::InvalidParam { param, .. } if param.contains(name)),
                "{err}"
            );
        }
        let err = GlmParams::new(Family::Gaussian)
            .reg(-1.0)
            .check()
            .unwrap_err();
        assert!(err.to_string().contains("--reg (regParam)"), "{err}");
    }

    #[test]
    fn auto_follows_mllib() {
        let ols = GlmParams::new(Family::Gaussian).check().unwrap();
        assert_eq!(ols.resolved_solver(531), Solver::Normal);
        assert_eq!(ols.resolved_solver(5000), Solver::Lbfgs);
        let lasso = LinearRegression::lasso().check().unwrap();
        assert_eq!(lasso.resolved_solver(10), Solver::Lbfgs);
        let logistic = LogisticRegression::params().check().unwrap();
        assert_eq!(logistic.resolved_solver(10), Solver::Lbfgs);
        assert_eq!(
            "elasticnet".parse::<ModelKind>().unwrap().as_str(),
            "elastic-net"
        );
        assert!("svm".parse::<ModelKind>().unwrap_err().is_user_error());
    }

    #[test]
    fn every_flag_sets_its_field_from_text() {
        let p = GlmParams::new(Family::Gaussian)
            .set("reg", "0.5")
            .and_then(|p| p.set("--elastic-net", "0.25"))
            .and_then(|p| p.set("solver", "lbfgs"))
            .and_then(|p| p.set("fit-intercept", "false"))
            .and_then(|p| p.set("max-iter", "7"))
            .unwrap()
            .check()
            .unwrap();
        assert_eq!((p.reg(), p.elastic_net(), p.max_iter()), (0.5, 0.25, 7));
        assert_eq!((p.solver(), p.fit_intercept()), (Solver::Lbfgs, false));
        assert!(matches!(
            GlmParams::new(Family::Gaussian).set("num-leaves", "3"),
            Err(crate::model::SetError::Unknown(_))
        ));
        let err = GlmParams::new(Family::Gaussian)
            .set("reg", "abc")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--reg: 'abc' is not valid (expected a number)"
        );
        let keys: Vec<String> = GlmValidParams::SPECS.iter().map(|s| s.key()).collect();
        assert_eq!(keys[..3], ["reg", "elastic-net", "fit-intercept"]);
    }
}
