//! A worker's side of growing trees: each partition it holds binned once (a
//! [`TreePartition`]), kept with the version of the trees it follows; every tree step applied
//! to it and its sums pushed to the shards. A partition the worker does not hold up to date
//! (its first tree task, or one taken over from a lost worker) is rebuilt from the trees so far
//! — the same float operations in the same order, so its state is the lost one's bit for bit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::job::{
    GrownTree, PartOutput, TaskOutput, TreeHistory, TreeSetup, TreeStep, TREE_PUSH_HEAD,
};
use super::worker::{block_of, loaded, pipeline, pushing, Part, State};
use super::ClusterError;
use crate::model::trees::{
    histogram::STRIDE, sources, DataSketch, TreePartition, TreeStart, ValueSketch,
};
use crate::ps::{Contribution, Precision};

/// A held partition and the trees it follows.
pub(crate) struct Slot {
    part: TreePartition,
    setup: Arc<TreeSetup>,
    /// The tree being grown.
    start: Option<TreeStart>,
    /// `(finished trees, a tree started, its splits)`.
    version: (usize, bool, usize),
}

/// The partitions a worker holds for trees.
pub(crate) type Slots = Mutex<HashMap<usize, Slot>>;

/// Each partition's tree features and sketch.
pub(crate) async fn sketch(
    state: &Arc<State>,
    partitions: &[usize],
) -> Result<TaskOutput, ClusterError> {
    let (l, state, pipeline) = (loaded(state)?, state.clone(), pipeline(state)?);
    let partitions = partitions.to_vec();
    let sketched = tokio::task::spawn_blocking(move || {
        // A block at a time per thread, dropped once sketched.
        partitions
            .par_iter()
            .map(|&p| {
                let part = block_of(&state, &l, &pipeline, p)?;
                let sources = sources(pipeline.layout(), &part.0.sparse);
                let sketch = DataSketch::of(&part.0, &sources);
                Ok((p, PartOutput::Sketch(sources, sketch)))
            })
            .collect::<Result<Vec<_>, ClusterError>>()
    })
    .await
    .map_err(|e| ClusterError::Protocol(format!("worker task panicked: {e}")))??;
    Ok(TaskOutput {
        parts: sketched,
        duplicates: 0,
    })
}

/// One tree step on the partitions, which must stand at `version` (rebuilt from `catch_up`
/// where they do not), the sums pushed at `at` (phase, clock).
pub(crate) async fn step(
    state: &Arc<State>,
    partitions: &[usize],
    at: (u64, u64),
    version: (usize, bool, usize),
    step: TreeStep,
    catch_up: Option<Box<TreeHistory>>,
) -> Result<TaskOutput, ClusterError> {
    let l = loaded(state)?;
    let mut slots = take_slots(state, partitions);
    let missing: Vec<usize> = partitions
        .iter()
        .copied()
        .filter(|p| !slots.contains_key(p))
        .collect();
    let stale = |slot: &Slot| slot.version != version;
    let rebuild: Vec<usize> = partitions
        .iter()
        .copied()
        .filter(|p| missing.contains(p) || slots.get(p).is_some_and(stale))
        .collect();
    let pipeline = match rebuild.is_empty() {
        true => None,
        false => Some(pipeline(state)?),
    };
    let (state_, l_) = (state.clone(), l.clone());
    let worked = tokio::task::spawn_blocking(move || -> Result<_, ClusterError> {
        // Each partition made, binned and its block dropped in turn: holding every block
        // while binning would add the blocks' size to the bins'.
        let remade = rebuild
            .par_iter()
            .map(|&p| {
                let history = catch_up.as_deref().ok_or_else(|| {
                    ClusterError::Protocol(format!("partition {p}: no trees to rebuild it from"))
                })?;
                let pipeline = pipeline.as_deref().ok_or(ClusterError::Protocol(
                    "a tree step before the pipeline".into(),
                ))?;
                let part = block_of(&state_, &l_, pipeline, p)?;
                Ok((p, rebuilt(p, &part, history), part.1.clone()))
            })
            .collect::<Result<Vec<_>, ClusterError>>()?;
        let mut info = HashMap::new();
        for (p, slot, part_info) in remade {
            slots.insert(p, slot);
            info.insert(p, part_info);
        }
        let results: Vec<(usize, Vec<f64>, Option<Vec<ValueSketch>>)> = slots
            .par_iter_mut()
            .map(|(p, slot)| {
                let (push, residuals) = apply(slot, &step);
                (*p, push, residuals)
            })
            .collect();
        Ok((slots, results, info))
    })
    .await
    .map_err(|e| ClusterError::Protocol(format!("worker task panicked: {e}")))??;
    let (slots, mut results, info) = worked;
    results.sort_by_key(|r| r.0);
    put_slots(state, slots);
    let contributions: Vec<Contribution<'_>> = results
        .iter()
        .map(|(p, push, _)| Contribution {
            partition: *p as u32,
            weight: 1.0,
            values: push,
        })
        .collect();
    pushing(state).await;
    let pushed = l
        .ps()
        .push(at.0, state.member, at.1, &contributions, Precision::F64)
        .await?;
    let parts = results
        .into_iter()
        .map(|(p, _, residuals)| {
            let out = match residuals {
                Some(r) => PartOutput::Residuals(r),
                None => PartOutput::Pushed(info.get(&p).cloned().unwrap_or_default()),
            };
            (p, out)
        })
        .collect();
    Ok(TaskOutput {
        parts,
        duplicates: pushed.duplicates,
    })
}

