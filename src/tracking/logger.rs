//! The background logger of one run: a journal thread (disk) and a shipper thread (network).
//!
//! Training threads only put events on a bounded queue. The journal thread appends them to
//! the run's `events.jsonl` (never waiting on the network), and the shipper tails that journal,
//! coalescing events into log-batch requests. When the server stays down beyond the retry
//! budget the shipper goes offline, probes every [`LoggerOptions::recovery_interval`] and
//! catches up from the journal when it is back; whatever it never ships stays in the store for
//! `distml runs sync`.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::client::MlflowClient;
use super::error::TrackingError;
use super::event::Event;
use super::retry::RetryPolicy;
use super::spool::{JournalReader, JournalWriter, Spool, TargetState};
use super::sync::replay;

/// Tuning knobs of the background logger.
#[derive(Clone, Debug)]
pub struct LoggerOptions {
    /// Events the queue holds before `log_*` calls wait for the disk (not the network).
    pub queue_capacity: usize,
    /// How often pending events are shipped (coalescing window).
    pub flush_interval: Duration,
    /// How often an offline shipper probes the server again.
    pub recovery_interval: Duration,
}

impl Default for LoggerOptions {
    fn default() -> Self {
        LoggerOptions {
            queue_capacity: 16_384,
            flush_interval: Duration::from_millis(500),
            recovery_interval: Duration::from_secs(15),
        }
    }
}

/// A message to the journal thread.
pub(crate) enum Command {
    /// Append an event.
    Event(Event),
    /// Write to disk, ship, then answer; `last` also stops both threads.
    Flush {
        ack: Sender<Result<(), TrackingError>>,
        probe_only: bool,
        last: bool,
    },
}

enum ShipCommand {
    Wake,
    Drain {
        ack: Sender<Result<(), TrackingError>>,
        probe_only: bool,
        last: bool,
    },
}

/// The remote side of a run, when it has one.
pub(crate) struct Remote {
    pub(crate) client: MlflowClient,
    pub(crate) target: TargetState,
}

/// Handles of the two threads and the queue feeding them.
pub(crate) struct Logger {
    tx: SyncSender<Command>,
    threads: Vec<JoinHandle<()>>,
}

impl Logger {
    /// Starts the threads for a run whose journal is open in `writer`.
    pub(crate) fn start(
        spool: Spool,
        local_id: String,
        writer: JournalWriter,
        remote: Option<Remote>,
        options: &LoggerOptions,
    ) -> Result<Self, TrackingError> {
        let (tx, rx) = mpsc::sync_channel(options.queue_capacity.max(1));
        let mut threads = Vec::new();
        let ship_tx = match remote {
            Some(remote) => {
                let (ship_tx, ship_rx) = mpsc::sync_channel(16);
                let shipper = Shipper {
                    reader: JournalReader::new(spool.journal_path(&local_id)),
                    spool,
                    local_id: local_id.clone(),
                    client: remote.client,
                    target: remote.target,
                    pending: Vec::new(),
                    pending_first: 0,
                    offline: false,
                    fatal: None,
                };
                let options = options.clone();
                threads.push(spawn(
                    &format!("distml-ship-{}", short(&local_id)),
                    move || shipper.run(ship_rx, &options),
                )?);
                Some(ship_tx)
            }
            None => None,
        };
        threads.push(spawn(
            &format!("distml-journal-{}", short(&local_id)),
            move || journal_loop(rx, writer, ship_tx),
        )?);
        Ok(Logger { tx, threads })
    }

    /// Queues a command; waits only when the queue is full (for the disk, never the network).
    pub(crate) fn send(&self, command: Command) -> Result<(), TrackingError> {
        self.tx
            .send(command)
            .map_err(|_| TrackingError::LoggerStopped("the journal thread exited".into()))
    }

    /// Writes, ships and waits for the answer; `last` also stops the threads and joins them.
    pub(crate) fn flush(&mut self, probe_only: bool, last: bool) -> Result<(), TrackingError> {
        let (ack, answer) = mpsc::channel();
        self.send(Command::Flush {
            ack,
            probe_only,
            last,
        })?;
        let result = answer.recv().unwrap_or_else(|_| {
            Err(TrackingError::LoggerStopped(
                "a logger thread exited".into(),
            ))
        });
        if last {
            for thread in self.threads.drain(..) {
                if thread.join().is_err() {
                    tracing::error!("a tracking logger thread panicked");
                }
            }
        }
        result
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, TrackingError> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|e| TrackingError::LoggerStopped(format!("cannot start thread {name}: {e}")))
}

