//! Ready pipelines: the taxi duration job (plain and rich) and a generic table job.

use crate::data::taxi::schema::{DO_LOCATION, DROPOFF, PICKUP, PU_LOCATION, TRIP_DISTANCE};

use super::{
    DatePart, HandleInvalid, Imputer, Interaction, NullFilter, OneHotEncoder, Part, PipelineSpec,
    RangeFilter, StringIndexer, TimestampDiff, VectorAssembler,
};

/// Name of the taxi label column.
pub const DURATION: &str = "duration";

/// Duration minutes from pickup/dropoff, kept when 1..=60.
fn duration_stages(spec: PipelineSpec) -> PipelineSpec {
    spec.stage(TimestampDiff::new(PICKUP, DROPOFF, DURATION))
        .stage(RangeFilter::new(DURATION, Some(1.0), Some(60.0)))
}

/// Categories indexed by frequency and one-hot encoded with `keep`, so an unseen value
/// (next month's new zone) is an all-zero row.
fn categorical(spec: PipelineSpec, columns: &[&str]) -> (PipelineSpec, Vec<String>) {
    let indexed: Vec<String> = columns.iter().map(|c| format!("{c}_index")).collect();
    let encoded: Vec<String> = columns.iter().map(|c| format!("{c}_vec")).collect();
    let idx: Vec<&str> = indexed.iter().map(String::as_str).collect();
    let enc: Vec<&str> = encoded.iter().map(String::as_str).collect();
    let spec = spec
        .stage(
            StringIndexer::new(columns)
                .output_cols(&idx)
                .handle_invalid(HandleInvalid::Keep),
        )
        .stage(
            OneHotEncoder::new(&idx)
                .output_cols(&enc)
                .handle_invalid(HandleInvalid::Keep),
        );
    (spec, encoded)
}

/// The reference duration job: `PULocationID`, `DOLocationID` one-hot, `trip_distance`;
/// label `duration` in minutes, rows outside 1..=60 (or with a null distance) dropped.
pub fn taxi() -> PipelineSpec {
    let (spec, encoded) = categorical(
        duration_stages(PipelineSpec::new()),
        &[PU_LOCATION, DO_LOCATION],
    );
    let mut inputs = vec![TRIP_DISTANCE];
    inputs.extend(encoded.iter().map(String::as_str));
    spec.assemble(VectorAssembler::new(&inputs, DURATION).handle_invalid(HandleInvalid::Skip))
}

/// The taxi job plus pickup hour and weekday (one-hot) and the PU×DO pair (one index in a
/// zone × zone space), the richer feature set of the course's variant.
pub fn taxi_rich() -> PipelineSpec {
    let spec = duration_stages(PipelineSpec::new())
        .stage(DatePart::new(PICKUP, Part::Hour, "pickup_hour"))
        .stage(DatePart::new(PICKUP, Part::DayOfWeek, "pickup_weekday"));
    let (spec, encoded) = categorical(
        spec,
        &[PU_LOCATION, DO_LOCATION, "pickup_hour", "pickup_weekday"],
    );
    let spec = spec.stage(Interaction::new(&[&encoded[0], &encoded[1]], "PU_DO"));
    let mut inputs = vec![TRIP_DISTANCE];
    inputs.extend(encoded.iter().map(String::as_str));
    inputs.push("PU_DO");
    spec.assemble(VectorAssembler::new(&inputs, DURATION).handle_invalid(HandleInvalid::Skip))
}

/// Any table: rows with a null `target` dropped (and counted), `categorical` columns (integer
/// or string) one-hot with `keep`, `numeric` columns with nulls imputed by the mean.
pub fn generic(target: &str, categorical_cols: &[&str], numeric: &[&str]) -> PipelineSpec {
    let spec = PipelineSpec::new().stage(NullFilter::new(&[target]));
    let (mut spec, encoded) = if categorical_cols.is_empty() {
        (spec, Vec::new())
    } else {
        categorical(spec, categorical_cols)
    };
    let imputed: Vec<String> = numeric.iter().map(|c| format!("{c}_imputed")).collect();
    if !numeric.is_empty() {
        let outs: Vec<&str> = imputed.iter().map(String::as_str).collect();
        spec = spec.stage(Imputer::new(numeric).output_cols(&outs));
    }
    let inputs: Vec<&str> = imputed.iter().chain(&encoded).map(String::as_str).collect();
    spec.assemble(VectorAssembler::new(&inputs, target))
}
