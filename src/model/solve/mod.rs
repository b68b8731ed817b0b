//! Numerical solvers shared by the learners: a blocked pivoted Cholesky, L-BFGS/OWL-QN and Adam.

mod adam;
pub(crate) mod cholesky;
pub mod lbfgs;

pub use adam::Adam;
pub use lbfgs::{minimize, LbfgsConfig, Minimum};

/// The trajectory of an iterative solver: where it ended and how it got there.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverRun {
    /// The final point, in the solver's coordinates.
    pub x: Vec<f64>,
    /// Iterations (L-BFGS) or epochs (SGD) done.
    pub iterations: usize,
    /// Objective at the start and after each iteration.
    pub history: Vec<f64>,
    /// Whether the convergence test passed before the iteration limit.
    pub converged: bool,
}

impl From<Minimum> for SolverRun {
    fn from(m: Minimum) -> Self {
        SolverRun {
            x: m.x,
            iterations: m.iterations,
            history: m.history,
            converged: m.converged,
        }
    }
}
