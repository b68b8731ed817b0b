//! `distml predict`: score files with a saved model, writing the key columns plus `prediction`.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use clap::Args;
use distml::data::{DataSource, ReadOptions};
use distml::model::{Family, ModelDirectory};
use parquet::arrow::ArrowWriter;
use rayon::prelude::*;

use super::progress::Progress;

/// Flags of `predict`.
#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// Model directory written by `train --model-out`.
    #[arg(long)]
    model: PathBuf,
    /// Files to score (Parquet/CSV, directories or globs).
    #[arg(long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Output file: Parquet, or CSV when it ends in .csv.
    #[arg(long)]
    out: PathBuf,
    /// Number of partitions.
    #[arg(long)]
    partitions: Option<usize>,
}

pub(crate) fn run(args: PredictArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let saved = ModelDirectory::load(&args.model)?;
    let source = DataSource::open(
        &args.data,
        &ReadOptions {
            partitions: args.partitions,
            ..Default::default()
        },
    )?;
    let inputs = saved.pipeline.input_columns();
    let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let projection = source.projection(&names)?;
    let mut keep = inputs.clone();
    let label = saved.pipeline.label_column().to_string();
    if !keep.contains(&label) {
        keep.push(label);
    }
    let progress = Progress::new("predict", source.partitions().len() as u64);
    let mut writer: Option<Writer> = None;
    let mut rows = 0usize;
    // Waves of partitions scored in parallel and written in order: memory stays bounded.
    for wave in source.partitions().chunks(2 * rayon::current_num_threads()) {
        let batches = wave
            .par_iter()
            .map(|p| -> anyhow::Result<RecordBatch> {
                let batch = source.read(p, &projection)?;
                let (block, kept) = saved.pipeline.transform_keeping(&batch, &keep)?;
                let out = scored(&keep, kept, &saved, &block)?;
                progress.advance(1);
                Ok(out)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        for batch in batches {
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(Writer::create(&args.out, &batch.schema())?),
            };
            w.write(&batch)?;
            rows += batch.num_rows();
        }
    }
    progress.finish();
    match writer {
        Some(w) => w.close()?,
        None => anyhow::bail!("no partitions to score in {}", args.data[0].display()),
    }
    let result = serde_json::json!({
        "rows": rows,
        "out": args.out,
        "model_dir": args.model,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{result}");
    Ok(())
}

/// The kept columns plus `prediction` (and `probability` for classifiers).
fn scored(
    names: &[String],
    kept: Vec<ArrayRef>,
    saved: &ModelDirectory,
    block: &distml::feature::FeatureBlock,
) -> anyhow::Result<RecordBatch> {
    let mut fields: Vec<Field> = names
        .iter()
        .zip(&kept)
        .map(|(n, a)| Field::new(n, a.data_type().clone(), true))
        .collect();
    let mut columns = kept;
    fields.push(Field::new("prediction", DataType::Float64, false));
    columns.push(Arc::new(Float64Array::from(
        saved.model.predict(block).to_vec(),
    )));
    if saved.model.family == Family::Binomial {
        fields.push(Field::new("probability", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from(
            saved.model.predict_mean(block).to_vec(),
        )));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

enum Writer {
    Parquet(ArrowWriter<File>),
    Csv(arrow_csv::Writer<File>),
}

impl Writer {
    fn create(path: &std::path::Path, schema: &arrow_schema::SchemaRef) -> anyhow::Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            return Ok(Writer::Csv(arrow_csv::Writer::new(file)));
        }
        Ok(Writer::Parquet(ArrowWriter::try_new(
            file,
            schema.clone(),
            None,
        )?))
    }

    fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        match self {
            Writer::Parquet(w) => w.write(batch)?,
            Writer::Csv(w) => w.write(batch)?,
        }
        Ok(())
    }

    fn close(self) -> anyhow::Result<()> {
        if let Writer::Parquet(w) = self {
            w.close()?;
        }
        Ok(())
    }
}
