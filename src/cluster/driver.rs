//! The coordinator's side of a fit: start or await the members, fit the pipeline from the
//! workers' partition summaries, then run the solver with the workers' pushes summed on the
//! shards — reassigning a dead worker's partitions and recomputing the interrupted round.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::runtime::Runtime;

use super::checkpoint::{fingerprint, Checkpoint, Evaluation, SgdState};
use super::coordinator::{self, Shared};
use super::job::{JobSpec, PartInfo, PartOutput, Statistic, Task, TaskOutput};
use super::launcher::Children;
use super::options::{ClusterEvent, ClusterOptions, Consistency, Launch};
use super::{sgd, vectors, ClusterError, DistributedFit};
use crate::data::{DataSource, ReadOptions};
use crate::feature::{FeatureError, PassSummaries};
use crate::model::lbfgs::{minimize, LbfgsConfig};
use crate::model::{GlmValidParams, LinearModel, ModelError, NormalEquations, Objective, Solver};
use crate::ps::{key_range, PsClient};
use crate::rpc::auth::Token;
use crate::rpc::proto::{Combine, Consistency as PbConsistency, PullKind, Role, ShardConfig};
use crate::train::{pipeline_spec, TrainConfig, TrainSummary};

/// L-BFGS memory (as the local trainer).
const LBFGS_MEMORY: usize = 10;

