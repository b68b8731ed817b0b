//! `distml evaluate`: metrics JSON of a saved model on new files.

use std::path::PathBuf;

use clap::Args;
use distml::data::{DataSource, ReadOptions};
use distml::model::Scorer;

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
    let scorer = Scorer::load(&args.model)?;
    let options = ReadOptions {
        partitions: args.partitions,
        ..Default::default()
    };
    let source = DataSource::open(&args.data, &options)?;
    let progress = Progress::new("evaluate", source.partitions().len() as u64);
    let evaluation = scorer.evaluate_source(&source, &|| progress.advance(1))?;
    progress.finish();
    let mut result = serde_json::to_value(&evaluation.metrics)?;
    result["rows"] = evaluation.rows.into();
    result["rows_read"] = evaluation.rows_read.into();
    result["rows_dropped"] = serde_json::to_value(&evaluation.dropped.0)?;
    result["model_dir"] = serde_json::to_value(&args.model)?;
    println!("{result}");
    Ok(())
}
