//! `distml worker`: joins a job, then runs the coordinator's tasks — feature summaries,
//! statistics and gradients of its partitions, pushed to the parameter-server shards.
//! Tasks run concurrently, so a partition reassigned mid-iteration is computed while the
//! worker's own SGD clocks wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

use super::block_cache::BlockCache;
use super::job::{JobSpec, PartInfo, PartOutput, Statistic, Task, TaskOutput};
use super::member::{join, spawn_heartbeats, CoordClient};
use super::rendezvous::Rendezvous;
use super::{sgd, vectors, ClusterError};
use crate::data::{DataSource, Projection};
use crate::feature::{FeatureBlock, FittedPipeline};
use crate::model::glm::{BlockGradient, FeatureStats, GlmValidParams, GramSummary, Objective};
use crate::model::{validate, LearnerParams};
use crate::ps::{Contribution, Precision, PsClient};
use crate::rpc::proto::{AssignRequest, PullKind, Role, TaskReport};

/// The job once set up.
pub(crate) struct Loaded {
    job: JobSpec,
    source: DataSource,
    projection: Projection,
    /// The shards' client; replaced when a lost shard is.
    ps: RwLock<PsClient>,
}

impl Loaded {
    /// The raw rows of partition `p`.
    fn read(&self, p: usize) -> Result<arrow_array::RecordBatch, ClusterError> {
        let partition = self
            .job
            .partitions
            .get(p)
            .ok_or_else(|| ClusterError::Protocol(format!("no partition {p}")))?;
        Ok(self.source.read(partition, &self.projection)?)
    }

    /// The current shards' client.
    pub(crate) fn ps(&self) -> PsClient {
        self.ps.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The job's GLM parameters (the statistics workers compute are a GLM's).
    fn glm(&self) -> Result<&GlmValidParams, ClusterError> {
        match &self.job.job.learner.params {
            LearnerParams::Glm(p) => Ok(p),
            #[allow(unreachable_patterns)]
            _ => Err(ClusterError::Protocol(
                "a GLM statistic for another learner".into(),
            )),
        }
    }
}

/// A transformed partition.
pub(crate) type Part = Arc<(FeatureBlock, PartInfo)>;

pub(crate) struct State {
    pub(crate) member: u64,
    /// Fault injection: how long to hold each push (`DISTML_PUSH_DELAY_MS`).
    push_delay: Duration,
    token: crate::rpc::auth::Token,
    loaded: OnceLock<Arc<Loaded>>,
    pipeline: RwLock<Option<Arc<FittedPipeline>>>,
    pub(crate) blocks: Mutex<BlockCache>,
    /// Partitions binned for trees.
    pub(crate) trees: super::tree_worker::Slots,
}

/// Runs a worker until the job ends.
pub fn run_worker(rv: Rendezvous) -> Result<(), ClusterError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Rpc(format!("runtime: {e}")))?;
    let result = runtime.block_on(serve(rv));
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn serve(rv: Rendezvous) -> Result<(), ClusterError> {
    let (mut client, member, every) = join(&rv, Role::Worker, String::new()).await?;
    let done = Arc::new(Notify::new());
    spawn_heartbeats(client.clone(), member, every, done.clone());
    let state = Arc::new(State {
        member,
        push_delay: push_delay(rv.rank),
        token: rv.token.clone(),
        loaded: OnceLock::new(),
        pipeline: RwLock::new(None),
        blocks: Mutex::new(BlockCache::default()),
        trees: Mutex::new(HashMap::new()),
    });
    loop {
        let assignment = tokio::select! {
            _ = done.notified() => return Ok(()),
            a = client.assign(AssignRequest { member_id: member }) => a?.into_inner(),
        };
        if assignment.task_id == 0 {
            continue;
        }
        let task: Task = serde_json::from_slice(&assignment.task)
            .map_err(|e| ClusterError::Protocol(format!("undecodable task: {e}")))?;
        if matches!(task, Task::Shutdown) {
            return Ok(());
        }
        let state = state.clone();
        let client = client.clone();
        tokio::spawn(run_task(state, client, assignment.task_id, task));
    }
}

