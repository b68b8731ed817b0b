//! The learners' entry points, linfa style: `LinearRegression::params().reg(0.1)...`.

use super::{Family, GlmParams};

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
