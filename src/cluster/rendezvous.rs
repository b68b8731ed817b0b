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

/// A variable of the environment read by `get`, when set and not blank.
fn var_in(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name).filter(|v| !v.trim().is_empty())
}

fn var(name: &str) -> Option<String> {
    var_in(&|n| std::env::var(n).ok(), name)
}

fn first_number(
    get: &dyn Fn(&str) -> Option<String>,
    names: &[&'static str],
) -> Result<Option<u32>, ClusterError> {
    for &name in names {
        if let Some(v) = var_in(get, name) {
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
    coordinator_from(&|n| std::env::var(n).ok())
}

fn coordinator_from(get: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    var_in(get, COORDINATOR_ENV).or_else(|| {
        let addr = var_in(get, "MASTER_ADDR")?;
        let port = var_in(get, "MASTER_PORT")?;
        Some(format!("{addr}:{port}"))
    })
}

/// The interface to bind: `DISTML_BIND`, default 127.0.0.1 (never all interfaces unless asked).
pub fn bind_from_env() -> Result<IpAddr, ClusterError> {
    bind_from(&|n| std::env::var(n).ok())
}

fn bind_from(get: &dyn Fn(&str) -> Option<String>) -> Result<IpAddr, ClusterError> {
    match var_in(get, BIND_ENV) {
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
        Self::from_vars(&|n| std::env::var(n).ok())
    }

    /// Reads the variables `get` returns (the environment, or a map in tests).
    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ClusterError> {
        let coordinator = coordinator_from(get).ok_or(ClusterError::InvalidOption {
            option: COORDINATOR_ENV,
            message: "not set: export DISTML_COORDINATOR=host:port (or MASTER_ADDR and \
                      MASTER_PORT); workers are normally started by `distml train --workers N`"
                .into(),
        })?;
        let token = var_in(get, crate::rpc::auth::TOKEN_ENV)
            .and_then(|t| Token::new(&t))
            .ok_or(ClusterError::InvalidOption {
                option: crate::rpc::auth::TOKEN_ENV,
                message: "not set: every process of a job needs the same secret".into(),
            })?;
        let rank = first_number(
            get,
            &[
                RANK_ENV,
                "RANK",
                "OMPI_COMM_WORLD_RANK",
                "SLURM_PROCID",
                "JOB_COMPLETION_INDEX",
            ],
        )?
        .unwrap_or(0);
        let world_size = first_number(
            get,
            &[
                WORLD_SIZE_ENV,
                "WORLD_SIZE",
                "OMPI_COMM_WORLD_SIZE",
                "SLURM_NTASKS",
            ],
        )?;
        Ok(Rendezvous {
            coordinator,
            rank,
            world_size,
            token,
            bind: bind_from(get)?,
            advertise: var_in(get, ADVERTISE_ENV),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Rendezvous, ClusterError> {
        let map: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Rendezvous::from_vars(&|n| map.get(n).cloned())
    }

    const TOKEN: (&str, &str) = ("DISTML_CLUSTER_TOKEN", "s3cret");

    #[test]
    fn each_launchers_variables_place_the_member() {
        // torchrun / Kubeflow: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT.
        let torchrun = from(&[
            TOKEN,
            ("RANK", "3"),
            ("WORLD_SIZE", "5"),
            ("MASTER_ADDR", "10.0.0.7"),
            ("MASTER_PORT", "29500"),
        ])
        .unwrap();
        assert_eq!(torchrun.coordinator, "10.0.0.7:29500");
        assert_eq!((torchrun.rank, torchrun.world_size), (3, Some(5)));
        // mpirun (Open MPI).
        let mpi = from(&[
            TOKEN,
            ("DISTML_COORDINATOR", "head:7000"),
            ("OMPI_COMM_WORLD_RANK", "4"),
            ("OMPI_COMM_WORLD_SIZE", "6"),
        ])
        .unwrap();
        assert_eq!((mpi.rank, mpi.world_size), (4, Some(6)));
        // Kubernetes indexed Job: the index is the rank; the size is the job's completions.
        let k8s = from(&[
            TOKEN,
            ("DISTML_COORDINATOR", "job-0.svc:7000"),
            ("JOB_COMPLETION_INDEX", "2"),
        ])
        .unwrap();
        assert_eq!((k8s.rank, k8s.world_size), (2, None));
        // distml's own variables win over a launcher's.
        let own = from(&[
            TOKEN,
            ("DISTML_COORDINATOR", "a:1"),
            ("MASTER_ADDR", "b"),
            ("MASTER_PORT", "2"),
            ("DISTML_RANK", "1"),
            ("SLURM_PROCID", "9"),
        ])
        .unwrap();
        assert_eq!((own.coordinator.as_str(), own.rank), ("a:1", 1));
    }

    #[test]
    fn members_bind_loopback_unless_told_otherwise() {
        let base = [TOKEN, ("DISTML_COORDINATOR", "a:1")];
        let default = from(&base).unwrap();
        assert_eq!(default.bind, IpAddr::from([127, 0, 0, 1]));
        let all = from(&[base[0], base[1], ("DISTML_BIND", "0.0.0.0")]).unwrap();
        assert_eq!(all.bind, IpAddr::from([0, 0, 0, 0]));
        let bad = from(&[base[0], base[1], ("DISTML_BIND", "everywhere")]).unwrap_err();
        assert!(bad.to_string().contains("DISTML_BIND"), "{bad}");
    }

    #[test]
    fn a_missing_coordinator_or_token_is_named() {
        let err = from(&[TOKEN]).unwrap_err().to_string();
        assert!(err.contains("DISTML_COORDINATOR"), "{err}");
        let err = from(&[("DISTML_COORDINATOR", "a:1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("DISTML_CLUSTER_TOKEN"), "{err}");
        let err = from(&[TOKEN, ("DISTML_COORDINATOR", "a:1"), ("RANK", "x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("RANK") && err.contains("'x'"), "{err}");
    }
}
