//! `distml evaluate`: metrics JSON of a saved model on new files.

use std::path::PathBuf;

use clap::Args;
use distml::data::{DataSource, ReadOptions};
use distml::model::ModelDirectory;
use distml::train::evaluate_blocks;

use super::progress::Progress;

/// Flags of `evaluate`.
#[derive(Debug, Args)]
pub(crate) struct EvaluateArgs {
    /// Model directory written by `train --model-out`.
    #[arg(long)]
    model: PathBuf,
    /// Files to evaluate on (with the label column).
    #[arg(long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Number of partitions.
    #[arg(long)]
    partitions: Option<usize>,
}

pub(crate) fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    let saved = ModelDirectory::load(&args.model)?;
    let source = DataSource::open(
        &args.data,
        &ReadOptions {
            partitions: args.partitions,
            ..Default::default()
        },
    )?;
    let progress = Progress::new("evaluate", source.partitions().len() as u64);
    let transformed = saved
        .pipeline
        .transform_source(&source, &|| progress.advance(1))?;
    progress.finish();
    let metrics = evaluate_blocks(&saved.model, &transformed.blocks);
    let mut result = serde_json::to_value(&metrics)?;
    result["rows"] = transformed.rows().into();
    result["rows_read"] = transformed.rows_read.into();
    result["rows_dropped"] = serde_json::to_value(&transformed.dropped.0)?;
    result["model_dir"] = serde_json::to_value(&args.model)?;
    println!("{result}");
    Ok(())
}
