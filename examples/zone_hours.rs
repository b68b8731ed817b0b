//! A `groupBy` on taxi trips with distml's map/reduce API: trips and mean duration per pickup
//! zone and hour of day — pandas'
//! `df.groupby(["PULocationID", "hour"]).duration.agg(["count", "mean"])`.
//!
//! Trips are kept as in the duration job: 1 to 60 minutes from pickup to dropoff. Any TLC
//! file (yellow or green, any year) or a generated month works; the output is Parquet or CSV
//! by its extension (`PULocationID, hour, trips, mean_duration`, in zone then hour order).
//!
//! ```sh
//! cargo run --release -- generate taxi --rows 1000000 --out jan.parquet
//! cargo run --release --example zone_hours -- --input jan.parquet --out zone_hours.parquet
//! cargo run --release --example zone_hours -- --input jan.parquet --out zone_hours.csv --workers 2
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use clap::Parser;
use distml::cluster::ClusterOptions;
use distml::data::taxi::schema::{DROPOFF, PICKUP, PU_LOCATION};
use distml::data::TableWriter;
use distml::mapreduce::{
    self, Inputs, MapReduce, MapReduceError, MapReduceOptions, Outputs, Record,
};

const MICROS_PER_MINUTE: f64 = 60e6;
const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// Trips per (pickup zone, hour) and their summed duration.
struct ZoneHours;

impl MapReduce for ZoneHours {
    type Key = (i64, i64);
    type Value = (u64, f64);
    type Output = (u64, f64);

    fn map(
        &self,
        record: Record<'_>,
        emit: &mut dyn FnMut((i64, i64), (u64, f64)),
    ) -> Result<(), MapReduceError> {
        let batch = record.batch()?;
        let pickup = batch.column(0).as_primitive::<TimestampMicrosecondType>();
        let dropoff = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        let zone = batch.column(2).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            if pickup.is_null(i) || dropoff.is_null(i) || zone.is_null(i) {
                continue;
            }
            let minutes = (dropoff.value(i) - pickup.value(i)) as f64 / MICROS_PER_MINUTE;
            if (1.0..=60.0).contains(&minutes) {
                let hour = pickup.value(i).div_euclid(MICROS_PER_HOUR).rem_euclid(24);
                emit((zone.value(i), hour), (1, minutes));
            }
        }
        Ok(())
    }

    fn combine(&self, acc: &mut (u64, f64), value: (u64, f64)) -> Option<(u64, f64)> {
        acc.0 += value.0;
        acc.1 += value.1;
        None
    }

    fn reduce(
        &self,
        _: &(i64, i64),
        values: Vec<(u64, f64)>,
    ) -> Result<Option<(u64, f64)>, MapReduceError> {
        let (trips, minutes) = values
            .into_iter()
            .fold((0, 0.0), |(n, s), (m, t)| (n + m, s + t));
        Ok(Some((trips, minutes / trips as f64)))
    }
}

/// Trips and mean duration per pickup zone and hour.
#[derive(Debug, Parser)]
struct Args {
    /// TLC trip files (Parquet or CSV; paths, directories or globs).
    #[arg(long, required = true)]
    input: Vec<PathBuf>,
    /// Output table: .parquet or .csv.
    #[arg(long)]
    out: PathBuf,
    /// Worker processes (spawned on 127.0.0.1); absent: in this process.
    #[arg(long)]
    workers: Option<usize>,
}

fn main() -> ExitCode {
    let result = mapreduce::serve_if_worker(&ZoneHours).and_then(|worker| match worker {
        true => Ok(()),
        false => group(&Args::parse()),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_user_error() { 2 } else { 1 })
        }
    }
}

fn group(args: &Args) -> Result<(), MapReduceError> {
    TableWriter::check_path(&args.out, "--out")?;
    let inputs = Inputs::Table {
        paths: args.input.clone(),
        columns: vec![PICKUP.into(), DROPOFF.into(), PU_LOCATION.into()],
    };
    let options = MapReduceOptions {
        cluster: args.workers.map(|workers| ClusterOptions {
            workers,
            ..Default::default()
        }),
        ..Default::default()
    };
    let out = mapreduce::run(&ZoneHours, &inputs, &options, &|line| eprintln!("{line}"))?;
    let batch = to_batch(&out.results);
    let mut writer = TableWriter::create(&args.out, &batch.schema())?;
    writer.write(&batch)?;
    writer.close()?;
    println!("{}", serde_json::to_string(&out.stats).unwrap_or_default());
    Ok(())
}

fn to_batch(results: &Outputs<ZoneHours>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new(PU_LOCATION, DataType::Int64, false),
        Field::new("hour", DataType::Int64, false),
        Field::new("trips", DataType::Int64, false),
        Field::new("mean_duration", DataType::Float64, false),
    ]));
    type Row = ((i64, i64), (u64, f64));
    let column = |f: &dyn Fn(&Row) -> i64| -> ArrayRef {
        Arc::new(results.iter().map(f).collect::<Int64Array>())
    };
    let columns = vec![
        column(&|r| r.0 .0),
        column(&|r| r.0 .1),
        column(&|r| r.1 .0 as i64),
        Arc::new(results.iter().map(|r| r.1 .1).collect::<Float64Array>()) as ArrayRef,
    ];
    RecordBatch::try_new(schema, columns).expect("four columns of equal length")
}
