//! The coordinator's side of a distributed fit: start (or await) the members, fit the feature
//! pipeline from the workers' partition summaries, fit the learner over the cluster's sums,
//! then stop everyone — whatever happened.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use super::checkpoint::fingerprint;
use super::coordinator::{self, Shared};
use super::glm_sums::ClusterSums;
use super::job::{JobSpec, Task};
use super::launcher::{Children, Meeting};
use super::options::{ClusterEvent, ClusterOptions, Launch};
use super::replay::Replay;
use super::rounds::{Members, Respawn, Rounds, ShardSeat};
use super::{pipeline_fit, ClusterError, ClusterJob, DistributedFit};
use crate::data::DataSource;
use crate::ps::PsClient;
use crate::rpc::auth::Token;
use crate::rpc::proto::Role;

pub(crate) fn run(
    job: &ClusterJob,
    options: &ClusterOptions,
    progress: &dyn Fn(&str),
) -> Result<DistributedFit, ClusterError> {
    options.check()?;
    if job.data.is_empty() {
        return Err(ClusterError::InvalidOption {
            option: "--data",
            message: "no training files given".into(),
        });
    }
    let source = DataSource::open(&job.data, &job.read_options())?;
    job.pipeline.check()?;
    let coordinator = coordinator::start(options)?;
    let (runtime, shared, addr, token) = (
        &coordinator.runtime,
        &coordinator.shared,
        coordinator.addr,
        &coordinator.token,
    );
    progress(&format!("coordinator listening on {addr}"));
    let children = RefCell::new(Children::default());
    let result = (|| {
        let local = options.launch == Launch::Local;
        if local {
            spawn_members(options, &addr, token, &mut children.borrow_mut())?;
        }
        let (workers, shards) =
            await_members(runtime, shared, options, &mut children.borrow_mut())?;
        progress(&format!(
            "{} workers and {} ps shards joined",
            workers.len(),
            shards.len()
        ));
        let respawn = |rank: u32| respawn_shard(options, &addr, token, &children, rank);
        let members = Members {
            workers: workers.clone(),
            shards,
            token: token.clone(),
            respawn: local.then_some(&respawn as Respawn<'_>),
        };
        let partitions = source.partitions().len();
        let mut rounds = Rounds::new(
            runtime,
            shared.clone(),
            options,
            members,
            partitions,
            progress,
        )?;
        let fit = fit(&mut rounds, job, &source)?;
        Ok(DistributedFit {
            workers: workers.len(),
            ..fit
        })
    })();
    shut_down(runtime, shared, token, &mut children.borrow_mut());
    coordinator.stop();
    result
}

/// The job on the members: the workers open the data, the pipeline is fitted from their
/// summaries, then the learner from the cluster's sums.
fn fit(
    rounds: &mut Rounds<'_>,
    job: &ClusterJob,
    source: &DataSource,
) -> Result<DistributedFit, ClusterError> {
    let started = Instant::now();
    let columns = job.pipeline.input_columns();
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let schema = source.projection(&names)?.schema().clone();
    rounds.broadcast(&Task::Setup(JobSpec {
        job: job.clone(),
        partitions: source.partitions().to_vec(),
        columns,
        shards: rounds.shard_addresses(),
        worker_memory: rounds.options.worker_memory,
    }))?;
    let pipeline = pipeline_fit::fit(rounds, &job.pipeline, schema)?;
    let layout = pipeline.layout().clone();
    rounds.say(&format!(
        "{} features; fitting {}",
        layout.width(),
        job.learner.model
    ));
    let mut sums = ClusterSums::new(rounds, fingerprint(job, source.partitions().len()));
    if job.learner.params.uses_validation() && !job.valid.is_empty() {
        // Trees report their loss on the validation rows as they grow: they stay here.
        let valid = DataSource::open(&job.valid, &Default::default())?;
        sums.valid = pipeline.transform_source(&valid, &|| {})?.blocks;
    }
    let mut replay = Replay::new(&mut sums)?;
    let (model, mut summary) = job.learner.fit(&layout, &mut replay)?;
    replay.finish()?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(DistributedFit {
        pipeline,
        model,
        summary,
        workers: 0,
        rows_read: sums.info.rows_read,
        dropped: sums.info.dropped,
    })
}

/// Where the members this coordinator starts meet it.
fn meeting<'a>(options: &'a ClusterOptions, addr: &SocketAddr, token: &'a Token) -> Meeting<'a> {
    Meeting {
        coordinator: addr.to_string(),
        token,
        world_size: options.workers + options.ps_shards,
        env: &options.member_env,
    }
}

/// Starts a shard of `rank` again, in place of a lost one.
fn respawn_shard(
    options: &ClusterOptions,
    addr: &SocketAddr,
    token: &Token,
    children: &RefCell<Children>,
    rank: u32,
) -> Result<(), ClusterError> {
    let program = options.program()?;
    let meeting = meeting(options, addr, token);
    let pid = children
        .borrow_mut()
        .spawn(&program, "ps", rank, &meeting)?;
    options.emit(ClusterEvent::Spawned {
        role: "ps",
        rank,
        pid,
    });
    Ok(())
}

/// Starts the shards, then the workers, on this machine.
fn spawn_members(
    options: &ClusterOptions,
    addr: &SocketAddr,
    token: &Token,
    children: &mut Children,
) -> Result<(), ClusterError> {
    let program = options.program()?;
    let meeting = meeting(options, addr, token);
    for rank in 0..options.ps_shards as u32 {
        let pid = children.spawn(&program, "ps", rank, &meeting)?;
        options.emit(ClusterEvent::Spawned {
            role: "ps",
            rank,
            pid,
        });
    }
    for rank in 0..options.workers as u32 {
        let global = options.ps_shards as u32 + rank;
        let pid = children.spawn(&program, "worker", global, &meeting)?;
        options.emit(ClusterEvent::Spawned {
            role: "worker",
            rank,
            pid,
        });
    }
    Ok(())
}

/// Tells every member to stop, then makes sure they did (killing the laggards by PID).
fn shut_down(runtime: &Runtime, shared: &Arc<Shared>, token: &Token, children: &mut Children) {
    shared.shut_down();
    let addresses: Vec<String> = shared
        .lock()
        .members
        .values()
        .filter(|m| m.role == Role::Ps && !m.dead)
        .map(|m| m.address.clone())
        .collect();
    if let Ok(ps) = runtime.block_on(PsClient::connect(&addresses, token)) {
        let _ = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(2), ps.shutdown()).await });
    }
    children.stop(Duration::from_secs(5));
}

