//! The tree sums of a cluster: workers keep their partitions binned and push, for every step of
//! a tree, the sums it needs — root sums, the histogram of the child to build, loss sums — to
//! the parameter-server shards, each merging its range of the vector in partition order (a
//! reduce-scatter); the coordinator pulls the merged vector, derives the sibling's histogram by
//! subtraction and searches the splits exactly as the local trainer does, so the trees are the
//! local trees bit for bit. Validation rows stay on the coordinator, routed alongside.
//!
//! Every answer is recorded; a checkpoint every `--checkpoint-every` trees lets `--resume`
//! replay them without rounds, after which the workers rebuild their partitions from the trees.

use std::collections::VecDeque;

use rayon::prelude::*;

use crate::feature::FeatureLayout;
use crate::merge::tree_reduce;
use crate::model::trees::{
    built_child, histogram::STRIDE, BinTree, Binning, Histogram, LeafHistograms, LossSums, Losses,
    NodeSums, Split, SplitRequest, SplitSearch, TreePartition, TreeStart, ValueSketch,
};
use crate::model::{ModelError, TreeSketches, TreeSums};
use crate::rpc::proto::PullKind;

use super::checkpoint::{Checkpoint, TreeCall};
use super::glm_sums::ClusterSums;
use super::job::{GrownTree, PartOutput, Task, TreeHistory, TreeSetup, TreeStep, TREE_PUSH_HEAD};
use super::options::ClusterEvent;
use super::replay::Replay;
use super::{sgd_driver, ClusterError};

/// The coordinator's state while trees grow.
pub(crate) struct ClusterTrees {
    phase: u64,
    /// The shard generation `phase` belongs to.
    generation: u64,
    clock: u64,
    len: usize,
    search: SplitSearch,
    leaves: LeafHistograms,
    root: NodeSums,
    /// The root's histogram, pulled with the tree's start.
    root_hist: Option<Histogram>,
    /// A split made and not yet applied on the workers (it travels with the next step).
    pending: Option<(usize, Split, usize)>,
    history: TreeHistory,
    /// The worker holding each partition up to date.
    holder: Vec<Option<u64>>,
    valid: Vec<TreePartition>,
}

/// The answers recorded, and those to replay.
#[derive(Default)]
pub(crate) struct TreeLog {
    pub(crate) record: Vec<TreeCall>,
    pub(crate) replay: VecDeque<TreeCall>,
}

impl ClusterSums<'_, '_> {
    fn trees(&mut self) -> Result<&mut ClusterTrees, ClusterError> {
        self.trees
            .as_deref_mut()
            .ok_or(ModelError::Internal("tree sums used before bin()").into())
    }

    /// The next recorded answer, when replaying.
    fn replayed(&mut self) -> Option<TreeCall> {
        self.tree_log.replay.pop_front()
    }

    fn record(&mut self, call: TreeCall) {
        self.tree_log.record.push(call);
    }

    /// One tree step on every partition; returns the shards' merged push and the outputs.
    /// After a lost shard the step runs again in a fresh phase, every partition sent the trees
    /// so far: a worker that applied the step before the loss rebuilds its partitions first.
    fn tree_round(&mut self, step: TreeStep) -> Result<(Vec<f64>, Vec<PartOutput>), ClusterError> {
        let trees = self
            .trees
            .as_deref_mut()
            .ok_or(ModelError::Internal("a tree step before bin()"))?;
        trees.clock += 1;
        let (clock, version) = (trees.clock, trees.history.version());
        let (outputs, pulled) = self.rounds.with_shards(|rounds| {
            if trees.generation != rounds.generation() {
                trees.phase = rounds.aggregate_phase(trees.len, 0)?;
                trees.generation = rounds.generation();
                trees.holder.fill(None);
            }
            let (phase, history, holder) = (trees.phase, &trees.history, &trees.holder);
            let outputs = rounds.round_by(&|worker, parts| Task::Tree {
                partitions: parts.to_vec(),
                phase,
                clock,
                version,
                step: step.clone(),
                catch_up: parts
                    .iter()
                    .any(|p| holder[*p] != Some(worker))
                    .then(|| Box::new(history.clone())),
            })?;
            let pull = rounds.ps.pull(
                phase,
                0,
                clock,
                PullKind::Aggregate,
                trees.len,
                crate::ps::Precision::F64,
            );
            Ok((outputs, rounds.call(pull)?))
        })?;
        for (p, (worker, _)) in outputs.iter().enumerate() {
            trees.holder[p] = Some(*worker);
        }
        advance(&mut trees.history, &step);
        let outputs: Vec<PartOutput> = outputs.into_iter().map(|(_, o)| o).collect();
        self.collect(&outputs);
        Ok((pulled.values, outputs))
    }

