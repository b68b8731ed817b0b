//! `Pipeline`: stages fitted in order, estimators that do not read each other's outputs
//! fitted together in one pass over the partitions (summaries merged), then a
//! `VectorAssembler`; the fitted pipeline transforms partitions independently.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::assembler::VectorAssembler;
use super::frame::{DropCounts, Frame};
use super::stage::{ErasedEstimator, ErasedSummary, FittedStage, StageParams};
use super::traits::Transformer;
use super::{FeatureBlock, FeatureError, FeatureLayout};
use crate::data::{DataSource, Partition};

/// A pipeline definition: stages, then the assembler. Serde, so it is also the job config.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PipelineSpec {
    /// The stages, in order.
    pub stages: Vec<StageParams>,
    /// The final assembler.
    pub assembler: Option<VectorAssembler>,
}

/// Rows seen and dropped during the last fitting pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitStats {
    /// Rows read.
    pub rows_read: u64,
    /// Rows that reached the estimators of the last pass.
    pub rows_used: u64,
    /// Rows dropped before them, per reason.
    pub dropped: DropCounts,
    /// Passes over the data.
    pub passes: usize,
}

/// One fitting pass: summaries of the stages at indices `group` after `prefix`, merged over
/// every partition.
pub(super) type Pass<'a> =
    dyn Fn(&[FittedStage], &[usize]) -> Result<PassResult, FeatureError> + 'a;

/// One pass of a fit spread over processes: the stages already fitted, and the indices (into
/// [`PipelineSpec::stages`]) of the estimators every partition must summarise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitPass {
    /// Fitted stages applied before summarising.
    pub prefix: Vec<FittedStage>,
    /// Indices of the estimators summarised in this pass.
    pub group: Vec<usize>,
}

/// One partition's summaries for one [`FitPass`], serde so a worker can send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassSummaries {
    summaries: Vec<serde_json::Value>,
    rows_read: u64,
    rows_used: u64,
    dropped: DropCounts,
}

/// The merged summaries and row counts of one pass.
pub(crate) struct PassResult {
    summaries: Vec<Box<dyn ErasedSummary>>,
    rows_read: u64,
    rows_used: u64,
    dropped: DropCounts,
}

impl PipelineSpec {
    /// An empty pipeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a stage.
    pub fn stage(mut self, stage: impl Into<StageParams>) -> Self {
        self.stages.push(stage.into());
        self
    }

    /// Sets the assembler.
    pub fn assemble(mut self, assembler: VectorAssembler) -> Self {
        self.assembler = Some(assembler);
        self
    }

    /// Validates every stage's parameters (run by `fit` before any data is read).
    pub fn check(&self) -> Result<&VectorAssembler, FeatureError> {
        for stage in &self.stages {
            stage.check()?;
        }
        let assembler = self.assembler.as_ref().ok_or_else(|| {
            FeatureError::param("Pipeline", "stages", "has no VectorAssembler at the end")
        })?;
        assembler.check()?;
        Ok(assembler)
    }

    /// Columns read from the input: those a stage reads before any stage writes them.
    pub fn input_columns(&self) -> Vec<String> {
        let mut written: Vec<String> = Vec::new();
        let mut inputs: Vec<String> = Vec::new();
        let mut read = |cols: Vec<String>, written: &Vec<String>| {
            for c in cols {
                if !written.contains(&c) && !inputs.contains(&c) {
                    inputs.push(c);
                }
            }
        };
        for stage in &self.stages {
            read(stage.inputs(), &written);
            written.extend(stage.outputs());
        }
        if let Some(a) = &self.assembler {
            read(a.inputs(), &written);
        }
        inputs
    }

    /// Fits on a data source: one parallel pass per group of independent estimators.
    /// `progress` is called once per partition and pass.
    pub fn fit(
        &self,
        source: &DataSource,
        progress: &(dyn Fn() + Sync),
    ) -> Result<FittedPipeline, FeatureError> {
        self.fit_where(source, &|_, batch| Ok(batch), progress)
    }

