//! Learners and fitted models, behind one seam.
//!
//! - A **learner family** lives in its own folder ([`glm`]): its parameters (declared once with
//!   MLlib's names), its fit — written once against the mergeable sums it needs ([`GlmSums`]),
//!   which every trainer provides — and its fitted model.
//! - The **registry** ([`LearnerParams`], [`Model`]) lists the families; [`ModelKind`] the
//!   `--model` names they fit; a [`Learner`] is a kind with its checked parameters.
//! - Every fitted model is a [`Predictor`]: [`evaluate`], the [`Scorer`] and the
//!   [`ModelDirectory`] use nothing else.
//!
//! ```
//! use distml::model::{Learner, ModelKind};
//!
//! let kind: ModelKind = "ridge".parse()?;
//! let learner = Learner::with_settings(kind, [("reg", "0.1"), ("max-iter", "50")])?;
//! assert!(learner.mlflow_params().contains(&("LinearRegression.regParam".into(), "0.1".into())));
//! assert!(Learner::with_settings(kind, [("num-leaves", "3")]).is_err());
//! # Ok::<(), distml::model::ModelError>(())
//! ```

mod directory;
mod error;
mod evaluate;
pub mod glm;
mod kind;
mod learner;
pub mod mlmodel;
mod params;
mod predictor;
mod registry;
mod scoring;
pub mod solve;
mod summary;
mod sums;
pub mod trees;
mod validate;

pub use directory::{ModelDirError, ModelDirectory, ModelMetadata, MODEL_FORMAT_VERSION};
pub use error::ModelError;
pub use evaluate::{evaluate, MetricSums, Metrics};
pub use glm::Family;
pub use kind::{KindSpec, ModelKind};
pub use learner::Learner;
pub use params::{ParamKind, ParamSpec, ParamType, SetError};
pub use predictor::{Predictor, Task};
pub(crate) use registry::all_kinds;
pub use registry::{all_param_specs, Learn, LearnerParams, Model};
pub use scoring::{Evaluation, ScoreError, Scorer};
pub use summary::TrainSummary;
pub use sums::{GlmSums, Sums, Trainer, TreeSketches, TreeSums};
pub use validate::{validate, Accepts};
