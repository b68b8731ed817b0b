//! The shared work of a sweep, done once: read the inputs, divide the rows into folds, fit the
//! feature pipeline on all rows and once per fold (sharing each fold's summaries), and
//! transform every fold's rows.

use std::collections::BTreeMap;
use std::time::Instant;

use arrow_array::RecordBatch;

use crate::data::DataSource;
use crate::feature::{
    FeatureBlock, FeatureError, FittedPipeline, PartedRows, PipelineSpec, Transformed,
};
use crate::model::glm::{GramSummary, NormalEquations, NORMAL_MAX_FEATURES};
use crate::model::Family;
use crate::train::job::{HOLDOUT_FRACTION, HOLDOUT_SEED};
use crate::train::split::{assign_parts, RowSplit};
use crate::train::{pipeline_spec, JobConfig, JobError};

use super::folds::{gram_statistics, Fold};

/// Features computed once and shared by every trial.
#[derive(Debug)]
pub struct Prepared {
    /// The pipeline, fitted on all `--data` rows (swept params never touch it).
    pub pipeline: FittedPipeline,
    /// All training rows (the refit uses them).
    pub train: Vec<FeatureBlock>,
    /// Their normal equations, when the folds' statistics were summed from shared parts.
    pub train_normal: Option<NormalEquations>,
    /// `--valid` rows, if given.
    pub valid: Option<Vec<FeatureBlock>>,
    /// The folds trials are scored on.
    pub folds: Vec<Fold>,
    /// How the folds were made.
    pub validation: String,
    /// Rows dropped by the pipeline, per reason.
    pub rows_dropped: BTreeMap<String, u64>,
    /// Seconds opening the inputs.
    pub open_seconds: f64,
    /// Seconds fitting and transforming features and cutting folds.
    pub feature_seconds: f64,
}

/// Prepares `config`'s data: `folds` k-fold CV on `--data` (stratified when `stratify`), else
/// `--valid` as the one validation set, else a seeded 20% hold-out of `--data`.
/// `shared_gram`: every trial solves least squares of this family from Gram statistics, so
/// folds whose pipelines only relabel the whole pipeline's features may share its transform.
pub fn prepare(
    config: &JobConfig,
    folds: Option<usize>,
    seed: u64,
    stratify: bool,
    shared_gram: Option<Family>,
) -> Result<Prepared, JobError> {
    let started = Instant::now();
    let (source, valid_source) = config.data.open()?;
    let open_seconds = started.elapsed().as_secs_f64();
    let phase = Instant::now();
    let split = split_of(folds, valid_source.is_some(), seed)?;
    let spec = pipeline_spec(
        &config.features,
        &source,
        config.learner.params.native_categories(),
    )?;
    // The projected raw columns are read once; every fit and transform runs from memory.
    let raw = read_raw(&spec, &source)?;
    tracing::debug!(
        seconds = phase.elapsed().as_secs_f64(),
        "tune: raw columns read"
    );
    // Stratify on the label when it is a raw column (a generic table's target).
    let label = &spec.check()?.label_col;
    let raw_label = (stratify && spec.input_columns().contains(label)).then_some(label.as_str());
    let (parts, count, held) = divide(&raw, split, raw_label);
    // Each part goes through the stateless stages once and is summarised once: the full fit
    // and every fold's fit (on the other folds' rows: no leakage) merge the parts' summaries.
    let parted = spec.parted(&raw, &parts, count)?;
    drop(raw);
    tracing::debug!(
        seconds = phase.elapsed().as_secs_f64(),
        "tune: rows divided into parts"
    );
    let full = parted.fit_without(None)?;
    tracing::debug!(
        seconds = phase.elapsed().as_secs_f64(),
        "tune: pipeline fitted on all rows"
    );
    let pipeline = full.pipeline;
    check_rows(&full.parts, count)?;
    let (folds, train_normal) =
        folds_of(&spec, &parted, &pipeline, &full.parts, &held, shared_gram)?;
    tracing::debug!(
        seconds = phase.elapsed().as_secs_f64(),
        "tune: fold pipelines fitted"
    );
    let train = concat(full.parts);
    let valid = match &valid_source {
        Some(s) => Some(pipeline.transform_source(s, &|| {})?.blocks),
        None => None,
    };
    let mut fold_list = folds;
    let validation = describe(split, raw_label.is_some());
    if let (None, Some(v)) = (split, &valid) {
        fold_list.push(Fold::new(train.blocks.clone(), v.clone()));
    }
    Ok(Prepared {
        pipeline,
        train_normal,
        rows_dropped: train.dropped.0.clone(),
        train: train.blocks,
        valid,
        folds: fold_list,
        validation,
        open_seconds,
        feature_seconds: phase.elapsed().as_secs_f64(),
    })
}

/// Every raw row's part (its fold, or 1 for the hold-out), the number of parts, and the parts
/// held out in turn.
fn divide(
    raw: &[RecordBatch],
    split: Option<RowSplit>,
    raw_label: Option<&str>,
) -> (Vec<Vec<u8>>, usize, Vec<u8>) {
    match split {
        Some(kfold @ RowSplit::KFold { k, .. }) => (
            assign_parts(raw, kfold, raw_label),
            k,
            (0..k as u8).collect(),
        ),
        Some(holdout) => (assign_parts(raw, holdout, None), 2, vec![1u8]),
        None => (
            raw.iter().map(|b| vec![0u8; b.num_rows()]).collect(),
            1,
            vec![],
        ),
    }
}

