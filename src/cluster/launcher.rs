//! The local launcher: worker and shard processes of this same binary on 127.0.0.1, each
//! stopped by its PID when the job ends — also when it fails or panics (the guard's `Drop`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::rendezvous::{COORDINATOR_ENV, RANK_ENV, ROLE_ENV, WORLD_SIZE_ENV};
use super::{ClusterError, Launch};
use crate::rpc::auth::{Token, TOKEN_ENV};

/// Where the coordinator listens and the job's secret: loopback and a fresh token when it
/// spawns the members itself; the launcher's address and token when a cluster manager does.
pub(crate) fn listen_and_token(launch: &Launch) -> Result<(SocketAddr, Token), ClusterError> {
    Ok(match launch {
        Launch::Local => (SocketAddr::from(([127, 0, 0, 1], 0)), Token::generate()),
        Launch::External(addr) => (
            *addr,
            Token::from_env().ok_or(ClusterError::InvalidOption {
                option: crate::rpc::auth::TOKEN_ENV,
                message: "a job started by a cluster manager needs the shared secret".into(),
            })?,
        ),
    })
}

/// Where spawned members meet: the coordinator's address, the job's secret, the world size,
/// and any extra environment.
pub(crate) struct Meeting<'a> {
    pub(crate) coordinator: String,
    pub(crate) token: &'a Token,
    pub(crate) world_size: usize,
    pub(crate) env: &'a [(String, String)],
}

/// The processes started for one job.
#[derive(Debug, Default)]
pub(crate) struct Children {
    procs: Vec<(String, Child)>,
}

impl Children {
    /// Starts `program <role>` with the rendezvous environment.
    pub(crate) fn spawn(
        &mut self,
        program: &Path,
        role: &str,
        rank: u32,
        meeting: &Meeting<'_>,
    ) -> Result<u32, ClusterError> {
        let (coordinator, token, world_size) =
            (&meeting.coordinator, meeting.token, meeting.world_size);
        let child = Command::new(program)
            .envs(meeting.env.iter().map(|(k, v)| (k, v)))
            .arg(role)
            .env(COORDINATOR_ENV, coordinator)
            .env(ROLE_ENV, role)
            .env(RANK_ENV, rank.to_string())
            .env(WORLD_SIZE_ENV, world_size.to_string())
            .env(TOKEN_ENV, token.expose())
            // Several processes share the cores: one compute thread each.
            .env("RAYON_NUM_THREADS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| ClusterError::Spawn {
                program: PathBuf::from(program),
                source,
            })?;
        let pid = child.id();
        self.procs.push((format!("{role} {rank}"), child));
        Ok(pid)
    }

    /// A child that has already exited (e.g. failed to start its server).
    pub(crate) fn exited(&mut self) -> Option<String> {
        self.procs.iter_mut().find_map(|(name, child)| {
            child
                .try_wait()
                .ok()
                .flatten()
                .map(|status| format!("{name} exited early ({status})"))
        })
    }

    /// Waits up to `grace` for every child to exit, then kills the rest by PID.
    pub(crate) fn stop(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        for (_, child) in &mut self.procs {
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if !matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        self.procs.clear();
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.procs {
            if !matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
