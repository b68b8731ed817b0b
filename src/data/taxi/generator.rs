//! `distml generate taxi`: TLC-shaped trip records with realistic structure and dirt.
//!
//! Duration follows from zone geometry (distance with detours), a speed that depends on the
//! hour, the weekday, the borough and the trip length, and heavy-tailed noise. About 1% of rows
//! carry the dirt of real months: dropoff before or at pickup, multi-hour trips, zero distances,
//! null passenger counts. Rows are made in independent seeded chunks, so the same seed gives
//! the same file whatever the core count.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_array::{LargeStringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{Datelike, NaiveDate};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal};
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

use super::zones::{zones, Borough, Zone, JFK, LAGUARDIA};
use crate::data::DataError;

/// Rows per generated chunk and per Parquet row group.
pub const ROWS_PER_GROUP: usize = 1 << 18;

/// Taxi colour: yellow (`tpep_*`, Manhattan-heavy) or green (`lpep_*`, outer boroughs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// Yellow medallion cabs.
    #[default]
    Yellow,
    /// Green boro cabs.
    Green,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct TaxiSpec {
    /// Number of rows.
    pub rows: usize,
    /// Year and month of the pickups.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Random seed.
    pub seed: u64,
    /// Colour (schema and geography).
    pub color: Color,
}

impl Default for TaxiSpec {
    fn default() -> Self {
        TaxiSpec {
            rows: 100_000,
            year: 2023,
            month: 1,
            seed: 42,
            color: Color::Yellow,
        }
    }
}

impl TaxiSpec {
    /// Parses `YYYY-MM`.
    pub fn with_month(mut self, text: &str) -> Result<Self, DataError> {
        let bad = || DataError::InvalidOption {
            option: "--month",
            message: format!("'{text}' is not YYYY-MM (e.g. 2023-01)"),
        };
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        self.year = y.parse().map_err(|_| bad())?;
        self.month = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&self.month) || !(2009..=2100).contains(&self.year) {
            return Err(bad());
        }
        Ok(self)
    }

    fn schema_era(&self) -> Era {
        match (self.color, self.year) {
            (Color::Green, _) => Era::Green,
            (Color::Yellow, y) if y >= 2025 => Era::Yellow2025,
            (Color::Yellow, 2024) => Era::Yellow2024,
            (Color::Yellow, _) => Era::Yellow2023,
        }
    }
}

/// The physical schema variants TLC has published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Era {
    Yellow2023,
    Yellow2024,
    Yellow2025,
    Green,
}

/// The generator's zone tables: pickup weights and, per pickup zone, a dropoff CDF.
struct Geography {
    zones: Vec<Zone>,
    pickup_cdf: Vec<f64>,
    dropoff_cdf: Vec<Vec<f64>>,
}

impl Geography {
    fn new(color: Color) -> Self {
        let zones = zones();
        let mut rng = Pcg64Mcg::seed_from_u64(0x9e0 + color as u64);
        let popularity: Vec<f64> = zones
            .iter()
            .map(|z| {
                let base = (rng.random::<f64>() * 2.5).exp();
                base * match (color, z.borough) {
                    _ if z.is_airport() => 12.0,
                    (_, Borough::Unknown) => 0.3,
                    (Color::Yellow, Borough::Manhattan) => 25.0,
                    (Color::Yellow, _) => 0.6,
                    (Color::Green, Borough::Manhattan) => {
                        if z.y > 4.0 {
                            8.0
                        } else {
                            0.4
                        }
                    }
                    (Color::Green, Borough::StatenIsland | Borough::Ewr) => 0.2,
                    (Color::Green, _) => 4.0,
                }
            })
            .collect();
        let dropoff_cdf = zones
            .iter()
            .map(|from| {
                cdf(zones.iter().zip(&popularity).map(|(to, w)| {
                    let reach = if from.is_airport() || to.is_airport() {
                        12.0
                    } else {
                        3.0
                    };
                    w * (-from.distance(to) / reach).exp()
                }))
            })
            .collect();
        Geography {
            pickup_cdf: cdf(popularity.iter().copied()),
            dropoff_cdf,
            zones,
        }
    }
}

