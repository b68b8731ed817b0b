//! Train → save → load → predict is bit-identical, for every learner family; and model
//! directories written by earlier releases (`tests/fixtures/model-v1-*`) still load and
//! predict exactly what that release predicted.

mod common;

use std::path::{Path, PathBuf};

use arrow_array::{cast::AsArray, types::Float64Type, RecordBatch};
use distml::data::taxi::{generate, TaxiSpec};
use distml::data::{DataSource, ReadOptions};
use distml::model::{Model, ModelDirectory, Predictor};
use distml::train::{run_train, JobConfig, JobFlags, LearnerArgs};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn month(dir: &Path, name: &str, month: &str, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let spec = TaxiSpec {
        rows: 20_000,
        seed,
        ..Default::default()
    }
    .with_month(month)
    .unwrap();
    generate(&spec, &path, &|_| {}).unwrap();
    path
}

fn coefficient_bits(model: &Model) -> Vec<u64> {
    let Model::Glm(m) = model else {
        panic!("not a GLM")
    };
    m.coefficients
        .iter()
        .chain([&m.intercept])
        .map(|x| x.to_bits())
        .collect()
}

fn config(train: &Path, valid: &Path, model: &str, preset: &str, out: &Path) -> JobConfig {
    let mut flags = JobFlags {
        learner: LearnerArgs {
            model: Some(model.parse().unwrap()),
            ..Default::default()
        },
        ..Default::default()
    };
    flags.data.data = vec![train.to_path_buf()];
    flags.data.valid = vec![valid.to_path_buf()];
    flags.features.preset = Some(serde_json::from_value(serde_json::json!(preset)).unwrap());
    flags.outputs.model_out = Some(out.to_path_buf());
    flags.resolve().unwrap().0
}

#[test]
fn a_saved_model_predicts_bit_identically_after_loading() {
    let dir = tempfile::tempdir().unwrap();
    let train = month(dir.path(), "jan.parquet", "2023-01", 1);
    let valid = month(dir.path(), "feb.parquet", "2023-02", 2);
    for (kind, preset) in [
        ("linear", "taxi"),
        ("elastic-net", "taxi-rich"),
        ("poisson", "taxi"),
    ] {
        let model_dir = dir.path().join(format!("model-{kind}"));
        let config = config(&train, &valid, kind, preset, &model_dir);
        let outcome = run_train(&config, &(), None).unwrap();
        let loaded = ModelDirectory::load(&model_dir).unwrap();
        assert_eq!(
            coefficient_bits(&loaded.model),
            coefficient_bits(&outcome.model),
            "{kind}: coefficients reload bit-exactly"
        );
        assert_eq!(
            loaded.model, outcome.model,
            "{kind}: the whole model reloads"
        );
        assert_eq!(loaded.metadata.kind, "glm");
        let source = DataSource::open(&[&valid], &ReadOptions::default()).unwrap();
        let fresh = outcome
            .pipeline
            .transform_source(&source, &|| {})
            .unwrap()
            .blocks;
        let reloaded = loaded
            .pipeline
            .transform_source(&source, &|| {})
            .unwrap()
            .blocks;
        assert_eq!(
            fresh, reloaded,
            "{kind}: the pipeline transforms bit-identically"
        );
        for (a, b) in fresh.iter().zip(&reloaded) {
            let (p, q) = (outcome.model.predict(a), loaded.model.predict(b));
            assert!(
                p.iter()
                    .zip(q.iter())
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{kind}: predictions differ"
            );
        }
        assert_eq!(
            loaded.metadata.metrics["rmse"],
            outcome.summary.metric("rmse").unwrap()
        );
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The `column` of every batch, as bits.
fn column_bits(batches: &[RecordBatch], column: &str) -> Vec<u64> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b
                .column_by_name(column)
                .unwrap()
                .as_primitive::<Float64Type>();
            c.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        })
        .collect()
}