async fn run_task(state: Arc<State>, mut client: CoordClient, task_id: u64, task: Task) {
    let result = execute(&state, task).await;
    let report = match result {
        Ok(output) => TaskReport {
            member_id: state.member,
            task_id,
            output: serde_json::to_vec(&output).unwrap_or_default(),
            ..Default::default()
        },
        Err(e) => TaskReport {
            member_id: state.member,
            task_id,
            error: e.to_string(),
            user_error: e.is_user_error(),
            ..Default::default()
        },
    };
    // A lost report is recovered by the coordinator's reassignment; nothing to do here.
    let _ = client.report(report).await;
}

/// The delay `DISTML_PUSH_DELAY_MS` asks of the worker with launcher rank `rank`: a list of
/// milliseconds (`0,40,15`) indexed by rank, cycling. Fault injection for tests and drills:
/// workers' pushes then reach the shards in orders set by the caller.
fn push_delay(rank: u32) -> Duration {
    let delays: Vec<u64> = std::env::var("DISTML_PUSH_DELAY_MS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    match delays.is_empty() {
        true => Duration::ZERO,
        false => Duration::from_millis(delays[rank as usize % delays.len()]),
    }
}

/// Waits the worker's push delay, if it has one.
pub(crate) async fn pushing(state: &State) {
    if !state.push_delay.is_zero() {
        tokio::time::sleep(state.push_delay).await;
    }
}

pub(crate) fn loaded(state: &State) -> Result<Arc<Loaded>, ClusterError> {
    state
        .loaded
        .get()
        .cloned()
        .ok_or_else(|| ClusterError::Protocol("a task arrived before the job's setup".into()))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ClusterError> + Send + 'static,
) -> Result<T, ClusterError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClusterError::Protocol(format!("worker task panicked: {e}")))?
}

async fn execute(state: &Arc<State>, task: Task) -> Result<TaskOutput, ClusterError> {
    match task {
        Task::Setup(job) => {
            let ps = PsClient::connect(&job.shards, &state.token).await?;
            let loaded = blocking(move || setup(job, ps)).await?;
            // A repeated setup (a retried task) keeps the first.
            let _ = state.loaded.set(Arc::new(loaded));
            Ok(TaskOutput::default())
        }
        Task::Pipeline(json) => {
            let fitted = FittedPipeline::from_json(json.as_bytes())?;
            let l = loaded(state)?;
            let params = &l.job.job.learner.params;
            // A fit holding its own state per row (trees' bins) reads the blocks only to make
            // it: they are made again for that pass rather than kept beside it.
            let keep = !params.reads_once(fitted.layout().width())
                && params.held_bytes_per_row(fitted.layout(), fitted.is_weighted()) == 0;
            let limit = l.job.worker_memory.unwrap_or(u64::MAX);
            *state.pipeline.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(fitted));
            let mut blocks = state.blocks.lock().unwrap_or_else(|p| p.into_inner());
            blocks.reset(keep, limit);
            Ok(TaskOutput::default())
        }
        Task::Summarize { partitions, pass } => {
            let l = loaded(state)?;
            blocking(move || summarize(&l, partitions, &pass)).await
        }
        Task::Compute {
            partitions,
            phase,
            clock,
            statistic,
        } => compute(state, &partitions, phase, clock, statistic).await,
        Task::Sgd {
            partitions,
            phase,
            epoch,
            clocks,
            stats,
            precision,
        } => {
            let clocks = SgdClocks {
                phase,
                epoch,
                clocks,
                precision,
            };
            sgd_clocks(state, &partitions, &stats, clocks).await
        }
        Task::TreeSketch { partitions } => super::tree_worker::sketch(state, &partitions).await,
        Task::Tree {
            partitions,
            phase,
            clock,
            version,
            step,
            catch_up,
        } => {
            super::tree_worker::step(state, &partitions, (phase, clock), version, step, catch_up)
                .await
        }
        Task::Shards(addresses) => {
            let ps = PsClient::connect(&addresses, &state.token).await?;
            *loaded(state)?.ps.write().unwrap_or_else(|p| p.into_inner()) = ps;
            Ok(TaskOutput::default())
        }
        Task::Shutdown => Ok(TaskOutput::default()),
    }
}

