//! The coordinator's rounds: a task sent to the workers for every partition, their outputs
//! gathered in partition order, a dead worker's partitions reassigned and the round recomputed;
//! and aggregation phases on the parameter-server shards, whose sums the coordinator pulls
//! (a lost shard is replaced by [`recovery`]).

mod recovery;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use super::checkpoint::Checkpoint;
use super::coordinator::{Report, Shared};
use super::job::{PartOutput, Statistic, Task, TaskOutput};
use super::options::{ClusterEvent, ClusterOptions};
use super::ClusterError;
use crate::model::ModelError;
use crate::ps::PsClient;
use crate::rpc::auth::Token;
use crate::rpc::proto::{Combine, PullKind, ShardConfig};

/// A parameter-server shard serving the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShardSeat {
    /// Its member id.
    pub(crate) member: u64,
    /// Its rank (which key range it holds: shards are in rank order).
    pub(crate) rank: u32,
    /// Where it serves.
    pub(crate) address: String,
}

/// Restarts the shard of a rank (when the coordinator launched the members itself).
pub(crate) type Respawn<'a> = &'a dyn Fn(u32) -> Result<(), ClusterError>;

/// Who serves a job: the workers that joined, the shards, the job's token, and how to restart
/// a lost shard.
pub(crate) struct Members<'a> {
    pub(crate) workers: Vec<u64>,
    pub(crate) shards: Vec<ShardSeat>,
    pub(crate) token: Token,
    pub(crate) respawn: Option<Respawn<'a>>,
}

/// A running job's coordinator state.
pub(crate) struct Rounds<'a> {
    pub(crate) rt: &'a Runtime,
    shared: Arc<Shared>,
    pub(crate) ps: PsClient,
    pub(crate) options: &'a ClusterOptions,
    /// Live workers, in join order.
    live: RefCell<Vec<u64>>,
    /// The worker owning each partition.
    owner: RefCell<Vec<u64>>,
    pub(crate) partitions: usize,
    next_phase: u64,
    checkpoint_dir: Option<PathBuf>,
    progress: &'a dyn Fn(&str),
    /// The shards, in rank order.
    shards: Vec<ShardSeat>,
    token: Token,
    respawn: Option<Respawn<'a>>,
    /// Shard replacements so far: phases set up in an earlier generation are gone.
    generation: u64,
}

impl<'a> Rounds<'a> {
    /// The rounds of a job whose `members` joined, over `partitions` partitions (each owned
    /// by a worker in turn).
    pub(crate) fn new(
        rt: &'a Runtime,
        shared: Arc<Shared>,
        options: &'a ClusterOptions,
        members: Members<'a>,
        partitions: usize,
        progress: &'a dyn Fn(&str),
    ) -> Result<Self, ClusterError> {
        let addresses: Vec<String> = members.shards.iter().map(|s| s.address.clone()).collect();
        let ps = rt.block_on(PsClient::connect(&addresses, &members.token))?;
        let workers = &members.workers;
        Ok(Rounds {
            rt,
            shared,
            ps,
            options,
            live: RefCell::new(workers.to_vec()),
            owner: RefCell::new(
                (0..partitions)
                    .map(|p| workers[p % workers.len()])
                    .collect(),
            ),
            partitions,
            next_phase: 1,
            checkpoint_dir: options.checkpoint_dir.clone(),
            progress,
            shards: members.shards,
            token: members.token,
            respawn: members.respawn,
            generation: 0,
        })
    }

    /// How many times a lost shard was replaced (phases of an earlier generation are gone).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The shards' addresses, in rank order.
    pub(crate) fn shard_addresses(&self) -> Vec<String> {
        self.shards.iter().map(|s| s.address.clone()).collect()
    }

    /// Runs a call to the shards; a shard silent for the heartbeat timeout meanwhile ends it
    /// (a partitioned host would otherwise hold it for TCP's own timeouts).
    pub(crate) fn call<T>(
        &self,
        call: impl Future<Output = Result<T, tonic::Status>>,
    ) -> Result<T, ClusterError> {
        self.rt.block_on(async {
            tokio::select! {
                result = call => result.map_err(ClusterError::from),
                lost = self.shard_silence() => Err(lost),
            }
        })
    }