/// Some rows must be left, at least one per part.
fn check_rows(parts: &[Transformed], count: usize) -> Result<(), JobError> {
    let rows: u64 = parts.iter().map(Transformed::rows).sum();
    if rows == 0 {
        let read: u64 = parts.iter().map(|p| p.rows_read).sum();
        return Err(JobError::Invalid {
            flag: "--data",
            message: format!("no rows left after the feature pipeline (read {read})"),
        });
    }
    if rows < count as u64 {
        return Err(JobError::Invalid {
            flag: "--folds",
            message: format!("{count}: more folds than rows ({rows})"),
        });
    }
    Ok(())
}

/// The folds holding out each part of `held` and, when they share the whole pipeline's
/// features, the normal equations of all rows (for the refit).
fn folds_of(
    spec: &PipelineSpec,
    parted: &PartedRows,
    whole: &FittedPipeline,
    parts: &[Transformed],
    held: &[u8],
    shared_gram: Option<Family>,
) -> Result<(Vec<Fold>, Option<NormalEquations>), JobError> {
    let layout = whole.layout();
    let pipelines = held
        .iter()
        .map(|&h| parted.fit(Some(h)))
        .collect::<Result<Vec<_>, _>>()?;
    let shared = shared_gram.filter(|_| {
        !held.is_empty()
            && layout.width() <= NORMAL_MAX_FEATURES
            && pipelines.iter().all(|p| spec.relabels(whole, p))
    });
    let Some(family) = shared else {
        // Each fold's pipeline transforms the rows itself.
        let mut folds = Vec::with_capacity(held.len());
        for (pipeline, &h) in pipelines.iter().zip(held) {
            let mut by_part = parted.transform(pipeline)?;
            let valid = std::mem::take(&mut by_part[h as usize]).blocks;
            folds.push(Fold::new(concat(by_part).blocks, valid));
        }
        return Ok((folds, None));
    };
    // Every fold's features are the whole pipeline's, relabelled (`PipelineSpec::relabels`):
    // one transform serves all folds, and a fold's Gram statistics are its parts' sum.
    let grams = parts
        .iter()
        .map(|p| gram_statistics(&p.blocks, layout, family))
        .collect::<Result<Vec<_>, _>>()
        .map_err(JobError::from)?;
    let sum_without = |held: Option<usize>| {
        let kept = grams.iter().enumerate().filter(|(p, _)| Some(*p) != held);
        let total = kept.fold(GramSummary::zeros(layout.width()), |sum, (_, g)| {
            sum.merge(g)
        });
        NormalEquations::new(total)
    };
    let folds = held
        .iter()
        .map(|&h| {
            Fold::with_normal(
                parts[h as usize].blocks.clone(),
                sum_without(Some(h as usize)),
            )
        })
        .collect();
    Ok((folds, Some(sum_without(None))))
}

/// How `--data` rows are divided: `folds` folds, else none when `--valid` is given, else the
/// seeded hold-out.
fn split_of(
    folds: Option<usize>,
    has_valid: bool,
    seed: u64,
) -> Result<Option<RowSplit>, JobError> {
    Ok(match (folds, has_valid) {
        (Some(k), _) if !(2..=255).contains(&k) => {
            return Err(JobError::Invalid {
                flag: "--folds",
                message: format!("{k}: need 2 ≤ K ≤ 255"),
            })
        }
        (Some(k), _) => Some(RowSplit::KFold { k, seed }),
        (None, true) => None,
        (None, false) => Some(RowSplit::Holdout {
            fraction: HOLDOUT_FRACTION,
            seed: HOLDOUT_SEED,
        }),
    })
}

/// How the validation rows were chosen, for the summary.
fn describe(split: Option<RowSplit>, stratified: bool) -> String {
    match split {
        Some(RowSplit::KFold { k, seed }) => {
            let kind = if stratified { "stratified " } else { "" };
            format!("{kind}{k}-fold cross-validation on --data, pipeline refitted per fold (seed {seed})")
        }
        Some(_) => format!(
            "random {}% of --data rows (seed {HOLDOUT_SEED})",
            (HOLDOUT_FRACTION * 100.0) as u32
        ),
        None => "file: --valid".to_string(),
    }
}

/// The spec's input columns of every partition, in partition order.
fn read_raw(spec: &PipelineSpec, source: &DataSource) -> Result<Vec<RecordBatch>, JobError> {
    let inputs = spec.input_columns();
    let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let projection = source.projection(&names)?;
    Ok(source.map_partitions(&projection, |_, batch| Ok::<_, FeatureError>(batch), &|| {})?)
}

/// The parts' blocks one after another, with their rows read and dropped added up.
fn concat(parts: Vec<Transformed>) -> Transformed {
    let mut out = Transformed::default();
    for part in parts {
        out.blocks.extend(part.blocks);
        out.rows_read += part.rows_read;
        out.dropped.merge(&part.dropped);
    }
    out
}