/// One pass's summaries of each partition (read from the files, no pipeline fitted yet).
fn summarize(
    l: &Loaded,
    partitions: Vec<usize>,
    pass: &crate::feature::FitPass,
) -> Result<TaskOutput, ClusterError> {
    let mut parts = Vec::with_capacity(partitions.len());
    for p in partitions {
        let batch = l.read(p)?;
        let s = l.job.job.pipeline.summarize_pass(pass, &batch)?;
        parts.push((p, PartOutput::Summaries(s)));
    }
    Ok(TaskOutput {
        parts,
        duplicates: 0,
    })
}

/// Bytes of contributions a worker gathers before pushing them: enough to amortise a call,
/// few enough that neither the worker nor the shard holds a statistic per partition.
const PUSH_BATCH_BYTES: usize = 8 << 20;

/// One statistic of each partition, pushed to the shards at `clock` (a gradient at the
/// parameters published for that clock) in batches of about [`PUSH_BATCH_BYTES`].
async fn compute(
    state: &Arc<State>,
    partitions: &[usize],
    phase: u64,
    clock: u64,
    statistic: Statistic,
) -> Result<TaskOutput, ClusterError> {
    let l = loaded(state)?;
    let fitted = pipeline(state)?;
    let p = fitted.layout().width();
    let at = match statistic {
        Statistic::Gradient => {
            let ps = l.ps();
            let pulled = ps.pull(
                phase,
                state.member,
                clock,
                PullKind::Params,
                p + 1,
                Precision::F64,
            );
            Some(Arc::new(pulled.await?.values))
        }
        _ => None,
    };
    let family = l.glm()?.family();
    let mut output = TaskOutput::default();
    let mut batch: Vec<(usize, f64, Vec<f64>)> = Vec::new();
    for (n, &i) in partitions.iter().enumerate() {
        let (worker, job, fitted, at) = (state.clone(), l.clone(), fitted.clone(), at.clone());
        // One block at a time: a one-pass fit holds no more than the block in hand.
        let (w, v, info) = blocking(move || {
            let part = block_of(&worker, &job, &fitted, i)?;
            let (w, v) = statistic_of(
                statistic,
                at.as_deref().map(Vec::as_slice),
                family,
                p,
                &part.0,
            );
            Ok((w, v, part.1.clone()))
        })
        .await?;
        batch.push((i, w, v));
        output.parts.push((i, PartOutput::Pushed(info)));
        let bytes: usize = batch.iter().map(|(_, _, v)| v.len() * 8).sum();
        if bytes >= PUSH_BATCH_BYTES || n + 1 == partitions.len() {
            output.duplicates += push_batch(state, &l, (phase, clock), &batch).await?;
            batch.clear();
        }
    }
    Ok(output)
}

/// A partition's statistic as the flat vector pushed, with its weight.
fn statistic_of(
    statistic: Statistic,
    at: Option<&[f64]>,
    family: crate::model::Family,
    p: usize,
    block: &FeatureBlock,
) -> (f64, Vec<f64>) {
    match statistic {
        Statistic::FeatureStats => {
            let s = FeatureStats::from_block(block, p);
            (s.weight, vectors::stats_to_vec(&s))
        }
        Statistic::Gram => {
            let g = GramSummary::from_block(block, p);
            (g.weight, vectors::gram_to_vec(&g))
        }
        Statistic::Gradient => {
            let x = at.unwrap_or_default();
            let g = BlockGradient::compute(family, block, 0..block.rows(), &x[..p], x[p]);
            (g.weight, vectors::gradient_to_vec(&g))
        }
    }
}

/// Pushes `(partition, weight, values)` contributions at `(phase, clock)`; returns the
/// duplicates the shards ignored.
async fn push_batch(
    state: &State,
    l: &Loaded,
    (phase, clock): (u64, u64),
    batch: &[(usize, f64, Vec<f64>)],
) -> Result<u32, ClusterError> {
    let contributions: Vec<Contribution<'_>> = batch
        .iter()
        .map(|(i, w, v)| Contribution {
            partition: *i as u32,
            weight: *w,
            values: v,
        })
        .collect();
    pushing(state).await;
    let ps = l.ps();
    let totals = ps
        .push(phase, state.member, clock, &contributions, Precision::F64)
        .await?;
    Ok(totals.duplicates)
}

/// Which SGD clocks of which epoch to run, and at what wire precision.
struct SgdClocks {
    phase: u64,
    epoch: u64,
    clocks: std::ops::Range<u64>,
    precision: Precision,
}

