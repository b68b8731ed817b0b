//! `--replicas N`: N server processes of this same executable sharing one port
//! (`SO_REUSEPORT`: the kernel spreads connections over them) under a supervisor that restarts
//! a replica that dies and, on SIGTERM, passes the signal on and waits for them to drain.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::server::{shared_socket, terminated, ServeOptions};
use super::ServeError;

/// A replica that dies this soon after it started counts as failing to start.
const EARLY_EXIT: Duration = Duration::from_secs(2);

/// Replicas failing to start this many times in a row stop the supervisor.
const MAX_EARLY_EXITS: usize = 5;

/// Runs `replicas` server processes on `options.addr` until SIGTERM; `on_listening` is told
/// the shared address, `on_restart` each restart.
pub fn supervise(
    options: &ServeOptions,
    replicas: usize,
    on_listening: &dyn Fn(SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Io(format!("runtime: {e}")))?;
    runtime.block_on(async {
        // The port is held (bound, not listening) so a port of 0 names one port for all.
        let holder = shared_socket(options.addr)?;
        let addr = holder
            .local_addr()
            .map_err(|e| ServeError::Io(e.to_string()))?;
        let program = std::env::current_exe().map_err(|e| ServeError::Io(e.to_string()))?;
        let start = |i: usize| spawn_replica(&program, options, addr, i);
        let mut children: Vec<(Child, Instant)> = Vec::new();
        for i in 0..replicas {
            children.push((start(i)?, Instant::now()));
        }
        for (child, _) in &mut children {
            await_listening(child).await?;
        }
        on_listening(addr);
        let mut early_exits = 0;
        let stop = terminated();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            for (i, (child, started)) in children.iter_mut().enumerate() {
                let Ok(Some(status)) = child.try_wait() else {
                    continue;
                };
                early_exits = if started.elapsed() < EARLY_EXIT {
                    early_exits + 1
                } else {
                    0
                };
                if early_exits >= MAX_EARLY_EXITS {
                    stop_all(&mut children, options.drain_timeout);
                    return Err(ServeError::Io(format!(
                        "replicas keep exiting at start (last: {status})"
                    )));
                }
                eprintln!("replica {i} exited ({status}); restarting it");
                *child = start(i)?;
                *started = Instant::now();
            }
        }
        stop_all(&mut children, options.drain_timeout);
        drop(holder);
        Ok(())
    })
}

/// Waits until a replica says it listens (its one stdout line), at most 60 s.
async fn await_listening(child: &mut Child) -> Result<(), ServeError> {
    let Some(stdout) = child.stdout.take() else {
        return Ok(());
    };
    let read = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map(|n| n > 0)
    });
    match tokio::time::timeout(Duration::from_secs(60), read).await {
        Ok(Ok(Ok(true))) => Ok(()),
        _ => Err(ServeError::Io(
            "a replica did not start listening within 60 s".into(),
        )),
    }
}

fn spawn_replica(
    program: &PathBuf,
    options: &ServeOptions,
    addr: SocketAddr,
    i: usize,
) -> Result<Child, ServeError> {
    let mut command = Command::new(program);
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2),
    // which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            // A replica ends with its supervisor, however the supervisor ends.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    command
        .arg("serve")
        .arg("--model")
        .arg(&options.model)
        .args([
            "--host",
            &addr.ip().to_string(),
            "--port",
            &addr.port().to_string(),
        ])
        .args(["--max-body-bytes", &options.max_body.to_string()])
        .args([
            "--drain-timeout",
            &options.drain_timeout.as_secs_f64().to_string(),
        ])
        .args(["--model-name", &options.name])
        .arg("--replica");
    if let Some(version) = &options.version {
        command.args(["--served-version", version]);
    }
    if let Some(reload) = &options.reload {
        command
            .args(["--follow", &reload.text])
            .args(["--reload-every", &reload.every.as_secs_f64().to_string()])
            .args(["--tracking-uri", reload.fetcher.tracking_uri()]);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| ServeError::Io(format!("cannot start replica {i}: {e}")))
}

/// SIGTERM to every replica, then up to the drain timeout (and a second) for them to exit;
/// the rest are killed by PID.
fn stop_all(children: &mut [(Child, Instant)], drain: Duration) {
    for (child, _) in children.iter() {
        // SAFETY: kill(2) on a child's PID has no memory-safety preconditions.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + drain + Duration::from_secs(1);
    for (child, _) in children.iter_mut() {
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}
