//! The local run store: one directory per run with an append-only `events.jsonl` journal.
//!
//! Layout: `<root>/<local_id>/events.jsonl` (one [`Event`] per line),
//! `<root>/<local_id>/artifacts/...` (copies of logged directories) and
//! `<root>/<local_id>/sync.json` (per server: the remote run and how many events it has).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::TrackingError;
use super::event::Event;

const JOURNAL: &str = "events.jsonl";
const SYNC_STATE: &str = "sync.json";
/// The directory below a run that holds copied artifacts.
pub const ARTIFACTS_DIR: &str = "artifacts";

/// A run store rooted at a directory (default `./distml-runs`).
#[derive(Clone, Debug)]
pub struct Spool {
    root: PathBuf,
}

/// What one server already has of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    /// Experiment id on that server.
    pub experiment_id: String,
    /// Run id on that server.
    pub run_id: String,
    /// The run's artifact root on that server.
    pub artifact_uri: String,
    /// Number of journal events applied there (the next one to send).
    pub events: usize,
}

/// Sync progress of a run, per server URI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// Server URI → progress.
    #[serde(default)]
    pub targets: BTreeMap<String, TargetState>,
}

impl Spool {
    /// A store at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Spool { root: root.into() }
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of one run.
    pub fn run_dir(&self, local_id: &str) -> PathBuf {
        self.root.join(local_id)
    }

    /// The journal file of one run.
    pub fn journal_path(&self, local_id: &str) -> PathBuf {
        self.run_dir(local_id).join(JOURNAL)
    }

    /// Creates the run directory and opens its journal for appending.
    pub fn create_run(&self, local_id: &str) -> Result<JournalWriter, TrackingError> {
        let dir = self.run_dir(local_id);
        fs::create_dir_all(&dir).map_err(|e| TrackingError::io(&dir, e))?;
        JournalWriter::open(self.journal_path(local_id))
    }

    /// Local ids of every run in the store, oldest first.
    pub fn list(&self) -> Result<Vec<String>, TrackingError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TrackingError::io(&self.root, e)),
        };
        let mut runs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| TrackingError::io(&self.root, e))?;
            let journal = entry.path().join(JOURNAL);
            if journal.is_file() {
                let modified = fs::metadata(&journal)
                    .and_then(|m| m.created().or_else(|_| m.modified()))
                    .ok();
                runs.push((modified, entry.file_name().to_string_lossy().into_owned()));
            }
        }
        runs.sort();
        Ok(runs.into_iter().map(|(_, id)| id).collect())
    }

    /// Every complete event of a run's journal.
    pub fn read_events(&self, local_id: &str) -> Result<Vec<Event>, TrackingError> {
        let path = self.journal_path(local_id);
        if !path.is_file() {
            return Err(TrackingError::UnknownRun {
                id: local_id.to_string(),
                root: self.root.clone(),
            });
        }
        JournalReader::new(path).read_new()
    }

    /// The sync progress of a run (empty when never synced).
    pub fn sync_state(&self, local_id: &str) -> Result<SyncState, TrackingError> {
        let path = self.run_dir(local_id).join(SYNC_STATE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| TrackingError::Spool {
                path,
                line: 1,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SyncState::default()),
            Err(e) => Err(TrackingError::io(path, e)),
        }
    }

    /// Records what server `uri` has of a run (atomic replace of `sync.json`).
    pub fn save_target(
        &self,
        local_id: &str,
        uri: &str,
        target: &TargetState,
    ) -> Result<(), TrackingError> {
        let mut state = self.sync_state(local_id)?;
        state.targets.insert(uri.to_string(), target.clone());
        let path = self.run_dir(local_id).join(SYNC_STATE);
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(&state).map_err(|e| TrackingError::Spool {
            path: path.clone(),
            line: 1,
            message: e.to_string(),
        })?;
        fs::write(&tmp, bytes).map_err(|e| TrackingError::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| TrackingError::io(&path, e))
    }

    /// The local id of a run given its local id or a server run id it was synced as.
    pub fn resolve(&self, id: &str) -> Result<String, TrackingError> {
        if !id.is_empty() && !id.contains(['/', '\\']) && self.journal_path(id).is_file() {
            return Ok(id.to_string());
        }
        for local in self.list()? {
            let state = self.sync_state(&local)?;
            if state.targets.values().any(|t| t.run_id == id) {
                return Ok(local);
            }
        }
        Err(TrackingError::UnknownRun {
            id: id.to_string(),
            root: self.root.clone(),
        })
    }
}

