//! The GLM sums of a cluster: each is a round of per-partition statistics pushed by the workers
//! and summed on the parameter-server shards in partition order — so the sums equal the local
//! trainer's bit for bit — then pulled by the coordinator, where the learner's one fit solves.

use crate::feature::{FeatureBlock, FeatureLayout};
use crate::model::trees::Source;

use super::tree_sums::{ClusterTrees, TreeLog};
use crate::model::glm::{BlockGradient, FeatureStats, GlmValidParams, NormalEquations, Objective};
use crate::model::solve::SolverRun;
use crate::model::{Family, GlmSums, Trainer};

use super::job::{PartInfo, PartOutput, Statistic};
use super::options::ClusterEvent;
use super::rounds::Rounds;
use super::{sgd_driver, vectors, ClusterError};

/// The sums of a running cluster.
pub(crate) struct ClusterSums<'r, 'a> {
    pub(crate) rounds: &'r mut Rounds<'a>,
    /// Rows read, kept and dropped, from the first round.
    pub(crate) info: PartInfo,
    /// Rows per partition, from the first round (SGD's clocks per epoch).
    pub(crate) part_rows: Vec<usize>,
    /// The merged feature statistics, once computed (SGD's workers need them).
    pub(crate) stats: Option<FeatureStats>,
    /// Identifies the job's checkpoints.
    pub(crate) fingerprint: String,
    normal: Option<NormalEquations>,
    /// The gradient rounds' phase and the shard generation it belongs to.
    gradient_phase: Option<(u64, u64)>,
    clock: u64,
    /// Validation blocks (trees report their loss on them).
    pub(crate) valid: Vec<FeatureBlock>,
    /// The tree features found by the sketch round, until the bins are made.
    pub(crate) tree_sources: Vec<(Source, String)>,
    /// Trees being grown.
    pub(crate) trees: Option<Box<ClusterTrees>>,
    /// Tree answers recorded and to replay.
    pub(crate) tree_log: TreeLog,
}

impl<'r, 'a> ClusterSums<'r, 'a> {
    pub(crate) fn new(rounds: &'r mut Rounds<'a>, fingerprint: String) -> Self {
        ClusterSums {
            rounds,
            info: PartInfo::default(),
            part_rows: Vec::new(),
            stats: None,
            fingerprint,
            normal: None,
            gradient_phase: None,
            clock: 0,
            valid: Vec::new(),
            tree_sources: Vec::new(),
            trees: None,
            tree_log: TreeLog::default(),
        }
    }

    /// Remembers what the workers learned of their partitions in the first round.
    pub(crate) fn collect(&mut self, outputs: &[PartOutput]) {
        if self.info.rows_read > 0 {
            return;
        }
        self.part_rows.clear();
        for o in outputs {
            if let PartOutput::Pushed(i) = o {
                self.info.rows += i.rows;
                self.info.rows_read += i.rows_read;
                self.info.dropped.merge(&i.dropped);
                self.part_rows.push(i.rows);
            }
        }
    }
}

impl Trainer for ClusterSums<'_, '_> {
    type Error = ClusterError;

    fn rows(&self) -> usize {
        self.info.rows
    }
}

impl GlmSums for ClusterSums<'_, '_> {
    fn normal_equations(
        &mut self,
        layout: &FeatureLayout,
    ) -> Result<&NormalEquations, ClusterError> {
        if self.normal.is_none() {
            let p = layout.width();
            let (w, v, outputs) = self
                .rounds
                .one_round(Statistic::Gram, vectors::gram_len(p))?;
            self.collect(&outputs);
            self.normal = Some(NormalEquations::new(vectors::gram_from_vec(w, &v, p)));
            self.rounds
                .options
                .emit(ClusterEvent::Iteration { iteration: 1 });
        }
        Ok(self.normal.as_ref().expect("computed above"))
    }

    fn feature_stats(&mut self, layout: &FeatureLayout) -> Result<FeatureStats, ClusterError> {
        let p = layout.width();
        let (w, v, outputs) = self
            .rounds
            .one_round(Statistic::FeatureStats, vectors::stats_len(p))?;
        self.collect(&outputs);
        let stats = vectors::stats_from_vec(w, &v, p);
        self.stats = Some(stats.clone());
        Ok(stats)
    }

    /// One gradient round at a new clock: the point is published on the shards, every
    /// partition pushes its loss and gradient there, the coordinator pulls the sum.
    fn loss_gradient(
        &mut self,
        _family: Family,
        beta: &[f64],
        intercept: f64,
    ) -> Result<BlockGradient, ClusterError> {
        let p = beta.len();
        let len = vectors::gradient_len(p);
        self.clock += 1;
        let clock = self.clock;
        let mut x = beta.to_vec();
        x.push(intercept);
        let gradient_phase = &mut self.gradient_phase;
        let (w, v, _) = self.rounds.with_shards(|rounds| {
            let phase = match *gradient_phase {
                Some((phase, generation)) if generation == rounds.generation() => phase,
                _ => {
                    let phase = rounds.aggregate_phase(len, p + 1)?;
                    *gradient_phase = Some((phase, rounds.generation()));
                    phase
                }
            };
            rounds.call(rounds.ps.set_params(phase, clock, &x))?;
            rounds.statistic(phase, clock, Statistic::Gradient, len)
        })?;
        Ok(vectors::gradient_from_vec(w, &v, p))
    }

    fn sgd(
        &mut self,
        params: &GlmValidParams,
        objective: &Objective,
        start: Vec<f64>,
    ) -> Result<SolverRun, ClusterError> {
        sgd_driver::run(self, params, objective, start)
    }
}
