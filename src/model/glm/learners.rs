//! The learners' entry points, linfa style (`LinearRegression::params().reg(0.1)...`), and the
//! `--model` kinds of the GLM family.

use super::params::DEFAULT_REG;
use super::{Family, GlmParams};
use crate::model::{KindSpec, LearnerParams};

/// Least squares: OLS, ridge, lasso and elastic net (MLlib `LinearRegression`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearRegression;

/// Binary logistic regression (MLlib `LogisticRegression`, family binomial).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogisticRegression;

/// Poisson regression with a log link (MLlib `GeneralizedLinearRegression`, family poisson).
#[derive(Debug, Clone, Copy, Default)]
pub struct PoissonRegression;

impl LinearRegression {
    /// Default parameters (MLlib's): no penalty, intercept, standardization, auto solver.
    pub fn params() -> GlmParams {
        GlmParams::new(Family::Gaussian)
    }

    /// Ridge: an L2 penalty of regParam [`DEFAULT_REG`] unless set.
    pub fn ridge() -> GlmParams {
        Self::params().reg(DEFAULT_REG).elastic_net(0.0)
    }

    /// Lasso: an L1 penalty of regParam [`DEFAULT_REG`] unless set.
    pub fn lasso() -> GlmParams {
        Self::params().reg(DEFAULT_REG).elastic_net(1.0)
    }

    /// Elastic net: half L1, half L2, regParam [`DEFAULT_REG`] unless set.
    pub fn elastic_net() -> GlmParams {
        Self::params().reg(DEFAULT_REG).elastic_net(0.5)
    }
}

impl LogisticRegression {
    /// Default parameters (MLlib's): no penalty, intercept, standardization, L-BFGS.
    pub fn params() -> GlmParams {
        GlmParams::new(Family::Binomial)
    }
}

impl PoissonRegression {
    /// Default parameters: no penalty, intercept, standardization, L-BFGS.
    pub fn params() -> GlmParams {
        GlmParams::new(Family::Poisson)
    }
}

/// Defaults that always pass `check`.
fn checked(params: GlmParams) -> LearnerParams {
    LearnerParams::Glm(params.check().expect("the kinds' defaults are valid"))
}

/// The `--model` names of the GLM family.
pub(crate) const KINDS: &[KindSpec] = &[
    KindSpec {
        name: "linear",
        aliases: &["ols"],
        estimator: "LinearRegression",
        classifier: None,
        about: "least squares",
        defaults: || checked(LinearRegression::params()),
    },
    KindSpec {
        name: "ridge",
        aliases: &[],
        estimator: "LinearRegression",
        classifier: None,
        about: "least squares with an L2 penalty (reg 0.01 unless set)",
        defaults: || checked(LinearRegression::ridge()),
    },
    KindSpec {
        name: "lasso",
        aliases: &[],
        estimator: "LinearRegression",
        classifier: None,
        about: "least squares with an L1 penalty (reg 0.01 unless set)",
        defaults: || checked(LinearRegression::lasso()),
    },
    KindSpec {
        name: "elastic-net",
        aliases: &["elasticnet", "elastic_net"],
        estimator: "LinearRegression",
        classifier: None,
        about: "least squares with a mixed penalty (reg 0.01, elastic-net 0.5 unless set)",
        defaults: || checked(LinearRegression::elastic_net()),
    },
    KindSpec {
        name: "logistic",
        aliases: &[],
        estimator: "LogisticRegression",
        classifier: None,
        about: "binary logistic regression",
        defaults: || checked(LogisticRegression::params()),
    },
    KindSpec {
        name: "poisson",
        aliases: &[],
        estimator: "GeneralizedLinearRegression",
        classifier: None,
        about: "Poisson regression with a log link",
        defaults: || checked(PoissonRegression::params()),
    },
];