fn cdf(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut out: Vec<f64> = weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect();
    out.iter_mut().for_each(|x| *x /= acc);
    out
}

fn sample(cdf: &[f64], u: f64) -> usize {
    cdf.partition_point(|&c| c < u).min(cdf.len() - 1)
}

/// Share of trips by hour of day (weekdays, weekends), from the shape of real months.
const HOURLY: [[f64; 24]; 2] = [
    [
        2.0, 1.2, 0.8, 0.5, 0.5, 0.8, 2.0, 3.8, 4.8, 4.9, 4.7, 4.9, 5.2, 5.2, 5.6, 5.9, 6.0, 6.6,
        7.0, 6.4, 5.6, 5.3, 4.8, 3.6,
    ],
    [
        3.8, 3.2, 2.4, 1.7, 1.2, 0.9, 1.0, 1.6, 2.5, 3.4, 4.3, 5.0, 5.5, 5.7, 5.8, 5.9, 5.9, 6.0,
        6.0, 5.5, 5.0, 4.8, 4.6, 4.3,
    ],
];

/// Column vectors of one generated chunk.
#[derive(Default)]
struct Trips {
    vendor: Vec<i64>,
    pickup: Vec<i64>,
    dropoff: Vec<i64>,
    flag: Vec<Option<&'static str>>,
    ratecode: Vec<Option<i64>>,
    pu: Vec<i64>,
    dl: Vec<i64>,
    passengers: Vec<Option<i64>>,
    distance: Vec<f64>,
    fare: Vec<f64>,
    extra: Vec<f64>,
    mta_tax: Vec<f64>,
    tip: Vec<f64>,
    tolls: Vec<f64>,
    improvement: Vec<f64>,
    total: Vec<f64>,
    payment: Vec<i64>,
    trip_type: Vec<Option<i64>>,
    congestion: Vec<Option<f64>>,
    airport_fee: Vec<Option<f64>>,
    cbd_fee: Vec<Option<f64>>,
}

struct Draws {
    noise: LogNormal<f64>,
    detour: LogNormal<f64>,
    delay: Exp<f64>,
}

fn generate_chunk(spec: &TaxiSpec, geo: &Geography, chunk: usize, rows: usize) -> Trips {
    let mut rng =
        Pcg64Mcg::seed_from_u64(spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ chunk as u64);
    let draws = Draws {
        noise: LogNormal::new(0.0, 0.22).expect("valid lognormal"),
        detour: LogNormal::new(0.0, 0.12).expect("valid lognormal"),
        delay: Exp::new(1.0 / 8.0).expect("valid exponential"),
    };
    let first = NaiveDate::from_ymd_opt(spec.year, spec.month, 1).expect("validated month");
    let days = days_in_month(first);
    let epoch_us = first
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_micros();
    let first_weekday = first.weekday().num_days_from_monday() as usize;
    let hourly = [
        cdf(HOURLY[0].iter().copied()),
        cdf(HOURLY[1].iter().copied()),
    ];
    let mut t = Trips::default();
    for _ in 0..rows {
        let day = rng.random_range(0..days);
        let weekday = (first_weekday + day) % 7;
        let weekend = usize::from(weekday >= 5);
        let hour = sample(&hourly[weekend], rng.random());
        let start_us =
            epoch_us + ((day * 24 + hour) as i64 * 3600 + rng.random_range(0..3600)) * 1_000_000;
        let pu = sample(&geo.pickup_cdf, rng.random());
        let dl = sample(&geo.dropoff_cdf[pu], rng.random());
        let (from, to) = (&geo.zones[pu], &geo.zones[dl]);
        let mut miles = trip_miles(from, to, &mut rng, &draws);
        let mut minutes = trip_minutes(from, to, miles, hour, weekend == 1, &mut rng, &draws);
        // The dirt of real months.
        let dirt: f64 = rng.random();
        if dirt < 0.006 {
            minutes = -rng.random_range(0.1..30.0);
        } else if dirt < 0.010 {
            minutes = 0.0;
        } else if dirt < 0.013 {
            minutes = rng.random_range(120.0..1440.0);
        } else if dirt < 0.028 {
            miles = 0.0;
        }
        let end_us = start_us + (minutes * 60.0).round() as i64 * 1_000_000;
        push_trip(
            &mut t,
            spec,
            (from, to),
            (start_us, end_us),
            miles,
            minutes,
            hour,
            &mut rng,
        );
    }
    t
}

