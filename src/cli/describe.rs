//! `distml describe`: per-column summary JSON of one or more files.

use std::path::PathBuf;

use clap::Args;
use distml::data::{describe, DataSource, ReadOptions, TaxiMode};

use super::progress::Progress;

/// Flags of `describe`.
#[derive(Debug, Args)]
pub(crate) struct DescribeArgs {
    /// Files, directories or globs (Parquet or CSV), read as one table.
    #[arg(long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Only these columns (comma-separated); default all.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Number of partitions (default: one per row group / 64 MiB of CSV, at least one per core).
    #[arg(long)]
    partitions: Option<usize>,
    /// Read TLC files as they are instead of in the canonical taxi schema.
    #[arg(long)]
    raw: bool,
}

pub(crate) fn run(args: DescribeArgs) -> anyhow::Result<()> {
    let options = ReadOptions {
        partitions: args.partitions,
        taxi: if args.raw {
            TaxiMode::Off
        } else {
            TaxiMode::Auto
        },
        ..Default::default()
    };
    let source = DataSource::open(&args.data, &options)?;
    let columns: Vec<&str> = args.columns.iter().map(String::as_str).collect();
    let progress = Progress::new("describe", source.partitions().len() as u64);
    let description = describe(&source, &columns, &|| progress.advance(1))?;
    progress.finish();
    println!("{}", serde_json::to_string(&description)?);
    Ok(())
}