/// `distml predict` of the fixture model on its data writes exactly the release's output:
/// same columns, same rows, the same prediction (and probability) bits.
fn predicts_as_the_release_did(model: &str, data: &str, columns: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.parquet");
    let (dir_arg, data_arg) = (fixture(model), fixture(data));
    let args = [
        "predict",
        "--model",
        dir_arg.to_str().unwrap(),
        "--data",
        data_arg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    common::json_result(&common::distml(&args));
    let now = read_parquet(&out);
    let then = read_parquet(&fixture(&format!("{model}.predictions.parquet")));
    let names = |b: &[RecordBatch]| -> Vec<String> {
        b[0].schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    assert_eq!(names(&now), names(&then));
    for column in columns {
        let (a, b) = (column_bits(&now, column), column_bits(&then, column));
        assert_eq!(a.len(), b.len(), "{model}: rows");
        assert!(a == b, "{model}: {column} differs from the release's");
    }
    let loaded = ModelDirectory::load(&fixture(model)).unwrap();
    assert_eq!(loaded.metadata.format_version, 1);
    assert_eq!(loaded.metadata.kind, "glm");
}

#[test]
fn a_release_1_linear_model_directory_predicts_as_it_did() {
    predicts_as_the_release_did(
        "model-v1-ridge-taxi",
        "taxi-2023-03-2k.parquet",
        &["prediction", "trip_distance"],
    );
}

#[test]
fn a_release_1_logistic_model_directory_predicts_as_it_did() {
    predicts_as_the_release_did(
        "model-v1-logistic-cancer",
        "breast_cancer.csv",
        &["prediction", "probability"],
    );
}

#[test]
fn a_newer_model_format_is_refused_naming_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("model");
    std::fs::create_dir_all(copy.join("pipeline")).unwrap();
    for file in [
        "model.json",
        "pipeline/pipeline.json",
        "pipeline/stages.json.zst",
    ] {
        std::fs::copy(fixture("model-v1-ridge-taxi").join(file), copy.join(file)).unwrap();
    }
    let meta = std::fs::read_to_string(fixture("model-v1-ridge-taxi/metadata.json")).unwrap();
    let newer = meta.replace("\"format_version\": 1", "\"format_version\": 99");
    assert_ne!(meta, newer);
    std::fs::write(copy.join("metadata.json"), newer).unwrap();
    let data = fixture("taxi-2023-03-2k.parquet");
    common::assert_bad_input_in(
        dir.path(),
        &[
            "predict",
            "--model",
            copy.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--out",
            "p.parquet",
        ],
        &["format version 99", "metadata.json", "upgrade distml"],
    );
}

/// `distml predict` writes, for a classifier, exactly what the library's scorer computes on
/// the same rows: the kept columns, `prediction` and `probability`, bit for bit.
#[test]
fn cli_predict_equals_the_library_scorer_for_a_classifier() {
    use distml::model::Scorer;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = fixture("breast_cancer.csv");
    let model = d.join("model");
    let out = d.join("p.parquet");
    let numeric = "mean_radius,mean_texture,mean_perimeter,mean_area,mean_smoothness";
    let train = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "target",
        "--numeric",
        numeric,
        "--model",
        "logistic",
        "--reg",
        "0.01",
        "--model-out",
        model.to_str().unwrap(),
    ];
    common::json_result(&common::distml_in(&train, d));
    let predict = [
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--partitions",
        "3",
    ];
    common::json_result(&common::distml_in(&predict, d));
    let written = read_parquet(&out);

    let scorer = Scorer::load(&model).unwrap();
    let options = ReadOptions {
        partitions: Some(3),
        ..Default::default()
    };
    let source = DataSource::open(&[&data], &options).unwrap();
    let inputs = scorer.pipeline().input_columns();
    let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let projection = source.projection(&names).unwrap();
    let keep = scorer.default_columns();
    let library: Vec<RecordBatch> = source
        .partitions()
        .iter()
        .map(|p| {
            let batch = source.read(p, &projection).unwrap();
            scorer.score_batch(&batch, &keep).unwrap()
        })
        .collect();
    for column in ["prediction", "probability", "mean_radius"] {
        let (a, b) = (column_bits(&written, column), column_bits(&library, column));
        assert_eq!(a.len(), 569, "{column}");
        assert!(a == b, "{column}: the CLI and the library differ");
    }
}

#[test]
fn rows_without_the_label_are_scored_and_a_missing_feature_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = common::generate_taxi(d, "jan.parquet", 20_000, &[]);
    let model = d.join("model");
    let args = [
        "train",
        "--data",
        train.to_str().unwrap(),
        "--workers",
        "0",
        "--model-out",
        model.to_str().unwrap(),
    ];
    common::json_result(&common::distml_in(&args, d));
    let trips = [
        ("132", "138", "9.5"),
        ("1", "265", "0.0"),
        ("48", "48", "1.25"),
    ];
    let labelled: String = trips
        .iter()
        .map(|(pu, du, km)| format!("2023-03-01 08:00:00,2023-03-01 08:10:00,{pu},{du},{km}\n"))
        .collect();
    std::fs::write(
        d.join("labelled.csv"),
        format!("tpep_pickup_datetime,tpep_dropoff_datetime,PULocationID,DOLocationID,trip_distance\n{labelled}"),
    )
    .unwrap();
    let bare: String = trips
        .iter()
        .map(|(pu, du, km)| format!("{pu},{du},{km}\n"))
        .collect();
    std::fs::write(
        d.join("bare.csv"),
        format!("PULocationID,DOLocationID,trip_distance\n{bare}"),
    )
    .unwrap();
    let predict = |data: &str, out: &str| {
        let args = ["predict", "--model", "model", "--data", data, "--out", out];
        common::json_result(&common::distml_in(&args, d));
        let text = std::fs::read_to_string(d.join(out)).unwrap();
        let mut lines = text.lines();
        let at = lines
            .next()
            .unwrap()
            .split(',')
            .position(|c| c == "prediction")
            .unwrap();
        lines
            .map(|l| {
                l.split(',')
                    .nth(at)
                    .unwrap()
                    .parse::<f64>()
                    .unwrap()
                    .to_bits()
            })
            .collect::<Vec<_>>()
    };
    let with_label = predict("labelled.csv", "a.csv");
    assert_eq!(with_label.len(), 3);
    assert_eq!(
        predict("bare.csv", "b.csv"),
        with_label,
        "no dropoff time: every row scored alike"
    );
    std::fs::write(d.join("short.csv"), "PULocationID,DOLocationID\n1,2\n").unwrap();
    let args = [
        "predict",
        "--model",
        "model",
        "--data",
        "short.csv",
        "--out",
        "c.csv",
    ];
    common::assert_bad_input_in(d, &args, &["short.csv", "trip_distance"]);
    // Evaluating needs the label's inputs too: the first one missing is named.
    let args = ["evaluate", "--model", "model", "--data", "short.csv"];
    common::assert_bad_input_in(d, &args, &["short.csv", "pickup_datetime"]);
}