    /// Fits with every pass run elsewhere (worker processes): `run_pass` returns one
    /// [`PassSummaries`] per partition, in partition order, and they are merged in that order —
    /// the same order as [`PipelineSpec::fit`], so the fitted pipeline is identical.
    /// `schema` is the schema of the batches the workers read.
    pub fn fit_from_passes(
        &self,
        schema: SchemaRef,
        run_pass: &dyn Fn(&FitPass) -> Result<Vec<PassSummaries>, FeatureError>,
    ) -> Result<FittedPipeline, FeatureError> {
        self.check()?;
        let pass = |prefix: &[FittedStage], group: &[usize]| {
            let estimators = self.estimators(group)?;
            let request = FitPass {
                prefix: prefix.to_vec(),
                group: group.to_vec(),
            };
            let parts = run_pass(&request)?
                .into_iter()
                .map(|part| part.decode(&estimators))
                .collect::<Result<Vec<_>, _>>()?;
            merge_all(parts)
        };
        self.fit_with(schema, &pass)
    }

    /// Summarises one partition for a pass of [`PipelineSpec::fit_from_passes`] (worker side).
    pub fn summarize_pass(
        &self,
        pass: &FitPass,
        batch: &RecordBatch,
    ) -> Result<PassSummaries, FeatureError> {
        let estimators = self.estimators(&pass.group)?;
        summarize(&pass.prefix, &estimators, batch)?.encode()
    }

    /// The estimators at `indices`; an index that is not an estimator is an internal error.
    pub(super) fn estimators(
        &self,
        indices: &[usize],
    ) -> Result<Vec<&dyn ErasedEstimator>, FeatureError> {
        indices
            .iter()
            .map(|&i| {
                self.stages
                    .get(i)
                    .and_then(StageParams::estimator)
                    .ok_or_else(|| {
                        FeatureError::internal("Pipeline", format!("stage {i} is not an estimator"))
                    })
            })
            .collect()
    }

    /// Fits on the rows of each partition that `select` keeps (e.g. every fold but the
    /// validation one), so held-out rows never shape the fitted stages.
    pub fn fit_where(
        &self,
        source: &DataSource,
        select: &(dyn Fn(&Partition, RecordBatch) -> Result<RecordBatch, FeatureError> + Sync),
        progress: &(dyn Fn() + Sync),
    ) -> Result<FittedPipeline, FeatureError> {
        self.check()?;
        let inputs = self.input_columns();
        let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let projection = source.projection(&names)?;
        let pass = |prefix: &[FittedStage], group: &[usize]| {
            let group = self.estimators(group)?;
            let parts = source.map_partitions(
                &projection,
                |p, batch| summarize(prefix, &group, &select(p, batch)?),
                progress,
            )?;
            merge_all(parts)
        };
        self.fit_with(projection.schema().clone(), &pass)
    }

    /// Fits on in-memory partitions (tests, small tables, one worker's share).
    pub fn fit_batches(&self, batches: &[RecordBatch]) -> Result<FittedPipeline, FeatureError> {
        self.check()?;
        let first = batches
            .first()
            .ok_or_else(|| FeatureError::param("Pipeline", "data", "no partitions to fit on"))?;
        let pass = |prefix: &[FittedStage], group: &[usize]| {
            let group = self.estimators(group)?;
            merge_all(
                batches
                    .par_iter()
                    .map(|b| summarize(prefix, &group, b))
                    .collect::<Result<_, _>>()?,
            )
        };
        self.fit_with(first.schema(), &pass)
    }

    pub(super) fn fit_with(
        &self,
        schema: SchemaRef,
        pass: &Pass<'_>,
    ) -> Result<FittedPipeline, FeatureError> {
        let assembler = self.check()?.clone();
        let mut fitted: Vec<FittedStage> = Vec::with_capacity(self.stages.len());
        let mut pending: Vec<usize> = Vec::new();
        let mut stats = FitStats::default();
        for (index, stage) in self.stages.iter().enumerate() {
            let reads_pending = pending.iter().any(|&p| {
                let outs = self.stages[p].outputs();
                stage.inputs().iter().any(|c| outs.contains(c))
            });
            if stage.estimator().is_none() || reads_pending {
                flush(&self.stages, &mut fitted, &mut pending, pass, &mut stats)?;
            }
            match (stage.as_fitted(), stage.estimator()) {
                (Some(done), _) => fitted.push(done),
                (None, Some(est)) if pending.is_empty() => {
                    let schema_frame = run(&fitted, Frame::from_batch(&empty(&schema)))?;
                    match est.fit_without_data_boxed(&schema_frame) {
                        Some(model) => fitted.push(model?),
                        None => pending.push(index),
                    }
                }
                _ => pending.push(index),
            }
        }
        flush(&self.stages, &mut fitted, &mut pending, pass, &mut stats)?;
        FittedPipeline::new(schema, fitted, assembler, stats)
    }
}

