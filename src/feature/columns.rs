//! Typed views of Arrow columns: every integer and float width as `f64`, timestamps of any
//! unit as microseconds, integer and string categories.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};
use arrow_schema::{DataType, TimeUnit};

use super::frame::{ColumnData, Frame};
use super::FeatureError;

fn type_error(stage: &str, column: &str, expected: &'static str, found: &DataType) -> FeatureError {
    FeatureError::ColumnType {
        stage: stage.to_string(),
        column: column.to_string(),
        expected,
        found: found.to_string(),
    }
}

fn cast(stage: &str, array: &ArrayRef, to: &DataType) -> Result<ArrayRef, FeatureError> {
    arrow_cast::cast::cast(array.as_ref(), to).map_err(|e| FeatureError::internal(stage, e))
}

/// Whether a type is read as a number.
pub(crate) fn is_numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating() || matches!(t, DataType::Boolean)
}

/// A numeric column (any integer, float or boolean type; index columns as their index) as `f64`.
pub(crate) fn numeric(
    frame: &Frame,
    stage: &str,
    name: &str,
) -> Result<Float64Array, FeatureError> {
    match frame.column(stage, name)? {
        ColumnData::Array(a) if a.data_type() == &DataType::Float64 => {
            Ok(a.as_primitive::<Float64Type>().clone())
        }
        ColumnData::Array(a) if is_numeric(a.data_type()) => {
            Ok(cast(stage, a, &DataType::Float64)?
                .as_primitive::<Float64Type>()
                .clone())
        }
        ColumnData::Array(a) => Err(type_error(stage, name, "a numeric column", a.data_type())),
        ColumnData::Index(ix) => Ok(ix.indices.iter().map(|&i| i as f64).collect()),
        other => Err(FeatureError::ColumnType {
            stage: stage.to_string(),
            column: name.to_string(),
            expected: "a numeric column",
            found: other.type_name(),
        }),
    }
}

/// A timestamp column of any unit (or a date-time string column) as microseconds since the epoch.
pub(crate) fn timestamps_us(
    frame: &Frame,
    stage: &str,
    name: &str,
) -> Result<arrow_array::TimestampMicrosecondArray, FeatureError> {
    let a = frame.array(stage, name)?;
    let target = DataType::Timestamp(TimeUnit::Microsecond, None);
    match a.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            Ok(a.as_primitive::<TimestampMicrosecondType>().clone())
        }
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
            let without_tz = match a.data_type() {
                DataType::Timestamp(unit, Some(_)) => {
                    cast(stage, a, &DataType::Timestamp(*unit, None))?
                }
                _ => a.clone(),
            };
            Ok(cast(stage, &without_tz, &target)?
                .as_primitive::<TimestampMicrosecondType>()
                .clone())
        }
        t => Err(type_error(stage, name, "a timestamp column", t)),
    }
}

/// A categorical input column: integers (any width) or strings.
#[derive(Debug, Clone)]
pub(crate) enum Categories {
    /// Integer categories.
    Int(Int64Array),
    /// String categories.
    Str(StringArray),
}

/// Reads a categorical column; floats are rejected since their text form is ambiguous.
pub(crate) fn categories(
    frame: &Frame,
    stage: &str,
    name: &str,
) -> Result<Categories, FeatureError> {
    let a = frame.array(stage, name)?;
    match a.data_type() {
        DataType::Int64 => Ok(Categories::Int(a.as_primitive::<Int64Type>().clone())),
        t if t.is_integer() || t == &DataType::Boolean => Ok(Categories::Int(
            cast(stage, a, &DataType::Int64)?
                .as_primitive::<Int64Type>()
                .clone(),
        )),
        DataType::Utf8 => Ok(Categories::Str(a.as_string::<i32>().clone())),
        DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => Ok(
            Categories::Str(cast(stage, a, &DataType::Utf8)?.as_string::<i32>().clone()),
        ),
        t => Err(type_error(stage, name, "an integer or string column", t)),
    }
}

/// Whether row `i` of a float column is missing (null or NaN).
#[inline]
pub(crate) fn missing(a: &Float64Array, i: usize) -> bool {
    a.is_null(i) || a.value(i).is_nan()
}

/// The fitted value of column `i`; a missing one means a corrupt saved pipeline.
pub(crate) fn fitted_at(values: &[f64], i: usize, stage: &str) -> Result<f64, FeatureError> {
    values
        .get(i)
        .copied()
        .ok_or_else(|| FeatureError::internal(stage, format!("no fitted value for column {i}")))
}

/// Writes `f(x)` of a numeric column into a `Float64` output column; nulls stay null.
pub(crate) fn map_numeric(
    frame: &mut Frame,
    stage: &str,
    input: &str,
    output: &str,
    f: impl Fn(f64) -> f64,
) -> Result<(), FeatureError> {
    let v = numeric(frame, stage, input)?;
    let values: Vec<f64> = v.values().iter().map(|&x| f(x)).collect();
    let out = Float64Array::new(values.into(), v.nulls().cloned());
    frame.set(output, ColumnData::Array(std::sync::Arc::new(out)));
    Ok(())
}

/// The non-missing values of a numeric column.
pub(crate) fn present(frame: &Frame, stage: &str, name: &str) -> Result<Vec<f64>, FeatureError> {
    let v = numeric(frame, stage, name)?;
    Ok((0..v.len())
        .filter(|&i| !missing(&v, i))
        .map(|i| v.value(i))
        .collect())
}

pub(crate) fn check_columns(
    stage: &str,
    inputs: &[String],
    outputs: &[String],
) -> Result<(), FeatureError> {
    if inputs.is_empty() {
        return Err(FeatureError::param(stage, "inputCols", "is empty"));
    }
    if inputs.len() != outputs.len() {
        return Err(FeatureError::param(
            stage,
            "outputCols",
            format!("{} outputs for {} inputs", outputs.len(), inputs.len()),
        ));
    }
    if outputs.iter().any(|o| o.trim().is_empty()) {
        return Err(FeatureError::param(
            stage,
            "outputCols",
            "has an empty name",
        ));
    }
    Ok(())
}
