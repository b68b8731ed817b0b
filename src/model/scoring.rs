//! Scoring raw rows with a trained model: the fitted feature pipeline turns the input columns
//! into features, the model predicts. `predict`, `evaluate`, tuning and the server all score
//! through a [`Scorer`].

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use rayon::prelude::*;

use crate::data::{DataError, DataSource, TableWriter};
use crate::feature::{DropCounts, FeatureError, FittedPipeline};

use super::{MetricSums, Metrics, Model, ModelDirError, ModelDirectory, Predictor, Task};
use crate::merge::tree_reduce;

/// A scoring failure: the input (columns, values, output file) or the model directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScoreError {
    /// The rows could not be read or written.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The pipeline refused the rows (a missing column, a bad value).
    #[error(transparent)]
    Feature(#[from] FeatureError),
    /// The model directory could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelDirError),
    /// There was nothing to score.
    #[error("no partitions to score in {0}")]
    Empty(String),
}

impl ScoreError {
    /// Whether the user's input is at fault (exit code 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            ScoreError::Data(e) => e.is_user_error(),
            ScoreError::Feature(e) => e.is_user_error(),
            ScoreError::Model(e) => e.is_user_error(),
            ScoreError::Empty(_) => true,
        }
    }
}

/// A model's metrics on some labelled rows, and how many rows they were.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Metrics by name.
    pub metrics: Metrics,
    /// Rows scored (kept by the pipeline).
    pub rows: u64,
    /// Rows read.
    pub rows_read: u64,
    /// Rows the pipeline dropped, per reason.
    pub dropped: DropCounts,
}

/// A fitted pipeline and a model: raw rows in, predictions out.
#[derive(Debug, Clone)]
pub struct Scorer {
    pipeline: FittedPipeline,
    model: Model,
}

impl Scorer {
    /// A scorer of `model` behind `pipeline`.
    pub fn new(pipeline: FittedPipeline, model: Model) -> Self {
        Scorer { pipeline, model }
    }

    /// Loads the model directory at `dir`.
    pub fn load(dir: &Path) -> Result<Self, ScoreError> {
        Ok(ModelDirectory::load(dir)?.into())
    }

    /// The same model behind a pipeline for rows without a label (what a server scores:
    /// the label's stages and inputs are left out, see `FittedPipeline::unlabelled`).
    pub fn unlabelled(&self) -> Result<Scorer, ScoreError> {
        Ok(Scorer::new(self.pipeline.unlabelled()?, self.model.clone()))
    }

    /// The fitted pipeline.
    pub fn pipeline(&self) -> &FittedPipeline {
        &self.pipeline
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// What `predict` writes besides the predictions: the pipeline's input columns, then the
    /// label when it is not one of them.
    pub fn default_columns(&self) -> Vec<String> {
        let mut keep = self.pipeline.input_columns();
        let label = self.pipeline.label_column().to_string();
        if !keep.contains(&label) && !self.pipeline.is_unlabelled() {
            keep.push(label);
        }
        keep
    }

    /// Scores one batch of raw rows: for the rows the pipeline keeps, the `keep` columns (input
    /// or derived, row-aligned) followed by `prediction` and, for a classifier, `probability`.
    pub fn score_batch(
        &self,
        batch: &RecordBatch,
        keep: &[String],
    ) -> Result<RecordBatch, ScoreError> {
        let (block, kept) = self.pipeline.transform_keeping(batch, keep)?;
        let mut fields: Vec<Field> = keep
            .iter()
            .zip(&kept)
            .map(|(n, a)| Field::new(n, a.data_type().clone(), true))
            .collect();
        let mut columns: Vec<ArrayRef> = kept;
        fields.push(Field::new("prediction", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from(
            self.model.predict(&block).to_vec(),
        )));
        if let Some(p) = self.model.probability(&block) {
            fields.push(Field::new("probability", DataType::Float64, false));
            columns.push(Arc::new(Float64Array::from(p.to_vec())));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| FeatureError::internal("Scorer", e).into())
    }

    /// Scores every partition of `source` and writes [`Scorer::default_columns`] plus the
    /// predictions to `out` (Parquet, or CSV for `.csv`); returns the rows written. Partitions
    /// are scored in parallel in waves and written in order, so memory stays bounded.
    pub fn predict_source(
        &self,
        source: &DataSource,
        out: &Path,
        progress: &(dyn Fn() + Sync),
    ) -> Result<u64, ScoreError> {
        TableWriter::check_path(out, "--out")?;
        let serving = self.pipeline.unlabelled()?;
        source.require_columns(&serving.input_columns())?;
        let labelled = self
            .pipeline
            .input_columns()
            .iter()
            .all(|c| source.has_column(c));
        if !labelled {
            // Rows without the label's inputs (no dropoff time): scored without its stages.
            return Scorer::new(serving, self.model.clone()).predict_source(source, out, progress);
        }
        let keep = self.default_columns();
        let inputs = self.pipeline.input_columns();
        let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let projection = source.projection(&names)?;
        let mut writer: Option<TableWriter> = None;
        let mut rows = 0u64;
        for wave in source.partitions().chunks(2 * rayon::current_num_threads()) {
            let batches = wave
                .par_iter()
                .map(|p| -> Result<RecordBatch, ScoreError> {
                    let batch = source.read(p, &projection)?;
                    let scored = self.score_batch(&batch, &keep)?;
                    progress();
                    Ok(scored)
                })
                .collect::<Result<Vec<_>, _>>()?;
            for batch in batches {
                let w = match &mut writer {
                    Some(w) => w,
                    None => writer.insert(TableWriter::create(out, &batch.schema())?),
                };
                w.write(&batch)?;
                rows += batch.num_rows() as u64;
            }
        }
        match writer {
            Some(w) => w.close()?,
            None => return Err(ScoreError::Empty(source.paths()[0].display().to_string())),
        }
        Ok(rows)
    }

    /// The model's metrics on every partition of a labelled `source`.
    pub fn evaluate_source(
        &self,
        source: &DataSource,
        progress: &(dyn Fn() + Sync),
    ) -> Result<Evaluation, ScoreError> {
        let columns = self.pipeline.input_columns();
        source.require_columns(&columns)?;
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let projection = source.projection(&names)?;
        // Each partition is scored as it is read, then dropped: the file is never held whole.
        let parts = source.map_partitions(
            &projection,
            |_, batch| -> Result<_, ScoreError> {
                let (block, dropped) = self.pipeline.transform_counted(&batch)?;
                let sums = MetricSums::of(&self.model, &block);
                Ok((sums, block.rows() as u64, batch.num_rows() as u64, dropped))
            },
            progress,
        )?;
        let mut evaluation = Evaluation {
            metrics: Metrics::default(),
            rows: 0,
            rows_read: 0,
            dropped: DropCounts::default(),
        };
        for (_, rows, rows_read, dropped) in &parts {
            evaluation.rows += rows;
            evaluation.rows_read += rows_read;
            evaluation.dropped.merge(dropped);
        }
        // The fixed tree over partitions `evaluate` merges in: the same bits as the blocks'.
        let sums = tree_reduce(&parts, &|(sums, ..)| sums.clone(), &MetricSums::merge);
        evaluation.metrics = sums
            .unwrap_or_else(|| MetricSums::empty(self.model.task()))
            .finish();
        Ok(evaluation)
    }

    /// Regression or classification.
    pub fn task(&self) -> Task {
        self.model.task()
    }
}

impl From<ModelDirectory> for Scorer {
    fn from(dir: ModelDirectory) -> Self {
        Scorer::new(dir.pipeline, dir.model)
    }
}