fn empty(schema: &SchemaRef) -> RecordBatch {
    RecordBatch::new_empty(schema.clone())
}

pub(super) fn run(stages: &[FittedStage], mut frame: Frame) -> Result<Frame, FeatureError> {
    for stage in stages {
        frame = stage.transform(frame)?;
    }
    Ok(frame)
}

/// Fits the pending estimators (stage indices) in one pass.
fn flush(
    stages: &[StageParams],
    fitted: &mut Vec<FittedStage>,
    pending: &mut Vec<usize>,
    pass: &Pass<'_>,
    stats: &mut FitStats,
) -> Result<(), FeatureError> {
    if pending.is_empty() {
        return Ok(());
    }
    let group: Vec<&dyn ErasedEstimator> = pending
        .iter()
        .filter_map(|&i| stages[i].estimator())
        .collect();
    let result = pass(fitted, pending)?;
    *stats = FitStats {
        rows_read: result.rows_read,
        rows_used: result.rows_used,
        dropped: result.dropped,
        passes: stats.passes + 1,
    };
    for (est, summary) in group.iter().zip(result.summaries) {
        fitted.push(est.finish_boxed(summary)?);
    }
    pending.clear();
    Ok(())
}

fn summarize(
    prefix: &[FittedStage],
    group: &[&dyn ErasedEstimator],
    batch: &RecordBatch,
) -> Result<PassResult, FeatureError> {
    let frame = run(prefix, Frame::from_batch(batch))?;
    summarize_frame(group, &frame, batch.num_rows() as u64)
}

/// The `group`'s summaries of a frame that came from `rows_read` input rows.
pub(super) fn summarize_frame(
    group: &[&dyn ErasedEstimator],
    frame: &Frame,
    rows_read: u64,
) -> Result<PassResult, FeatureError> {
    Ok(PassResult {
        summaries: group
            .iter()
            .map(|e| e.summarize_boxed(frame))
            .collect::<Result<_, _>>()?,
        rows_read,
        rows_used: frame.rows() as u64,
        dropped: frame.dropped().clone(),
    })
}

impl PassResult {
    /// A copy, for summaries merged into several fits.
    pub(super) fn duplicate(&self) -> PassResult {
        PassResult {
            summaries: self.summaries.iter().map(|s| s.clone_boxed()).collect(),
            rows_read: self.rows_read,
            rows_used: self.rows_used,
            dropped: self.dropped.clone(),
        }
    }

    fn encode(self) -> Result<PassSummaries, FeatureError> {
        Ok(PassSummaries {
            summaries: self
                .summaries
                .iter()
                .map(|s| s.to_json())
                .collect::<Result<_, _>>()?,
            rows_read: self.rows_read,
            rows_used: self.rows_used,
            dropped: self.dropped,
        })
    }
}

impl PassSummaries {
    fn decode(self, estimators: &[&dyn ErasedEstimator]) -> Result<PassResult, FeatureError> {
        if self.summaries.len() != estimators.len() {
            return Err(FeatureError::internal(
                "Pipeline",
                "a partition sent summaries for another pass",
            ));
        }
        Ok(PassResult {
            summaries: estimators
                .iter()
                .zip(self.summaries)
                .map(|(e, s)| e.summary_from_json(s))
                .collect::<Result<_, _>>()?,
            rows_read: self.rows_read,
            rows_used: self.rows_used,
            dropped: self.dropped,
        })
    }
}

pub(super) fn merge_all(parts: Vec<PassResult>) -> Result<PassResult, FeatureError> {
    let mut parts = parts.into_iter();
    let mut total = parts
        .next()
        .ok_or_else(|| FeatureError::param("Pipeline", "data", "no partitions to fit on"))?;
    for part in parts {
        for (a, b) in total.summaries.iter_mut().zip(part.summaries) {
            a.merge_boxed(b)?;
        }
        total.rows_read += part.rows_read;
        total.rows_used += part.rows_used;
        total.dropped.merge(&part.dropped);
    }
    Ok(total)
}

/// Every partition of a source transformed, with the rows dropped on the way.
#[derive(Debug, Clone, Default)]
pub struct Transformed {
    /// One block per partition, in partition order.
    pub blocks: Vec<FeatureBlock>,
    /// Rows read.
    pub rows_read: u64,
    /// Rows dropped by filters, `skip` options and null targets, per reason.
    pub dropped: DropCounts,
}

