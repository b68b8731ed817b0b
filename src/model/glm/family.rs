//! The GLM families: per-row loss, its derivative in the linear predictor, and the inverse link.

use serde::{Deserialize, Serialize};

/// Distribution and canonical link of a generalised linear model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Least squares: identity link, loss ½(η − y)².
    Gaussian,
    /// Binary logistic regression: logit link, loss log(1 + e^η) − yη, labels in [0, 1].
    Binomial,
    /// Poisson regression: log link, loss e^η − yη (half deviance up to a constant), labels ≥ 0.
    Poisson,
}

impl Family {
    /// Classification for the binomial family, regression otherwise.
    pub fn task(self) -> crate::model::Task {
        match self {
            Family::Binomial => crate::model::Task::Classification,
            _ => crate::model::Task::Regression,
        }
    }

    /// Per-row loss at linear predictor `eta` for label `y` (unweighted).
    #[inline]
    pub fn loss(self, eta: f64, y: f64) -> f64 {
        match self {
            Family::Gaussian => 0.5 * (eta - y) * (eta - y),
            // log(1 + e^η) without overflow for large |η|.
            Family::Binomial => {
                let softplus = if eta > 0.0 {
                    eta + (-eta).exp().ln_1p()
                } else {
                    eta.exp().ln_1p()
                };
                softplus - y * eta
            }
            Family::Poisson => eta.exp() - y * eta,
        }
    }

    /// Derivative of [`Family::loss`] in `eta`: the "residual" the gradient is built from.
    #[inline]
    pub fn dloss(self, eta: f64, y: f64) -> f64 {
        self.mean(eta) - y
    }

    /// Loss and its derivative in one call (shares the exponential).
    #[inline]
    pub fn loss_dloss(self, eta: f64, y: f64) -> (f64, f64) {
        match self {
            Family::Poisson => {
                let mu = eta.exp();
                (mu - y * eta, mu - y)
            }
            _ => (self.loss(eta, y), self.dloss(eta, y)),
        }
    }

    /// Inverse link: the mean response for linear predictor `eta`.
    #[inline]
    pub fn mean(self, eta: f64) -> f64 {
        match self {
            Family::Gaussian => eta,
            Family::Binomial => {
                if eta >= 0.0 {
                    1.0 / (1.0 + (-eta).exp())
                } else {
                    let e = eta.exp();
                    e / (1.0 + e)
                }
            }
            Family::Poisson => eta.exp(),
        }
    }

    /// Link: the linear predictor whose mean is `mu` (used to start the intercept at the mean).
    pub fn link(self, mu: f64) -> f64 {
        match self {
            Family::Gaussian => mu,
            Family::Binomial => {
                let m = mu.clamp(1e-12, 1.0 - 1e-12);
                (m / (1.0 - m)).ln()
            }
            Family::Poisson => mu.max(1e-12).ln(),
        }
    }

    /// Why `y` is not a valid label for this family, or `None` when it is.
    pub fn check_label(self, y: f64) -> Option<&'static str> {
        if !y.is_finite() {
            return Some("labels must be finite");
        }
        match self {
            Family::Gaussian => None,
            Family::Binomial if !(0.0..=1.0).contains(&y) => {
                Some("logistic regression needs labels 0 or 1")
            }
            Family::Poisson if y < 0.0 => Some("Poisson regression needs labels >= 0"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dloss_is_the_derivative_of_loss() {
        for family in [Family::Gaussian, Family::Binomial, Family::Poisson] {
            for &(eta, y) in &[(0.3, 1.0), (-2.0, 0.0), (1.5, 0.0), (-0.7, 1.0)] {
                let h = 1e-6;
                let numeric = (family.loss(eta + h, y) - family.loss(eta - h, y)) / (2.0 * h);
                let (_, d) = family.loss_dloss(eta, y);
                assert!(
                    (numeric - d).abs() < 1e-7,
                    "{family:?} at {eta}: {numeric} vs {d}"
                );
            }
        }
    }

    #[test]
    fn binomial_loss_is_stable_for_large_margins() {
        assert!((Family::Binomial.loss(800.0, 1.0)).abs() < 1e-12);
        assert!((Family::Binomial.loss(-800.0, 0.0)).abs() < 1e-12);
        assert!((Family::Binomial.mean(-800.0)).abs() < 1e-300);
        assert!((Family::Binomial.link(Family::Binomial.mean(0.4)) - 0.4).abs() < 1e-12);
    }
}
