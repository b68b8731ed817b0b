//! The `MLmodel` file of a model directory: what MLflow reads to know a model
//! (`mlflow.models.get_model_info`, the registry's UI), with a `distml` flavor and a signature
//! listing the raw input columns a request carries and the prediction it gets back.

use std::fmt::Write as _;

use arrow_schema::{DataType, Schema};

use super::directory::ModelMetadata;

/// The file's name, as MLflow expects it.
pub const MLMODEL_FILE: &str = "MLmodel";

/// The `MLmodel` YAML for a model of `metadata` whose requests carry the columns of `inputs`.
pub fn mlmodel_yaml(metadata: &ModelMetadata, inputs: &Schema, model_uuid: &str) -> String {
    let created = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.6f");
    let mut yaml = String::new();
    // Every scalar is written as a JSON string, which YAML reads as the same string.
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let _ = writeln!(yaml, "artifact_path: model");
    let _ = writeln!(yaml, "flavors:");
    let _ = writeln!(yaml, "  distml:");
    let _ = writeln!(yaml, "    data: model.json");
    let _ = writeln!(yaml, "    pipeline: pipeline");
    let _ = writeln!(yaml, "    distml_version: {}", q(&metadata.distml_version));
    let _ = writeln!(yaml, "    model_kind: {}", q(&metadata.kind));
    let _ = writeln!(yaml, "    task: {}", q(&metadata.task));
    let _ = writeln!(yaml, "    label: {}", q(&metadata.label));
    let _ = writeln!(yaml, "model_uuid: {}", q(model_uuid));
    let _ = writeln!(yaml, "signature:");
    let _ = writeln!(yaml, "  inputs: {}", q(&input_spec(inputs)));
    let _ = writeln!(yaml, "  outputs: {}", q(&output_spec(&metadata.task)));
    let _ = writeln!(yaml, "  params: null");
    let _ = writeln!(yaml, "utc_time_created: {}", q(&created.to_string()));
    yaml
}

/// MLflow's column-spec JSON for the request columns.
fn input_spec(inputs: &Schema) -> String {
    let columns: Vec<serde_json::Value> = inputs
        .fields()
        .iter()
        .map(|f| {
            serde_json::json!({
                "type": mlflow_type(f.data_type()),
                "name": f.name(),
                "required": true,
            })
        })
        .collect();
    serde_json::Value::from(columns).to_string()
}

/// One prediction per row; classifiers add the positive class's probability.
fn output_spec(task: &str) -> String {
    let spec = match task {
        "classification" => serde_json::json!([
            {"type": "double", "name": "prediction", "required": true},
            {"type": "double", "name": "probability", "required": true},
        ]),
        _ => serde_json::json!([{"type": "double", "required": true}]),
    };
    spec.to_string()
}

/// The MLflow data type (`mlflow.types.DataType`) a request value of `data_type` has.
fn mlflow_type(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Boolean => "boolean",
        DataType::Int8 | DataType::Int16 | DataType::Int32 => "integer",
        DataType::UInt8 | DataType::UInt16 => "integer",
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "long",
        DataType::Float16 | DataType::Float32 => "float",
        DataType::Float64 => "double",
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => "datetime",
        DataType::Binary | DataType::LargeBinary => "binary",
        _ => "string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{Field, TimeUnit};

    fn metadata(task: &str) -> ModelMetadata {
        ModelMetadata {
            format_version: 2,
            distml_version: "0.1.0".into(),
            created: String::new(),
            kind: "gbt".into(),
            task: task.into(),
            label: "duration \"min\"".into(),
            features: vec![],
            config: serde_json::Value::Null,
            training: serde_json::Value::Null,
            metrics: Default::default(),
        }
    }

    #[test]
    fn signature_lists_the_request_columns_with_mlflow_types() {
        let inputs = Schema::new(vec![
            Field::new("trip_distance", DataType::Float64, true),
            Field::new("PULocationID", DataType::Int32, true),
            Field::new(
                "tpep_pickup_datetime",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                true,
            ),
        ]);
        let spec: serde_json::Value = serde_json::from_str(&input_spec(&inputs)).unwrap();
        let types: Vec<(&str, &str)> = spec
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap()))
            .collect();
        assert_eq!(
            types,
            [
                ("trip_distance", "double"),
                ("PULocationID", "integer"),
                ("tpep_pickup_datetime", "datetime")
            ]
        );
    }

    #[test]
    fn every_value_is_a_quoted_scalar() {
        let yaml = mlmodel_yaml(&metadata("classification"), &Schema::empty(), "abc");
        assert!(
            yaml.contains("    label: \"duration \\\"min\\\"\"\n"),
            "{yaml}"
        );
        assert!(yaml.contains("model_uuid: \"abc\"\n"));
        assert!(yaml.contains("probability"));
        assert!(yaml.lines().all(|l| !l.ends_with(' ')));
    }
}