fn days_in_month(first: NaiveDate) -> usize {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    next.map(|n| (n - first).num_days() as usize).unwrap_or(30)
}

fn trip_miles(from: &Zone, to: &Zone, rng: &mut Pcg64Mcg, d: &Draws) -> f64 {
    let straight =
        if from.id == to.id || from.borough == Borough::Unknown || to.borough == Borough::Unknown {
            rng.random_range(0.3..2.0)
        } else {
            from.distance(to) + rng.random_range(0.0..0.6)
        };
    (straight * 1.3 * d.detour.sample(rng) * 100.0).round() / 100.0
}

fn trip_minutes(
    from: &Zone,
    to: &Zone,
    miles: f64,
    hour: usize,
    weekend: bool,
    rng: &mut Pcg64Mcg,
    d: &Draws,
) -> f64 {
    let mut mph = 7.5 + 14.0 * (1.0 - (-miles / 5.0).exp());
    let rush = !weekend && (matches!(hour, 7..=9) || matches!(hour, 16..=19));
    mph *= if rush {
        0.72
    } else if hour < 6 {
        1.4
    } else if weekend {
        1.1
    } else {
        1.0
    };
    if from.borough == Borough::Manhattan || to.borough == Borough::Manhattan {
        mph *= 0.85;
    }
    let mut minutes = 1.5 + 60.0 * miles / mph;
    minutes *= d.noise.sample(rng);
    if rng.random::<f64>() < 0.03 {
        minutes += d.delay.sample(rng);
    }
    minutes
}

