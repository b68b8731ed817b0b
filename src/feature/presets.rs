//! Ready pipelines: the taxi duration job (plain and rich) and a generic table job, each with
//! its categorical columns one-hot encoded (linear models) or kept as category indices that
//! trees split natively.

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

/// How a pipeline hands categorical columns to the learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Categories {
    /// One-hot vectors (linear models).
    #[default]
    OneHot,
    /// Category indices, split natively (trees).
    Indices,
}

/// Categories indexed by frequency (with `keep`, so an unseen value — next month's new zone —
/// has an index of its own) and, for `OneHot`, one-hot encoded with `keep` (an all-zero row).
/// Returns the columns to assemble.
fn categorical(
    spec: PipelineSpec,
    columns: &[&str],
    how: Categories,
) -> (PipelineSpec, Vec<String>) {
    let indexed: Vec<String> = columns.iter().map(|c| format!("{c}_index")).collect();
    let encoded: Vec<String> = columns.iter().map(|c| format!("{c}_vec")).collect();
    let idx: Vec<&str> = indexed.iter().map(String::as_str).collect();
    let enc: Vec<&str> = encoded.iter().map(String::as_str).collect();
    let spec = spec.stage(
        StringIndexer::new(columns)
            .output_cols(&idx)
            .handle_invalid(HandleInvalid::Keep),
    );
    if how == Categories::Indices {
        return (spec, indexed);
    }
    let spec = spec.stage(
        OneHotEncoder::new(&idx)
            .output_cols(&enc)
            .handle_invalid(HandleInvalid::Keep),
    );
    (spec, encoded)
}

/// The reference duration job: `PULocationID`, `DOLocationID` one-hot, `trip_distance`;
/// label `duration` in minutes, rows outside 1..=60 (or with a null distance) dropped.
pub fn taxi() -> PipelineSpec {
    taxi_with(Categories::OneHot)
}

/// The reference duration job with its zones handed over `how`.
pub fn taxi_with(how: Categories) -> PipelineSpec {
    let (spec, encoded) = categorical(
        duration_stages(PipelineSpec::new()),
        &[PU_LOCATION, DO_LOCATION],
        how,
    );
    let mut inputs = vec![TRIP_DISTANCE];
    inputs.extend(encoded.iter().map(String::as_str));
    spec.assemble(VectorAssembler::new(&inputs, DURATION).handle_invalid(HandleInvalid::Skip))
}

/// The taxi job plus pickup hour and weekday (one-hot) and the PU×DO pair (one index in a
/// zone × zone space), the richer feature set of the course's variant.
pub fn taxi_rich() -> PipelineSpec {
    taxi_rich_with(Categories::OneHot)
}

/// The rich taxi job with its categories handed over `how`. As indices (trees), hour and
/// weekday stay numbers — a tree cuts them into ranges itself — and the zone pair is left out:
/// trees find the pickup × dropoff interactions they need.
pub fn taxi_rich_with(how: Categories) -> PipelineSpec {
    let spec = duration_stages(PipelineSpec::new())
        .stage(DatePart::new(PICKUP, Part::Hour, "pickup_hour"))
        .stage(DatePart::new(PICKUP, Part::DayOfWeek, "pickup_weekday"));
    if how == Categories::Indices {
        let (spec, indexed) = categorical(spec, &[PU_LOCATION, DO_LOCATION], how);
        let mut inputs = vec![TRIP_DISTANCE];
        inputs.extend(indexed.iter().map(String::as_str));
        inputs.extend(["pickup_hour", "pickup_weekday"]);
        let assembler = VectorAssembler::new(&inputs, DURATION).handle_invalid(HandleInvalid::Skip);
        return spec.assemble(assembler);
    }
    let (spec, encoded) = categorical(
        spec,
        &[PU_LOCATION, DO_LOCATION, "pickup_hour", "pickup_weekday"],
        how,
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
    generic_with(target, categorical_cols, numeric, Categories::OneHot)
}

/// [`generic`] with categories handed over `how`. As indices (trees), numeric nulls stay
/// missing values (NaN) for the learner to route, not imputed.
pub fn generic_with(
    target: &str,
    categorical_cols: &[&str],
    numeric: &[&str],
    how: Categories,
) -> PipelineSpec {
    let spec = PipelineSpec::new().stage(NullFilter::new(&[target]));
    let (mut spec, encoded) = if categorical_cols.is_empty() {
        (spec, Vec::new())
    } else {
        categorical(spec, categorical_cols, how)
    };
    if how == Categories::Indices {
        let inputs: Vec<&str> = numeric
            .iter()
            .copied()
            .chain(encoded.iter().map(String::as_str))
            .collect();
        return spec
            .assemble(VectorAssembler::new(&inputs, target).handle_invalid(HandleInvalid::Keep));
    }
    let imputed: Vec<String> = numeric.iter().map(|c| format!("{c}_imputed")).collect();
    if !numeric.is_empty() {
        let outs: Vec<&str> = imputed.iter().map(String::as_str).collect();
        spec = spec.stage(Imputer::new(numeric).output_cols(&outs));
    }
    let inputs: Vec<&str> = imputed.iter().chain(&encoded).map(String::as_str).collect();
    spec.assemble(VectorAssembler::new(&inputs, target))
}
