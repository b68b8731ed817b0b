//! Replaying a run's journal into an MLflow server, exactly once per server.
//!
//! Progress per server is kept in the run's `sync.json`; creates are keyed by the
//! `distml.run_key` tag and metric timestamps are fixed in the journal, so replaying
//! an event twice (a crash between a request and saving progress) adds nothing.

use serde::Serialize;

use super::artifacts::upload_dir;
use super::batch::{Batch, Entry};
use super::client::{MlflowClient, NewRun};
use super::error::TrackingError;
use super::event::{Event, ParentRef, RunStart, RUN_KEY_TAG};
use super::spool::{Spool, TargetState, ARTIFACTS_DIR};
use super::wire::KeyValue;

/// How deep a chain of not-yet-synced parents may be.
const MAX_PARENT_DEPTH: usize = 8;

/// What one `runs sync` did for one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncOutcome {
    /// The run's local id.
    pub local_id: String,
    /// The run id on the server.
    pub run_id: String,
    /// The server.
    pub uri: String,
    /// Events sent by this call (0 when the server already had everything).
    pub events_sent: usize,
    /// Events in the journal.
    pub events_total: usize,
}

/// Replays every run of the store (parents before children) into the client's server.
pub fn sync_all(client: &MlflowClient, spool: &Spool) -> Result<Vec<SyncOutcome>, TrackingError> {
    parents_first(spool, spool.list()?)
        .iter()
        .map(|id| sync_run(client, spool, id))
        .collect()
}

/// Orders local run ids so that every parent comes before its children: a child synced first
/// would replay its parent on its behalf, and the parent's own outcome would report nothing.
pub fn parents_first(spool: &Spool, ids: Vec<String>) -> Vec<String> {
    let mut ordered: Vec<(usize, String)> = ids
        .into_iter()
        .map(|id| (nesting_depth(spool, &id, 0), id))
        .collect();
    ordered.sort_by_key(|(depth, _)| *depth);
    ordered.into_iter().map(|(_, id)| id).collect()
}

/// How many local ancestors a run has (0 for a root run or an unreadable journal).
fn nesting_depth(spool: &Spool, local_id: &str, seen: usize) -> usize {
    if seen > MAX_PARENT_DEPTH {
        return seen;
    }
    let parent = spool
        .read_events(local_id)
        .ok()
        .and_then(|events| match events.first() {
            Some(Event::Start(start)) => start.parent.as_ref().and_then(|p| {
                let id = p.local_id.clone().unwrap_or_else(|| p.run_id.clone());
                spool.journal_path(&id).is_file().then_some(id)
            }),
            _ => None,
        });
    match parent {
        Some(parent) => 1 + nesting_depth(spool, &parent, seen + 1),
        None => 0,
    }
}

/// Replays one run into the client's server; a second call sends nothing.
pub fn sync_run(
    client: &MlflowClient,
    spool: &Spool,
    local_id: &str,
) -> Result<SyncOutcome, TrackingError> {
    sync_run_at_depth(client, spool, local_id, 0)
}

fn sync_run_at_depth(
    client: &MlflowClient,
    spool: &Spool,
    local_id: &str,
    depth: usize,
) -> Result<SyncOutcome, TrackingError> {
    let events = spool.read_events(local_id)?;
    let Some(Event::Start(start)) = events.first() else {
        return Err(TrackingError::Spool {
            path: spool.journal_path(local_id),
            line: 1,
            message: "the journal does not begin with a start record".into(),
        });
    };
    let mut target = ensure_remote_run(client, spool, start, depth)?;
    let before = target.events;
    replay(client, spool, local_id, &events, 0, &mut target)?;
    Ok(SyncOutcome {
        local_id: local_id.to_string(),
        run_id: target.run_id,
        uri: client.uri().to_string(),
        events_sent: target.events.saturating_sub(before),
        events_total: events.len(),
    })
}

/// The server's copy of a run: from `sync.json`, else found by run key, else created (once).
pub fn ensure_remote_run(
    client: &MlflowClient,
    spool: &Spool,
    start: &RunStart,
    depth: usize,
) -> Result<TargetState, TrackingError> {
    if let Some(target) = spool.sync_state(&start.local_id)?.targets.get(client.uri()) {
        return Ok(target.clone());
    }
    let experiment = client.get_or_create_experiment(&start.experiment)?;
    let mut tags = start.tags.clone();
    tags.retain(|t| t.key != RUN_KEY_TAG && t.key != "mlflow.parentRunId");
    tags.push(KeyValue::new(RUN_KEY_TAG, start.local_id.clone()));
    if let Some(parent) = &start.parent {
        let parent_id = parent_run_id(client, spool, parent, depth)?;
        tags.push(KeyValue::new("mlflow.parentRunId", parent_id));
    }
    let new_run = NewRun {
        experiment_id: experiment.experiment_id.clone(),
        run_name: start.run_name.clone(),
        start_time: start.start_time,
        user_id: start.user.clone(),
        tags,
    };
    let info = client.create_run_once(&new_run, RUN_KEY_TAG, &start.local_id)?;
    let target = TargetState {
        experiment_id: info.experiment_id,
        run_id: info.run_id,
        artifact_uri: info.artifact_uri,
        events: 1,
    };
    spool.save_target(&start.local_id, client.uri(), &target)?;
    Ok(target)
}