#[allow(clippy::too_many_arguments)]
fn push_trip(
    t: &mut Trips,
    spec: &TaxiSpec,
    (from, to): (&Zone, &Zone),
    (start_us, end_us): (i64, i64),
    miles: f64,
    minutes: f64,
    hour: usize,
    rng: &mut Pcg64Mcg,
) {
    let missing = rng.random::<f64>() < 0.03; // vendor records without the optional fields
    let airport = from.is_airport() || to.is_airport();
    let jfk = from.id == JFK || to.id == JFK;
    let manhattan = from.borough == Borough::Manhattan || to.borough == Borough::Manhattan;
    let ratecode = if jfk && manhattan {
        2
    } else if rng.random::<f64>() < 0.01 {
        5
    } else {
        1
    };
    let fare = if ratecode == 2 {
        70.0
    } else {
        (3.0 + 2.5 * miles + 0.5 * minutes.clamp(0.0, 180.0)).max(3.0)
    };
    let fare = (fare * 100.0).round() / 100.0;
    let extra = if !(6..20).contains(&hour) {
        1.0
    } else if (16..20).contains(&hour) {
        2.5
    } else {
        0.0
    };
    let payment = if missing {
        0
    } else {
        [1, 1, 1, 1, 1, 1, 2, 2, 3, 4][rng.random_range(0..10)]
    };
    let tip = if payment == 1 {
        (fare * rng.random_range(0.1..0.3) * 100.0).round() / 100.0
    } else {
        0.0
    };
    let tolls = if airport && rng.random::<f64>() < 0.4 {
        6.94
    } else {
        0.0
    };
    let congestion = if manhattan { 2.5 } else { 0.0 };
    let airport_fee = if from.id == JFK || from.id == LAGUARDIA {
        1.75
    } else {
        0.0
    };
    let cbd = if manhattan && spec.year >= 2025 {
        0.75
    } else {
        0.0
    };
    let total = fare + extra + 0.5 + tip + tolls + 1.0 + congestion + airport_fee + cbd;
    let passengers = [
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 4, 5, 6, 0,
    ][rng.random_range(0..22)];
    t.vendor
        .push(if rng.random::<f64>() < 0.27 { 1 } else { 2 });
    t.pickup.push(start_us);
    t.dropoff.push(end_us);
    t.flag
        .push((!missing).then_some(if rng.random::<f64>() < 0.005 {
            "Y"
        } else {
            "N"
        }));
    t.ratecode.push((!missing).then_some(ratecode));
    t.pu.push(from.id as i64);
    t.dl.push(to.id as i64);
    t.passengers.push((!missing).then_some(passengers));
    t.distance.push(miles);
    t.fare.push(fare);
    t.extra.push(extra);
    t.mta_tax.push(0.5);
    t.tip.push(tip);
    t.tolls.push(tolls);
    t.improvement.push(1.0);
    t.total.push((total * 100.0).round() / 100.0);
    t.payment.push(payment);
    t.trip_type
        .push(Some(if rng.random::<f64>() < 0.97 { 1 } else { 2 }));
    t.congestion.push((!missing).then_some(congestion));
    t.airport_fee.push((!missing).then_some(airport_fee));
    t.cbd_fee.push((!missing).then_some(cbd));
}

/// The physical TLC schema of the spec's colour and year.
pub fn tlc_schema(spec: &TaxiSpec) -> SchemaRef {
    let era = spec.schema_era();
    let id = if era == Era::Yellow2023 {
        DataType::Int64
    } else {
        DataType::Int32
    };
    let count = if era == Era::Yellow2023 {
        DataType::Float64
    } else {
        DataType::Int64
    };
    let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
    let prefix = if era == Era::Green { "lpep" } else { "tpep" };
    let text = if era == Era::Yellow2025 {
        DataType::LargeUtf8
    } else {
        DataType::Utf8
    };
    let f = |name: &str, t: &DataType| Field::new(name, t.clone(), true);
    let mut fields = vec![
        f("VendorID", &id),
        f(&format!("{prefix}_pickup_datetime"), &ts),
        f(&format!("{prefix}_dropoff_datetime"), &ts),
    ];
    if era == Era::Green {
        fields.extend([
            f("store_and_fwd_flag", &text),
            f("RatecodeID", &DataType::Int64),
        ]);
        fields.extend([
            f("PULocationID", &id),
            f("DOLocationID", &id),
            f("passenger_count", &count),
        ]);
    } else {
        fields.extend([
            f("passenger_count", &count),
            f("trip_distance", &DataType::Float64),
        ]);
        fields.extend([f("RatecodeID", &count), f("store_and_fwd_flag", &text)]);
        fields.extend([
            f("PULocationID", &id),
            f("DOLocationID", &id),
            f("payment_type", &DataType::Int64),
        ]);
    }
    let money = |names: &[&str]| {
        names
            .iter()
            .map(|n| f(n, &DataType::Float64))
            .collect::<Vec<_>>()
    };
    if era == Era::Green {
        fields.extend(money(&[
            "trip_distance",
            "fare_amount",
            "extra",
            "mta_tax",
            "tip_amount",
            "tolls_amount",
            "ehail_fee",
            "improvement_surcharge",
            "total_amount",
        ]));
        fields.extend([
            f("payment_type", &DataType::Int64),
            f("trip_type", &DataType::Int64),
        ]);
        fields.extend(money(&["congestion_surcharge"]));
    } else {
        fields.extend(money(&[
            "fare_amount",
            "extra",
            "mta_tax",
            "tip_amount",
            "tolls_amount",
            "improvement_surcharge",
            "total_amount",
            "congestion_surcharge",
        ]));
        fields.push(f(
            if era == Era::Yellow2023 {
                "airport_fee"
            } else {
                "Airport_fee"
            },
            &DataType::Float64,
        ));
        if era == Era::Yellow2025 {
            fields.push(f("cbd_congestion_fee", &DataType::Float64));
        }
    }
    Arc::new(Schema::new(fields))
}

