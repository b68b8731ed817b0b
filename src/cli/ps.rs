//! `distml ps`: one parameter-server shard of a distributed job (started by
//! `train --ps-shards S` or by a cluster manager with the `DISTML_*` / launcher environment).

use clap::Args;
use distml::cluster::rendezvous::Rendezvous;

use super::exit::UsageError;

/// Arguments of `distml ps` (everything else comes from the environment).
#[derive(Debug, Args)]
pub(crate) struct PsArgs {}

/// Serves a shard until the job ends.
pub(crate) fn run(_args: PsArgs) -> anyhow::Result<()> {
    Rendezvous::check_role("ps").map_err(|e| UsageError(e.to_string()))?;
    let rv = Rendezvous::from_env().map_err(|e| UsageError(e.to_string()))?;
    distml::cluster::run_shard(rv)?;
    Ok(())
}