    /// Resolves when a shard has been silent for the heartbeat timeout.
    async fn shard_silence(&self) -> ClusterError {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some(lost) = self.silent_shard() {
                return lost;
            }
        }
    }

    /// A shard silent for the heartbeat timeout, as the error that ends the current round.
    fn silent_shard(&self) -> Option<ClusterError> {
        let ids: Vec<u64> = self.shards.iter().map(|s| s.member).collect();
        let id = self.shared.silent(&ids, self.options.heartbeat_timeout)?;
        let seat = self.shards.iter().find(|s| s.member == id)?;
        Some(ClusterError::ShardLost {
            rank: seat.rank,
            address: seat.address.clone(),
            why: "stopped answering its heartbeats".into(),
        })
    }

    /// One line of progress.
    pub(crate) fn say(&self, line: &str) {
        (self.progress)(line)
    }

    /// The checkpoint directory, if the job has one.
    pub(crate) fn checkpoint_dir(&self) -> Option<&PathBuf> {
        self.checkpoint_dir.as_ref()
    }

    /// Sends `task` to every live worker and waits for all of them.
    pub(crate) fn broadcast(&self, task: &Task) -> Result<(), ClusterError> {
        let live = self.live.borrow().clone();
        let mut waiting: HashMap<u64, u64> = live
            .iter()
            .map(|&w| (self.shared.assign(w, task), w))
            .collect();
        self.until(|reports| {
            for r in reports {
                if waiting.remove(&r.task).is_some() {
                    failed(&r)?;
                }
            }
            let dead = self.shared.reap(self.options.heartbeat_timeout);
            if !dead.is_empty() {
                waiting.retain(|_, w| !dead.contains(w));
                self.lose(&dead, 0)?;
            }
            Ok(waiting.is_empty().then_some(()))
        })
    }

    /// Calls `step` with the reports that came in, each time the coordinator's state changes
    /// (and every 100 ms, for the heartbeats' silence), until it returns `Some` or fails.
    fn until<T>(
        &self,
        mut step: impl FnMut(Vec<Report>) -> Result<Option<T>, ClusterError>,
    ) -> Result<T, ClusterError> {
        self.rt.block_on(async {
            loop {
                let notified = self.shared.changed.notified();
                tokio::pin!(notified);
                // Registered before the reports are taken: one arriving in between wakes us.
                notified.as_mut().enable();
                let reports = std::mem::take(&mut self.shared.lock().reports);
                if let Some(done) = step(reports)? {
                    return Ok(done);
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
            }
        })
    }

    /// Drops dead workers; too few left is the job's end.
    fn lose(&self, dead: &[u64], partitions: usize) -> Result<(), ClusterError> {
        let mut live = self.live.borrow_mut();
        for d in dead {
            if live.contains(d) {
                self.options.emit(ClusterEvent::WorkerLost {
                    worker: *d,
                    partitions,
                });
                (self.progress)(&format!("worker {d} lost; reassigning its partitions"));
            }
        }
        live.retain(|w| !dead.contains(w));
        if live.len() < self.options.min_workers {
            let checkpoint = self
                .checkpoint_dir
                .as_ref()
                .map(|d| Checkpoint::path(d))
                .filter(|p| p.exists());
            return Err(ClusterError::TooFewWorkers {
                alive: live.len(),
                needed: self.options.min_workers,
                checkpoint,
            });
        }
        Ok(())
    }

    /// Runs a task over every partition and returns the per-partition outputs in partition
    /// order; a dead worker's unfinished partitions go to the living and are recomputed.
    pub(crate) fn round(
        &self,
        make: &dyn Fn(&[usize]) -> Task,
    ) -> Result<Vec<PartOutput>, ClusterError> {
        Ok(self
            .round_by(&|_, parts| make(parts))?
            .into_iter()
            .map(|(_, o)| o)
            .collect())
    }

    /// [`round`](Self::round), the task made for each worker (`make(worker, partitions)`) and
    /// each output returned with the worker that computed it.
    pub(crate) fn round_by(
        &self,
        make: &dyn Fn(u64, &[usize]) -> Task,
    ) -> Result<Vec<(u64, PartOutput)>, ClusterError> {
        let mut pending: BTreeSet<usize> = (0..self.partitions).collect();
        let mut outputs: Vec<Option<(u64, PartOutput)>> = vec![None; self.partitions];
        let mut inflight: HashMap<u64, (u64, Vec<usize>)> = HashMap::new();
        let issued: RefCell<HashSet<u64>> = RefCell::default();
        let issue = |parts: &[usize], inflight: &mut HashMap<u64, (u64, Vec<usize>)>| {
            let owner = self.owner.borrow();
            let mut by_worker: Vec<(u64, Vec<usize>)> = Vec::new();
            for &p in parts {
                match by_worker.iter_mut().find(|(w, _)| *w == owner[p]) {
                    Some((_, v)) => v.push(p),
                    None => by_worker.push((owner[p], vec![p])),
                }
            }
            for (w, ps) in by_worker {
                let id = self.shared.assign(w, &make(w, &ps));
                issued.borrow_mut().insert(id);
                inflight.insert(id, (w, ps));
            }
        };
        issue(&pending.iter().copied().collect::<Vec<_>>(), &mut inflight);
        self.until(|reports| {
            for r in reports {
                // Reports of an earlier round (one a lost shard cut short) are stale.
                if !issued.borrow().contains(&r.task) {
                    continue;
                }
                // Reports of tasks no longer in flight (a worker declared dead that was only
                // slow) still count for partitions not yet done: results are equal.
                inflight.remove(&r.task);
                failed(&r)?;
                let Ok(output) = serde_json::from_slice::<TaskOutput>(&r.output) else {
                    continue;
                };
                for (p, out) in output.parts {
                    if pending.remove(&p) {
                        outputs[p] = Some((r.member, out));
                    }
                }
            }
            if pending.is_empty() {
                return Ok(Some(()));
            }
            let dead = self.shared.reap(self.options.heartbeat_timeout);
            if !dead.is_empty() {
                let lost: Vec<usize> = inflight
                    .values()
                    .filter(|(w, _)| dead.contains(w))
                    .flat_map(|(_, ps)| ps.iter().copied())
                    .filter(|p| pending.contains(p))
                    .collect();
                inflight.retain(|_, (w, _)| !dead.contains(w));
                self.lose(&dead, lost.len())?;
                self.reassign(&dead);
                issue(&lost, &mut inflight);
            }
            match self.silent_shard() {
                Some(lost) => Err(lost),
                None => Ok(None),
            }
        })?;
        Ok(outputs.into_iter().flatten().collect())
    }

    /// Gives the partitions of the `dead` workers to the living, in turn.
    fn reassign(&self, dead: &[u64]) {
        let live = self.live.borrow();
        let mut owner = self.owner.borrow_mut();
        for (i, o) in owner.iter_mut().enumerate() {
            if dead.contains(o) {
                *o = live[i % live.len()];
            }
        }
    }

    pub(crate) fn new_phase(&mut self) -> u64 {
        let p = self.next_phase;
        self.next_phase += 1;
        p
    }

    /// Sets up an aggregation phase on every shard.
    pub(crate) fn aggregate_phase(
        &mut self,
        push_len: usize,
        param_len: usize,
    ) -> Result<u64, ClusterError> {
        let phase = self.new_phase();
        let shards = self.ps.shards();
        let partitions = self.partitions;
        self.call(self.ps.configure(|s| ShardConfig {
            phase,
            combine: Combine::Aggregate as i32,
            shard: s as u32,
            shards: shards as u32,
            push_len: push_len as u64,
            param_len: param_len as u64,
            partitions: partitions as u32,
            ..Default::default()
        }))?;
        Ok(phase)
    }

    /// Computes a statistic on every partition and pulls the shards' sum.
    /// A fresh aggregation phase with one round of `statistic` (`len` floats per partition);
    /// an empty sum (no rows anywhere) is an error.
    pub(crate) fn one_round(
        &mut self,
        statistic: Statistic,
        len: usize,
    ) -> Result<(f64, Vec<f64>, Vec<PartOutput>), ClusterError> {
        let (w, v, outputs) = self.with_shards(|rounds| {
            let phase = rounds.aggregate_phase(len, 0)?;
            rounds.statistic(phase, 0, statistic, len)
        })?;
        if w <= 0.0 {
            return Err(ModelError::EmptyData.into());
        }
        Ok((w, v, outputs))
    }

    pub(crate) fn statistic(
        &self,
        phase: u64,
        clock: u64,
        statistic: Statistic,
        len: usize,
    ) -> Result<(f64, Vec<f64>, Vec<PartOutput>), ClusterError> {
        let outputs = self.round(&|parts| Task::Compute {
            partitions: parts.to_vec(),
            phase,
            clock,
            statistic,
        })?;
        let sum = self.call(self.ps.pull(
            phase,
            0,
            clock,
            PullKind::Aggregate,
            len,
            crate::ps::Precision::F64,
        ))?;
        Ok((sum.weight, sum.values, outputs))
    }
}

/// A report's error as the job's.
fn failed(report: &Report) -> Result<(), ClusterError> {
    match &report.error {
        Some((message, user)) => Err(ClusterError::Worker {
            worker: report.member,
            message: message.clone(),
            user: *user,
        }),
        None => Ok(()),
    }
}