    /// Saves the recorded answers every `--checkpoint-every` trees.
    fn checkpoint_trees(&mut self, finished: usize) -> Result<(), ClusterError> {
        let options = self.rounds.options;
        options.emit(ClusterEvent::Iteration {
            iteration: finished,
        });
        if !finished.is_multiple_of(options.checkpoint_every) {
            return Ok(());
        }
        let mut checkpoint = Checkpoint::new(self.fingerprint.clone());
        checkpoint.trees = self.tree_log.record.clone();
        sgd_driver::save(self, &checkpoint)
    }
}

/// The history after `step`: the split made, the tree finished, the next one started.
fn advance(history: &mut TreeHistory, step: &TreeStep) {
    if let (Some(split), Some(tree)) = (&step.apply, history.current.as_mut()) {
        tree.splits.push(split.clone());
    }
    if let Some(values) = &step.finish {
        if let Some(mut tree) = history.current.take() {
            tree.values = values.clone();
            history.trees.push(tree);
        }
    }
    if let Some(start) = step.start {
        history.current = Some(GrownTree {
            start,
            splits: Vec::new(),
            values: Vec::new(),
        });
    }
}

/// The histogram part of a tree push.
fn histogram_of(push: &[f64]) -> Histogram {
    Histogram {
        sums: push[TREE_PUSH_HEAD..].to_vec(),
    }
}

/// Merges per-partition values in the fixed tree the local trainer uses.
fn merged<T: Clone + Send + Sync>(items: &[T], merge: impl Fn(T, T) -> T + Sync) -> Option<T> {
    tree_reduce(items, &|x: &T| x.clone(), &merge)
}

impl TreeSums for ClusterSums<'_, '_> {
    fn sketches(&mut self, _layout: &FeatureLayout) -> Result<TreeSketches, ClusterError> {
        let (sources, sketch) = match self.replayed() {
            Some(TreeCall::Sketches(sources, sketch)) => (sources, sketch),
            Some(_) => {
                return Err(ClusterError::Protocol(
                    "checkpoint out of step: sketches".into(),
                ))
            }
            None => {
                let outputs = self.rounds.round(&|parts| Task::TreeSketch {
                    partitions: parts.to_vec(),
                })?;
                let mut sources = Vec::new();
                let mut sketches = Vec::with_capacity(outputs.len());
                for output in outputs {
                    if let PartOutput::Sketch(s, sketch) = output {
                        if sources.is_empty() {
                            sources = s;
                        }
                        sketches.push(sketch);
                    }
                }
                let sketch = merged(&sketches, |a, b| a.merge(&b)).ok_or(ModelError::EmptyData)?;
                (sources, sketch)
            }
        };
        self.record(TreeCall::Sketches(sources.clone(), sketch.clone()));
        if self.info.rows == 0 {
            self.info.rows = sketch.labels.count() as usize;
        }
        self.tree_sources = sources.clone();
        Ok((sources, sketch))
    }

    fn bin(
        &mut self,
        binning: &Binning,
        init: f64,
        search: &SplitSearch,
    ) -> Result<(), ClusterError> {
        let sources = std::mem::take(&mut self.tree_sources);
        let (_, bins) = binning.offsets();
        let len = TREE_PUSH_HEAD + bins * STRIDE;
        let phase = self
            .rounds
            .with_shards(|rounds| rounds.aggregate_phase(len, 0))?;
        let valid: Vec<TreePartition> = self
            .valid
            .par_iter()
            .enumerate()
            .map(|(i, b)| TreePartition::new(i, b, &sources, binning, init))
            .collect();
        self.trees = Some(Box::new(ClusterTrees {
            phase,
            generation: self.rounds.generation(),
            clock: 0,
            len,
            search: *search,
            leaves: LeafHistograms::new(&binning.features, 0..binning.features.len()),
            root: NodeSums::default(),
            root_hist: None,
            pending: None,
            history: TreeHistory {
                setup: TreeSetup {
                    sources,
                    binning: binning.clone(),
                    init,
                },
                trees: Vec::new(),
                current: None,
            },
            holder: vec![None; self.rounds.partitions],
            valid,
        }));
        Ok(())
    }

