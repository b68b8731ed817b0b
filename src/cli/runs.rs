//! `distml runs list | show ID | sync --to URI`: the local run store.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use distml::tracking::{
    parents_first, sync_run, MlflowClient, RunView, Spool, TrackingConfig, TrackingError,
    TrackingOverrides,
};

use super::exit::UsageError;

/// Flags of `runs`.
#[derive(Debug, Args)]
pub(crate) struct RunsCommand {
    /// The local run store.
    #[arg(
        long,
        global = true,
        env = "DISTML_RUNS_DIR",
        default_value = "distml-runs"
    )]
    dir: PathBuf,
    #[command(subcommand)]
    action: RunsAction,
}

/// What to do with the store.
#[derive(Debug, Subcommand)]
pub(crate) enum RunsAction {
    /// Print every run (id, name, status, latest metrics, sync state) as a JSON array.
    List,
    /// Print one run (params, metrics, tags, inputs, artifacts, sync state) as JSON.
    Show {
        /// Local id, or the run id it has on a server.
        id: String,
    },
    /// Replay runs into an MLflow server; runs already there are not sent again.
    Sync {
        /// The MLflow server (auth from MLFLOW_TRACKING_USERNAME/PASSWORD or _TOKEN).
        #[arg(long)]
        to: String,
        /// Only these runs (local or server ids); default all.
        ids: Vec<String>,
    },
}

pub(crate) fn run(cmd: RunsCommand) -> anyhow::Result<()> {
    let spool = Spool::new(cmd.dir);
    match cmd.action {
        RunsAction::List => {
            let runs = spool
                .list()
                .map_err(user)?
                .iter()
                .map(|id| RunView::load(&spool, id).map(|v| v.brief()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(user)?;
            println!("{}", serde_json::Value::Array(runs));
        }
        RunsAction::Show { id } => {
            let local = spool.resolve(&id).map_err(user)?;
            let view = RunView::load(&spool, &local).map_err(user)?;
            println!("{}", serde_json::to_string(&view)?);
        }
        RunsAction::Sync { to, ids } => {
            let config = TrackingConfig::from_env()
                .and_then(|c| {
                    c.with_overrides(TrackingOverrides {
                        tracking_uri: Some(to),
                        ..Default::default()
                    })
                })
                .map_err(user)?;
            let uri = config.tracking_uri.clone().unwrap_or_default();
            let client = MlflowClient::new(&uri, &config).map_err(user)?;
            let ids = if ids.is_empty() {
                spool.list().map_err(user)?
            } else {
                ids.iter()
                    .map(|id| spool.resolve(id))
                    .collect::<Result<_, _>>()
                    .map_err(user)?
            };
            let mut outcomes = Vec::new();
            for id in &parents_first(&spool, ids) {
                let outcome = sync_run(&client, &spool, id).map_err(user)?;
                eprintln!(
                    "synced {} → {} run {} ({} of {} events sent)",
                    outcome.local_id,
                    outcome.uri,
                    outcome.run_id,
                    outcome.events_sent,
                    outcome.events_total
                );
                outcomes.push(outcome);
            }
            println!("{}", serde_json::to_string(&outcomes)?);
        }
    }
    Ok(())
}

/// Marks configuration and input mistakes for exit code 2.
fn user(error: TrackingError) -> anyhow::Error {
    if error.is_user_error() {
        anyhow::Error::new(UsageError(error.to_string()))
    } else {
        anyhow::Error::new(error)
    }
}
