//! One shard's state, without any networking: phases, idempotent pushes, aggregates in a fixed
//! order, and the optimizer step.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use super::clock_sum::{sum_in_order, ClockSum, Part};
use super::codec::{self, F64s, SliceError};
use super::keys::key_range;
use crate::model::solve::Adam;
use crate::rpc::proto::Slice;

/// How a phase combines the pushes of a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Sum every partition's contribution; the coordinator pulls the sum.
    Aggregate,
    /// Sum, then apply an Adam step to the shard's parameters.
    Adam,
}

/// When an optimizer phase lets a pull through and when it steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One step per clock with every partition's gradient; a pull at clock c waits for c steps.
    Bsp,
    /// A step per push; a pull at clock c waits until every partition has pushed c − k clocks.
    Ssp(u32),
    /// A step per push; pulls never wait.
    Async,
}

/// A phase as the coordinator describes it (the whole-job view; the shard takes its range).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseConfig {
    /// Phase id.
    pub phase: u64,
    /// How pushes combine.
    pub combine: Combine,
    /// This shard's index.
    pub shard: usize,
    /// Shard count.
    pub shards: usize,
    /// Length of pushed vectors.
    pub push_len: usize,
    /// Length of the parameter vector.
    pub param_len: usize,
    /// Partitions contributing to every clock.
    pub partitions: usize,
    /// Consistency of an Adam phase.
    pub mode: Mode,
    /// Adam: the shard's slice of the initial parameters.
    pub initial: Vec<f64>,
    /// Adam: step size.
    pub learning_rate: f64,
    /// Adam: the shard's slice of per-key L2 weights (empty: none).
    pub l2: Vec<f64>,
    /// Adam: the shard's slice of per-key L1 weights (empty: none).
    pub l1: Vec<f64>,
    /// Adam: state to continue from (a resumed checkpoint) instead of a fresh start.
    pub resume: Option<AdamResume>,
}

/// Adam's state for the shard's key range, saved by a checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamResume {
    /// First-moment estimates.
    pub first_moment: Vec<f64>,
    /// Second-moment estimates.
    pub second_moment: Vec<f64>,
    /// Steps taken.
    pub steps: u64,
}

/// Which of an optimizer phase's vectors to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerVector {
    /// The parameters.
    Params,
    /// Adam's first-moment estimates.
    FirstMoment,
    /// Adam's second-moment estimates.
    SecondMoment,
}

/// Why the shard refuses a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// No such phase (not configured, or configured differently).
    #[error("unknown phase {0}")]
    UnknownPhase(u64),
    /// A request that does not fit the phase (bad partition, wrong kind of pull).
    #[error("{0}")]
    Invalid(String),
    /// Undecodable values.
    #[error(transparent)]
    Slice(#[from] SliceError),
    /// Parameters for a clock already superseded.
    #[error("parameters for clock {clock} are gone (newest is {newest})")]
    Stale {
        /// Requested clock.
        clock: u64,
        /// The newest clock held.
        newest: u64,
    },
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PushOutcome {
    /// Contributions counted.
    pub accepted: u32,
    /// Contributions of an already-counted (clock, partition), ignored.
    pub duplicates: u32,
}

/// A pulled vector: the shard's range of keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Pulled {
    /// First key.
    pub offset: usize,
    /// Values for keys `offset..offset + values.len()`.
    pub values: F64s,
    /// Σ of contribution weights (aggregates).
    pub weight: f64,
    /// Contributions summed, or optimizer steps applied.
    pub count: u64,
}

#[derive(Debug)]
struct Phase {
    config: PhaseConfig,
    push_range: Range<usize>,
    param_range: Range<usize>,
    /// Contributions per clock, summed in partition order as they arrive.
    pending: BTreeMap<u64, ClockSum>,
    /// Parameters published by the coordinator, per clock (aggregate phases).
    published: BTreeMap<u64, F64s>,
    /// Adam phases: parameters, optimizer state, steps applied, and what was counted.
    params: Vec<f64>,
    adam: Option<Adam>,
    /// Clocks fully applied (BSP) — every contribution of an earlier clock is a duplicate.
    applied: u64,
    /// (clock, partition) already counted by a step-per-push phase.
    seen: HashSet<(u64, u32)>,
    /// Clocks pushed per partition (SSP).
    partition_clocks: Vec<u64>,
    duplicates: u64,
}