    fn start_tree(&mut self, start: &TreeStart) -> Result<NodeSums, ClusterError> {
        let root = match self.replayed() {
            Some(TreeCall::StartTree(root)) => {
                advance(
                    &mut self.trees()?.history,
                    &TreeStep {
                        start: Some(*start),
                        ..Default::default()
                    },
                );
                root
            }
            Some(_) => {
                return Err(ClusterError::Protocol(
                    "checkpoint out of step: a tree's start".into(),
                ))
            }
            None => {
                let step = TreeStep {
                    start: Some(*start),
                    build: Some(0),
                    ..Default::default()
                };
                let (push, _) = self.tree_round(step)?;
                let trees = self.trees()?;
                trees.root_hist = Some(histogram_of(&push));
                NodeSums {
                    g: push[2],
                    h: push[3],
                    c: push[4],
                }
            }
        };
        let trees = self.trees()?;
        trees.root = root;
        trees
            .valid
            .par_iter_mut()
            .for_each(TreePartition::start_routing);
        self.record(TreeCall::StartTree(root));
        Ok(root)
    }

    fn best_splits(
        &mut self,
        requests: &[SplitRequest],
    ) -> Result<Vec<Option<Split>>, ClusterError> {
        let found = match self.replayed() {
            Some(TreeCall::BestSplits(found)) => {
                let trees = self.trees()?;
                if let Some(split) = trees.pending.take() {
                    advance(
                        &mut trees.history,
                        &TreeStep {
                            apply: Some(split),
                            ..Default::default()
                        },
                    );
                }
                found
            }
            Some(_) => {
                return Err(ClusterError::Protocol(
                    "checkpoint out of step: splits".into(),
                ))
            }
            None => {
                let mut found = Vec::new();
                for request in requests {
                    found.extend(self.search(request)?);
                }
                found
            }
        };
        self.record(TreeCall::BestSplits(found.clone()));
        Ok(found)
    }

    fn split(&mut self, leaf: usize, split: &Split, right: usize) -> Result<(), ClusterError> {
        let replaying = !self.tree_log.replay.is_empty();
        let trees = self.trees()?;
        trees.pending = Some((leaf, split.clone(), right));
        if !replaying {
            trees.leaves.split(leaf, split, right);
        }
        let binning = &trees.history.setup.binning;
        trees
            .valid
            .par_iter_mut()
            .for_each(|p| p.split(leaf, split, right, binning));
        Ok(())
    }

    fn leaf_residuals(&mut self, leaves: usize) -> Result<Vec<ValueSketch>, ClusterError> {
        let sketches = match self.replayed() {
            Some(TreeCall::Residuals(sketches)) => {
                let trees = self.trees()?;
                if let Some(split) = trees.pending.take() {
                    advance(
                        &mut trees.history,
                        &TreeStep {
                            apply: Some(split),
                            ..Default::default()
                        },
                    );
                }
                sketches
            }
            Some(_) => {
                return Err(ClusterError::Protocol(
                    "checkpoint out of step: residuals".into(),
                ))
            }
            None => {
                let step = TreeStep {
                    apply: self.trees()?.pending.take(),
                    residuals: Some(leaves),
                    ..Default::default()
                };
                let (_, outputs) = self.tree_round(step)?;
                let per_part: Vec<Vec<ValueSketch>> = outputs
                    .into_iter()
                    .filter_map(|o| match o {
                        PartOutput::Residuals(r) => Some(r),
                        _ => None,
                    })
                    .collect();
                let merge = |a: Vec<ValueSketch>, b: Vec<ValueSketch>| {
                    a.into_iter().zip(&b).map(|(x, y)| x.merge(y)).collect()
                };
                merged(&per_part, merge).unwrap_or_else(|| vec![ValueSketch::default(); leaves])
            }
        };
        self.record(TreeCall::Residuals(sketches.clone()));
        Ok(sketches)
    }

