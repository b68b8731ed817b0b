//! Member processes' lives: none outlives its job (a stuck one is killed by PID), members whose
//! coordinator dies exit by themselves, too few workers is exit 1 from the CLI, and the
//! coordinator's service refuses callers without the job's token.

mod cluster_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cluster_support::*;
use distml::cluster::{fit_distributed, ClusterEvent};

/// `distml train` on the test table, with `extra` flags, started in `dir`.
fn train(dir: &Path, data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_distml"));
    cmd.args(["train", "--data", data.to_str().unwrap(), "--target", "y"])
        .args(["--numeric", "x1,x2,x3,x4", "--categorical", "zone"])
        .args(extra)
        .current_dir(dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

/// A worker that stops answering (SIGSTOP) after the last round cannot stop the job's end:
/// it is killed by PID once the 5 s grace is over, like every member still running.
#[test]
fn no_member_outlives_its_job_not_even_a_stuck_one() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 5_000);
    let job = job(&data, &[("solver", "normal")]);
    let pids: Arc<Mutex<Vec<u32>>> = Arc::default();
    let seen = pids.clone();
    let mut options = options(2, 1);
    options.events = Some(Arc::new(move |e: &ClusterEvent| match e {
        ClusterEvent::Spawned { pid, .. } => seen.lock().unwrap().push(*pid),
        // The Gram round is the normal solver's only round: freeze a worker right after it.
        ClusterEvent::Iteration { iteration: 1 } => {
            let pids = seen.lock().unwrap();
            signal(*pids.last().unwrap(), "-STOP");
        }
        _ => {}
    }));
    fit_distributed(&job, &options, &|_| {}).unwrap();
    let pids = pids.lock().unwrap().clone();
    assert_eq!(pids.len(), 3, "1 shard and 2 workers were spawned");
    for pid in pids {
        assert!(!alive(pid), "member {pid} outlived its job");
    }
}

/// Members started for a job whose coordinator is killed (SIGKILL: no goodbye) notice the
/// silence and exit by themselves.
#[test]
fn members_exit_when_their_coordinator_dies() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let long = [
        "--workers",
        "2",
        "--solver",
        "sgd",
        "--max-iter",
        "100000",
        "--tol",
        "0",
        "--heartbeat-timeout",
        "2",
        "--valid",
        data.to_str().unwrap(),
    ];
    let mut coordinator = train(dir.path(), &data, &long, &[]);
    let pid = coordinator.id();
    assert!(
        eventually(Duration::from_secs(30), || children_of(pid).len() == 3),
        "the job's 3 members did not start"
    );
    let members = children_of(pid);
    std::thread::sleep(Duration::from_millis(500));
    signal(pid, "-9");
    let _ = coordinator.wait();
    // The 2 s heartbeat timeout, plus an interval and the time to exit, with room for a
    // loaded machine.
    let limit = Duration::from_secs(5);
    let died = std::time::Instant::now();
    assert!(
        eventually(limit, || members.iter().all(|m| !alive(*m))),
        "members {:?} still running {:?} after their coordinator died",
        members.iter().filter(|m| alive(**m)).collect::<Vec<_>>(),
        died.elapsed()
    );
}

/// With `--min-workers 2`, losing one of two workers ends the job: exit code 1 (a fault, not
/// bad input), the message pointing at the checkpoint to resume from.
#[test]
fn fewer_workers_than_min_workers_is_exit_1_from_the_cli() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let ckpt = dir.path().join("ckpt");
    let flags = [
        "--workers",
        "2",
        "--min-workers",
        "2",
        "--solver",
        "sgd",
        "--max-iter",
        "100000",
        "--tol",
        "0",
        "--heartbeat-timeout",
        "2",
        "--checkpoint-dir",
        ckpt.to_str().unwrap(),
        "--checkpoint-every",
        "1",
        "--valid",
        data.to_str().unwrap(),
    ];
    let coordinator = train(dir.path(), &data, &flags, &[]);
    let pid = coordinator.id();
    assert!(
        eventually(Duration::from_secs(60), || ckpt
            .join("checkpoint.json")
            .exists()),
        "no epoch was checkpointed"
    );
    let worker = *children_of(pid).last().unwrap();
    signal(worker, "-9");
    let out = coordinator.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("only 1 of the 2 workers needed are alive"),
        "{stderr}"
    );
    assert!(stderr.contains("--resume"), "{stderr}");
}

/// The coordinator a launcher points members at answers only callers with the job's token.
#[test]
fn the_coordinator_service_requires_the_token() {
    use distml::rpc::auth::Token;
    use distml::rpc::proto::coordinator_client::CoordinatorClient;
    use distml::rpc::proto::{RegisterRequest, Role};

    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 1_000);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let env = [
        ("DISTML_COORDINATOR", address.as_str()),
        ("DISTML_CLUSTER_TOKEN", "the-job-secret"),
    ];
    // A coordinator awaiting members that never come.
    let mut coordinator = train(dir.path(), &data, &["--workers", "1"], &env);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let register = |token: Option<&str>| {
        rt.block_on(async {
            let endpoint =
                tonic::transport::Endpoint::from_shared(format!("http://{address}")).unwrap();
            let channel = loop {
                match endpoint.connect().await {
                    Ok(c) => break c,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            };
            let request = RegisterRequest {
                role: Role::Worker as i32,
                rank: 1,
                address: String::new(),
            };
            match token {
                None => CoordinatorClient::new(channel).register(request).await,
                Some(t) => {
                    let attach = Token::new(t).unwrap().attach();
                    CoordinatorClient::with_interceptor(channel, attach)
                        .register(request)
                        .await
                }
            }
        })
    };
    let refused = register(None).unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let refused = register(Some("a-guess")).unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    register(Some("the-job-secret")).expect("the token opens the door");
    let _ = coordinator.kill();
    let _ = coordinator.wait();
}