/// The parent's run id on this server, syncing a local parent first when needed.
fn parent_run_id(
    client: &MlflowClient,
    spool: &Spool,
    parent: &ParentRef,
    depth: usize,
) -> Result<String, TrackingError> {
    if let Some(local) = &parent.local_id {
        if spool.journal_path(local).is_file() {
            if let Some(t) = spool.sync_state(local)?.targets.get(client.uri()) {
                return Ok(t.run_id.clone());
            }
            if depth < MAX_PARENT_DEPTH {
                return Ok(sync_run_at_depth(client, spool, local, depth + 1)?.run_id);
            }
        }
    }
    Ok(parent.run_id.clone())
}

/// Sends `events` (journal indices `first..`) that the server lacks, saving progress as it goes.
pub fn replay(
    client: &MlflowClient,
    spool: &Spool,
    local_id: &str,
    events: &[Event],
    first: usize,
    target: &mut TargetState,
) -> Result<(), TrackingError> {
    let uri = client.uri().to_string();
    let mut batch = Batch::default();
    let flush = |batch: &mut Batch, upto: usize, target: &mut TargetState| {
        if !batch.is_empty() {
            client.log_batch(&target.run_id, &batch.metrics, &batch.params, &batch.tags)?;
            *batch = Batch::default();
        }
        if upto > target.events {
            target.events = upto;
            spool.save_target(local_id, &uri, target)?;
        }
        Ok::<(), TrackingError>(())
    };
    for (offset, event) in events.iter().enumerate() {
        let index = first + offset;
        if index < target.events {
            continue;
        }
        let entry = match event {
            Event::Start(_) => None,
            Event::Metric(m) => Some(Entry::Metric(m.clone())),
            Event::Param(p) => Some(Entry::Param(p.clone())),
            Event::Tag(t) => Some(Entry::Tag(t.clone())),
            Event::Input(_) | Event::Artifacts { .. } | Event::End { .. } => None,
        };
        if let Some(entry) = entry {
            if !batch.try_add(&entry) {
                flush(&mut batch, index, target)?;
                batch.try_add(&entry);
            }
            continue;
        }
        flush(&mut batch, index, target)?;
        match event {
            Event::Input(input) => {
                client.log_inputs(&target.run_id, std::slice::from_ref(input))?
            }
            Event::Artifacts { artifact_path } => {
                let dir = spool
                    .run_dir(local_id)
                    .join(ARTIFACTS_DIR)
                    .join(artifact_path);
                upload_dir(client, &target.artifact_uri, &dir, artifact_path)?;
            }
            Event::End { status, end_time } => {
                client.update_run(&target.run_id, *status, Some(*end_time))?
            }
            _ => {}
        }
        flush(&mut batch, index + 1, target)?;
    }
    flush(&mut batch, first + events.len(), target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::config::TrackingConfig;
    use crate::tracking::retry::RetryPolicy;
    use crate::tracking::test_double::{serve, Reply};
    use crate::tracking::wire::{Metric, RunStatus};

    fn journal(spool: &Spool) -> Vec<Event> {
        let start = RunStart {
            local_id: "r1".into(),
            experiment: "e".into(),
            run_name: None,
            start_time: 1,
            user: "u".into(),
            tags: Vec::new(),
            parent: None,
        };
        let metric = |step| {
            Event::Metric(Metric {
                key: "loss".into(),
                value: step as f64,
                timestamp: 100 + step,
                step,
            })
        };
        let events = vec![
            Event::Start(start),
            metric(0),
            metric(1),
            metric(2),
            Event::End {
                status: RunStatus::Finished,
                end_time: 9,
            },
        ];
        let mut writer = spool.create_run("r1").expect("create");
        for e in &events {
            writer.append(e).expect("append");
        }
        writer.flush().expect("flush");
        events
    }

    fn client(uri: &str) -> MlflowClient {
        let config = TrackingConfig {
            retry: RetryPolicy::none(),
            ..TrackingConfig::default()
        };
        MlflowClient::new(uri, &config).expect("client")
    }

    #[test]
    fn replay_resumes_after_the_last_applied_event_and_then_sends_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path());
        journal(&spool);
        let (uri, seen) = serve(vec![Reply::json(200, "{}"), Reply::json(200, "{}")]);
        let target = TargetState {
            experiment_id: "1".into(),
            run_id: "remote".into(),
            artifact_uri: "mlflow-artifacts:/1/remote/artifacts".into(),
            events: 2, // start and step 0 are already on the server
        };
        spool.save_target("r1", &uri, &target).expect("save");
        let outcome = sync_run(&client(&uri), &spool, "r1").expect("sync");
        assert_eq!((outcome.events_sent, outcome.events_total), (3, 5));
        {
            let seen = seen.lock().expect("log");
            assert_eq!(seen.len(), 2);
            let batch: serde_json::Value = serde_json::from_str(&seen[0].body).expect("json");
            let steps: Vec<i64> = batch["metrics"]
                .as_array()
                .expect("metrics")
                .iter()
                .filter_map(|m| m["step"].as_i64())
                .collect();
            assert_eq!(steps, [1, 2]);
            assert!(seen[1].path.ends_with("/runs/update"));
        }
        assert_eq!(
            spool.sync_state("r1").expect("state").targets[&uri].events,
            5
        );
        // The test double is gone now: a second sync must not need the network at all.
        let again = sync_run(&client(&uri), &spool, "r1").expect("nothing to send");
        assert_eq!(again.events_sent, 0);
    }
}