impl Transformed {
    /// Rows in the blocks.
    pub fn rows(&self) -> u64 {
        self.blocks.iter().map(|b| b.rows() as u64).sum()
    }
}

/// A fitted pipeline: applies to any partition of any later file.
#[derive(Debug, Clone)]
pub struct FittedPipeline {
    pub(crate) input_schema: SchemaRef,
    pub(crate) stages: Vec<FittedStage>,
    pub(crate) assembler: VectorAssembler,
    pub(crate) stats: FitStats,
    layout: FeatureLayout,
}

impl FittedPipeline {
    pub(crate) fn new(
        input_schema: SchemaRef,
        stages: Vec<FittedStage>,
        assembler: VectorAssembler,
        stats: FitStats,
    ) -> Result<Self, FeatureError> {
        let frame = run(&stages, Frame::from_batch(&empty(&input_schema)))?;
        let layout = assembler.layout(&frame)?;
        Ok(FittedPipeline {
            input_schema,
            stages,
            assembler,
            stats,
            layout,
        })
    }

    /// The columns to read (the projection for `DataSource::projection`).
    pub fn input_columns(&self) -> Vec<String> {
        self.input_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// Feature names and positions.
    pub fn layout(&self) -> &FeatureLayout {
        &self.layout
    }

    /// The fitted stages, in order.
    pub fn stages(&self) -> &[FittedStage] {
        &self.stages
    }

    /// Rows seen and dropped while fitting.
    pub fn fit_stats(&self) -> &FitStats {
        &self.stats
    }

    /// Transforms one partition.
    pub fn transform(&self, batch: &RecordBatch) -> Result<FeatureBlock, FeatureError> {
        Ok(self.transform_counted(batch)?.0)
    }

    /// Transforms one partition and reports the rows dropped.
    pub fn transform_counted(
        &self,
        batch: &RecordBatch,
    ) -> Result<(FeatureBlock, DropCounts), FeatureError> {
        let frame = run(&self.stages, Frame::from_batch(batch))?;
        self.assembler.assemble(frame)
    }

    /// Transforms a frame that has already been through the first `skip` stages.
    pub(super) fn transform_frame(
        &self,
        frame: Frame,
        skip: usize,
    ) -> Result<(FeatureBlock, DropCounts), FeatureError> {
        let frame = run(self.stages.get(skip..).unwrap_or_default(), frame)?;
        self.assembler.assemble(frame)
    }

    /// Transforms one partition and also returns the `keep` columns (input or derived, e.g.
    /// the label) of the rows that reached the block, row-aligned with it.
    pub fn transform_keeping(
        &self,
        batch: &RecordBatch,
        keep: &[String],
    ) -> Result<(FeatureBlock, Vec<ArrayRef>), FeatureError> {
        let frame = run(&self.stages, Frame::from_batch(batch))?;
        let (block, _, kept) = self.assembler.assemble_keeping(frame, keep)?;
        Ok((block, kept))
    }

    /// Whether the blocks carry a weight per row.
    pub fn is_weighted(&self) -> bool {
        self.assembler.weight_col.is_some()
    }

    /// The label column the assembler reads.
    pub fn label_column(&self) -> &str {
        &self.assembler.label_col
    }

    /// Transforms every partition of a source in parallel.
    pub fn transform_source(
        &self,
        source: &DataSource,
        progress: &(dyn Fn() + Sync),
    ) -> Result<Transformed, FeatureError> {
        let columns = self.input_columns();
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let projection = source.projection(&names)?;
        let parts = source.map_partitions(
            &projection,
            |_, batch| {
                let rows = batch.num_rows() as u64;
                self.transform_counted(&batch).map(|(b, d)| (b, d, rows))
            },
            progress,
        )?;
        let mut out = Transformed {
            blocks: Vec::with_capacity(parts.len()),
            rows_read: 0,
            dropped: DropCounts::default(),
        };
        for (block, dropped, rows) in parts {
            out.blocks.push(block);
            out.rows_read += rows;
            out.dropped.merge(&dropped);
        }
        Ok(out)
    }

    /// The input schema, for persistence.
    pub(crate) fn schema(&self) -> &Arc<arrow_schema::Schema> {
        &self.input_schema
    }
}
