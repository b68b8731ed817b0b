//! Pipelines fitted on every part of the rows but one (cross-validation folds, a hold-out),
//! sharing the work those fits have in common. The rows are divided into parts once; each
//! part goes once through the pipeline's leading stateless stages (derived columns, filters);
//! and the first fitting pass summarises each part once, so a fold's fit merges the other
//! parts' summaries instead of reading their rows again. Summaries merge in any order (see
//! [`Summary`](super::Summary)), so each fit equals a fit on the fold's rows alone.

use std::sync::Mutex;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_buffer::BooleanBuffer;
use arrow_schema::SchemaRef;
use rayon::prelude::*;

use super::frame::{DropCounts, Frame};
use super::pipeline::{merge_all, run, summarize_frame, PassResult};
use super::stage::{FittedStage, StageParams};
use super::{FeatureError, FittedPipeline, PipelineSpec, Transformed};

const STAGE: &str = "Pipeline";

/// In-memory partitions divided into parts, each part run through the leading stateless stages.
pub struct PartedRows<'a> {
    spec: &'a PipelineSpec,
    schema: SchemaRef,
    /// The leading stages that need no fitting (the same in every fit).
    prefix: Vec<FittedStage>,
    /// `frames[part][partition]`: one part's rows of one partition, after the prefix.
    frames: Vec<Vec<Frame>>,
    /// Rows read, per part and partition.
    rows_read: Vec<Vec<u64>>,
    /// The first pass's estimators (stage indices) and each part's merged summaries.
    first_pass: Mutex<Option<(Vec<usize>, Vec<PassResult>)>>,
}

/// A pipeline fitted on some parts, and every part's rows transformed by it.
#[derive(Debug)]
pub struct PartedFit {
    /// The fitted pipeline.
    pub pipeline: FittedPipeline,
    /// `parts[p]`: part `p`'s rows, one block per partition.
    pub parts: Vec<Transformed>,
}

impl PipelineSpec {
    /// Divides in-memory partitions into `count` parts (`parts[i][r]`: the part of row `r` of
    /// partition `i`) and runs every part through the stages that need no fitting.
    pub fn parted<'a>(
        &'a self,
        batches: &[RecordBatch],
        parts: &[Vec<u8>],
        count: usize,
    ) -> Result<PartedRows<'a>, FeatureError> {
        self.check()?;
        let schema = batches
            .first()
            .ok_or_else(|| FeatureError::param(STAGE, "data", "no partitions to fit on"))?
            .schema();
        check_parts(batches, parts, count)?;
        let prefix: Vec<FittedStage> = self
            .stages
            .iter()
            .map_while(StageParams::as_fitted)
            .collect();
        let cells: Vec<(usize, usize)> = (0..count)
            .flat_map(|p| (0..batches.len()).map(move |i| (p, i)))
            .collect();
        let mut done = cells
            .par_iter()
            .map(|&(p, i)| {
                let rows = rows_of_part(&batches[i], &parts[i], p as u8)?;
                let read = rows.num_rows() as u64;
                Ok((run(&prefix, Frame::from_batch(&rows))?, read))
            })
            .collect::<Result<Vec<_>, FeatureError>>()?
            .into_iter();
        let (mut frames, mut rows_read) = (Vec::new(), Vec::new());
        for _ in 0..count {
            let (f, r): (Vec<Frame>, Vec<u64>) = done.by_ref().take(batches.len()).unzip();
            frames.push(f);
            rows_read.push(r);
        }
        Ok(PartedRows {
            spec: self,
            schema,
            prefix,
            frames,
            rows_read,
            first_pass: Mutex::new(None),
        })
    }
}

