//! Shared helpers of the container tests: is Docker there, the image of the repository's
//! Dockerfile built on local bases (tests/docker/images.sh), and Compose projects taken down
//! when dropped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::common::{in_ci, skip};

/// The image the tests build from the repository's Dockerfile.
pub const IMAGE: &str = "distml:test";

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `program args` in the repository root.
pub fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// Runs `program args`, failing the test with its output unless it succeeds; its stdout.
pub fn must(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = run(program, args, env);
    assert!(
        output.status.success(),
        "{program} {}: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Whether Docker and Compose answer; outside CI a missing one skips the test (saying why).
pub fn docker_ready(test: &str) -> bool {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let missing = match (
        works("docker", &["info"]),
        works("docker-compose", &["version"]),
    ) {
        (true, true) => return true,
        (false, _) => "no Docker engine answers `docker info`",
        (_, false) => "no `docker-compose`",
    };
    assert!(!in_ci(), "{test}: CI=true but {missing}");
    skip(test, missing);
    false
}

/// Builds [`IMAGE`] from the Dockerfile on the local bases (cached: an unchanged tree is a
/// cache hit), and returns its tag.
pub fn build_image() -> &'static str {
    must("bash", &["tests/docker/images.sh"], &[]);
    let args = [
        "build",
        "-q",
        "-t",
        IMAGE,
        "--build-arg",
        "RUST_IMAGE=distml-local/rust:bookworm",
        "--build-arg",
        "BASE_IMAGE=distml-local/debian:bookworm",
        ".",
    ];
    must("docker", &args, &[]);
    IMAGE
}

/// A Compose project of one of `examples/deploy/*.yaml`, taken down (containers, network)
/// when dropped.
pub struct Project {
    /// The Compose file.
    pub file: PathBuf,
    /// The project name (prefix of its containers and network).
    pub name: String,
    /// Variables the file reads.
    pub env: Vec<(String, String)>,
}

impl Project {
    /// A project of `examples/deploy/<file>` named after this process.
    pub fn new(file: &str, prefix: &str, env: &[(&str, &str)]) -> Self {
        Project {
            file: repo().join("examples/deploy").join(file),
            name: format!("{prefix}{}", std::process::id()),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Runs `docker-compose -f FILE -p NAME args`; its stdout.
    pub fn compose(&self, args: &[&str]) -> String {
        let file = self.file.to_string_lossy().into_owned();
        let mut all = vec!["-f", &file, "-p", &self.name];
        all.extend_from_slice(args);
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        must("docker-compose", &all, &env)
    }

    /// The container of `service` (Compose v1 names: `<project>_<service>_1`).
    pub fn container(&self, service: &str) -> String {
        format!("{}_{service}_1", self.name)
    }

    /// The project's network `network`.
    pub fn network(&self, network: &str) -> String {
        format!("{}_{network}", self.name)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = Command::new("docker-compose")
            .args(["-f", &self.file.to_string_lossy(), "-p", &self.name])
            .args(["down", "--volumes", "--timeout", "5"])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output();
    }
}