/// A shard: its phases by id.
#[derive(Debug, Default)]
pub struct ShardState {
    phases: HashMap<u64, Phase>,
}

impl ShardState {
    /// An empty shard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets up (or replaces) a phase.
    pub fn configure(&mut self, config: PhaseConfig) -> Result<(), ShardError> {
        if config.shards == 0 || config.shard >= config.shards {
            return Err(ShardError::Invalid(format!(
                "shard {} of {}",
                config.shard, config.shards
            )));
        }
        if config.partitions == 0 {
            return Err(ShardError::Invalid("a phase needs partitions".into()));
        }
        let push_range = key_range(config.push_len, config.shards, config.shard);
        let param_range = key_range(config.param_len, config.shards, config.shard);
        let (params, adam) = match config.combine {
            Combine::Aggregate => (Vec::new(), None),
            Combine::Adam => {
                if config.push_len != config.param_len {
                    return Err(ShardError::Invalid(
                        "an optimizer phase pushes gradients as long as the parameters".into(),
                    ));
                }
                if config.initial.len() != param_range.len() {
                    return Err(ShardError::Invalid(format!(
                        "{} initial values for {} keys",
                        config.initial.len(),
                        param_range.len()
                    )));
                }
                let (m, v) = match &config.resume {
                    Some(r) => (&r.first_moment[..], &r.second_moment[..]),
                    None => (&[][..], &[][..]),
                };
                let per_key = [
                    ("l2", &config.l2[..]),
                    ("l1", &config.l1[..]),
                    ("first-moment", m),
                    ("second-moment", v),
                ];
                for (name, w) in per_key {
                    if !w.is_empty() && w.len() != param_range.len() {
                        return Err(ShardError::Invalid(format!(
                            "{} {name} weights for {} keys",
                            w.len(),
                            param_range.len()
                        )));
                    }
                }
                let adam = match &config.resume {
                    Some(r) if m.len() == v.len() => Adam::resume(
                        config.learning_rate,
                        r.first_moment.clone(),
                        r.second_moment.clone(),
                        r.steps,
                    ),
                    Some(_) => {
                        return Err(ShardError::Invalid(
                            "resumed Adam state needs both moments".into(),
                        ))
                    }
                    None => Adam::new(param_range.len(), config.learning_rate),
                };
                (config.initial.clone(), Some(adam))
            }
        };
        let partitions = config.partitions;
        self.phases.insert(
            config.phase,
            Phase {
                config,
                push_range,
                param_range,
                pending: BTreeMap::new(),
                published: BTreeMap::new(),
                params,
                adam,
                applied: 0,
                seen: HashSet::new(),
                partition_clocks: vec![0; partitions],
                duplicates: 0,
            },
        );
        Ok(())
    }

    /// Forgets a phase.
    pub fn retire(&mut self, phase: u64) {
        self.phases.remove(&phase);
    }

    fn phase(&mut self, phase: u64) -> Result<&mut Phase, ShardError> {
        self.phases
            .get_mut(&phase)
            .ok_or(ShardError::UnknownPhase(phase))
    }

    /// Counts each (clock, partition) once: a retried or duplicated push changes nothing.
    pub fn push(
        &mut self,
        phase: u64,
        clock: u64,
        contributions: &[(u32, f64, &Slice)],
    ) -> Result<PushOutcome, ShardError> {
        let ph = self.phase(phase)?;
        let mut outcome = PushOutcome::default();
        // Decode everything first so a malformed push changes nothing.
        let mut decoded = Vec::with_capacity(contributions.len());
        for &(partition, weight, slice) in contributions {
            if partition as usize >= ph.config.partitions {
                return Err(ShardError::Invalid(format!(
                    "partition {partition} of a {}-partition job",
                    ph.config.partitions
                )));
            }
            let values = codec::decode(slice, ph.push_range.start, ph.push_range.len())?;
            decoded.push((partition, Part { weight, values }));
        }
        let step_per_push = ph.config.combine == Combine::Adam && ph.config.mode != Mode::Bsp;
        let mut fresh: Vec<(u32, Part)> = Vec::new();
        for (partition, part) in decoded {
            let duplicate = if step_per_push {
                !ph.seen.insert((clock, partition))
            } else {
                (ph.config.combine == Combine::Adam && clock < ph.applied)
                    || ph
                        .pending
                        .get(&clock)
                        .is_some_and(|c| c.contains(partition as usize))
                    || (ph.config.combine == Combine::Aggregate && ph.is_pulled(clock))
            };
            if duplicate {
                outcome.duplicates += 1;
                ph.duplicates += 1;
                continue;
            }
            outcome.accepted += 1;
            let pc = &mut ph.partition_clocks[partition as usize];
            *pc = (*pc).max(clock + 1);
            if step_per_push {
                fresh.push((partition, part));
            } else {
                let partitions = ph.config.partitions;
                ph.pending
                    .entry(clock)
                    .or_insert_with(|| ClockSum::new(partitions))
                    .insert(partition as usize, part);
            }
        }
        if step_per_push {
            fresh.sort_by_key(|(p, _)| *p);
            if let Some(sum) = sum_in_order(fresh.into_iter().map(|(_, p)| p)) {
                ph.step(&sum);
            }
        } else if ph.config.combine == Combine::Adam {
            ph.apply_complete_clocks();
        }
        Ok(outcome)
    }

