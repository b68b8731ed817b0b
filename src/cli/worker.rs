//! `distml worker`: one worker process of a distributed job (started by `train --workers N`
//! or by a cluster manager with the `DISTML_*` / launcher environment).

use clap::Args;
use distml::cluster::rendezvous::Rendezvous;

use super::exit::UsageError;

/// Arguments of `distml worker` (everything else comes from the environment).
#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {}

/// Joins the job and runs its tasks until it ends.
pub(crate) fn run(_args: WorkerArgs) -> anyhow::Result<()> {
    Rendezvous::check_role("worker").map_err(|e| UsageError(e.to_string()))?;
    let rv = Rendezvous::from_env().map_err(|e| UsageError(e.to_string()))?;
    distml::cluster::run_worker(rv)?;
    Ok(())
}
