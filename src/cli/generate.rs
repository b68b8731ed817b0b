//! `distml generate taxi`: write a TLC-shaped month of trips.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use distml::data::taxi::{generate, Color, TaxiSpec};

use super::progress::Progress;

/// What to generate.
#[derive(Debug, Subcommand)]
pub(crate) enum GenerateCommand {
    /// NYC TLC trip records (yellow or green schema) as Parquet (zstd) or CSV (by extension).
    Taxi(TaxiArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ColorArg {
    Yellow,
    Green,
}

/// Flags of `generate taxi`.
#[derive(Debug, Args)]
pub(crate) struct TaxiArgs {
    /// Number of trips.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    /// Output file (.parquet, or .csv for CSV).
    #[arg(long)]
    out: PathBuf,
    /// Month of the pickups, YYYY-MM; the year also picks the TLC schema variant.
    #[arg(long, default_value = "2023-01")]
    month: String,
    /// Random seed: the same seed gives the same file.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Taxi colour.
    #[arg(long, value_enum, default_value_t = ColorArg::Yellow)]
    color: ColorArg,
}

pub(crate) fn run(cmd: GenerateCommand) -> anyhow::Result<()> {
    let GenerateCommand::Taxi(args) = cmd;
    let color = match args.color {
        ColorArg::Yellow => Color::Yellow,
        ColorArg::Green => Color::Green,
    };
    let spec = TaxiSpec {
        rows: args.rows,
        seed: args.seed,
        color,
        ..Default::default()
    }
    .with_month(&args.month)?;
    let started = Instant::now();
    let progress = Progress::new("generate", args.rows as u64);
    let out = generate(&spec, &args.out, &|n| progress.advance(n as u64))
        .with_context(|| format!("generating {}", args.out.display()))?;
    progress.finish();
    let summary = serde_json::json!({
        "path": out,
        "rows": args.rows,
        "month": format!("{:04}-{:02}", spec.year, spec.month),
        "color": format!("{color:?}").to_lowercase(),
        "seed": args.seed,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{summary}");
    Ok(())
}