    /// The sum over all partitions at `clock`, or `None` while some partition is missing.
    pub fn aggregate(&mut self, phase: u64, clock: u64) -> Result<Option<Pulled>, ShardError> {
        let ph = self.phase(phase)?;
        if ph.config.combine != Combine::Aggregate {
            return Err(ShardError::Invalid(
                "an optimizer phase has no aggregate to pull".into(),
            ));
        }
        let Some(sum) = ph.pending.get(&clock).and_then(ClockSum::total) else {
            return Ok(None);
        };
        // Earlier clocks can no longer be asked for: the coordinator moved on.
        ph.pending = ph.pending.split_off(&clock);
        Ok(Some(Pulled {
            offset: ph.push_range.start,
            values: sum.values,
            weight: sum.weight,
            count: ph.config.partitions as u64,
        }))
    }

    /// Stores the coordinator's parameters for `clock` (`values` is the shard's range).
    pub fn publish(&mut self, phase: u64, clock: u64, slice: &Slice) -> Result<(), ShardError> {
        let ph = self.phase(phase)?;
        let values = codec::decode(slice, ph.param_range.start, ph.param_range.len())?;
        ph.published.insert(clock, values);
        // Keep the two newest clocks: a worker may still be reading the previous one.
        while ph.published.len() > 2 {
            ph.published.pop_first();
        }
        Ok(())
    }

    /// The parameters a worker at `clock` may read, or `None` while the consistency model
    /// makes it wait.
    pub fn params(&mut self, phase: u64, clock: u64) -> Result<Option<Pulled>, ShardError> {
        let ph = self.phase(phase)?;
        let offset = ph.param_range.start;
        match ph.config.combine {
            Combine::Aggregate => {
                if let Some(values) = ph.published.get(&clock) {
                    return Ok(Some(Pulled {
                        offset,
                        values: values.clone(),
                        weight: 0.0,
                        count: clock,
                    }));
                }
                match ph.published.last_key_value() {
                    Some((&newest, _)) if newest > clock => {
                        Err(ShardError::Stale { clock, newest })
                    }
                    _ => Ok(None),
                }
            }
            Combine::Adam => self.optimizer(phase, clock, OptimizerVector::Params),
        }
    }

    /// A vector of an optimizer phase as a worker at `clock` may read it (parameters) or as a
    /// checkpoint saves it, or `None` while the consistency model makes it wait.
    pub fn optimizer(
        &mut self,
        phase: u64,
        clock: u64,
        which: OptimizerVector,
    ) -> Result<Option<Pulled>, ShardError> {
        let ph = self.phase(phase)?;
        let Some(adam) = ph.adam.as_ref() else {
            return Err(ShardError::Invalid(
                "an aggregate phase has no optimizer state".into(),
            ));
        };
        let ready = match ph.config.mode {
            Mode::Bsp => ph.applied >= clock,
            Mode::Ssp(k) => {
                let slowest = ph.partition_clocks.iter().copied().min().unwrap_or(0);
                slowest + u64::from(k) >= clock
            }
            Mode::Async => true,
        };
        if !ready {
            return Ok(None);
        }
        let values = match which {
            OptimizerVector::Params => &ph.params,
            OptimizerVector::FirstMoment => adam.moments().0,
            OptimizerVector::SecondMoment => adam.moments().1,
        };
        Ok(Some(Pulled {
            offset: ph.param_range.start,
            values: F64s::from_vec(values.to_vec()),
            weight: 0.0,
            count: adam.steps(),
        }))
    }

