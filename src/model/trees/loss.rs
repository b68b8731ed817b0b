//! The losses trees minimise: per-row gradient and hessian of the loss in the raw score, the
//! score boosting starts from, and the mean loss reported per tree (LightGBM's objectives).

use super::binning::ValueSketch;
use super::params::Loss;

impl Loss {
    /// Gradient and hessian at score `f` for label `y` (`alpha`: the Huber threshold).
    #[inline]
    pub fn grad_hess(self, f: f64, y: f64, alpha: f64) -> (f64, f64) {
        match self {
            Loss::Squared => (f - y, 1.0),
            Loss::Absolute => ((f - y).signum() * f64::from(f != y), 1.0),
            Loss::Huber => {
                let d = f - y;
                (
                    if d.abs() <= alpha {
                        d
                    } else {
                        alpha * d.signum()
                    },
                    1.0,
                )
            }
            Loss::Logistic => {
                let p = sigmoid(f);
                (p - y, (p * (1.0 - p)).max(1e-16))
            }
        }
    }

    /// The loss of score `f` for label `y`.
    #[inline]
    pub fn value(self, f: f64, y: f64, alpha: f64) -> f64 {
        match self {
            Loss::Squared => (f - y) * (f - y),
            Loss::Absolute => (f - y).abs(),
            Loss::Huber => {
                let d = (f - y).abs();
                if d <= alpha {
                    0.5 * d * d
                } else {
                    alpha * (d - 0.5 * alpha)
                }
            }
            // log(1 + e^f) − y·f, stable for large |f|.
            Loss::Logistic => {
                let softplus = if f > 0.0 {
                    f + (-f).exp().ln_1p()
                } else {
                    f.exp().ln_1p()
                };
                softplus - y * f
            }
        }
    }

    /// The constant score boosting starts from: the label mean (squared, Huber), its median
    /// (absolute; from the label sketch, within 2^-12), its log-odds (logistic).
    pub fn init_score(self, label_sum: f64, weight: f64, labels: &ValueSketch) -> f64 {
        let mean = if weight > 0.0 {
            label_sum / weight
        } else {
            0.0
        };
        match self {
            Loss::Squared | Loss::Huber => mean,
            Loss::Absolute => labels.quantile(0.5).unwrap_or(mean),
            Loss::Logistic => {
                let p = mean.clamp(1e-15, 1.0 - 1e-15);
                (p / (1.0 - p)).ln()
            }
        }
    }

    /// Why `y` is not a label of this loss, or `None`.
    pub fn check_label(self, y: f64) -> Option<&'static str> {
        if !y.is_finite() {
            return Some("labels must be finite");
        }
        match self {
            Loss::Logistic if y != 0.0 && y != 1.0 => {
                Some("logistic trees (classification) need labels 0 or 1")
            }
            _ => None,
        }
    }
}

/// 1/(1 + e^−f) without overflow.
#[inline]
pub fn sigmoid(f: f64) -> f64 {
    if f >= 0.0 {
        1.0 / (1.0 + (-f).exp())
    } else {
        let e = f.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_are_the_derivatives_of_the_losses() {
        for loss in [Loss::Squared, Loss::Huber, Loss::Logistic] {
            for &(f, y) in &[(0.3, 1.0), (-2.0, 0.0), (1.5, 0.0), (0.2, 3.0)] {
                if loss == Loss::Logistic && y > 1.0 {
                    continue;
                }
                let h = 1e-6;
                let scale = if loss == Loss::Squared { 2.0 } else { 1.0 };
                let numeric = (loss.value(f + h, y, 0.9) - loss.value(f - h, y, 0.9)) / (2.0 * h);
                let (g, _) = loss.grad_hess(f, y, 0.9);
                assert!((numeric - scale * g).abs() < 1e-6, "{loss:?} at ({f}, {y})");
            }
        }
        assert_eq!(Loss::Absolute.grad_hess(2.0, 1.0, 0.9), (1.0, 1.0));
        assert_eq!(Loss::Absolute.grad_hess(1.0, 1.0, 0.9), (0.0, 1.0));
        assert!(
            (Loss::Logistic.init_score(1.0, 4.0, &ValueSketch::default()) - (1.0f64 / 3.0).ln())
                .abs()
                < 1e-12
        );
    }
}