fn to_batch(t: Trips, schema: &SchemaRef) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| column(&t, field))
        .collect();
    RecordBatch::try_new(schema.clone(), columns)
}

fn column(t: &Trips, field: &Field) -> ArrayRef {
    let int = |v: Vec<Option<i64>>| -> ArrayRef {
        match field.data_type() {
            DataType::Int32 => Arc::new(Int32Array::from(
                v.into_iter()
                    .map(|x| x.map(|x| x as i32))
                    .collect::<Vec<_>>(),
            )),
            DataType::Float64 => Arc::new(Float64Array::from(
                v.into_iter()
                    .map(|x| x.map(|x| x as f64))
                    .collect::<Vec<_>>(),
            )),
            _ => Arc::new(Int64Array::from(v)),
        }
    };
    let all = |v: &[i64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
    let float = |v: &[f64]| -> ArrayRef { Arc::new(Float64Array::from(v.to_vec())) };
    let opt_float = |v: &[Option<f64>]| -> ArrayRef { Arc::new(Float64Array::from(v.to_vec())) };
    match field.name().as_str() {
        "VendorID" => int(all(&t.vendor)),
        n if n.ends_with("pickup_datetime") => {
            Arc::new(TimestampMicrosecondArray::from(t.pickup.clone()))
        }
        n if n.ends_with("dropoff_datetime") => {
            Arc::new(TimestampMicrosecondArray::from(t.dropoff.clone()))
        }
        "store_and_fwd_flag" if field.data_type() == &DataType::LargeUtf8 => {
            Arc::new(LargeStringArray::from(t.flag.clone()))
        }
        "store_and_fwd_flag" => Arc::new(StringArray::from(t.flag.clone())),
        "RatecodeID" => int(t.ratecode.clone()),
        "PULocationID" => int(all(&t.pu)),
        "DOLocationID" => int(all(&t.dl)),
        "passenger_count" => int(t.passengers.clone()),
        "trip_distance" => float(&t.distance),
        "fare_amount" => float(&t.fare),
        "extra" => float(&t.extra),
        "mta_tax" => float(&t.mta_tax),
        "tip_amount" => float(&t.tip),
        "tolls_amount" => float(&t.tolls),
        "improvement_surcharge" => float(&t.improvement),
        "total_amount" => float(&t.total),
        "payment_type" => int(all(&t.payment)),
        "trip_type" => int(t.trip_type.clone()),
        "congestion_surcharge" => opt_float(&t.congestion),
        "airport_fee" | "Airport_fee" => opt_float(&t.airport_fee),
        "cbd_congestion_fee" => opt_float(&t.cbd_fee),
        _ => arrow_array::new_null_array(field.data_type(), t.pu.len()), // ehail_fee: always null
    }
}

/// Writes `spec.rows` trips to `out` (Parquet with zstd, or CSV when the name ends in `.csv`).
pub fn generate(
    spec: &TaxiSpec,
    out: &Path,
    on_rows: &(dyn Fn(usize) + Sync),
) -> Result<PathBuf, DataError> {
    let io = |e: std::io::Error| DataError::io(out, e);
    let internal = |e: &dyn std::fmt::Display| DataError::Internal {
        path: out.to_path_buf(),
        message: e.to_string(),
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let schema = tlc_schema(spec);
    let geo = Geography::new(spec.color);
    let chunks: Vec<(usize, usize)> = (0..spec.rows.div_ceil(ROWS_PER_GROUP))
        .map(|c| (c, ROWS_PER_GROUP.min(spec.rows - c * ROWS_PER_GROUP)))
        .collect();
    let mut sink = Sink::open(out, &schema).map_err(|e| internal(&e))?;
    let wave = 2 * rayon::current_num_threads();
    for group in chunks.chunks(wave) {
        let batches: Vec<RecordBatch> = group
            .par_iter()
            .map(|&(c, n)| to_batch(generate_chunk(spec, &geo, c, n), &schema))
            .collect::<Result<_, _>>()
            .map_err(|e| internal(&e))?;
        for batch in batches {
            sink.write(&batch).map_err(|e| internal(&e))?;
            on_rows(batch.num_rows());
        }
    }
    sink.close().map_err(|e| internal(&e))?;
    Ok(out.to_path_buf())
}

enum Sink {
    Parquet(ArrowWriter<File>),
    Csv(arrow_csv::Writer<std::io::BufWriter<File>>),
}

impl Sink {
    fn open(out: &Path, schema: &SchemaRef) -> Result<Self, Box<dyn std::error::Error>> {
        let file = File::create(out)?;
        if out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            let writer = arrow_csv::WriterBuilder::new()
                .with_timestamp_format("%Y-%m-%d %H:%M:%S".to_string())
                .build(std::io::BufWriter::new(file));
            return Ok(Sink::Csv(writer));
        }
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
            .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
            .build();
        Ok(Sink::Parquet(ArrowWriter::try_new(
            file,
            schema.clone(),
            Some(props),
        )?))
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), Box<dyn std::error::Error>> {
        match self {
            Sink::Parquet(w) => w.write(batch)?,
            Sink::Csv(w) => w.write(batch)?,
        }
        Ok(())
    }

    fn close(self) -> Result<(), Box<dyn std::error::Error>> {
        match self {
            Sink::Parquet(w) => {
                w.close()?;
            }
            Sink::Csv(w) => {
                w.into_inner().into_inner().map_err(|e| e.into_error())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_deterministic_and_mostly_clean() {
        use super::super::zones::ZONE_COUNT;
        let spec = TaxiSpec {
            rows: 20_000,
            ..Default::default()
        };
        let geo = Geography::new(spec.color);
        let a = generate_chunk(&spec, &geo, 3, 20_000);
        let b = generate_chunk(&spec, &geo, 3, 20_000);
        assert_eq!(a.pickup, b.pickup);
        assert_eq!(a.distance, b.distance);
        let minutes: Vec<f64> = a
            .pickup
            .iter()
            .zip(&a.dropoff)
            .map(|(p, d)| (d - p) as f64 / 60e6)
            .collect();
        let kept = minutes.iter().filter(|m| (1.0..=60.0).contains(*m)).count() as f64
            / minutes.len() as f64;
        let negative = minutes.iter().filter(|m| **m <= 0.0).count() as f64 / minutes.len() as f64;
        assert!(kept > 0.9 && kept < 0.995, "kept {kept}");
        assert!(negative > 0.005 && negative < 0.02, "negative {negative}");
        assert!(a.passengers.iter().any(Option::is_none));
        assert!(a.pu.iter().all(|&z| (1..=ZONE_COUNT as i64).contains(&z)));
    }

    #[test]
    fn months_parse_and_schemas_drift_by_year() {
        let spec = TaxiSpec::default().with_month("2024-02").unwrap();
        assert_eq!((spec.year, spec.month), (2024, 2));
        assert!(tlc_schema(&spec).field_with_name("Airport_fee").is_ok());
        assert!(TaxiSpec::default().with_month("2024-13").is_err());
        let green = TaxiSpec {
            color: Color::Green,
            ..Default::default()
        };
        assert!(tlc_schema(&green)
            .field_with_name("lpep_pickup_datetime")
            .is_ok());
    }
}