    fn finish_tree(&mut self, tree: &BinTree, start: &TreeStart) -> Result<Losses, ClusterError> {
        let replayed = self.replayed();
        let grown = replayed.is_none();
        let train = match replayed {
            Some(TreeCall::FinishTree(losses)) => {
                let trees = self.trees()?;
                let step = TreeStep {
                    apply: trees.pending.take(),
                    finish: Some(tree.values.clone()),
                    ..Default::default()
                };
                advance(&mut trees.history, &step);
                losses.train
            }
            Some(_) => {
                return Err(ClusterError::Protocol(
                    "checkpoint out of step: a tree's end".into(),
                ))
            }
            None => {
                let step = TreeStep {
                    apply: self.trees()?.pending.take(),
                    finish: Some(tree.values.clone()),
                    ..Default::default()
                };
                let (push, _) = self.tree_round(step)?;
                LossSums {
                    loss: push[0],
                    weight: push[1],
                }
                .mean()
                .unwrap_or(f64::NAN)
            }
        };
        let trees = self.trees()?;
        let valid: Vec<LossSums> = trees
            .valid
            .par_iter_mut()
            .map(|p| p.finish_tree(tree, start))
            .collect();
        let losses = Losses {
            train,
            valid: merged(&valid, LossSums::plus).and_then(LossSums::mean),
        };
        let finished = trees.history.trees.len();
        self.record(TreeCall::FinishTree(losses));
        if grown {
            self.checkpoint_trees(finished)?;
        }
        Ok(losses)
    }
}

impl ClusterSums<'_, '_> {
    /// The best splits of one request: the root from the histogram pulled with the tree's
    /// start; children after a round that applies the pending split and pushes the histogram
    /// of the child to build (none when neither may split).
    fn search(&mut self, request: &SplitRequest) -> Result<Vec<Option<Split>>, ClusterError> {
        match request {
            SplitRequest::Root { features } => {
                let trees = self.trees()?;
                let hist = trees.root_hist.take().ok_or(ModelError::Internal(
                    "a root search before the tree's start",
                ))?;
                trees.leaves.root(hist, trees.root);
                let features_bins = &trees.history.setup.binning.features;
                Ok(vec![trees.leaves.best(
                    0,
                    features_bins,
                    features,
                    &trees.search,
                )])
            }
            SplitRequest::Children {
                left,
                right,
                left_features,
                right_features,
            } => {
                let (l, r) = (*left, *right);
                let trees = self.trees()?;
                let closed = left_features.is_empty() && right_features.is_empty();
                let build = match built_child(trees.leaves.sums(l), trees.leaves.sums(r)) {
                    true => l,
                    false => r,
                };
                let step = TreeStep {
                    apply: trees.pending.take(),
                    build: (!closed).then_some(build),
                    ..Default::default()
                };
                let (push, _) = self.tree_round(step)?;
                let trees = self.trees()?;
                if let Some(tree) = &trees.history.current {
                    let event = ClusterEvent::TreeSplit {
                        tree: trees.history.trees.len() + 1,
                        split: tree.splits.len(),
                    };
                    self.rounds.options.emit(event);
                }
                let trees = self.trees()?;
                if closed {
                    trees.leaves.close(l);
                    return Ok(vec![None, None]);
                }
                trees.leaves.children(l, r, histogram_of(&push));
                let bins = &trees.history.setup.binning.features;
                Ok(vec![
                    trees.leaves.best(l, bins, left_features, &trees.search),
                    trees.leaves.best(r, bins, right_features, &trees.search),
                ])
            }
        }
    }
}

/// The replaying wrapper defers to the cluster's sums, which replay and record trees themselves.
impl TreeSums for Replay<'_, '_, '_> {
    fn sketches(&mut self, layout: &FeatureLayout) -> Result<TreeSketches, ClusterError> {
        self.inner().sketches(layout)
    }
    fn bin(
        &mut self,
        binning: &Binning,
        init: f64,
        search: &SplitSearch,
    ) -> Result<(), ClusterError> {
        self.inner().bin(binning, init, search)
    }
    fn start_tree(&mut self, start: &TreeStart) -> Result<NodeSums, ClusterError> {
        self.inner().start_tree(start)
    }
    fn best_splits(
        &mut self,
        requests: &[SplitRequest],
    ) -> Result<Vec<Option<Split>>, ClusterError> {
        self.inner().best_splits(requests)
    }
    fn split(&mut self, leaf: usize, split: &Split, right: usize) -> Result<(), ClusterError> {
        self.inner().split(leaf, split, right)
    }
    fn leaf_residuals(&mut self, leaves: usize) -> Result<Vec<ValueSketch>, ClusterError> {
        self.inner().leaf_residuals(leaves)
    }
    fn finish_tree(&mut self, tree: &BinTree, start: &TreeStart) -> Result<Losses, ClusterError> {
        self.inner().finish_tree(tree, start)
    }
}
