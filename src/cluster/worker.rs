//! `distml worker`: joins a job, then runs the coordinator's tasks — feature summaries,
//! statistics and gradients of its partitions, pushed to the parameter-server shards.
//! Tasks run concurrently, so a partition reassigned mid-iteration is computed while the
//! worker's own SGD clocks wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

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
struct Loaded {
    job: JobSpec,
    source: DataSource,
    projection: Projection,
    ps: PsClient,
}

impl Loaded {
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
type Part = Arc<(FeatureBlock, PartInfo)>;

struct State {
    member: u64,
    /// Fault injection: how long to hold each push (`DISTML_PUSH_DELAY_MS`).
    push_delay: Duration,
    token: crate::rpc::auth::Token,
    loaded: OnceLock<Arc<Loaded>>,
    pipeline: RwLock<Option<Arc<FittedPipeline>>>,
    blocks: Mutex<HashMap<usize, Part>>,
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
    spawn_heartbeats(client.clone(), member, every, every * 20, done.clone());
    let state = Arc::new(State {
        member,
        push_delay: push_delay(rv.rank),
        token: rv.token.clone(),
        loaded: OnceLock::new(),
        pipeline: RwLock::new(None),
        blocks: Mutex::new(HashMap::new()),
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
async fn pushing(state: &State) {
    if !state.push_delay.is_zero() {
        tokio::time::sleep(state.push_delay).await;
    }
}

fn loaded(state: &State) -> Result<Arc<Loaded>, ClusterError> {
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
    let none = TaskOutput {
        parts: Vec::new(),
        duplicates: 0,
    };
    match task {
        Task::Setup(job) => {
            let ps = PsClient::connect(&job.shards, &state.token).await?;
            let loaded = blocking(move || setup(job, ps)).await?;
            // A repeated setup (a retried task) keeps the first.
            let _ = state.loaded.set(Arc::new(loaded));
            Ok(none)
        }
        Task::Pipeline(json) => {
            let fitted = FittedPipeline::from_json(json.as_bytes())?;
            *state.pipeline.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(fitted));
            state
                .blocks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            Ok(none)
        }
        Task::Summarize { partitions, pass } => {
            let l = loaded(state)?;
            blocking(move || {
                let mut parts = Vec::with_capacity(partitions.len());
                for p in partitions {
                    let partition = l
                        .job
                        .partitions
                        .get(p)
                        .ok_or_else(|| ClusterError::Protocol(format!("no partition {p}")))?;
                    let batch = l.source.read(partition, &l.projection)?;
                    let s = l.job.job.pipeline.summarize_pass(&pass, &batch)?;
                    parts.push((p, PartOutput::Summaries(s)));
                }
                Ok(TaskOutput {
                    parts,
                    duplicates: 0,
                })
            })
            .await
        }
        Task::Compute {
            partitions,
            phase,
            clock,
            statistic,
        } => {
            let l = loaded(state)?;
            let parts = blocks(state, &l, &partitions).await?;
            let p = pipeline(state)?.layout().width();
            let params = match statistic {
                Statistic::Gradient => Some(
                    l.ps.pull(
                        phase,
                        state.member,
                        clock,
                        PullKind::Params,
                        p + 1,
                        Precision::F64,
                    )
                    .await?
                    .values,
                ),
                _ => None,
            };
            let family = l.glm()?.family();
            let computed = blocking(move || {
                let out: Vec<(usize, f64, Vec<f64>, PartInfo)> = parts
                    .iter()
                    .map(|(i, part)| {
                        let block = &part.0;
                        let (w, v) = match (&statistic, &params) {
                            (Statistic::FeatureStats, _) => {
                                let s = FeatureStats::from_block(block, p);
                                (s.weight, vectors::stats_to_vec(&s))
                            }
                            (Statistic::Gram, _) => {
                                let g = GramSummary::from_block(block, p);
                                (g.weight, vectors::gram_to_vec(&g))
                            }
                            (Statistic::Gradient, Some(x)) => {
                                let g = BlockGradient::compute(
                                    family,
                                    block,
                                    0..block.rows(),
                                    &x[..p],
                                    x[p],
                                );
                                (g.weight, vectors::gradient_to_vec(&g))
                            }
                            (Statistic::Gradient, None) => unreachable!("pulled above"),
                        };
                        (*i, w, v, part.1.clone())
                    })
                    .collect();
                Ok(out)
            })
            .await?;
            let contributions: Vec<Contribution<'_>> = computed
                .iter()
                .map(|(i, w, v, _)| Contribution {
                    partition: *i as u32,
                    weight: *w,
                    values: v,
                })
                .collect();
            pushing(state).await;
            let totals =
                l.ps.push(phase, state.member, clock, &contributions, Precision::F64)
                    .await?;
            Ok(TaskOutput {
                parts: computed
                    .into_iter()
                    .map(|(i, _, _, info)| (i, PartOutput::Pushed(info)))
                    .collect(),
                duplicates: totals.duplicates,
            })
        }
        Task::Sgd {
            partitions,
            phase,
            epoch,
            clocks,
            stats,
            precision,
        } => {
            let l = loaded(state)?;
            let parts = blocks(state, &l, &partitions).await?;
            let params = l.glm()?;
            let obj = Objective::new(&stats, params);
            let family = params.family();
            let batches: Vec<Vec<std::ops::Range<usize>>> = parts
                .iter()
                .map(|(i, part)| {
                    let (batch, seed) = (params.batch_size(), params.seed());
                    sgd::batches(part.0.rows(), batch, seed, epoch, *i)
                })
                .collect();
            let mut duplicates = 0;
            for clock in clocks.clone() {
                let step = (clock - clocks.start) as usize;
                let u =
                    l.ps.pull(
                        phase,
                        state.member,
                        clock,
                        PullKind::Params,
                        obj.dim(),
                        precision,
                    )
                    .await?
                    .values;
                let grads: Vec<(u32, f64, Vec<f64>)> = parts
                    .iter()
                    .zip(&batches)
                    .map(|((i, part), b)| match b.get(step) {
                        Some(rows) => {
                            let (w, g) =
                                sgd::batch_gradient(&obj, family, &part.0, rows.clone(), &u);
                            (*i as u32, w, g)
                        }
                        // An exhausted partition still reports, so a BSP clock completes.
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
                duplicates +=
                    l.ps.push(phase, state.member, clock, &contributions, precision)
                        .await?
                        .duplicates;
            }
            Ok(TaskOutput {
                parts: parts
                    .into_iter()
                    .map(|(i, part)| (i, PartOutput::Pushed(part.1.clone())))
                    .collect(),
                duplicates,
            })
        }
        Task::Shutdown => Ok(none),
    }
}

fn setup(job: JobSpec, ps: PsClient) -> Result<Loaded, ClusterError> {
    let source = DataSource::open(&job.job.data, &job.job.read_options())?;
    let names: Vec<&str> = job.columns.iter().map(String::as_str).collect();
    let projection = source.projection(&names)?;
    Ok(Loaded {
        job,
        source,
        projection,
        ps,
    })
}

fn pipeline(state: &State) -> Result<Arc<FittedPipeline>, ClusterError> {
    state
        .pipeline
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or_else(|| ClusterError::Protocol("a learner task before the pipeline".into()))
}

/// The transformed blocks of `partitions` (read, transformed and validated on first use).
async fn blocks(
    state: &Arc<State>,
    l: &Arc<Loaded>,
    partitions: &[usize],
) -> Result<Vec<(usize, Part)>, ClusterError> {
    let pipeline = pipeline(state)?;
    let state = state.clone();
    let l = l.clone();
    let partitions = partitions.to_vec();
    blocking(move || {
        let mut out = Vec::with_capacity(partitions.len());
        for p in partitions {
            let cached = state
                .blocks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&p)
                .cloned();
            let part = match cached {
                Some(part) => part,
                None => {
                    let partition = l
                        .job
                        .partitions
                        .get(p)
                        .ok_or_else(|| ClusterError::Protocol(format!("no partition {p}")))?;
                    let batch = l.source.read(partition, &l.projection)?;
                    let rows_read = batch.num_rows() as u64;
                    let (block, dropped) = pipeline.transform_counted(&batch)?;
                    let learner = &l.job.job.learner.params;
                    validate(&block, p, pipeline.layout(), |y| learner.check_label(y))?;
                    let info = PartInfo {
                        rows: block.rows(),
                        rows_read,
                        dropped,
                    };
                    let part = Arc::new((block, info));
                    state
                        .blocks
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(p, part.clone());
                    part
                }
            };
            out.push((p, part));
        }
        Ok(out)
    })
    .await
}
