//! L-BFGS checkpoints, as a wrapper around the cluster's sums: every gradient round is recorded
//! with its point and saved every `--checkpoint-every` rounds; when resuming, a round the
//! checkpoint holds at the very same point is answered from it, touching no data. L-BFGS is
//! deterministic, so the resumed fit asks for the same points and ends with the same model.

use crate::feature::FeatureLayout;
use crate::model::glm::{BlockGradient, FeatureStats, GlmValidParams, NormalEquations, Objective};
use crate::model::solve::SolverRun;
use crate::model::{Family, GlmSums, Trainer};

use super::checkpoint::{Checkpoint, Evaluation};
use super::glm_sums::ClusterSums;
use super::options::ClusterEvent;
use super::{sgd_driver, ClusterError};

/// The cluster's sums, replaying and recording gradient rounds.
pub(crate) struct Replay<'s, 'r, 'a> {
    inner: &'s mut ClusterSums<'r, 'a>,
    replay: Checkpoint,
    record: Checkpoint,
}

impl<'s, 'r, 'a> Replay<'s, 'r, 'a> {
    /// Wraps `inner`, replaying this job's checkpoint when the fit resumes.
    pub(crate) fn new(inner: &'s mut ClusterSums<'r, 'a>) -> Result<Self, ClusterError> {
        let mut replay = sgd_driver::load(inner)?;
        inner.tree_log.replay = std::mem::take(&mut replay.trees).into();
        let record = replay.emptied();
        Ok(Replay {
            inner,
            replay,
            record,
        })
    }

    /// The cluster's sums.
    pub(crate) fn inner(&mut self) -> &mut ClusterSums<'r, 'a> {
        self.inner
    }

    /// Saves what was recorded (the whole trajectory) when gradient rounds ran.
    pub(crate) fn finish(self) -> Result<(), ClusterError> {
        if self.record.evaluations.is_empty() {
            return Ok(());
        }
        sgd_driver::save(self.inner, &self.record)
    }
}

impl Trainer for Replay<'_, '_, '_> {
    type Error = ClusterError;

    fn rows(&self) -> usize {
        self.inner.rows()
    }
}

impl GlmSums for Replay<'_, '_, '_> {
    fn normal_equations(
        &mut self,
        layout: &FeatureLayout,
    ) -> Result<&NormalEquations, ClusterError> {
        self.inner.normal_equations(layout)
    }

    fn feature_stats(&mut self, layout: &FeatureLayout) -> Result<FeatureStats, ClusterError> {
        self.inner.feature_stats(layout)
    }

    fn loss_gradient(
        &mut self,
        family: Family,
        beta: &[f64],
        intercept: f64,
    ) -> Result<BlockGradient, ClusterError> {
        let mut point = beta.to_vec();
        point.push(intercept);
        let n = self.record.evaluations.len();
        if let Some(e) = self.replay.evaluations.get(n).filter(|e| e.point == point) {
            let sum = e.sum.clone();
            self.record.evaluations.push(e.clone());
            return Ok(sum);
        }
        let sum = self.inner.loss_gradient(family, beta, intercept)?;
        self.record.evaluations.push(Evaluation {
            point,
            sum: sum.clone(),
        });
        let done = self.record.evaluations.len();
        let options = self.inner.rounds.options;
        options.emit(ClusterEvent::Iteration { iteration: done });
        if done.is_multiple_of(options.checkpoint_every) {
            sgd_driver::save(self.inner, &self.record)?;
        }
        Ok(sum)
    }

    fn sgd(
        &mut self,
        params: &GlmValidParams,
        objective: &Objective,
        start: Vec<f64>,
    ) -> Result<SolverRun, ClusterError> {
        self.inner.sgd(params, objective, start)
    }
}
