//! The canonical taxi trip schema that every TLC file (yellow, green, any year) is read into.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Canonical name of the pickup timestamp (TLC: `tpep_pickup_datetime` / `lpep_pickup_datetime`).
pub const PICKUP: &str = "pickup_datetime";
/// Canonical name of the dropoff timestamp (TLC: `tpep_dropoff_datetime` / `lpep_dropoff_datetime`).
pub const DROPOFF: &str = "dropoff_datetime";
/// Pickup zone id (1–265).
pub const PU_LOCATION: &str = "PULocationID";
/// Dropoff zone id (1–265).
pub const DO_LOCATION: &str = "DOLocationID";
/// Trip distance in miles.
pub const TRIP_DISTANCE: &str = "trip_distance";

/// The timestamp type every taxi timestamp is widened or narrowed to.
pub const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// Canonical columns: name and type. Integers are `Int64`, money and distances `Float64`.
const COLUMNS: &[(&str, DataType)] = &[
    ("VendorID", DataType::Int64),
    (PICKUP, TIMESTAMP),
    (DROPOFF, TIMESTAMP),
    ("store_and_fwd_flag", DataType::Utf8),
    ("RatecodeID", DataType::Int64),
    (PU_LOCATION, DataType::Int64),
    (DO_LOCATION, DataType::Int64),
    ("passenger_count", DataType::Int64),
    (TRIP_DISTANCE, DataType::Float64),
    ("fare_amount", DataType::Float64),
    ("extra", DataType::Float64),
    ("mta_tax", DataType::Float64),
    ("tip_amount", DataType::Float64),
    ("tolls_amount", DataType::Float64),
    ("ehail_fee", DataType::Float64),
    ("improvement_surcharge", DataType::Float64),
    ("total_amount", DataType::Float64),
    ("payment_type", DataType::Int64),
    ("trip_type", DataType::Int64),
    ("congestion_surcharge", DataType::Float64),
    ("airport_fee", DataType::Float64),
    ("cbd_congestion_fee", DataType::Float64),
];

/// The canonical taxi schema (all columns nullable, since real months have nulls everywhere).
pub fn canonical_schema() -> SchemaRef {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|(name, ty)| Field::new(*name, ty.clone(), true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// Other names the TLC (and FHV) files use for a canonical column; matching is case-insensitive.
pub fn aliases(canonical: &str) -> &'static [&'static str] {
    match canonical {
        PICKUP => &[
            "tpep_pickup_datetime",
            "lpep_pickup_datetime",
            "pickup_datetime",
        ],
        DROPOFF => &[
            "tpep_dropoff_datetime",
            "lpep_dropoff_datetime",
            "dropoff_datetime",
        ],
        _ => &[],
    }
}

/// Whether a file's schema looks like TLC trip records (a pickup timestamp and a pickup zone).
pub fn is_taxi_schema(schema: &Schema) -> bool {
    let has = |names: &[&str]| {
        schema
            .fields()
            .iter()
            .any(|f| names.iter().any(|n| f.name().eq_ignore_ascii_case(n)))
    };
    has(aliases(PICKUP)) && has(&[PU_LOCATION])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yellow_and_green_are_recognised() {
        let ts = DataType::Timestamp(TimeUnit::Nanosecond, None);
        let yellow = Schema::new(vec![
            Field::new("tpep_pickup_datetime", ts.clone(), true),
            Field::new("PULocationID", DataType::Int32, true),
        ]);
        let green = Schema::new(vec![
            Field::new("lpep_pickup_datetime", ts, true),
            Field::new("pulocationid", DataType::Int64, true),
        ]);
        let plain = Schema::new(vec![Field::new("x", DataType::Float64, true)]);
        assert!(is_taxi_schema(&yellow) && is_taxi_schema(&green) && !is_taxi_schema(&plain));
        assert_eq!(canonical_schema().fields().len(), COLUMNS.len());
    }
}
