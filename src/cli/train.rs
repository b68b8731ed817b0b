//! `distml train`: flags (over an optional job TOML) → the training job → summary JSON.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use distml::cluster::ClusterSettings;
use distml::data::taxi::{generate, TaxiSpec};
use distml::tracking::{Tracker, TrackingOverrides};
use distml::train::{
    run_tracked, DataSettings, FeatureSettings, JobFlags, LearnerArgs, OutputSettings,
};

use super::progress::JobBars;

/// Worker processes of `distml train` without `--data` (the generated demo month).
const DEMO_WORKERS: usize = 2;

/// `distml train`: the job flags plus the distributed ones.
#[derive(Debug, Clone, Args)]
pub(crate) struct TrainCommand {
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    cluster: ClusterSettings,
}

/// Flags shared by `train` and `tune`: every section of the job config, and `--config`.
#[derive(Debug, Clone, Args)]
pub(crate) struct JobArgs {
    /// Job file (TOML with [data], [features], [learner], [cluster], [tracking], [outputs]
    /// tables whose keys are these flags' names); flags win.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    data: DataSettings,
    #[command(flatten)]
    features: FeatureSettings,
    #[command(flatten)]
    learner: LearnerArgs,
    #[command(flatten)]
    tracking: TrackingOverrides,
    #[command(flatten)]
    outputs: OutputSettings,
    /// Rows per generated month when no --data is given.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
}

impl JobArgs {
    /// The flags as the library reads them (with `cluster`'s for `train`).
    pub(crate) fn flags(&self, cluster: ClusterSettings) -> JobFlags {
        JobFlags {
            config: self.config.clone(),
            data: self.data.clone(),
            features: self.features.clone(),
            learner: self.learner.clone(),
            cluster,
            tracking: self.tracking.clone(),
            outputs: self.outputs.clone(),
        }
    }

    /// Rows per generated month for a job without `--data`.
    pub(crate) fn generated_rows(&self) -> usize {
        self.rows
    }
}

pub(crate) fn run(command: TrainCommand) -> anyhow::Result<()> {
    let (mut config, _) = command.job.flags(command.cluster).resolve()?;
    // The no-argument demo job shows the whole system: two local worker processes and a
    // parameter-server shard, unless --workers says otherwise.
    let demo_workers = config.data.data.is_empty().then_some(DEMO_WORKERS);
    let cluster = config.cluster.options(demo_workers)?;
    // The settings logged and saved say how the job really ran.
    config.cluster.workers = Some(config.cluster.worker_count(demo_workers));
    let _generated = default_data(&mut config.data, command.job.generated_rows())?;
    let tracker = Tracker::from_env(config.tracking.clone())?;
    let summary = run_tracked(&config, cluster.as_ref(), &JobBars::default(), &tracker)?;
    print_summary(&summary, config.outputs.summary.as_deref())
}

/// Fills in a generated taxi month (and the next one for validation) when no data is given;
/// the returned directory must outlive the job.
pub(crate) fn default_data(
    data: &mut DataSettings,
    rows: usize,
) -> anyhow::Result<Option<tempfile::TempDir>> {
    if !data.data.is_empty() {
        return Ok(None);
    }
    let dir = tempfile::tempdir().context("creating a directory for the generated data")?;
    let months = [("2023-01", 1u64), ("2023-02", 2u64)];
    for (i, (month, seed)) in months.iter().enumerate() {
        if i == 1 && !data.valid.is_empty() {
            break;
        }
        let path = dir.path().join(format!("yellow_tripdata_{month}.parquet"));
        let spec = TaxiSpec {
            rows,
            seed: *seed,
            ..Default::default()
        }
        .with_month(month)?;
        generate(&spec, &path, &|_| {})?;
        match i {
            0 => data.data = vec![path],
            _ => data.valid = vec![path],
        }
    }
    eprintln!("no --data given: generated {rows} yellow-taxi trips for 2023-01 (train) and 2023-02 (validation) in {}", dir.path().display());
    Ok(Some(dir))
}

/// Prints the summary as the last stdout line and writes it to `path` when given.
pub(crate) fn print_summary<T: serde::Serialize>(
    summary: &T,
    path: Option<&Path>,
) -> anyhow::Result<()> {
    let line = serde_json::to_string(summary)?;
    if let Some(path) = path {
        std::fs::write(path, format!("{line}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{line}");
    Ok(())
}