/// The slots of `partitions` this worker holds, taken out while a task works on them.
fn take_slots(state: &State, partitions: &[usize]) -> HashMap<usize, Slot> {
    let mut held = state.trees.lock().unwrap_or_else(|e| e.into_inner());
    partitions
        .iter()
        .filter_map(|p| held.remove(p).map(|s| (*p, s)))
        .collect()
}

fn put_slots(state: &State, slots: HashMap<usize, Slot>) {
    let mut held = state.trees.lock().unwrap_or_else(|e| e.into_inner());
    held.extend(slots);
    // Binned, the feature blocks are no longer needed: memory goes to the bins.
    let mut cached = state.blocks.lock().unwrap_or_else(|e| e.into_inner());
    cached.drop_where(|p| held.contains_key(&p));
}

/// Partition `p` binned and brought to `history`'s version by replaying it.
fn rebuilt(p: usize, block: &Part, history: &TreeHistory) -> Slot {
    let setup = Arc::new(history.setup.clone());
    let mut part = TreePartition::new(p, &block.0, &setup.sources, &setup.binning, setup.init);
    for tree in &history.trees {
        replay(&mut part, tree, &setup);
        part.finish_values(&tree.values, &tree.start);
    }
    if let Some(tree) = &history.current {
        replay(&mut part, tree, &setup);
    }
    Slot {
        part,
        setup,
        start: history.current.as_ref().map(|t| t.start),
        version: history.version(),
    }
}

/// Starts a tree and makes its splits on `part`.
fn replay(part: &mut TreePartition, tree: &GrownTree, setup: &TreeSetup) {
    part.start_tree(&tree.start);
    for (leaf, split, right) in &tree.splits {
        part.split(*leaf, split, *right, &setup.binning);
    }
}

/// Applies `step` to a partition: what it pushes, and its leaves' residual sketches if asked.
fn apply(slot: &mut Slot, step: &TreeStep) -> (Vec<f64>, Option<Vec<ValueSketch>>) {
    let setup = slot.setup.clone();
    let (offsets, bins) = setup.binning.offsets();
    let mut push = vec![0.0; TREE_PUSH_HEAD + bins * STRIDE];
    let (mut trees, mut started, mut splits) = slot.version;
    if let Some((leaf, split, right)) = &step.apply {
        slot.part.split(*leaf, split, *right, &setup.binning);
        splits += 1;
    }
    if let (Some(values), Some(start)) = (&step.finish, slot.start) {
        let losses = slot.part.finish_values(values, &start);
        push[0] = losses.loss;
        push[1] = losses.weight;
        (trees, started, splits) = (trees + 1, false, 0);
        slot.start = None;
    }
    if let Some(start) = &step.start {
        let root = slot.part.start_tree(start);
        push[2..5].copy_from_slice(&[root.g, root.h, root.c]);
        (started, splits) = (true, 0);
        slot.start = Some(*start);
    }
    if let Some(leaf) = step.build {
        let hist = slot.part.histogram(leaf, &offsets, bins);
        push[TREE_PUSH_HEAD..].copy_from_slice(&hist.sums);
    }
    let residuals = step.residuals.map(|leaves| {
        (0..leaves)
            .map(|leaf| ValueSketch::of(slot.part.residuals(leaf)))
            .collect()
    });
    slot.version = (trees, started, splits);
    (push, residuals)
}
