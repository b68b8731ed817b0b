//! Distributed SGD, the cluster's own strategy: the parameters live on the shards, which apply
//! Adam to the workers' mini-batch gradients — once per clock with every partition (BSP), or per
//! push within a staleness bound (SSP) or never waiting (async). The coordinator pulls the
//! parameters after each epoch, records the objective, and checkpoints the parameters with
//! Adam's moments so a resumed BSP fit takes the uninterrupted run's very steps.

use super::checkpoint::{Checkpoint, SgdState};
use super::glm_sums::ClusterSums;
use super::job::Task;
use super::options::{ClusterEvent, Consistency};
use super::rounds::Rounds;
use super::{sgd, ClusterError};
use crate::model::glm::{GlmValidParams, Objective};
use crate::model::solve::SolverRun;
use crate::model::{GlmSums, ModelError};
use crate::ps::{key_range, Precision};
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
    let options = sums.rounds.options;
    // The shards' state after the last finished epoch, from which a replaced shard restarts.
    let mut restore = resumed.unwrap_or(SgdState {
        epoch: first_epoch,
        u: u.clone(),
        history: Vec::new(),
        first_moment: Vec::new(),
        second_moment: Vec::new(),
        steps: 0,
    });
    // The phase on the shards, the epoch it started at (its clocks count from there) and the
    // shard generation it belongs to.
    let mut phase: Option<(u64, u64, u64)> = None;
    let mut converged = false;
    let mut epochs = first_epoch as usize;
    for epoch in first_epoch..params.max_iter() as u64 {
        let task = |phase: u64, start: u64, parts: &[usize]| Task::Sgd {
            partitions: parts.to_vec(),
            phase,
            epoch,
            clocks: (epoch - start) * per_epoch..(epoch - start + 1) * per_epoch,
            stats: stats.clone(),
            precision: options.precision,
        };
        let at = |start: u64| match options.consistency {
            Consistency::Bsp => (epoch - start + 1) * per_epoch,
            _ => 0,
        };
        let (state, current) = (&restore, &mut phase);
        let after = sums.rounds.with_shards(|rounds| {
            let (phase, start) = match *current {
                Some((phase, start, generation)) if generation == rounds.generation() => {
                    (phase, start)
                }
                _ => {
                    let phase = configure(rounds, params, obj, state)?;
                    *current = Some((phase, epoch, rounds.generation()));
                    (phase, epoch)
                }
            };
            rounds.round(&|parts| task(phase, start, parts))?;
            pull_state(rounds, phase, at(start), obj.dim())
        })?;
        u = after.u.clone();
        let v = value(&u, sums)?;
        let previous = history[history.len() - 1];
        history.push(v);
        epochs = epoch as usize + 1;
        restore = SgdState {
            epoch: epoch + 1,
            history: history.clone(),
            ..after
        };
        options.emit(ClusterEvent::Iteration { iteration: epochs });
        if epochs.is_multiple_of(options.checkpoint_every) {
            checkpoint.sgd = Some(restore.clone());
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

/// The parameters, Adam's moments and step count on the shards at clock `at` of `phase`.
fn pull_state(
    rounds: &Rounds<'_>,
    phase: u64,
    at: u64,
    dim: usize,
) -> Result<SgdState, ClusterError> {
    let pull = |kind| rounds.call(rounds.ps.pull(phase, 0, at, kind, dim, Precision::F64));
    let first_moment = pull(PullKind::FirstMoment)?;
    Ok(SgdState {
        epoch: 0,
        u: pull(PullKind::Params)?.values,
        history: Vec::new(),
        steps: first_moment.count,
        first_moment: first_moment.values,
        second_moment: pull(PullKind::SecondMoment)?.values,
    })
}

/// Starts an Adam phase on every shard: its slice of the parameters, penalties and Adam's
/// moments (none before the first epoch).
fn configure(
    rounds: &mut Rounds<'_>,
    params: &GlmValidParams,
    obj: &Objective,
    state: &SgdState,
) -> Result<u64, ClusterError> {
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
    rounds.call(rounds.ps.configure(|s| ShardConfig {
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
        initial: slice(&state.u, s),
        learning_rate: params.learning_rate(),
        l2: slice(&l2, s),
        l1: slice(&l1, s),
        first_moment: slice(&state.first_moment, s),
        second_moment: slice(&state.second_moment, s),
        steps: state.steps,
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
