//! A job across worker processes. The coordinator (the process that called
//! [`run`](super::run)) hands out map tasks, keeps every split's sorted runs as they come back
//! over gRPC (spilling beyond the budget), then hands each reduce partition's runs to a
//! worker and collects its outputs. The shuffle lives with the coordinator, so a lost worker
//! costs only its running task, which goes to a living worker; the first answer for a task is
//! the one kept, and every answer is the same.
//!
//! The workers are the same executable as the coordinator: a program that runs a job calls
//! [`serve_if_worker`] first, which serves the coordinator's tasks when the process was
//! started as a worker (by the coordinator on 127.0.0.1, or by a cluster manager with the
//! rendezvous variables of `distml worker`).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use super::input::{Inputs, Split};
use super::reduce::{merge_and_reduce, ShuffleStore};
use super::run::{in_key_order, map_split};
use super::shuffle::{decode_run, encode_run, RunSource};
use super::{JobOutput, JobStats, MapReduce, MapReduceError, MapReduceOptions};
use crate::cluster::coordinator::{self, Shared};
use crate::cluster::launcher::{Children, Meeting};
use crate::cluster::member::{join, spawn_heartbeats};
use crate::cluster::rendezvous::{Rendezvous, ROLE_ENV};
use crate::cluster::{ClusterError, ClusterEvent, ClusterOptions, Launch};
use crate::rpc::auth::Token;
use crate::rpc::proto::{AssignRequest, Role, TaskReport};

/// Fault injection for tests and drills: `RANK:N` makes the worker of that launcher rank
/// SIGKILL itself when its N-th task arrives, `RANK:reduce` when its first reduce task does,
/// before answering it.
pub const KILL_AT_ENV: &str = "DISTML_MR_KILL_AT";

/// One unit of work sent to a worker.
#[derive(Debug, Serialize, Deserialize)]
enum Task {
    /// Map a split into one sorted run per reduce partition.
    Map {
        inputs: Inputs,
        split: Split,
        reducers: usize,
        combine: bool,
    },
    /// Merge a reduce partition's runs (in split order) and reduce every key.
    Reduce { runs: Vec<Vec<u8>>, combine: bool },
}

