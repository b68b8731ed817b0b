//! Scoring requests as MLflow's server takes them, turned into one record batch of the raw
//! columns the model's pipeline reads: JSON with exactly one of `dataframe_split`,
//! `dataframe_records`, `instances` or `inputs` (and optional `params`), or CSV with a header.
//! Columns are found by name as the file readers find them (exact, any case, or a TLC alias:
//! `tpep_pickup_datetime` is `pickup_datetime`); extra columns are ignored.

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_cast::cast::{cast_with_options, CastOptions};
use arrow_schema::{DataType, Schema, SchemaRef};
use serde_json::Value;

use super::ServeError;
use crate::data::taxi::schema::aliases;

/// The JSON keys of MLflow's scoring protocol, one of which a body holds.
const FORMATS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

/// Named columns of JSON values, as a request gave them.
pub(crate) struct Columns {
    /// The request's column names.
    pub(crate) names: Vec<String>,
    /// Each column's values, in row order.
    pub(crate) values: Vec<Vec<Value>>,
}

/// Reads a JSON body into the `schema`'s columns.
pub(crate) fn from_json(body: &[u8], schema: &SchemaRef) -> Result<RecordBatch, ServeError> {
    let bad = |m: String| ServeError::BadRequest(m);
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(bad("the body must be a JSON object".into()));
    };
    let present: Vec<&str> = FORMATS
        .into_iter()
        .filter(|k| map.contains_key(*k))
        .collect();
    let [format] = present[..] else {
        return Err(bad(format!(
            "the body must hold exactly one of {} (it holds {})",
            FORMATS.join(", "),
            if present.is_empty() {
                "none".to_string()
            } else {
                present.join(", ")
            }
        )));
    };
    if let Some(key) = map
        .keys()
        .find(|k| !FORMATS.contains(&k.as_str()) && *k != "params")
    {
        return Err(bad(format!(
            "unknown key '{key}' (expected {format} and optional params)"
        )));
    }
    let columns = match format {
        "dataframe_split" => split(&map[format])?,
        _ => records_or_columns(&map[format], format)?,
    };
    to_batch(columns, schema)
}

/// Reads a CSV body (a header row, then one row per record).
pub(crate) fn from_csv(body: &[u8], schema: &SchemaRef) -> Result<RecordBatch, ServeError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ServeError::BadRequest("the CSV body is not UTF-8".into()))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| ServeError::BadRequest(format!("CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut values: Vec<Vec<Value>> = vec![Vec::new(); names.len()];
    for (i, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| ServeError::BadRequest(format!("CSV row {}: {e}", i + 1)))?;
        for (column, field) in values.iter_mut().zip(record.iter()) {
            column.push(match field {
                "" => Value::Null,
                text => Value::String(text.to_string()),
            });
        }
    }
    to_batch(Columns { names, values }, schema)
}

/// `{"columns": [...], "data": [[...], ...]}` (pandas' `orient="split"`).
fn split(value: &Value) -> Result<Columns, ServeError> {
    let bad = |m: &str| ServeError::BadRequest(format!("dataframe_split: {m}"));
    let names: Vec<String> = value
        .get("columns")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("needs a 'columns' list"))?
        .iter()
        .map(|c| {
            c.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad("column names must be strings"))
        })
        .collect::<Result<_, _>>()?;
    let rows = value
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("needs a 'data' list of rows"))?;
    let mut values: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); names.len()];
    for (i, row) in rows.iter().enumerate() {
        let row = row
            .as_array()
            .filter(|r| r.len() == names.len())
            .ok_or_else(|| bad(&format!("row {i} is not a list of {} values", names.len())))?;
        for (column, v) in values.iter_mut().zip(row) {
            column.push(v.clone());
        }
    }
    Ok(Columns { names, values })
}

/// A list of records (`[{"a": 1, ...}, ...]`) or an object of columns (`{"a": [1, ...]}`).
fn records_or_columns(value: &Value, format: &str) -> Result<Columns, ServeError> {
    let bad = |m: String| ServeError::BadRequest(format!("{format}: {m}"));
    match value {
        Value::Array(records) => {
            let mut names: Vec<String> = Vec::new();
            for record in records {
                let Value::Object(r) = record else {
                    return Err(bad("each record must be an object of column values".into()));
                };
                names.extend(
                    r.keys()
                        .filter(|k| !names.contains(k))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
            }
            let values = names
                .iter()
                .map(|n| {
                    records
                        .iter()
                        .map(|r| r.get(n).cloned().unwrap_or(Value::Null))
                        .collect()
                })
                .collect();
            Ok(Columns { names, values })
        }
        Value::Object(columns) => {
            let mut out = Columns {
                names: Vec::new(),
                values: Vec::new(),
            };
            for (name, column) in columns {
                let Value::Array(values) = column else {
                    return Err(bad(format!("column '{name}' must be a list of values")));
                };
                out.names.push(name.clone());
                out.values.push(values.clone());
            }
            let rows = out.values.first().map_or(0, Vec::len);
            if out.values.iter().any(|v| v.len() != rows) {
                return Err(bad("every column must have as many values".into()));
            }
            Ok(out)
        }
        _ => Err(bad(
            "expected a list of records or an object of columns".into()
        )),
    }
}

/// The schema's columns out of the request's, each cast to its type; errors name the column,
/// the row and the value.
pub(crate) fn to_batch(columns: Columns, schema: &SchemaRef) -> Result<RecordBatch, ServeError> {
    let rows = columns.values.first().map_or(0, Vec::len);
    if rows == 0 {
        return Err(ServeError::BadRequest(
            "the request holds no rows to score".into(),
        ));
    }
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let i = find(&columns.names, field.name()).ok_or_else(|| {
            ServeError::BadRequest(format!(
                "missing column '{}' (the model reads {})",
                field.name(),
                names(schema)
            ))
        })?;
        arrays.push(typed(&columns.values[i], field.name(), field.data_type())?);
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| ServeError::Internal(e.to_string()))
}