pub(crate) fn run(
    config: &TrainConfig,
    options: &ClusterOptions,
    progress: &dyn Fn(&str),
) -> Result<DistributedFit, ClusterError> {
    options.check()?;
    let params = config.learner_params()?;
    if config.data.is_empty() {
        return Err(ClusterError::InvalidOption {
            option: "--data",
            message: "no training files given".into(),
        });
    }
    let read = ReadOptions {
        partitions: config.partitions,
        ..Default::default()
    };
    let source = DataSource::open(&config.data, &read)?;
    let spec = pipeline_spec(config, &source)?;
    spec.check()?;
    let columns = spec.input_columns();
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let projection = source.projection(&names)?;
    let partitions = source.partitions().len();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Rpc(format!("runtime: {e}")))?;
    let (listen, token) = match &options.launch {
        Launch::Local => (SocketAddr::from(([127, 0, 0, 1], 0)), Token::generate()),
        Launch::External(addr) => (
            *addr,
            Token::from_env().ok_or(ClusterError::InvalidOption {
                option: crate::rpc::auth::TOKEN_ENV,
                message: "a job started by a cluster manager needs the shared secret".into(),
            })?,
        ),
    };
    let shared = Shared::new(options.heartbeat_timeout / 4);
    let listener = runtime
        .block_on(TcpListener::bind(listen))
        .map_err(|e| ClusterError::Rpc(format!("bind {listen}: {e}")))?;
    let (addr, stop) = {
        let _entered = runtime.enter();
        coordinator::serve(listener, shared.clone(), &token)
            .map_err(|e| ClusterError::Rpc(format!("serve: {e}")))?
    };
    progress(&format!("coordinator listening on {addr}"));

    let mut children = Children::default();
    let result = (|| {
        if options.launch == Launch::Local {
            let program = match &options.program {
                Some(p) => p.clone(),
                None => std::env::current_exe().map_err(|source| ClusterError::Spawn {
                    program: PathBuf::from("distml"),
                    source,
                })?,
            };
            let world = options.workers + options.ps_shards;
            for rank in 0..options.ps_shards as u32 {
                let pid = children.spawn(&program, "ps", rank, world, &addr.to_string(), &token)?;
                options.emit(ClusterEvent::Spawned {
                    role: "ps",
                    rank,
                    pid,
                });
            }
            for rank in 0..options.workers as u32 {
                let pid = children.spawn(
                    &program,
                    "worker",
                    options.ps_shards as u32 + rank,
                    world,
                    &addr.to_string(),
                    &token,
                )?;
                options.emit(ClusterEvent::Spawned {
                    role: "worker",
                    rank,
                    pid,
                });
            }
        }
        let (workers, shard_addresses) = await_members(&runtime, &shared, options, &mut children)?;
        progress(&format!(
            "{} workers and {} ps shards joined",
            workers.len(),
            shard_addresses.len()
        ));
        let ps = runtime.block_on(PsClient::connect(&shard_addresses, &token))?;
        let job = JobSpec {
            config: config.clone(),
            pipeline: spec.clone(),
            partitions: source.partitions().to_vec(),
            columns: columns.clone(),
            shards: shard_addresses,
        };
        let mut cluster = Cluster {
            rt: &runtime,
            shared: shared.clone(),
            ps,
            options,
            live: RefCell::new(workers.clone()),
            owner: RefCell::new(
                (0..partitions)
                    .map(|p| workers[p % workers.len()])
                    .collect(),
            ),
            partitions,
            next_phase: 1,
            checkpoint_dir: options.checkpoint_dir.clone(),
            progress,
        };
        let fit = cluster.train(job, projection.schema().clone(), &params, config)?;
        Ok(DistributedFit {
            workers: workers.len(),
            ..fit
        })
    })();

    // Whatever happened: tell everyone to stop, then make sure they did.
    shared.shut_down();
    if let Some(ps) = runtime.block_on(async {
        let addresses = shared
            .lock()
            .members
            .values()
            .filter(|m| m.role == Role::Ps)
            .map(|m| m.address.clone())
            .collect::<Vec<_>>();
        PsClient::connect(&addresses, &token).await.ok()
    }) {
        let _ = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(2), ps.shutdown()).await });
    }
    children.stop(Duration::from_secs(5));
    stop.notify_one();
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Waits until every expected member registered; returns worker ids and shard addresses
/// (shards in rank order).
fn await_members(
    rt: &Runtime,
    shared: &Arc<Shared>,
    options: &ClusterOptions,
    children: &mut Children,
) -> Result<(Vec<u64>, Vec<String>), ClusterError> {
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
            let mut shards: Vec<(u32, String)> = inner
                .members
                .values()
                .filter(|m| m.role == Role::Ps)
                .map(|m| (m.rank, m.address.clone()))
                .collect();
            if workers.len() >= options.workers && shards.len() >= options.ps_shards {
                shards.sort();
                return Ok((
                    workers[..options.workers].to_vec(),
                    shards
                        .into_iter()
                        .take(options.ps_shards)
                        .map(|(_, a)| a)
                        .collect(),
                ));
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

/// A running job's coordinator state.
struct Cluster<'a> {
    rt: &'a Runtime,
    shared: Arc<Shared>,
    ps: PsClient,
    options: &'a ClusterOptions,
    /// Live workers, in join order.
    live: RefCell<Vec<u64>>,
    /// The worker owning each partition.
    owner: RefCell<Vec<u64>>,
    partitions: usize,
    next_phase: u64,
    checkpoint_dir: Option<PathBuf>,
    progress: &'a dyn Fn(&str),
}

impl Cluster<'_> {
    /// Sends `task` to every live worker and waits for all of them.
    fn broadcast(&self, task: &Task) -> Result<(), ClusterError> {
        let live = self.live.borrow().clone();
        let mut waiting: HashMap<u64, u64> = live
            .iter()
            .map(|&w| (self.shared.assign(w, task), w))
            .collect();
        self.rt.block_on(async {
            loop {
                let notified = self.shared.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                for r in std::mem::take(&mut self.shared.lock().reports) {
                    if waiting.remove(&r.task).is_some() {
                        if let Some((message, user)) = r.error {
                            return Err(ClusterError::Worker {
                                worker: r.member,
                                message,
                                user,
                            });
                        }
                    }
                }
                let dead = self.shared.reap(self.options.heartbeat_timeout);
                if !dead.is_empty() {
                    waiting.retain(|_, w| !dead.contains(w));
                    self.lose(&dead, 0)?;
                }
                if waiting.is_empty() {
                    return Ok(());
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
    fn round(&self, make: &dyn Fn(&[usize]) -> Task) -> Result<Vec<PartOutput>, ClusterError> {
        let mut pending: BTreeSet<usize> = (0..self.partitions).collect();
        let mut outputs: Vec<Option<PartOutput>> = vec![None; self.partitions];
        let mut inflight: HashMap<u64, (u64, Vec<usize>)> = HashMap::new();
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
                let id = self.shared.assign(w, &make(&ps));
                inflight.insert(id, (w, ps));
            }
        };
        issue(&pending.iter().copied().collect::<Vec<_>>(), &mut inflight);
        self.rt.block_on(async {
            loop {
                let notified = self.shared.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                for r in std::mem::take(&mut self.shared.lock().reports) {
                    // Reports of tasks no longer in flight (a worker declared dead that was
                    // only slow) still count for partitions not yet done: results are equal.
                    inflight.remove(&r.task);
                    if let Some((message, user)) = r.error {
                        return Err(ClusterError::Worker {
                            worker: r.member,
                            message,
                            user,
                        });
                    }
                    let output: TaskOutput = match serde_json::from_slice(&r.output) {
                        Ok(o) => o,
                        Err(_) => continue,
                    };
                    for (p, out) in output.parts {
                        if pending.remove(&p) {
                            outputs[p] = Some(out);
                        }
                    }
                }
                if pending.is_empty() {
                    return Ok(());
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
                    {
                        let live = self.live.borrow();
                        let mut owner = self.owner.borrow_mut();
                        for (i, o) in owner.iter_mut().enumerate() {
                            if dead.contains(o) {
                                *o = live[i % live.len()];
                            }
                        }
                    }
                    issue(&lost, &mut inflight);
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
            }
        })?;
        Ok(outputs.into_iter().flatten().collect())
    }

    fn new_phase(&mut self) -> u64 {
        let p = self.next_phase;
        self.next_phase += 1;
        p
    }

    /// Sets up an aggregation phase on every shard.
    fn aggregate_phase(&mut self, push_len: usize, param_len: usize) -> Result<u64, ClusterError> {
        let phase = self.new_phase();
        let shards = self.ps.shards();
        let partitions = self.partitions;
        self.rt.block_on(self.ps.configure(|s| ShardConfig {
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
    fn one_round(
        &mut self,
        statistic: Statistic,
        len: usize,
    ) -> Result<(f64, Vec<f64>, Vec<PartOutput>), ClusterError> {
        let phase = self.aggregate_phase(len, 0)?;
        let (w, v, outputs) = self.statistic(phase, 0, statistic, len)?;
        if w <= 0.0 {
            return Err(ModelError::EmptyData.into());
        }
        Ok((w, v, outputs))
    }

    fn statistic(
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
        let sum = self.rt.block_on(self.ps.pull(
            phase,
            0,
            clock,
            PullKind::Aggregate,
            len,
            crate::ps::Precision::F64,
        ))?;
        Ok((sum.weight, sum.values, outputs))
    }

    fn train(
        &mut self,
        job: JobSpec,
        schema: arrow_schema::SchemaRef,
        params: &GlmValidParams,
        config: &TrainConfig,
    ) -> Result<DistributedFit, ClusterError> {
        let start = Instant::now();
        let spec = job.pipeline.clone();
        self.broadcast(&Task::Setup(job))?;
        (self.progress)("fitting the feature pipeline on the workers");
        let failure: RefCell<Option<ClusterError>> = RefCell::new(None);
        let run_pass =
            |pass: &crate::feature::FitPass| -> Result<Vec<PassSummaries>, FeatureError> {
                let outputs = self
                    .round(&|parts| Task::Summarize {
                        partitions: parts.to_vec(),
                        pass: pass.clone(),
                    })
                    .map_err(|e| {
                        let message = e.to_string();
                        *failure.borrow_mut() = Some(e);
                        FeatureError::internal("Pipeline", message)
                    })?;
                outputs
                    .into_iter()
                    .map(|o| match o {
                        PartOutput::Summaries(s) => Ok(s),
                        PartOutput::Pushed(_) => Err(FeatureError::internal(
                            "Pipeline",
                            "a worker answered a summary task with a push",
                        )),
                    })
                    .collect()
            };
        let fitted = spec.fit_from_passes(schema, &run_pass);
        if let Some(e) = failure.borrow_mut().take() {
            return Err(e);
        }
        let fitted = fitted?;
        let json = String::from_utf8(fitted.to_json()?)
            .map_err(|e| ClusterError::Protocol(e.to_string()))?;
        self.broadcast(&Task::Pipeline(json))?;
        let p = fitted.layout().width();
        let solver = params.resolved_solver(p);
        (self.progress)(&format!("{p} features; solving with {solver}"));

        let mut info = PartInfo::default();
        let mut collect = |outputs: &[PartOutput]| {
            if info.rows_read > 0 {
                return;
            }
            for o in outputs {
                if let PartOutput::Pushed(i) = o {
                    info.rows += i.rows;
                    info.rows_read += i.rows_read;
                    info.dropped.merge(&i.dropped);
                }
            }
        };
        let (beta, intercept, iterations, history, converged, weight) = match solver {
            Solver::Normal => {
                let len = vectors::gram_len(p);
                let (w, v, outputs) = self.one_round(Statistic::Gram, len)?;
                collect(&outputs);
                let gram = vectors::gram_from_vec(w, &v, p);
                let s = NormalEquations::new(gram).solve(params)?;
                self.options.emit(ClusterEvent::Iteration { iteration: 1 });
                (
                    s.coefficients.to_vec(),
                    s.intercept,
                    s.iterations,
                    vec![s.objective],
                    s.converged,
                    w,
                )
            }
            _ => {
                let len = vectors::stats_len(p);
                let (w, v, outputs) = self.one_round(Statistic::FeatureStats, len)?;
                collect(&outputs);
                let stats = vectors::stats_from_vec(w, &v, p);
                let rows: Vec<usize> = outputs
                    .iter()
                    .map(|o| match o {
                        PartOutput::Pushed(i) => i.rows,
                        PartOutput::Summaries(_) => 0,
                    })
                    .collect();
                let (u, obj, iterations, history, converged) = if solver == Solver::Sgd {
                    self.sgd(params, config, &stats, &rows)?
                } else {
                    self.lbfgs(params, config, &stats)?
                };
                let (beta, b) = obj.to_model(&u);
                (beta, b, iterations, history, converged, w)
            }
        };
        if beta.iter().any(|v| !v.is_finite()) || !intercept.is_finite() {
            return Err(ModelError::Numerical(format!(
                "{solver} diverged (non-finite coefficients)"
            ))
            .into());
        }
        let model = LinearModel {
            family: params.family(),
            coefficients: beta.into(),
            intercept,
            feature_names: fitted.layout().names.clone(),
            params: params.clone(),
        };
        let summary = TrainSummary {
            solver,
            iterations,
            loss_history: history,
            converged,
            rows: info.rows,
            weight,
            features: p,
            seconds: start.elapsed().as_secs_f64(),
        };
        Ok(DistributedFit {
            pipeline: fitted,
            model,
            summary,
            workers: 0,
            rows_read: info.rows_read,
            dropped: info.dropped,
        })
    }

    /// The smooth objective and gradient at `u`, from a gradient round on the workers.
    fn evaluate(
        &self,
        phase: u64,
        clock: u64,
        obj: &Objective,
        u: &[f64],
        p: usize,
    ) -> Result<(f64, Vec<f64>), ClusterError> {
        let (beta, b) = obj.to_model(u);
        let mut x = beta;
        x.push(b);
        self.rt.block_on(self.ps.set_params(phase, clock, &x))?;
        let len = vectors::gradient_len(p);
        let (w, v, _) = self.statistic(phase, clock, Statistic::Gradient, len)?;
        Ok(obj.smooth(u, &vectors::gradient_from_vec(w, &v, p)))
    }

    fn load_checkpoint(&self, config: &TrainConfig) -> Result<Checkpoint, ClusterError> {
        let fp = fingerprint(config, self.partitions);
        match (&self.checkpoint_dir, self.options.resume) {
            (Some(dir), true) => {
                let loaded = Checkpoint::load(dir, &fp)?;
                if loaded.is_some() {
                    (self.progress)(&format!(
                        "resuming from {}",
                        Checkpoint::path(dir).display()
                    ));
                }
                Ok(loaded.unwrap_or_else(|| Checkpoint::new(fp)))
            }
            _ => Ok(Checkpoint::new(fp)),
        }
    }

    fn save(&self, checkpoint: &Checkpoint) -> Result<(), ClusterError> {
        match &self.checkpoint_dir {
            Some(dir) => checkpoint.save(dir),
            None => Ok(()),
        }
    }

    #[allow(clippy::type_complexity)]
    fn lbfgs(
        &mut self,
        params: &GlmValidParams,
        config: &TrainConfig,
        stats: &crate::model::FeatureStats,
    ) -> Result<(Vec<f64>, Objective, usize, Vec<f64>, bool), ClusterError> {
        let p = stats.sum.len();
        let obj = Objective::new(stats, params);
        let start_intercept = if params.fit_intercept() {
            params.family().link(stats.label_mean())
        } else {
            0.0
        };
        let x0 = obj.from_model(&vec![0.0; p], start_intercept);
        let phase = self.aggregate_phase(vectors::gradient_len(p), p + 1)?;
        let replay = self.load_checkpoint(config)?;
        let checkpoint = RefCell::new(replay.emptied());
        let failure: RefCell<Option<ClusterError>> = RefCell::new(None);
        let clock = std::cell::Cell::new(0u64);
        let evaluate = |u: &[f64]| -> (f64, Vec<f64>) {
            if failure.borrow().is_some() {
                return (f64::NAN, vec![f64::NAN; u.len()]);
            }
            let n = checkpoint.borrow().evaluations.len();
            // Replay a checkpointed evaluation when the solver asks for the very same point.
            if let Some(e) = replay.evaluations.get(n).filter(|e| e.u == u) {
                checkpoint.borrow_mut().evaluations.push(e.clone());
                return (e.value, e.grad.clone());
            }
            clock.set(clock.get() + 1);
            match self.evaluate(phase, clock.get(), &obj, u, p) {
                Ok((value, grad)) => {
                    let mut c = checkpoint.borrow_mut();
                    c.evaluations.push(Evaluation {
                        u: u.to_vec(),
                        value,
                        grad: grad.clone(),
                    });
                    self.options.emit(ClusterEvent::Iteration {
                        iteration: c.evaluations.len(),
                    });
                    if c.evaluations
                        .len()
                        .is_multiple_of(self.options.checkpoint_every)
                    {
                        if let Err(e) = self.save(&c) {
                            *failure.borrow_mut() = Some(e);
                        }
                    }
                    (value, grad)
                }
                Err(e) => {
                    *failure.borrow_mut() = Some(e);
                    (f64::NAN, vec![f64::NAN; u.len()])
                }
            }
        };
        let cfg = LbfgsConfig {
            memory: LBFGS_MEMORY,
            max_iter: params.max_iter(),
            tol: params.tol(),
        };
        let m = minimize(evaluate, x0, &obj.l1_weights(), cfg);
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        self.save(&checkpoint.borrow())?;
        Ok((m.x, obj, m.iterations, m.history, m.converged))
    }

    #[allow(clippy::type_complexity)]
    fn sgd(
        &mut self,
        params: &GlmValidParams,
        config: &TrainConfig,
        stats: &crate::model::FeatureStats,
        rows: &[usize],
    ) -> Result<(Vec<f64>, Objective, usize, Vec<f64>, bool), ClusterError> {
        let p = stats.sum.len();
        let obj = Objective::new(stats, params);
        let dim = obj.dim();
        let start_intercept = if params.fit_intercept() {
            params.family().link(stats.label_mean())
        } else {
            0.0
        };
        let mut checkpoint = self.load_checkpoint(config)?;
        let resumed = checkpoint.sgd.take();
        let (first_epoch, mut u, mut history) = match &resumed {
            Some(s) => (s.epoch, s.u.clone(), s.history.clone()),
            None => (
                0,
                obj.from_model(&vec![0.0; p], start_intercept),
                Vec::new(),
            ),
        };
        let eval_phase = self.aggregate_phase(vectors::gradient_len(p), p + 1)?;
        let mut eval_clock = 0u64;
        let mut value = |u: &[f64], this: &Self| -> Result<f64, ClusterError> {
            eval_clock += 1;
            let (v, _) = this.evaluate(eval_phase, eval_clock, &obj, u, p)?;
            Ok(v + obj.l1_value(u))
        };
        if history.is_empty() {
            history.push(value(&u, self)?);
        }
        let per_epoch = sgd::clocks_per_epoch(rows, params.batch_size());
        if per_epoch == 0 {
            return Err(ModelError::EmptyData.into());
        }
        let phase = self.new_phase();
        let shards = self.ps.shards();
        let (consistency, staleness) = match self.options.consistency {
            Consistency::Bsp => (PbConsistency::Bsp, 0),
            Consistency::Ssp(k) => (PbConsistency::Ssp, k),
            Consistency::Async => (PbConsistency::Async, 0),
        };
        let mut l2: Vec<f64> = obj.l2_theta().to_vec();
        l2.resize(dim, 0.0);
        let l1 = obj.l1_weights();
        let partitions = self.partitions;
        let slice = |v: &[f64], s: usize| -> Vec<f64> {
            if v.is_empty() {
                Vec::new()
            } else {
                v[key_range(dim, shards, s)].to_vec()
            }
        };
        self.rt.block_on(self.ps.configure(|s| {
            ShardConfig {
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
                initial: slice(&u, s),
                learning_rate: params.learning_rate(),
                l2: slice(&l2, s),
                l1: slice(&l1, s),
                first_moment: resumed
                    .as_ref()
                    .map_or_else(Vec::new, |r| slice(&r.first_moment, s)),
                second_moment: resumed
                    .as_ref()
                    .map_or_else(Vec::new, |r| slice(&r.second_moment, s)),
                steps: resumed.as_ref().map_or(0, |r| r.steps),
            }
        }))?;
        let mut converged = false;
        let mut epochs = first_epoch as usize;
        for epoch in first_epoch..params.max_iter() as u64 {
            let clocks = (epoch - first_epoch) * per_epoch..(epoch - first_epoch + 1) * per_epoch;
            let end = clocks.end;
            self.round(&|parts| Task::Sgd {
                partitions: parts.to_vec(),
                phase,
                epoch,
                clocks: clocks.clone(),
                stats: stats.clone(),
                precision: self.options.precision,
            })?;
            let at = if self.options.consistency == Consistency::Bsp {
                end
            } else {
                0
            };
            let pull = |kind| {
                self.rt.block_on(
                    self.ps
                        .pull(phase, 0, at, kind, dim, crate::ps::Precision::F64),
                )
            };
            u = pull(PullKind::Params)?.values;
            let v = value(&u, self)?;
            let previous = *history
                .last()
                .expect("history starts with the initial value");
            history.push(v);
            epochs = epoch as usize + 1;
            self.options
                .emit(ClusterEvent::Iteration { iteration: epochs });
            if epochs.is_multiple_of(self.options.checkpoint_every) {
                let first_moment = pull(PullKind::FirstMoment)?;
                checkpoint.sgd = Some(SgdState {
                    epoch: epoch + 1,
                    u: u.clone(),
                    history: history.clone(),
                    first_moment: first_moment.values,
                    second_moment: pull(PullKind::SecondMoment)?.values,
                    steps: first_moment.count,
                });
                self.save(&checkpoint)?;
            }
            if !v.is_finite() {
                break;
            }
            if params.tol() > 0.0 && (previous - v).abs() <= params.tol() * v.abs() {
                converged = true;
                break;
            }
        }
        Ok((u, obj, epochs, history, converged))
    }
}
