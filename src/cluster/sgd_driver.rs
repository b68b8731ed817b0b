//! Distributed SGD, the cluster's own strategy: the parameters live on the shards, which apply
//! Adam to the workers' mini-batch gradients — once per clock with every partition (BSP), or per
//! push within a staleness bound (SSP) or never waiting (async). The coordinator pulls the
//! parameters after each epoch, records the objective, and checkpoints the parameters with
//! Adam's moments so a resumed BSP fit takes the uninterrupted run's very steps.

use super::checkpoint::{Checkpoint, SgdState};
use super::glm_sums::ClusterSums;
use super::job::Task;
use super::options::{ClusterEvent, Consistency};
use super::{sgd, ClusterError};
use crate::model::glm::{GlmValidParams, Objective};
use crate::model::solve::SolverRun;
use crate::model::{GlmSums, ModelError};
use crate::ps::key_range;
use crate::rpc::proto::{Combine, Consistency as PbConsistency, PullKind, ShardConfig};

/// Runs SGD from `start` for `params.max_iter()` epochs (or from a checkpoint's epoch).
pub(crate) fn run(
    sums: &mut ClusterSums<'_, '_>,
    params: &GlmValidParams,
    obj: &Objective,
    start: Vec<f64>,
) -> Result<SolverRun, ClusterError> {
    let stats = sums
        .stats
        .clone()
        .ok_or_else(|| ClusterError::Protocol("SGD before the feature statistics".into()))?;
    let mut checkpoint = load(sums)?;
    let resumed = checkpoint.sgd.take();
    let (first_epoch, mut u, mut history) = match &resumed {
        Some(s) => (s.epoch, s.u.clone(), s.history.clone()),
        None => (0, start, Vec::new()),
    };
    let value = |u: &[f64], sums: &mut ClusterSums<'_, '_>| -> Result<f64, ClusterError> {
        let (beta, b) = obj.to_model(u);
        let g = sums.loss_gradient(params.family(), &beta, b)?;
        Ok(obj.smooth(u, &g).0 + obj.l1_value(u))
    };
    if history.is_empty() {
        history.push(value(&u, sums)?);
    }
    let per_epoch = sgd::clocks_per_epoch(&sums.part_rows, params.batch_size());
    if per_epoch == 0 {
        return Err(ModelError::EmptyData.into());
    }
    let phase = configure(sums, params, obj, &u, resumed.as_ref())?;
    let options = sums.rounds.options;
    let mut converged = false;
    let mut epochs = first_epoch as usize;
    for epoch in first_epoch..params.max_iter() as u64 {
        let clocks = (epoch - first_epoch) * per_epoch..(epoch - first_epoch + 1) * per_epoch;
        let end = clocks.end;
        sums.rounds.round(&|parts| Task::Sgd {
            partitions: parts.to_vec(),
            phase,
            epoch,
            clocks: clocks.clone(),
            stats: stats.clone(),
            precision: options.precision,
        })?;
        let at = if options.consistency == Consistency::Bsp {
            end
        } else {
            0
        };
        let dim = obj.dim();
        let pull = |sums: &ClusterSums<'_, '_>, kind| {
            let r = &sums.rounds;
            r.rt.block_on(r.ps.pull(phase, 0, at, kind, dim, crate::ps::Precision::F64))
        };
        u = pull(sums, PullKind::Params)?.values;
        let v = value(&u, sums)?;
        let previous = history[history.len() - 1];
        history.push(v);
        epochs = epoch as usize + 1;
        options.emit(ClusterEvent::Iteration { iteration: epochs });
        if epochs.is_multiple_of(options.checkpoint_every) {
            let first_moment = pull(sums, PullKind::FirstMoment)?;
            checkpoint.sgd = Some(SgdState {
                epoch: epoch + 1,
                u: u.clone(),
                history: history.clone(),
                first_moment: first_moment.values,
                second_moment: pull(sums, PullKind::SecondMoment)?.values,
                steps: first_moment.count,
            });
            save(sums, &checkpoint)?;
        }
        if !v.is_finite() {
            break;
        }
        if params.tol() > 0.0 && (previous - v).abs() <= params.tol() * v.abs() {
            converged = true;
            break;
        }
    }
    Ok(SolverRun {
        x: u,
        iterations: epochs,
        history,
        converged,
    })
}

/// Starts the Adam phase on every shard: its slice of the parameters, penalties and (when
/// resuming) Adam's moments.
fn configure(
    sums: &mut ClusterSums<'_, '_>,
    params: &GlmValidParams,
    obj: &Objective,
    u: &[f64],
    resumed: Option<&SgdState>,
) -> Result<u64, ClusterError> {
    let rounds = &mut *sums.rounds;
    let phase = rounds.new_phase();
    let shards = rounds.ps.shards();
    let dim = obj.dim();
    let (consistency, staleness) = match rounds.options.consistency {
        Consistency::Bsp => (PbConsistency::Bsp, 0),
        Consistency::Ssp(k) => (PbConsistency::Ssp, k),
        Consistency::Async => (PbConsistency::Async, 0),
    };
    let mut l2: Vec<f64> = obj.l2_theta().to_vec();
    l2.resize(dim, 0.0);
    let l1 = obj.l1_weights();
    let partitions = rounds.partitions;
    let slice = |v: &[f64], s: usize| -> Vec<f64> {
        match v.is_empty() {
            true => Vec::new(),
            false => v[key_range(dim, shards, s)].to_vec(),
        }
    };
    rounds.rt.block_on(rounds.ps.configure(|s| ShardConfig {
        phase,
        combine: Combine::Adam as i32,
        shard: s as u32,
        shards: shards as u32,
        push_len: dim as u64,
        param_len: dim as u64,
        partitions: partitions as u32,
        consistency: consistency as i32,
        staleness,
        workers: Vec::new(),
        initial: slice(u, s),
        learning_rate: params.learning_rate(),
        l2: slice(&l2, s),
        l1: slice(&l1, s),
        first_moment: resumed.map_or_else(Vec::new, |r| slice(&r.first_moment, s)),
        second_moment: resumed.map_or_else(Vec::new, |r| slice(&r.second_moment, s)),
        steps: resumed.map_or(0, |r| r.steps),
    }))?;
    Ok(phase)
}

/// This job's checkpoint when resuming, else an empty one.
pub(crate) fn load(sums: &ClusterSums<'_, '_>) -> Result<Checkpoint, ClusterError> {
    let rounds = &sums.rounds;
    match (rounds.checkpoint_dir(), rounds.options.resume) {
        (Some(dir), true) => {
            let loaded = Checkpoint::load(dir, &sums.fingerprint)?;
            if loaded.is_some() {
                rounds.say(&format!(
                    "resuming from {}",
                    Checkpoint::path(dir).display()
                ));
            }
            Ok(loaded.unwrap_or_else(|| Checkpoint::new(sums.fingerprint.clone())))
        }
        _ => Ok(Checkpoint::new(sums.fingerprint.clone())),
    }
}

/// Writes `checkpoint` when the job has a checkpoint directory.
pub(crate) fn save(
    sums: &ClusterSums<'_, '_>,
    checkpoint: &Checkpoint,
) -> Result<(), ClusterError> {
    match sums.rounds.checkpoint_dir() {
        Some(dir) => checkpoint.save(dir),
        None => Ok(()),
    }
}