fn journal_loop(
    rx: Receiver<Command>,
    mut writer: JournalWriter,
    ship: Option<SyncSender<ShipCommand>>,
) {
    let mut disk_error: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::Event(event) => {
                    if let Err(e) = writer.append(&event) {
                        tracing::error!("tracking journal: {e}");
                        disk_error.get_or_insert(e.to_string());
                    }
                }
                Command::Flush {
                    ack,
                    probe_only,
                    last,
                } => {
                    let flushed = writer.flush();
                    let error = disk_error.clone().or(flushed.err().map(|e| e.to_string()));
                    match (&ship, error) {
                        (_, Some(e)) => {
                            let _ = ack.send(Err(TrackingError::LoggerStopped(format!(
                                "cannot write the run journal: {e}"
                            ))));
                        }
                        (Some(ship), None) => {
                            if ship
                                .send(ShipCommand::Drain {
                                    ack: ack.clone(),
                                    probe_only,
                                    last,
                                })
                                .is_err()
                            {
                                let _ = ack.send(Err(TrackingError::LoggerStopped(
                                    "the shipper thread exited".into(),
                                )));
                            }
                        }
                        (None, None) => {
                            let _ = ack.send(Ok(()));
                        }
                    }
                    if last {
                        return;
                    }
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = writer.flush() {
            disk_error.get_or_insert(e.to_string());
        }
        if let Some(ship) = &ship {
            match ship.try_send(ShipCommand::Wake) {
                Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }
    let _ = writer.flush();
}

/// Tails the journal and applies it to the server.
struct Shipper {
    spool: Spool,
    local_id: String,
    client: MlflowClient,
    target: TargetState,
    reader: JournalReader,
    /// Events read but not yet applied; the first has journal index `pending_first`.
    pending: Vec<Event>,
    pending_first: usize,
    offline: bool,
    fatal: Option<String>,
}

impl Shipper {
    fn run(mut self, rx: Receiver<ShipCommand>, options: &LoggerOptions) {
        let mut dirty = false;
        let mut next_ship = Instant::now() + options.flush_interval;
        loop {
            let wait = next_ship.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(ShipCommand::Wake) => dirty = true,
                Ok(ShipCommand::Drain {
                    ack,
                    probe_only,
                    last,
                }) => {
                    let _ = ack.send(self.ship(probe_only));
                    dirty = false;
                    if last {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.ship(true);
                    return;
                }
            }
            if Instant::now() >= next_ship {
                if (dirty || self.offline) && self.fatal.is_none() {
                    // Errors are logged inside; the data stays in the journal.
                    let _ = self.ship(false);
                    dirty = false;
                }
                let interval = if self.offline {
                    options.recovery_interval
                } else {
                    options.flush_interval
                };
                next_ship = Instant::now() + interval;
            }
        }
    }

    /// Applies everything journaled so far; offline (or `probe_only`) means a single attempt.
    fn ship(&mut self, probe_only: bool) -> Result<(), TrackingError> {
        if let Some(fatal) = &self.fatal {
            return Err(TrackingError::LoggerStopped(fatal.clone()));
        }
        let fresh = self.reader.read_new()?;
        self.pending.extend(fresh);
        if self.pending.is_empty() {
            return Ok(());
        }
        let client = if self.offline || probe_only {
            self.client.with_retry(RetryPolicy::none())
        } else {
            self.client.clone()
        };
        let result = replay(
            &client,
            &self.spool,
            &self.local_id,
            &self.pending,
            self.pending_first,
            &mut self.target,
        );
        let applied = self
            .target
            .events
            .saturating_sub(self.pending_first)
            .min(self.pending.len());
        self.pending.drain(..applied);
        self.pending_first += applied;
        match result {
            Ok(()) => {
                if self.offline {
                    tracing::warn!(
                        "MLflow server {} is reachable again; run {} caught up",
                        self.client.uri(),
                        self.target.run_id
                    );
                    self.offline = false;
                }
                Ok(())
            }
            Err(error) if is_outage(&error) => {
                if !self.offline {
                    tracing::warn!(
                        "MLflow server {} unreachable beyond the retry budget ({error}); run {} continues in the local store {} and will catch up when the server is back (or run `distml runs sync --to {}`)",
                        self.client.uri(),
                        self.target.run_id,
                        self.spool.run_dir(&self.local_id).display(),
                        self.client.uri()
                    );
                    self.offline = true;
                }
                Err(error)
            }
            Err(error) => {
                let message = format!(
                    "stopped sending run {} to {}: {error}; everything is kept in {}",
                    self.target.run_id,
                    self.client.uri(),
                    self.spool.run_dir(&self.local_id).display()
                );
                tracing::error!("{message}");
                self.fatal = Some(message);
                Err(error)
            }
        }
    }
}

/// A failure that may go away by itself (server down, overloaded, restarting).
pub(crate) fn is_outage(error: &TrackingError) -> bool {
    match error {
        TrackingError::Transport { .. } => true,
        TrackingError::Api { status, .. } | TrackingError::Http { status, .. } => {
            matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
        }
        _ => false,
    }
}