/// Waits until every expected member registered; returns worker ids and the shards (in rank
/// order).
fn await_members(
    rt: &Runtime,
    shared: &Arc<Shared>,
    options: &ClusterOptions,
    children: &mut Children,
) -> Result<(Vec<u64>, Vec<ShardSeat>), ClusterError> {
    let deadline = Instant::now() + options.rendezvous_timeout;
    loop {
        {
            let inner = shared.lock();
            let workers: Vec<u64> = inner
                .members
                .iter()
                .filter(|(_, m)| m.role == Role::Worker)
                .map(|(&id, _)| id)
                .collect();
            let mut shards: Vec<ShardSeat> = inner
                .members
                .iter()
                .filter(|(_, m)| m.role == Role::Ps)
                .map(|(&member, m)| ShardSeat {
                    member,
                    rank: m.rank,
                    address: m.address.clone(),
                })
                .collect();
            if workers.len() >= options.workers && shards.len() >= options.ps_shards {
                shards.sort_by_key(|s| s.rank);
                shards.truncate(options.ps_shards);
                return Ok((workers[..options.workers].to_vec(), shards));
            }
            if Instant::now() > deadline {
                return Err(ClusterError::Rendezvous(format!(
                    "{} of {} workers and {} of {} ps shards joined within {:?}",
                    workers.len(),
                    options.workers,
                    shards.len(),
                    options.ps_shards,
                    options.rendezvous_timeout
                )));
            }
        }
        if let Some(why) = children.exited() {
            return Err(ClusterError::Rendezvous(why));
        }
        rt.block_on(async {
            let _ =
                tokio::time::timeout(Duration::from_millis(50), shared.changed.notified()).await;
        });
    }
}
