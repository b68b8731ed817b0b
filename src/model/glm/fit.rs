//! The GLM fit, written once against [`GlmSums`]: the solver chosen from the parameters, the
//! intercept started at the label mean, the coefficients checked for divergence, the model and
//! its training summary built — whichever trainer provides the sums.

use std::time::Instant;

use crate::feature::FeatureLayout;
use crate::model::solve::{minimize, LbfgsConfig, SolverRun};
use crate::model::{GlmSums, Learn, ModelError, ParamSpec, SetError, Sums, Task, TrainSummary};

use super::{GlmModel, GlmValidParams, Objective, Solver};

/// L-BFGS memory (MLlib's default).
const LBFGS_MEMORY: usize = 10;

impl Learn for GlmValidParams {
    type Model = GlmModel;
    const KINDS: &'static [crate::model::KindSpec] = super::learners::KINDS;

    fn specs() -> &'static [ParamSpec] {
        Self::SPECS
    }
    fn check(&self) -> Result<(), ModelError> {
        self.validate()
    }
    fn set_text(&mut self, key: &str, text: &str) -> Result<(), SetError> {
        GlmValidParams::set_text(self, key, text)
    }
    fn values(&self) -> Vec<(&'static ParamSpec, String)> {
        GlmValidParams::values(self)
    }
    fn task(&self) -> Task {
        self.family().task()
    }
    fn check_label(&self, y: f64) -> Option<&'static str> {
        self.family().check_label(y)
    }
    fn budget(&self) -> usize {
        self.max_iter()
    }
    fn with_budget(&self, budget: usize) -> Self {
        let mut p = self.clone();
        p.max_iter = budget.max(1);
        p
    }
    /// The normal equations (and coordinate descent on them) need one pass of Gram sums.
    fn reads_once(&self, features: usize) -> bool {
        self.resolved_solver(features) == Solver::Normal
    }
    fn fit<S: Sums>(
        &self,
        layout: &FeatureLayout,
        sums: &mut S,
    ) -> Result<(GlmModel, TrainSummary), S::Error> {
        fit(self, layout, sums)
    }
}

/// Fits `params` on the rows behind `sums`, whose features are laid out as `layout`.
pub fn fit<S: GlmSums>(
    params: &GlmValidParams,
    layout: &FeatureLayout,
    sums: &mut S,
) -> Result<(GlmModel, TrainSummary), S::Error> {
    let started = Instant::now();
    let p = layout.width();
    let solver = params.resolved_solver(p);
    let (beta, intercept, run, weight) = match solver {
        Solver::Normal => {
            let normal = sums.normal_equations(layout)?;
            let weight = normal.gram().weight;
            let s = normal.solve(params)?;
            let run = SolverRun {
                x: Vec::new(),
                iterations: s.iterations,
                history: vec![s.objective],
                converged: s.converged,
            };
            (s.coefficients.to_vec(), s.intercept, run, weight)
        }
        Solver::Lbfgs | Solver::Sgd | Solver::Auto => {
            let stats = sums.feature_stats(layout)?;
            if stats.weight <= 0.0 {
                return Err(ModelError::EmptyData.into());
            }
            let objective = Objective::new(&stats, params);
            let start_intercept = match params.fit_intercept() {
                true => params.family().link(stats.label_mean()),
                false => 0.0,
            };
            let start = objective.from_model(&vec![0.0; p], start_intercept);
            let run = match solver {
                Solver::Sgd => sums.sgd(params, &objective, start)?,
                _ => lbfgs(params, &objective, start, sums)?,
            };
            let (beta, b) = objective.to_model(&run.x);
            (beta, b, run, stats.weight)
        }
    };
    if beta.iter().any(|v| !v.is_finite()) || !intercept.is_finite() {
        let message = format!("{solver} diverged (non-finite coefficients)");
        return Err(ModelError::Numerical(message).into());
    }
    let model = GlmModel {
        family: params.family(),
        coefficients: beta.into(),
        intercept,
        feature_names: layout.names.clone(),
        params: params.clone(),
    };
    let summary = TrainSummary {
        solver: solver.as_str().into(),
        iterations: run.iterations,
        loss_history: run.history,
        converged: run.converged,
        rows: sums.rows(),
        weight,
        features: p,
        seconds: started.elapsed().as_secs_f64(),
        validation_history: Vec::new(),
        best_iteration: None,
    };
    Ok((model, summary))
}

/// L-BFGS (OWL-QN with L1) over the trainer's loss-and-gradient sums. The solver cannot fail,
/// so a failed evaluation is kept aside, the solver is stopped with NaN, and the error returned.
fn lbfgs<S: GlmSums>(
    params: &GlmValidParams,
    objective: &Objective,
    start: Vec<f64>,
    sums: &mut S,
) -> Result<SolverRun, S::Error> {
    let family = params.family();
    let mut failure: Option<S::Error> = None;
    let evaluate = |u: &[f64]| {
        let stopped = || (f64::NAN, vec![f64::NAN; u.len()]);
        if failure.is_some() {
            return stopped();
        }
        let (beta, b) = objective.to_model(u);
        match sums.loss_gradient(family, &beta, b) {
            Ok(sum) => objective.smooth(u, &sum),
            Err(e) => {
                failure = Some(e);
                stopped()
            }
        }
    };
    let config = LbfgsConfig {
        memory: LBFGS_MEMORY,
        max_iter: params.max_iter(),
        tol: params.tol(),
    };
    let minimum = minimize(evaluate, start, &objective.l1_weights(), config);
    match failure {
        Some(e) => Err(e),
        None => Ok(minimum.into()),
    }
}