impl PartedRows<'_> {
    /// Number of parts.
    pub fn parts(&self) -> usize {
        self.frames.len()
    }

    /// Fits on every part but `held` (on every part when `None`), then transforms every part.
    pub fn fit_without(&self, held: Option<u8>) -> Result<PartedFit, FeatureError> {
        let pipeline = self.fit(held)?;
        let parts = self.transform(&pipeline)?;
        Ok(PartedFit { pipeline, parts })
    }

    /// The pipeline fitted on every part but `held` (on every part when `None`).
    pub fn fit(&self, held: Option<u8>) -> Result<FittedPipeline, FeatureError> {
        let kept: Vec<usize> = (0..self.parts())
            .filter(|&p| held != Some(p as u8))
            .collect();
        let pass = |prefix: &[FittedStage], group: &[usize]| {
            let own = prefix
                .strip_prefix(self.prefix.as_slice())
                .ok_or_else(|| FeatureError::internal(STAGE, "a pass without the shared prefix"))?;
            if own.is_empty() {
                self.first_pass(group, &kept)
            } else {
                // After a fold's own fitted stage, its kept parts are summarised afresh.
                let per_part = kept
                    .iter()
                    .map(|&p| self.summarize_part(own, group, p))
                    .collect::<Result<Vec<_>, _>>()?;
                merge_all(per_part)
            }
        };
        self.spec.fit_with(self.schema.clone(), &pass)
    }

    /// The first pass's summaries of the `kept` parts, each part summarised once for all fits.
    fn first_pass(&self, group: &[usize], kept: &[usize]) -> Result<PassResult, FeatureError> {
        let mut cache = self
            .first_pass
            .lock()
            .map_err(|_| FeatureError::internal(STAGE, "a fit panicked"))?;
        let cached = cache.as_ref().is_some_and(|(g, _)| g == group);
        if !cached {
            let per_part = (0..self.parts())
                .map(|p| self.summarize_part(&[], group, p))
                .collect::<Result<Vec<_>, _>>()?;
            *cache = Some((group.to_vec(), per_part));
        }
        let per_part = cache.as_ref().map(|(_, s)| s).into_iter().flatten();
        let chosen = per_part
            .enumerate()
            .filter(|(p, _)| kept.contains(p))
            .map(|(_, s)| s.duplicate())
            .collect();
        merge_all(chosen)
    }

    /// One part's summaries for a pass, its partitions in parallel, merged in partition order.
    fn summarize_part(
        &self,
        own: &[FittedStage],
        group: &[usize],
        part: usize,
    ) -> Result<PassResult, FeatureError> {
        let estimators = self.spec.estimators(group)?;
        let results = self.frames[part]
            .par_iter()
            .zip(&self.rows_read[part])
            .map(|(frame, &read)| {
                let frame = run(own, frame.clone())?;
                summarize_frame(&estimators, &frame, read)
            })
            .collect::<Result<Vec<_>, _>>()?;
        merge_all(results)
    }

    /// Every part transformed by `pipeline` (fitted on these parts), from where the prefix left
    /// it: `parts[p]` holds part `p`'s rows, one block per partition.
    pub fn transform(&self, pipeline: &FittedPipeline) -> Result<Vec<Transformed>, FeatureError> {
        let skip = self.prefix.len();
        self.frames
            .par_iter()
            .zip(&self.rows_read)
            .map(|(frames, read)| {
                let blocks = frames
                    .par_iter()
                    .map(|f| pipeline.transform_frame(f.clone(), skip))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut out = Transformed {
                    blocks: Vec::with_capacity(blocks.len()),
                    rows_read: read.iter().sum(),
                    dropped: DropCounts::default(),
                };
                for (block, dropped) in blocks {
                    out.blocks.push(block);
                    out.dropped.merge(&dropped);
                }
                Ok(out)
            })
            .collect()
    }
}

fn check_parts(
    batches: &[RecordBatch],
    parts: &[Vec<u8>],
    count: usize,
) -> Result<(), FeatureError> {
    let aligned = parts.len() == batches.len()
        && batches
            .iter()
            .zip(parts)
            .all(|(b, p)| b.num_rows() == p.len());
    if !aligned {
        return Err(FeatureError::internal(
            STAGE,
            "row parts do not match the partitions",
        ));
    }
    if count == 0 || parts.iter().flatten().any(|&p| p as usize >= count) {
        return Err(FeatureError::internal(
            STAGE,
            format!("a row part outside 0..{count}"),
        ));
    }
    Ok(())
}

/// The rows of `batch` in `part` (the batch itself when every row is).
fn rows_of_part(batch: &RecordBatch, parts: &[u8], part: u8) -> Result<RecordBatch, FeatureError> {
    if parts.iter().all(|&p| p == part) {
        return Ok(batch.clone());
    }
    let mask = BooleanArray::new(
        BooleanBuffer::collect_bool(parts.len(), |r| parts[r] == part),
        None,
    );
    arrow_select::filter::filter_record_batch(batch, &mask)
        .map_err(|e| FeatureError::internal(STAGE, e))
}

impl std::fmt::Debug for PartedRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartedRows")
            .field("parts", &self.parts())
            .field("prefix", &self.prefix.len())
            .finish()
    }
}
