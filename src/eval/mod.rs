//! Evaluation metrics, each family with a mergeable per-partition accumulator:
//! [`regression`] (RMSE, MAE, R², explained variance), [`classification`] (log-loss, accuracy,
//! precision, recall, F1) and [`auc`] (ROC AUC, which needs the scores themselves).

pub mod auc;
pub mod classification;
pub mod regression;

pub use auc::{roc_auc, ScoreCollector};
pub use classification::{ClassificationAccumulator, ClassificationMetrics};
pub use regression::{regression_metrics, RegressionAccumulator, RegressionMetrics};