/// SGD clocks on the partitions: at each clock, pull the parameters, push every partition's
/// mini-batch gradient (an exhausted partition pushes zero weight, so a BSP clock completes).
async fn sgd_clocks(
    state: &Arc<State>,
    partitions: &[usize],
    stats: &FeatureStats,
    run: SgdClocks,
) -> Result<TaskOutput, ClusterError> {
    let l = loaded(state)?;
    let parts = blocks(state, &l, partitions).await?;
    let params = l.glm()?;
    let obj = Objective::new(stats, params);
    let family = params.family();
    let (batch, seed) = (params.batch_size(), params.seed());
    let batches: Vec<Vec<std::ops::Range<usize>>> = parts
        .iter()
        .map(|(i, part)| sgd::batches(part.0.rows(), batch, seed, run.epoch, *i))
        .collect();
    let mut duplicates = 0;
    for clock in run.clocks.clone() {
        let step = (clock - run.clocks.start) as usize;
        let ps = l.ps();
        let pulled = ps.pull(
            run.phase,
            state.member,
            clock,
            PullKind::Params,
            obj.dim(),
            run.precision,
        );
        let u = pulled.await?.values;
        let grads: Vec<(u32, f64, Vec<f64>)> = parts
            .iter()
            .zip(&batches)
            .map(|((i, part), b)| match b.get(step) {
                Some(rows) => {
                    let (w, g) = sgd::batch_gradient(&obj, family, &part.0, rows.clone(), &u);
                    (*i as u32, w, g)
                }
                None => (*i as u32, 0.0, vec![0.0; obj.dim()]),
            })
            .collect();
        let contributions: Vec<Contribution<'_>> = grads
            .iter()
            .map(|(i, w, g)| Contribution {
                partition: *i,
                weight: *w,
                values: g,
            })
            .collect();
        pushing(state).await;
        let ps = l.ps();
        let pushed = ps.push(
            run.phase,
            state.member,
            clock,
            &contributions,
            run.precision,
        );
        duplicates += pushed.await?.duplicates;
    }
    Ok(TaskOutput {
        parts: parts
            .into_iter()
            .map(|(i, part)| (i, PartOutput::Pushed(part.1.clone())))
            .collect(),
        duplicates,
    })
}

fn setup(job: JobSpec, ps: PsClient) -> Result<Loaded, ClusterError> {
    let source = DataSource::open(&job.job.data, &job.job.read_options())?;
    let names: Vec<&str> = job.columns.iter().map(String::as_str).collect();
    let projection = source.projection(&names)?;
    Ok(Loaded {
        job,
        source,
        projection,
        ps: RwLock::new(ps),
    })
}

pub(crate) fn pipeline(state: &State) -> Result<Arc<FittedPipeline>, ClusterError> {
    state
        .pipeline
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or_else(|| ClusterError::Protocol("a learner task before the pipeline".into()))
}

/// The transformed blocks of `partitions` (read, transformed and validated on first use).
pub(crate) async fn blocks(
    state: &Arc<State>,
    l: &Arc<Loaded>,
    partitions: &[usize],
) -> Result<Vec<(usize, Part)>, ClusterError> {
    let pipeline = pipeline(state)?;
    let state = state.clone();
    let l = l.clone();
    let partitions = partitions.to_vec();
    blocking(move || {
        partitions
            .into_iter()
            .map(|p| Ok((p, block_of(&state, &l, &pipeline, p)?)))
            .collect()
    })
    .await
}

/// Partition `p`'s block: the kept one, or read, transformed and validated (and kept when the
/// fit reads it again and the worker's memory allows).
pub(crate) fn block_of(
    state: &State,
    l: &Loaded,
    pipeline: &FittedPipeline,
    p: usize,
) -> Result<Part, ClusterError> {
    let lock = || state.blocks.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(part) = lock().get(p) {
        return Ok(part);
    }
    let batch = l.read(p)?;
    let rows_read = batch.num_rows() as u64;
    let (block, dropped) = pipeline.transform_counted(&batch)?;
    validate(&block, p, pipeline.layout(), &l.job.job.learner.params)?;
    let info = PartInfo {
        rows: block.rows(),
        rows_read,
        dropped,
    };
    let part = Arc::new((block, info));
    lock().offer(p, &part);
    Ok(part)
}
