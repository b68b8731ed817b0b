//! The resume state: one JSON line per trial result as it completes, so `--resume` skips
//! what an interrupted sweep already finished.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::trial::{TrialResult, TrialStatus};
use super::TuneError;

/// An append-only file of trial results keyed by `name@budget`.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    done: HashMap<String, TrialResult>,
    lock: Mutex<()>,
}

/// The key of a trial result: its name and iteration budget.
pub fn key(name: &str, budget: usize) -> String {
    format!("{name}@{budget}")
}

impl StateFile {
    /// Opens `path`; with `resume` its finished results are loaded, otherwise it is truncated.
    pub fn open(path: &Path, resume: bool) -> Result<Self, TuneError> {
        let err = |e: &dyn std::fmt::Display| TuneError::State {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut done = HashMap::new();
        if resume && path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| err(&e))?;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                // A torn last line (the sweep was killed mid-write) is skipped.
                if let Ok(r) = serde_json::from_str::<TrialResult>(line) {
                    if r.status != TrialStatus::Failed {
                        done.insert(key(&r.name, r.budget), r);
                    }
                }
            }
        } else {
            std::fs::write(path, "").map_err(|e| err(&e))?;
        }
        Ok(StateFile {
            path: path.to_path_buf(),
            done,
            lock: Mutex::new(()),
        })
    }

    /// A result recorded by an earlier run of the sweep.
    pub fn finished(&self, name: &str, budget: usize) -> Option<&TrialResult> {
        self.done.get(&key(name, budget))
    }

    /// Number of results loaded for resuming.
    pub fn loaded(&self) -> usize {
        self.done.len()
    }

    /// Appends a result (one line, flushed).
    pub fn record(&self, result: &TrialResult) -> Result<(), TuneError> {
        let err = |e: &dyn std::fmt::Display| TuneError::State {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let line = serde_json::to_string(result).map_err(|e| err(&e))?;
        let _guard = self.lock.lock().map_err(|_| err(&"state lock poisoned"))?;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| err(&e))?;
        writeln!(f, "{line}").map_err(|e| err(&e))?;
        f.sync_data().map_err(|e| err(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_reloads_finished_trials_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.jsonl");
        let state = StateFile::open(&path, false).unwrap();
        let mut r = TrialResult {
            index: 0,
            name: "reg=0".into(),
            params: Default::default(),
            metric: Some(1.0),
            std: Some(0.0),
            fold_scores: vec![1.0],
            metrics: Default::default(),
            iterations: 1,
            budget: 100,
            status: TrialStatus::Finished,
            run_id: None,
            error: None,
            seconds: 0.1,
            learning_curve: vec![],
        };
        state.record(&r).unwrap();
        r.name = "reg=1".into();
        r.status = TrialStatus::Failed;
        state.record(&r).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        let again = StateFile::open(&path, true).unwrap();
        assert_eq!(again.loaded(), 1);
        assert!(again.finished("reg=0", 100).is_some());
        assert!(again.finished("reg=1", 100).is_none());
        assert_eq!(StateFile::open(&path, false).unwrap().loaded(), 0);
    }
}
