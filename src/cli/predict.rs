//! `distml predict`: score files with a saved model, writing the input columns plus `prediction`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use distml::data::{DataSource, ReadOptions};
use distml::model::Scorer;

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
    /// Output file: .parquet or .csv.
    #[arg(long)]
    out: PathBuf,
    /// Number of partitions.
    #[arg(long)]
    partitions: Option<usize>,
}

pub(crate) fn run(args: PredictArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    distml::data::TableWriter::check_path(&args.out, "--out")?;
    let scorer = Scorer::load(&args.model)?;
    let options = ReadOptions {
        partitions: args.partitions,
        ..Default::default()
    };
    let source = DataSource::open(&args.data, &options)?;
    let progress = Progress::new("predict", source.partitions().len() as u64);
    let rows = scorer.predict_source(&source, &args.out, &|| progress.advance(1))?;
    progress.finish();
    let result = serde_json::json!({
        "rows": rows,
        "out": args.out,
        "model_dir": args.model,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{result}");
    Ok(())
}
