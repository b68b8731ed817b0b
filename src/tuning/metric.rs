//! The metric a sweep selects by, and its direction.

use serde::Serialize;

use super::TuneError;

/// `--metric`: what the CV/validation score is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Root mean squared error (lower is better).
    Rmse,
    /// Mean absolute error (lower is better).
    Mae,
    /// R² (higher is better).
    R2,
    /// Log-loss (lower is better).
    Logloss,
    /// ROC AUC (higher is better).
    Auc,
}

impl Metric {
    /// The name in `evaluate_blocks`' map and in MLflow (`avg_rmse`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Logloss => "logloss",
            Metric::Auc => "auc",
        }
    }

    /// Whether larger values are better.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::R2 | Metric::Auc)
    }

    /// Whether it scores classifiers.
    pub fn is_classification(self) -> bool {
        matches!(self, Metric::Logloss | Metric::Auc)
    }

    /// The default for a task: rmse for regression, logloss for classification.
    pub fn default_for(classification: bool) -> Self {
        if classification {
            Metric::Logloss
        } else {
            Metric::Rmse
        }
    }

    /// Orders scores best first (NaN last).
    pub fn compare(self, a: f64, b: f64) -> std::cmp::Ordering {
        let key = |x: f64| {
            if x.is_nan() {
                f64::INFINITY
            } else if self.higher_is_better() {
                -x
            } else {
                x
            }
        };
        key(a).total_cmp(&key(b))
    }
}

impl std::str::FromStr for Metric {
    type Err = TuneError;
    fn from_str(s: &str) -> Result<Self, TuneError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "rmse" => Metric::Rmse,
            "mae" => Metric::Mae,
            "r2" => Metric::R2,
            "logloss" => Metric::Logloss,
            "auc" => Metric::Auc,
            other => {
                return Err(TuneError::invalid(
                    "--metric",
                    format!("`{other}`: expected rmse, mae, r2, logloss or auc"),
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_orders_best_first() {
        let mut v = [0.5, f64::NAN, 0.1, 0.9];
        v.sort_by(|a, b| Metric::Rmse.compare(*a, *b));
        assert_eq!(&v[..3], &[0.1, 0.5, 0.9]);
        v.sort_by(|a, b| Metric::Auc.compare(*a, *b));
        assert_eq!(&v[..3], &[0.9, 0.5, 0.1]);
        assert!("f1".parse::<Metric>().unwrap_err().is_user_error());
    }
}
