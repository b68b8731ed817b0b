//! Checkpoints of a distributed fit: the solver's trajectory so far, written atomically every
//! K iterations. L-BFGS keeps every point it evaluated with the summed loss and gradient there,
//! so a resumed fit replays the same steps without touching the data and ends with the same
//! model ([`super::replay`]); trees keep every answer the learner got up to the last saved
//! tree, replayed the same way before the workers rebuild their partitions from them; SGD
//! keeps the parameters and the shards' Adam moments after the last finished epoch, so a
//! resumed BSP fit takes the very steps the uninterrupted one would have.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ClusterError, ClusterJob};
use crate::model::glm::BlockGradient;
use crate::model::trees::{DataSketch, Losses, NodeSums, Source, Split, ValueSketch};

const FILE: &str = "checkpoint.json";
const FORMAT: &str = "distml-cluster-checkpoint-3";

/// One gradient round: the point (coefficients, then the intercept) and the sums there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Evaluation {
    pub(crate) point: Vec<f64>,
    pub(crate) sum: BlockGradient,
}

/// SGD progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SgdState {
    /// The next epoch to run.
    pub(crate) epoch: u64,
    pub(crate) u: Vec<f64>,
    pub(crate) history: Vec<f64>,
    /// Adam's moment estimates and step count (whole vectors, gathered from the shards).
    pub(crate) first_moment: Vec<f64>,
    pub(crate) second_moment: Vec<f64>,
    pub(crate) steps: u64,
}

/// One answer of the cluster's tree sums, as the learner received it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum TreeCall {
    /// The tree features and the merged sketch.
    Sketches(Vec<(Source, String)>, DataSketch),
    /// A tree's root sums.
    StartTree(NodeSums),
    /// Leaves' best splits.
    BestSplits(Vec<Option<Split>>),
    /// Leaves' residual sketches.
    Residuals(Vec<ValueSketch>),
    /// The losses after a tree.
    FinishTree(Losses),
}

/// What is saved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    format: String,
    fingerprint: String,
    pub(crate) evaluations: Vec<Evaluation>,
    pub(crate) sgd: Option<SgdState>,
    /// Trees: every answer the learner received, up to the last saved tree.
    #[serde(default)]
    pub(crate) trees: Vec<TreeCall>,
}

/// Identifies the job a checkpoint belongs to: what changes the trajectory (data, pipeline,
/// learner, partitions), not where outputs go.
pub(crate) fn fingerprint(job: &ClusterJob, partitions: usize) -> String {
    let text = serde_json::to_string(&(job, partitions)).unwrap_or_default();
    // FNV-1a: stable across builds and platforms (std's hasher is not).
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

impl Checkpoint {
    pub(crate) fn new(fingerprint: String) -> Self {
        Checkpoint {
            format: FORMAT.into(),
            fingerprint,
            ..Default::default()
        }
    }

    /// The same job's checkpoint with no progress (to refill while replaying this one).
    pub(crate) fn emptied(&self) -> Self {
        Checkpoint::new(self.fingerprint.clone())
    }

    pub(crate) fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// Loads the checkpoint of this job from `dir`; one of another job is refused.
    pub(crate) fn load(dir: &Path, fingerprint: &str) -> Result<Option<Self>, ClusterError> {
        let path = Self::path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ClusterError::Io { path, source }),
        };
        let saved: Checkpoint =
            serde_json::from_slice(&bytes).map_err(|e| ClusterError::Checkpoint {
                path: path.clone(),
                message: format!("unreadable: {e}"),
            })?;
        if saved.format != FORMAT {
            return Err(ClusterError::Checkpoint {
                path,
                message: format!("format '{}' is not '{FORMAT}'", saved.format),
            });
        }
        if saved.fingerprint != fingerprint {
            return Err(ClusterError::Checkpoint {
                path,
                message: "written by a different job (data, features, learner or partitions \
                          differ): remove it or point --checkpoint-dir elsewhere"
                    .into(),
            });
        }
        Ok(Some(saved))
    }

    /// Writes to `dir` (created if needed) via a temporary file and a rename, so a crash never
    /// leaves a torn checkpoint.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), ClusterError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ClusterError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = Self::path(dir);
        let tmp = dir.join(format!("{FILE}.tmp"));
        let text = serde_json::to_vec(self).map_err(|e| ClusterError::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_refuses_another_job() {
        let dir = tempfile::tempdir().unwrap();
        let job = ClusterJob {
            data: vec!["a.csv".into()],
            partitions: None,
            pipeline: crate::feature::presets::taxi(),
            learner: crate::model::Learner::new("ridge".parse().unwrap()),
            valid: Vec::new(),
        };
        let fp = fingerprint(&job, 4);
        assert_ne!(fp, fingerprint(&job, 5));
        let mut c = Checkpoint::new(fp.clone());
        c.evaluations.push(Evaluation {
            point: vec![0.1, -2.0],
            sum: BlockGradient {
                loss: 1.5,
                weight: 2.0,
                grad: ndarray::array![3.0],
                grad_intercept: 0.25,
            },
        });
        c.save(dir.path()).unwrap();
        assert_eq!(Checkpoint::load(dir.path(), &fp).unwrap(), Some(c));
        let err = Checkpoint::load(dir.path(), "other").unwrap_err();
        assert!(err.is_user_error() && err.to_string().contains("different job"));
        assert_eq!(
            Checkpoint::load(&dir.path().join("none"), &fp).unwrap(),
            None
        );
    }
}
