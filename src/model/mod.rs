//! Learners, solvers and fitted models: generalised linear models with MLlib's parameters.
//!
//! Each learner exposes its per-block pieces — [`BlockGradient::compute`] (loss and gradient)
//! and, for least squares, [`GramSummary::from_block`] (normal-equation statistics) — which any
//! trainer sums across blocks with `merge`; [`Objective`], [`NormalEquations`],
//! [`lbfgs::minimize`] and [`Adam`] turn the sums into coefficients. The local trainer is
//! [`crate::train::fit_local`]; linfa users call `Fit` on [`GlmValidParams`] directly:
//!
//! ```
//! use distml::model::LinearRegression;
//! use linfa::prelude::*;
//! use ndarray::array;
//!
//! let x = array![[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]];
//! let y = array![3.0, 6.0, 7.0, 10.0]; // 2·x₀ + 1·x₁ + 1
//! let model = LinearRegression::params().fit(&Dataset::new(x.clone(), y))?;
//! // `LinearModel::predict` takes a FeatureBlock; linfa's `Predict` takes the matrix.
//! let predicted: ndarray::Array1<f64> = Predict::predict(&model, &x);
//! assert!((predicted[1] - 6.0).abs() < 1e-9);
//! # Ok::<(), distml::model::ModelError>(())
//! ```

mod adam;
mod block_ops;
mod cholesky;
mod directory;
mod error;
mod family;
mod fitted;
mod gradient;
mod gram;
pub mod lbfgs;
mod learners;
mod linfa_impl;
mod normal;
mod objective;
mod params;
mod stats;

pub use adam::Adam;
pub use block_ops::{add_transposed, margins, validate};
pub use directory::{ModelDirError, ModelDirectory, ModelMetadata, MODEL_FORMAT_VERSION};
pub use error::ModelError;
pub use family::Family;
pub use fitted::{GlmModel, LinearModel};
pub use gradient::BlockGradient;
pub use gram::GramSummary;
pub use learners::{LinearRegression, LogisticRegression, PoissonRegression};
pub use normal::{NormalEquations, NormalSolution};
pub use objective::Objective;
pub use params::{GlmParams, GlmValidParams, ModelKind, Solver, NORMAL_MAX_FEATURES};
pub use stats::FeatureStats;
