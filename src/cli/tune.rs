//! `distml tune`: train's flags plus a search space → parallel trials (nested MLflow runs) →
//! the best model refitted and saved → summary JSON.

use clap::Args;
use distml::cluster::ClusterSettings;
use distml::tracking::Tracker;
use distml::tuning::report::run_tune_tracked;
use distml::tuning::TuneSettings;

use super::train::{default_data, print_summary, JobArgs};

/// `distml tune` flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct TuneArgs {
    // First, so that `--seed` is the sweep's (the learner's is a job-file or grid key here).
    #[command(flatten)]
    tune: TuneSettings,
    #[command(flatten)]
    job: JobArgs,
}

pub(crate) fn run(args: TuneArgs) -> anyhow::Result<()> {
    let (job, tune_table) = args.job.flags(ClusterSettings::default()).resolve()?;
    let mut config = args.tune.resolve(job, tune_table)?;
    distml::tuning::plan(&config)?; // bad flags fail before any data is generated
    let _generated = default_data(&mut config.job.data, args.job.generated_rows())?;
    let tracker = Tracker::from_env(config.job.tracking.clone())?;
    let summary = run_tune_tracked(&config, &tracker)?;
    print_summary(&summary, config.job.outputs.summary.as_deref())
}
