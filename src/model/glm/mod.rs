//! Generalised linear models with MLlib's parameters: least squares (OLS, ridge, lasso, elastic
//! net), logistic and Poisson regression.
//!
//! The per-block pieces — [`BlockGradient::compute`] (loss and gradient),
//! [`GramSummary::from_block`] (normal-equation statistics), [`FeatureStats::from_block`] —
//! merge across blocks; [`fit`] turns their sums, as any trainer provides them through
//! [`GlmSums`](crate::model::GlmSums), into a [`GlmModel`]. linfa users call `Fit` on
//! [`GlmValidParams`] directly:
//!
//! ```
//! use distml::model::glm::LinearRegression;
//! use linfa::prelude::*;
//! use ndarray::array;
//!
//! let x = array![[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]];
//! let y = array![3.0, 6.0, 7.0, 10.0]; // 2·x₀ + 1·x₁ + 1
//! let model = LinearRegression::params().fit(&Dataset::new(x.clone(), y))?;
//! // `GlmModel::predict` takes a FeatureBlock; linfa's `Predict` takes the matrix.
//! let predicted: ndarray::Array1<f64> = Predict::predict(&model, &x);
//! assert!((predicted[1] - 6.0).abs() < 1e-9);
//! # Ok::<(), distml::model::ModelError>(())
//! ```

pub(crate) mod block_ops;
mod family;
mod fit;
mod gradient;
mod gram;
mod learners;
mod model;
mod normal;
mod objective;
mod params;
mod stats;

pub use block_ops::{add_transposed, margins};
pub use family::Family;
pub use fit::fit;
pub use gradient::BlockGradient;
pub use gram::GramSummary;
pub use learners::{LinearRegression, LogisticRegression, PoissonRegression};
pub use model::{GlmModel, LinearModel};
pub use normal::{NormalEquations, NormalSolution};
pub use objective::Objective;
pub use params::{GlmParams, GlmValidParams, Solver, DEFAULT_REG, NORMAL_MAX_FEATURES};
pub use stats::FeatureStats;