/// Appends events to a journal, one JSON line each.
#[derive(Debug)]
pub struct JournalWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl JournalWriter {
    /// Opens (creating) a journal for appending.
    pub fn open(path: PathBuf) -> Result<Self, TrackingError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| TrackingError::io(&path, e))?;
        Ok(JournalWriter {
            path,
            out: BufWriter::new(file),
        })
    }

    /// Buffers one event.
    pub fn append(&mut self, event: &Event) -> Result<(), TrackingError> {
        let mut line = serde_json::to_vec(event).map_err(|e| TrackingError::Spool {
            path: self.path.clone(),
            line: 0,
            message: format!("cannot encode event: {e}"),
        })?;
        line.push(b'\n');
        self.out
            .write_all(&line)
            .map_err(|e| TrackingError::io(&self.path, e))
    }

    /// Writes buffered events to the file.
    pub fn flush(&mut self) -> Result<(), TrackingError> {
        self.out
            .flush()
            .map_err(|e| TrackingError::io(&self.path, e))
    }
}

/// Reads a journal incrementally; an unterminated last line (a crash mid-write) is left for later.
#[derive(Debug)]
pub struct JournalReader {
    path: PathBuf,
    offset: u64,
    line: usize,
}

impl JournalReader {
    /// A reader at the start of the journal.
    pub fn new(path: PathBuf) -> Self {
        JournalReader {
            path,
            offset: 0,
            line: 0,
        }
    }

    /// Number of events read so far.
    pub fn events_read(&self) -> usize {
        self.line
    }

    /// The complete events appended since the last call.
    pub fn read_new(&mut self) -> Result<Vec<Event>, TrackingError> {
        let mut file = File::open(&self.path).map_err(|e| TrackingError::io(&self.path, e))?;
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| TrackingError::io(&self.path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| TrackingError::io(&self.path, e))?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut events = Vec::new();
        for raw in bytes[..complete].split(|&b| b == b'\n') {
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.line += 1;
            let event = serde_json::from_slice(raw).map_err(|e| TrackingError::Spool {
                path: self.path.clone(),
                line: self.line,
                message: e.to_string(),
            })?;
            events.push(event);
        }
        self.offset += complete as u64;
        Ok(events)
    }
}

/// Copies a directory tree into `dest` (created), returning the number of files.
pub fn copy_dir(src: &Path, dest: &Path) -> Result<usize, TrackingError> {
    let mut files = Vec::new();
    super::artifacts::collect_files(src, &mut files)?;
    for file in &files {
        let relative = file.strip_prefix(src).unwrap_or(file);
        let target = dest.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| TrackingError::io(parent, e))?;
        }
        fs::copy(file, &target).map_err(|e| TrackingError::io(file, e))?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::wire::KeyValue;

    #[test]
    fn reader_skips_partial_last_line_until_complete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(dir.path());
        let mut writer = spool.create_run("r1").expect("create");
        writer
            .append(&Event::Param(KeyValue::new("a", "1")))
            .expect("append");
        writer.flush().expect("flush");
        let path = spool.journal_path("r1");
        let mut raw = OpenOptions::new().append(true).open(&path).expect("open");
        raw.write_all(br#"{"type":"param","key":"b","#)
            .expect("partial");
        let mut reader = JournalReader::new(path);
        assert_eq!(reader.read_new().expect("read").len(), 1);
        raw.write_all(b"\"value\":\"2\"}\n").expect("rest");
        let rest = reader.read_new().expect("read");
        assert_eq!(rest, vec![Event::Param(KeyValue::new("b", "2"))]);
        assert_eq!(reader.events_read(), 2);
        assert_eq!(spool.list().expect("list"), vec!["r1".to_string()]);
    }
}