/// A worker's answer.
#[derive(Debug, Serialize, Deserialize)]
enum Answer {
    Map {
        runs: Vec<Vec<u8>>,
        emitted: u64,
        shuffled: u64,
    },
    /// The outputs as a run of `(key, output)` records.
    Reduce(Vec<u8>),
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, MapReduceError> {
    postcard::to_stdvec(value).map_err(|e| MapReduceError::Codec(e.to_string()))
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, MapReduceError> {
    postcard::from_bytes(bytes).map_err(|e| MapReduceError::Codec(e.to_string()))
}

/// Whether this process was started as a map/reduce worker (`DISTML_ROLE=worker`).
pub fn is_worker() -> bool {
    std::env::var(ROLE_ENV).is_ok_and(|r| r.eq_ignore_ascii_case("worker"))
}

/// When this process is a worker, serves the coordinator's tasks with `job` until the job
/// ends and returns `Ok(true)`; otherwise returns `Ok(false)` at once.
pub fn serve_if_worker<J: MapReduce>(job: &J) -> Result<bool, MapReduceError> {
    if !is_worker() {
        return Ok(false);
    }
    let rv = Rendezvous::from_env()?;
    let runtime = runtime()?;
    let result = runtime.block_on(serve(job, rv));
    runtime.shutdown_timeout(Duration::from_secs(1));
    result.map(|()| true)
}

fn runtime() -> Result<Runtime, MapReduceError> {
    Ok(coordinator::runtime()?)
}

async fn serve<J: MapReduce>(job: &J, rv: Rendezvous) -> Result<(), MapReduceError> {
    let (mut client, member, every) = join(&rv, Role::Worker, String::new()).await?;
    let done = Arc::new(Notify::new());
    spawn_heartbeats(client.clone(), member, every, done.clone());
    let kill_at = kill_at(rv.rank);
    let mut received = 0;
    loop {
        let assignment = tokio::select! {
            _ = done.notified() => return Ok(()),
            a = client.assign(AssignRequest { member_id: member }) => {
                a.map_err(ClusterError::from)?.into_inner()
            }
        };
        match assignment.task_id {
            0 => continue,
            u64::MAX => return Ok(()),
            _ => {}
        }
        received += 1;
        let task = decode::<Task>(&assignment.task);
        if let (Some(at), Ok(task)) = (&kill_at, &task) {
            at.check(received, task);
        }
        // The task runs on this thread; the heartbeats go on on the runtime's other one.
        let answer = tokio::task::block_in_place(|| task.and_then(|t| execute(job, t)));
        let report = match answer.and_then(|a| encode(&a)) {
            Ok(output) => TaskReport {
                member_id: member,
                task_id: assignment.task_id,
                output,
                ..Default::default()
            },
            Err(e) => TaskReport {
                member_id: member,
                task_id: assignment.task_id,
                error: e.to_string(),
                user_error: e.is_user_error(),
                ..Default::default()
            },
        };
        // A lost report is recovered by the coordinator's reassignment.
        let _ = client.report(report).await;
    }
}

fn execute<J: MapReduce>(job: &J, task: Task) -> Result<Answer, MapReduceError> {
    match task {
        Task::Map {
            inputs,
            split,
            reducers,
            combine,
        } => {
            let m = map_split(job, &inputs, &split, reducers, combine)?;
            Ok(Answer::Map {
                runs: m.runs,
                emitted: m.emitted,
                shuffled: m.shuffled,
            })
        }
        Task::Reduce { runs, combine } => {
            let sources = runs.iter().map(|r| RunSource::Memory(r)).collect();
            let results = merge_and_reduce(job, sources, combine)?;
            Ok(Answer::Reduce(encode_run(&results)?))
        }
    }
}

/// When `DISTML_MR_KILL_AT` asks this worker to die.
enum KillAt {
    /// At its N-th task.
    Task(usize),
    /// At its first reduce task.
    Reduce,
}

impl KillAt {
    /// SIGKILLs this process when the `received`-th task, `task`, is the one.
    fn check(&self, received: usize, task: &Task) {
        let hit = match self {
            KillAt::Task(n) => received == *n,
            KillAt::Reduce => matches!(task, Task::Reduce { .. }),
        };
        if hit {
            // SAFETY: kill(2) on our own PID has no memory-safety preconditions.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            std::process::abort()
        }
    }
}

/// What `DISTML_MR_KILL_AT` asks of the worker with launcher rank `rank`.
fn kill_at(rank: u32) -> Option<KillAt> {
    let spec = std::env::var(KILL_AT_ENV).ok()?;
    let (r, at) = spec.split_once(':')?;
    if r.trim().parse::<u32>().ok()? != rank {
        return None;
    }
    match at.trim() {
        "reduce" => Some(KillAt::Reduce),
        n => n.parse().ok().map(KillAt::Task),
    }
}

/// The coordinator's side: start (or await) the workers, run the map tasks, then the reduce
/// tasks, and stop everyone — whatever happened.
pub(crate) fn run<J: MapReduce>(
    inputs: &Inputs,
    splits: &[Split],
    reducers: usize,
    options: &MapReduceOptions,
    cluster: &ClusterOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<JobOutput<J::Key, J::Output>, MapReduceError> {
    check(cluster)?;
    let coordinator = coordinator::start(cluster)?;
    let (runtime, shared) = (&coordinator.runtime, &coordinator.shared);
    progress(&format!("coordinator listening on {}", coordinator.addr));
    let mut children = Children::default();
    let result = (|| {
        if cluster.launch == Launch::Local {
            spawn_workers(
                cluster,
                &coordinator.addr,
                &coordinator.token,
                &mut children,
            )?;
        }
        let workers = await_workers(runtime, shared, cluster, &mut children)?;
        progress(&format!("{} workers joined", workers.len()));
        let mut pool = Pool {
            runtime,
            shared,
            options: cluster,
            alive: workers,
            reruns: 0,
        };
        shuffle::<J>(&mut pool, inputs, splits, reducers, options, progress)
    })();
    shared.shut_down();
    children.stop(Duration::from_secs(5));
    coordinator.stop();
    result
}

/// The two phases on the pool: map every split, then reduce every partition.
fn shuffle<J: MapReduce>(
    pool: &mut Pool<'_>,
    inputs: &Inputs,
    splits: &[Split],
    reducers: usize,
    options: &MapReduceOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<JobOutput<J::Key, J::Output>, MapReduceError> {
    let combine = options.combine;
    let map_task = |i: usize| {
        encode(&Task::Map {
            inputs: inputs.clone(),
            split: splits[i].clone(),
            reducers,
            combine,
        })
    };
    let mut store = ShuffleStore::new(reducers, options.memory_budget, &options.spill_root())?;
    let mut stats = JobStats::default();
    pool.run_all(
        splits.len(),
        &map_task,
        &mut |i, answer| match decode(&answer)? {
            Answer::Map {
                runs,
                emitted,
                shuffled,
            } => {
                stats.emitted += emitted;
                stats.shuffled += shuffled;
                store.add(i, runs)
            }
            Answer::Reduce(_) => Err(MapReduceError::Codec(
                "a reduce answer to a map task".into(),
            )),
        },
    )?;
    progress(&format!(
        "mapped {} splits; reducing {reducers} partitions",
        splits.len()
    ));
    // A reduce task's runs are read (from memory or the spill files) only when it is sent.
    let reduce_task = |r: usize| {
        encode(&Task::Reduce {
            runs: store.runs_of(r)?,
            combine,
        })
    };
    let mut parts: Vec<Vec<(J::Key, J::Output)>> = (0..reducers).map(|_| Vec::new()).collect();
    pool.run_all(
        reducers,
        &reduce_task,
        &mut |r, answer| match decode(&answer)? {
            Answer::Reduce(run) => {
                parts[r] = decode_run(&run)?;
                Ok(())
            }
            Answer::Map { .. } => Err(MapReduceError::Codec(
                "a map answer to a reduce task".into(),
            )),
        },
    )?;
    Ok(JobOutput {
        results: in_key_order(parts),
        stats: JobStats {
            shuffle_bytes: store.bytes,
            spilled_runs: store.spilled.0,
            spilled_bytes: store.spilled.1,
            workers: pool.options.workers,
            rerun_tasks: pool.reruns,
            ..stats
        },
    })
}

/// The live workers and the tasks they run, one at a time each.
struct Pool<'a> {
    runtime: &'a Runtime,
    shared: &'a Arc<Shared>,
    options: &'a ClusterOptions,
    alive: Vec<u64>,
    reruns: usize,
}

impl Pool<'_> {
    /// Runs tasks `0..count` (task `i` encoded by `task(i)` when it is sent, answered to
    /// `done(i, answer)` exactly once) on the live workers; a lost worker's task goes back to
    /// the queue.
    fn run_all(
        &mut self,
        count: usize,
        task: &dyn Fn(usize) -> Result<Vec<u8>, MapReduceError>,
        done: &mut dyn FnMut(usize, Vec<u8>) -> Result<(), MapReduceError>,
    ) -> Result<(), MapReduceError> {
        let mut pending: VecDeque<usize> = (0..count).collect();
        let mut running: HashMap<u64, (usize, u64)> = HashMap::new();
        let mut answered = vec![false; count];
        let mut left = count;
        while left > 0 {
            for &member in &self.alive {
                if running.values().any(|&(_, m)| m == member) {
                    continue;
                }
                let Some(i) = pending.pop_front() else { break };
                let id = self.shared.assign_bytes(member, task(i)?);
                running.insert(id, (i, member));
            }
            self.wait();
            for report in std::mem::take(&mut self.shared.lock().reports) {
                let Some((i, member)) = running.remove(&report.task) else {
                    continue;
                };
                if let Some((message, user)) = report.error {
                    return Err(ClusterError::Worker {
                        worker: member,
                        message,
                        user,
                    }
                    .into());
                }
                if !std::mem::replace(&mut answered[i], true) {
                    done(i, report.output)?;
                    left -= 1;
                }
            }
            self.reap(&mut running, &mut pending)?;
        }
        Ok(())
    }

    /// Waits a little for a report, a registration or a timeout.
    fn wait(&self) {
        self.runtime.block_on(async {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.shared.lock().reports.is_empty() {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        });
    }

    /// Declares silent workers dead and queues their running tasks again.
    fn reap(
        &mut self,
        running: &mut HashMap<u64, (usize, u64)>,
        pending: &mut VecDeque<usize>,
    ) -> Result<(), MapReduceError> {
        for dead in self.shared.reap(self.options.heartbeat_timeout) {
            self.alive.retain(|&m| m != dead);
            let lost: Vec<u64> = running
                .iter()
                .filter(|(_, &(_, m))| m == dead)
                .map(|(&id, _)| id)
                .collect();
            for id in &lost {
                if let Some((i, _)) = running.remove(id) {
                    pending.push_front(i);
                }
            }
            self.reruns += lost.len();
            self.options.emit(ClusterEvent::WorkerLost {
                worker: dead,
                partitions: lost.len(),
            });
        }
        if self.alive.len() < self.options.min_workers {
            return Err(ClusterError::TooFewWorkers {
                alive: self.alive.len(),
                needed: self.options.min_workers,
                checkpoint: None,
            }
            .into());
        }
        Ok(())
    }
}

/// The cluster settings a map/reduce job uses (it has no parameter-server shards).
fn check(cluster: &ClusterOptions) -> Result<(), MapReduceError> {
    let bad = |option, message: &str| {
        Err(MapReduceError::InvalidOption {
            option,
            message: message.into(),
        })
    };
    if cluster.workers == 0 {
        return bad(
            "--workers",
            "must be at least 1 (or leave it out to run in-process)",
        );
    }
    if cluster.min_workers == 0 || cluster.min_workers > cluster.workers {
        return bad("--min-workers", "must be between 1 and --workers");
    }
    if cluster.heartbeat_timeout < Duration::from_millis(200) {
        return bad("--heartbeat-timeout", "must be at least 200 ms");
    }
    Ok(())
}

/// Starts the workers on this machine: this same executable, as `worker`.
fn spawn_workers(
    cluster: &ClusterOptions,
    addr: &SocketAddr,
    token: &Token,
    children: &mut Children,
) -> Result<(), MapReduceError> {
    let program = cluster.program()?;
    let meeting = Meeting {
        coordinator: addr.to_string(),
        token,
        world_size: cluster.workers,
        env: &cluster.member_env,
    };
    for rank in 0..cluster.workers as u32 {
        let pid = children.spawn(&program, "worker", rank, &meeting)?;
        cluster.emit(ClusterEvent::Spawned {
            role: "worker",
            rank,
            pid,
        });
    }
    Ok(())
}

/// Waits until `cluster.workers` workers registered; returns their member ids.
fn await_workers(
    runtime: &Runtime,
    shared: &Arc<Shared>,
    cluster: &ClusterOptions,
    children: &mut Children,
) -> Result<Vec<u64>, MapReduceError> {
    let deadline = Instant::now() + cluster.rendezvous_timeout;
    loop {
        let workers: Vec<u64> = shared
            .lock()
            .members
            .iter()
            .filter(|(_, m)| m.role == Role::Worker)
            .map(|(&id, _)| id)
            .collect();
        if workers.len() >= cluster.workers {
            return Ok(workers[..cluster.workers].to_vec());
        }
        if Instant::now() > deadline {
            let why = format!(
                "{} of {} workers joined within {:?}",
                workers.len(),
                cluster.workers,
                cluster.rendezvous_timeout
            );
            return Err(ClusterError::Rendezvous(why).into());
        }
        if let Some(why) = children.exited() {
            return Err(ClusterError::Rendezvous(why).into());
        }
        runtime.block_on(async {
            let _ =
                tokio::time::timeout(Duration::from_millis(50), shared.changed.notified()).await;
        });
    }
}
