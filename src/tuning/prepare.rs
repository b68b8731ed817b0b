//! The shared work of a sweep, done once: read the inputs, fit the feature pipeline, transform
//! every partition, and cut the blocks into validation folds.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::data::{DataSource, ReadOptions};
use rayon::prelude::*;

use crate::feature::{
    DropCounts, FeatureBlock, FeatureError, FittedPipeline, PipelineSpec, Transformed,
};
use crate::train::job::{HOLDOUT_FRACTION, HOLDOUT_SEED};
use crate::train::split::{assign_parts, fit_split_batches, RowSplit};
use crate::train::{pipeline_spec, JobError, TrainConfig};
use arrow_array::RecordBatch;

use super::folds::Fold;

/// Features computed once and shared by every trial.
#[derive(Debug)]
pub struct Prepared {
    /// The pipeline, fitted on all `--data` rows (swept params never touch it).
    pub pipeline: FittedPipeline,
    /// All training rows (the refit uses them).
    pub train: Vec<FeatureBlock>,
    /// `--valid` rows, if given.
    pub valid: Option<Vec<FeatureBlock>>,
    /// The folds trials are scored on.
    pub folds: Vec<Fold>,
    /// How the folds were made.
    pub validation: String,
    /// Rows dropped by the pipeline, per reason.
    pub rows_dropped: BTreeMap<String, u64>,
    /// Seconds opening the inputs.
    pub load_seconds: f64,
    /// Seconds fitting and transforming features and cutting folds.
    pub feature_seconds: f64,
}

/// Prepares `config`'s data: `folds` k-fold CV on `--data` (stratified when `stratify`), else
/// `--valid` as the one validation set, else a seeded 20% hold-out of `--data`.
pub fn prepare(
    config: &TrainConfig,
    folds: Option<usize>,
    seed: u64,
    stratify: bool,
) -> Result<Prepared, JobError> {
    let started = Instant::now();
    if config.data.is_empty() {
        return Err(JobError::Invalid {
            flag: "--data",
            message: "no training files given".into(),
        });
    }
    let options = ReadOptions {
        partitions: config.partitions,
        ..Default::default()
    };
    let source = DataSource::open(&config.data, &options)?;
    let valid_source = match config.valid.is_empty() {
        true => None,
        false => Some(DataSource::open(&config.valid, &options)?),
    };
    let load_seconds = started.elapsed().as_secs_f64();
    let phase = Instant::now();
    let spec = pipeline_spec(config, &source)?;
    // The projected raw columns are read once; every fold's fit and transform runs from memory.
    let raw = read_raw(&spec, &source)?;
    let pipeline = spec.fit_batches(&raw)?;
    let train = transform_batches(&pipeline, &raw)?;
    if train.rows() == 0 {
        return Err(JobError::Invalid {
            flag: "--data",
            message: format!(
                "no rows left after the feature pipeline (read {})",
                train.rows_read
            ),
        });
    }
    let valid = match &valid_source {
        Some(s) => Some(pipeline.transform_source(s, &|| {})?.blocks),
        None => None,
    };
    // Stratify on the label when it is a raw column (a generic table's target).
    let label = pipeline.label_column().to_string();
    let raw_label =
        (stratify && pipeline.input_columns().contains(&label)).then_some(label.as_str());
    let (folds, validation) = match (folds, &valid) {
        (Some(k), _) => {
            if !(2..=255).contains(&k) || train.rows() < k as u64 {
                return Err(JobError::Invalid {
                    flag: "--folds",
                    message: format!("{k}: need 2 ≤ K ≤ min(255, rows = {})", train.rows()),
                });
            }
            let parts = assign_parts(&raw, RowSplit::KFold { k, seed }, raw_label);
            let mut folds = Vec::with_capacity(k);
            for f in 0..k {
                // One pipeline per fold, fitted without the fold's rows (no leakage).
                let data = fit_split_batches(&spec, &raw, &parts, f as u8)?;
                folds.push(Fold::new(data.train.blocks, data.valid));
            }
            let kind = if raw_label.is_some() {
                "stratified "
            } else {
                ""
            };
            (folds, format!("{kind}{k}-fold cross-validation on --data, pipeline refitted per fold (seed {seed})"))
        }
        (None, Some(v)) => (
            vec![Fold::new(train.blocks.clone(), v.clone())],
            "file: --valid".to_string(),
        ),
        (None, None) => {
            let split = RowSplit::Holdout {
                fraction: HOLDOUT_FRACTION,
                seed: HOLDOUT_SEED,
            };
            let data = fit_split_batches(&spec, &raw, &assign_parts(&raw, split, None), 1)?;
            (
                vec![Fold::new(data.train.blocks, data.valid)],
                format!(
                    "random {}% of --data rows (seed {HOLDOUT_SEED})",
                    (HOLDOUT_FRACTION * 100.0) as u32
                ),
            )
        }
    };
    Ok(Prepared {
        pipeline,
        rows_dropped: train.dropped.0.clone(),
        train: train.blocks,
        valid,
        folds,
        validation,
        load_seconds,
        feature_seconds: phase.elapsed().as_secs_f64(),
    })
}

/// The spec's input columns of every partition, in partition order.
fn read_raw(spec: &PipelineSpec, source: &DataSource) -> Result<Vec<RecordBatch>, JobError> {
    let inputs = spec.input_columns();
    let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let projection = source.projection(&names)?;
    Ok(source.map_partitions(&projection, |_, batch| Ok::<_, FeatureError>(batch), &|| {})?)
}

/// Every in-memory partition transformed, with the rows read and dropped.
fn transform_batches(
    pipeline: &FittedPipeline,
    raw: &[RecordBatch],
) -> Result<Transformed, FeatureError> {
    let parts = raw
        .par_iter()
        .map(|b| pipeline.transform_counted(b))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Transformed {
        blocks: Vec::new(),
        rows_read: 0,
        dropped: DropCounts::default(),
    };
    for ((block, dropped), batch) in parts.into_iter().zip(raw) {
        out.blocks.push(block);
        out.dropped.merge(&dropped);
        out.rows_read += batch.num_rows() as u64;
    }
    Ok(out)
}