/// The position of the request column that `wanted` reads: exact, any case, or an alias.
fn find(names: &[String], wanted: &str) -> Option<usize> {
    names
        .iter()
        .position(|n| n == wanted)
        .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(wanted)))
        .or_else(|| {
            aliases(wanted)
                .iter()
                .find_map(|a| names.iter().position(|n| n.eq_ignore_ascii_case(a)))
        })
}

fn names(schema: &Schema) -> String {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    names.join(", ")
}

/// One column's JSON values as an array of `to`.
fn typed(values: &[Value], name: &str, to: &DataType) -> Result<ArrayRef, ServeError> {
    let integer = to.is_integer();
    let text: StringArray = values.iter().map(|v| as_text(v, integer)).collect();
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    if let Ok(array) = cast_with_options(&text, to, &strict) {
        return Ok(array);
    }
    // Find the first value that does not convert, to name it.
    let lenient = cast_with_options(&text, to, &CastOptions::default())
        .map_err(|e| ServeError::BadRequest(format!("column '{name}': {e}")))?;
    let row = (0..text.len())
        .find(|&r| text.is_valid(r) && lenient.is_null(r))
        .unwrap_or(0);
    Err(ServeError::BadRequest(format!(
        "column '{name}', row {row}: '{}' is not a {to}",
        text.value(row)
    )))
}

/// A JSON value as the text arrow casts from (`None` for null); integral numbers without a
/// fraction when the column is an integer.
fn as_text(value: &Value, integer: bool) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if integer => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
    use arrow_schema::{Field, TimeUnit};
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(
                "pickup_datetime",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                true,
            ),
            Field::new("PULocationID", DataType::Int64, true),
            Field::new("trip_distance", DataType::Float64, true),
        ]))
    }

    fn check(batch: &RecordBatch) {
        assert_eq!(batch.num_rows(), 2);
        let t = batch.column(0).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(t.value(0), 1_677_532_186_000_000, "2023-02-27 21:09:46");
        assert_eq!(
            batch.column(1).as_primitive::<Int64Type>().values(),
            &[249, 213]
        );
        assert_eq!(batch.column(2).as_primitive::<Float64Type>().value(1), 0.66);
    }

    #[test]
    fn every_format_reads_the_same_rows() {
        let bodies = [
            r#"{"dataframe_split": {"columns": ["tpep_pickup_datetime", "PULocationID", "trip_distance", "extra"],
                "data": [["2023-02-27 21:09:46", 249, 4.84, 1], ["2023-02-24T11:04:09", 213.0, 0.66, 2]]}}"#,
            r#"{"dataframe_records": [{"tpep_pickup_datetime": "2023-02-27 21:09:46", "PULocationID": 249, "trip_distance": 4.84},
                {"tpep_pickup_datetime": "2023-02-24 11:04:09", "PULocationID": 213, "trip_distance": 0.66}]}"#,
            r#"{"instances": {"pickup_datetime": ["2023-02-27 21:09:46", "2023-02-24 11:04:09"],
                "pulocationid": [249, 213], "trip_distance": [4.84, 0.66]}, "params": {}}"#,
            r#"{"inputs": [{"pickup_datetime": "2023-02-27 21:09:46", "PULocationID": "249", "trip_distance": "4.84"},
                {"pickup_datetime": "2023-02-24 11:04:09", "PULocationID": 213, "trip_distance": 0.66}]}"#,
        ];
        for body in bodies {
            check(&from_json(body.as_bytes(), &schema()).unwrap());
        }
        let csv = "tpep_pickup_datetime,PULocationID,trip_distance\n2023-02-27 21:09:46,249,4.84\n2023-02-24 11:04:09,213,0.66\n";
        check(&from_csv(csv.as_bytes(), &schema()).unwrap());
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let cases = [
            ("{", "not valid JSON"),
            (r#"{"instances": [], "inputs": []}"#, "exactly one of"),
            (r#"{"rows": []}"#, "exactly one of"),
            (r#"{"inputs": []}"#, "no rows"),
            (
                r#"{"inputs": [{"pickup_datetime": "2023-01-01 00:00:00", "PULocationID": 1}]}"#,
                "missing column 'trip_distance'",
            ),
            (
                r#"{"inputs": [{"pickup_datetime": "2023-01-01 00:00:00", "PULocationID": 1, "trip_distance": "far"}]}"#,
                "column 'trip_distance', row 0: 'far'",
            ),
            (
                r#"{"inputs": [{"pickup_datetime": "yesterday", "PULocationID": 1, "trip_distance": 1}]}"#,
                "column 'pickup_datetime', row 0: 'yesterday'",
            ),
            (
                r#"{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}"#,
                "row 0 is not a list of 1",
            ),
        ];
        for (body, needle) in cases {
            let e = from_json(body.as_bytes(), &schema()).unwrap_err();
            assert!(matches!(e, ServeError::BadRequest(_)), "{body}");
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
    }
}