    /// Duplicates ignored so far in a phase.
    pub fn duplicates(&self, phase: u64) -> Option<u64> {
        self.phases.get(&phase).map(|p| p.duplicates)
    }
}

impl Phase {
    /// Whether the aggregate of `clock` was already handed out (later pushes are retries).
    fn is_pulled(&self, clock: u64) -> bool {
        self.pending
            .first_key_value()
            .is_some_and(|(&first, _)| clock < first)
    }

    /// BSP: steps once per complete clock, in clock order.
    fn apply_complete_clocks(&mut self) {
        loop {
            let clock = self.applied;
            let Some(sum) = self.pending.get(&clock).and_then(ClockSum::total) else {
                return;
            };
            self.pending.remove(&clock);
            self.step(&sum);
            self.applied += 1;
        }
    }

    /// One Adam step with the mean gradient of `sum` plus the L2 term.
    fn step(&mut self, sum: &Part) {
        if sum.weight <= 0.0 {
            return;
        }
        let Some(adam) = self.adam.as_mut() else {
            return;
        };
        let grad: Vec<f64> = sum
            .values
            .iter()
            .enumerate()
            .map(|(i, g)| {
                g / sum.weight + self.config.l2.get(i).map_or(0.0, |w| w * self.params[i])
            })
            .collect();
        adam.step(&mut self.params, &grad, &self.config.l1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ps::codec::{dense, Precision};

    fn config(combine: Combine, mode: Mode, partitions: usize) -> PhaseConfig {
        PhaseConfig {
            phase: 1,
            combine,
            shard: 1,
            shards: 2,
            push_len: 4,
            param_len: 4,
            partitions,
            mode,
            initial: vec![0.0; 2],
            learning_rate: 0.1,
            l2: Vec::new(),
            l1: Vec::new(),
            resume: None,
        }
    }

    #[test]
    fn aggregates_once_per_partition_in_partition_order() {
        let mut s = ShardState::new();
        s.configure(config(Combine::Aggregate, Mode::Bsp, 2))
            .unwrap();
        let a = dense(2, &[1.0, 2.0], Precision::F64);
        let b = dense(2, &[10.0, 20.0], Precision::F64);
        assert_eq!(s.push(1, 0, &[(1, 2.0, &b)]).unwrap().accepted, 1);
        assert_eq!(s.aggregate(1, 0).unwrap(), None);
        let dup = s.push(1, 0, &[(1, 2.0, &b), (0, 1.0, &a)]).unwrap();
        assert_eq!((dup.accepted, dup.duplicates), (1, 1));
        let sum = s.aggregate(1, 0).unwrap().unwrap();
        assert_eq!(
            (sum.offset, sum.values, sum.weight),
            (2, F64s::from_vec(vec![11.0, 22.0]), 3.0)
        );
        // A late retry of an aggregated clock is not counted into anything.
        assert_eq!(s.push(1, 0, &[(0, 1.0, &a)]).unwrap().duplicates, 1);
        assert_eq!(s.duplicates(1), Some(2));
    }

    #[test]
    fn keys_of_another_shard_are_refused() {
        let mut s = ShardState::new();
        s.configure(config(Combine::Aggregate, Mode::Bsp, 1))
            .unwrap();
        let wrong = dense(0, &[1.0, 2.0], Precision::F64);
        assert!(matches!(
            s.push(1, 0, &[(0, 1.0, &wrong)]),
            Err(ShardError::Slice(_))
        ));
        assert!(matches!(
            s.push(9, 0, &[]),
            Err(ShardError::UnknownPhase(9))
        ));
    }

    #[test]
    fn bsp_steps_once_per_complete_clock() {
        let mut s = ShardState::new();
        s.configure(config(Combine::Adam, Mode::Bsp, 2)).unwrap();
        let g = dense(2, &[1.0, -1.0], Precision::F64);
        assert!(s.params(1, 0).unwrap().is_some());
        s.push(1, 0, &[(0, 1.0, &g)]).unwrap();
        assert!(s.params(1, 1).unwrap().is_none(), "clock 0 is incomplete");
        s.push(1, 0, &[(0, 1.0, &g)]).unwrap();
        assert!(
            s.params(1, 1).unwrap().is_none(),
            "a duplicate does not complete it"
        );
        s.push(1, 0, &[(1, 1.0, &g)]).unwrap();
        let p = s.params(1, 1).unwrap().unwrap();
        assert_eq!(p.count, 1);
        let v = p.values.to_vec();
        assert!(v[0] < 0.0 && v[1] > 0.0);
        assert_eq!(s.push(1, 0, &[(1, 1.0, &g)]).unwrap().duplicates, 1);
    }

    #[test]
    fn ssp_bounds_the_lead_over_the_slowest_partition() {
        let mut s = ShardState::new();
        s.configure(config(Combine::Adam, Mode::Ssp(1), 2)).unwrap();
        let g = dense(2, &[1.0, 1.0], Precision::F64);
        for clock in 0..2 {
            s.push(1, clock, &[(0, 1.0, &g)]).unwrap();
        }
        assert!(s.params(1, 1).unwrap().is_some());
        assert!(
            s.params(1, 2).unwrap().is_none(),
            "partition 1 has pushed nothing"
        );
        s.push(1, 0, &[(1, 1.0, &g)]).unwrap();
        let p = s.params(1, 2).unwrap().unwrap();
        assert_eq!(p.count, 3, "a step per push");
        s.configure(PhaseConfig {
            mode: Mode::Async,
            ..config(Combine::Adam, Mode::Async, 2)
        })
        .unwrap();
        assert!(s.params(1, 100).unwrap().is_some());
    }

    #[test]
    fn a_phase_resumed_from_saved_adam_state_steps_as_the_uninterrupted_one() {
        let grads: Vec<Slice> = (0..5)
            .map(|c| dense(2, &[1.0 + c as f64, -0.5 * c as f64], Precision::F64))
            .collect();
        let run = |s: &mut ShardState, phase: u64, clocks: std::ops::Range<usize>| {
            for (clock, g) in clocks.clone().zip(&grads[clocks]) {
                s.push(phase, clock as u64, &[(0, 1.0, g)]).unwrap();
            }
        };
        let mut s = ShardState::new();
        s.configure(config(Combine::Adam, Mode::Bsp, 1)).unwrap();
        run(&mut s, 1, 0..5);
        let straight = s.params(1, 5).unwrap().unwrap();

        let mut first = ShardState::new();
        first
            .configure(config(Combine::Adam, Mode::Bsp, 1))
            .unwrap();
        run(&mut first, 1, 0..2);
        let read = |s: &mut ShardState, which| s.optimizer(1, 2, which).unwrap().unwrap();
        let params = read(&mut first, OptimizerVector::Params);
        let m = read(&mut first, OptimizerVector::FirstMoment);
        let v = read(&mut first, OptimizerVector::SecondMoment);
        assert_eq!(m.count, 2);
        let mut resumed = ShardState::new();
        resumed
            .configure(PhaseConfig {
                initial: params.values.to_vec(),
                resume: Some(AdamResume {
                    first_moment: m.values.to_vec(),
                    second_moment: v.values.to_vec(),
                    steps: m.count,
                }),
                ..config(Combine::Adam, Mode::Bsp, 1)
            })
            .unwrap();
        // The resumed phase counts its clocks from 0 again.
        for (clock, g) in grads[2..].iter().enumerate() {
            resumed.push(1, clock as u64, &[(0, 1.0, g)]).unwrap();
        }
        let after = resumed.params(1, 3).unwrap().unwrap();
        assert_eq!(after.values, straight.values);
        assert_eq!(after.count, 5);
    }

    #[test]
    fn published_params_are_read_by_clock() {
        let mut s = ShardState::new();
        s.configure(config(Combine::Aggregate, Mode::Bsp, 1))
            .unwrap();
        assert_eq!(s.params(1, 0).unwrap(), None);
        for clock in 0..3 {
            s.publish(1, clock, &dense(2, &[clock as f64, 0.0], Precision::F64))
                .unwrap();
        }
        assert_eq!(
            s.params(1, 2).unwrap().unwrap().values.to_vec(),
            vec![2.0, 0.0]
        );
        assert!(matches!(s.params(1, 0), Err(ShardError::Stale { .. })));
    }
}
