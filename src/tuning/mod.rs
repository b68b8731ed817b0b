//! Hyperparameter tuning (`distml tune`): search spaces over any parameter of the learner,
//! k-fold / hold-out validation with features and Gram statistics shared across trials,
//! successive halving, parallel trials, resumable state and nested MLflow runs.

pub mod error;
pub mod folds;
pub mod metric;
pub mod model_out;
pub mod param;
pub mod prepare;
pub mod report;
pub mod results;
pub mod scheduler;
pub mod settings;
pub mod space;
pub mod state;
pub mod summary;
pub mod sweep;
pub mod trial;

pub use error::TuneError;
pub use folds::Fold;
pub use metric::Metric;
pub use param::{Param, ParamSet, ParamValue};
pub use scheduler::Scheduler;
pub use settings::{TuneConfig, TuneSettings};
pub use space::{expand, Axis, Search};
pub use summary::{BestTrial, TuneSummary};
pub use sweep::{plan, run_tune, TuneOutcome};
pub use trial::{score_folds, TrialResult, TrialStatus};
