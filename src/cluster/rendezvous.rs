//! How a worker or shard finds its job: `DISTML_*` variables, or those the common launchers
//! already set (torchrun/Kubeflow, mpirun, Slurm, Kubernetes indexed Jobs).

use std::net::IpAddr;

use super::ClusterError;
use crate::rpc::auth::Token;

/// Coordinator address (`host:port`).
pub const COORDINATOR_ENV: &str = "DISTML_COORDINATOR";
/// `worker` or `ps`.
pub const ROLE_ENV: &str = "DISTML_ROLE";
/// This process's rank.
pub const RANK_ENV: &str = "DISTML_RANK";
/// Processes in the job.
pub const WORLD_SIZE_ENV: &str = "DISTML_WORLD_SIZE";
/// Interface to listen on (default 127.0.0.1).
pub const BIND_ENV: &str = "DISTML_BIND";
/// Host name other processes use to reach this one (default: the bind address).
pub const ADVERTISE_ENV: &str = "DISTML_ADVERTISE";

/// Where a member process finds its job.
#[derive(Debug, Clone)]
pub struct Rendezvous {
    /// Coordinator `host:port`.
    pub coordinator: String,
    /// Rank given by the launcher (0 when none).
    pub rank: u32,
    /// World size given by the launcher, if any.
    pub world_size: Option<u32>,
    /// The job's shared secret.
    pub token: Token,
    /// Interface to listen on.
    pub bind: IpAddr,
    /// Host name to give the coordinator (ps shards).
    pub advertise: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn first_number(names: &[&'static str]) -> Result<Option<u32>, ClusterError> {
    for &name in names {
        if let Some(v) = var(name) {
            return v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ClusterError::InvalidOption {
                    option: name,
                    message: format!("'{v}' is not a non-negative integer"),
                });
        }
    }
    Ok(None)
}

/// The coordinator address from `DISTML_COORDINATOR`, else `MASTER_ADDR:MASTER_PORT`.
pub fn coordinator_from_env() -> Option<String> {
    var(COORDINATOR_ENV).or_else(|| {
        let addr = var("MASTER_ADDR")?;
        let port = var("MASTER_PORT")?;
        Some(format!("{addr}:{port}"))
    })
}

/// The interface to bind: `DISTML_BIND`, default 127.0.0.1 (never all interfaces unless asked).
pub fn bind_from_env() -> Result<IpAddr, ClusterError> {
    match var(BIND_ENV) {
        None => Ok(IpAddr::from([127, 0, 0, 1])),
        Some(v) => v.parse().map_err(|_| ClusterError::InvalidOption {
            option: BIND_ENV,
            message: format!("'{v}' is not an IP address"),
        }),
    }
}

impl Rendezvous {
    /// Reads the environment; a missing coordinator or token is a clear error.
    pub fn from_env() -> Result<Self, ClusterError> {
        let coordinator = coordinator_from_env().ok_or(ClusterError::InvalidOption {
            option: COORDINATOR_ENV,
            message: "not set: export DISTML_COORDINATOR=host:port (or MASTER_ADDR and \
                      MASTER_PORT); workers are normally started by `distml train --workers N`"
                .into(),
        })?;
        let token = Token::from_env().ok_or(ClusterError::InvalidOption {
            option: crate::rpc::auth::TOKEN_ENV,
            message: "not set: every process of a job needs the same secret".into(),
        })?;
        let rank = first_number(&[
            RANK_ENV,
            "RANK",
            "OMPI_COMM_WORLD_RANK",
            "SLURM_PROCID",
            "JOB_COMPLETION_INDEX",
        ])?
        .unwrap_or(0);
        let world_size = first_number(&[
            WORLD_SIZE_ENV,
            "WORLD_SIZE",
            "OMPI_COMM_WORLD_SIZE",
            "SLURM_NTASKS",
        ])?;
        Ok(Rendezvous {
            coordinator,
            rank,
            world_size,
            token,
            bind: bind_from_env()?,
            advertise: var(ADVERTISE_ENV),
        })
    }

    /// Checks `DISTML_ROLE`, when set, agrees with the subcommand that was started.
    pub fn check_role(expected: &str) -> Result<(), ClusterError> {
        match var(ROLE_ENV) {
            Some(role) if !role.eq_ignore_ascii_case(expected) => {
                Err(ClusterError::InvalidOption {
                    option: ROLE_ENV,
                    message: format!("is '{role}' but this process was started as '{expected}'"),
                })
            }
            _ => Ok(()),
        }
    }
}
