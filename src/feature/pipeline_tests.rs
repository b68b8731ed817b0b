//! End-to-end tests of the pipeline on generated taxi files: fitting in one pass, unseen zones,
//! partition invariance and the save → load → transform round trip.

use std::path::Path;

use arrow_array::RecordBatch;

use super::presets;
use super::*;
use crate::data::taxi::{generate, TaxiSpec};
use crate::data::{DataSource, ReadOptions};

fn taxi_file(dir: &Path, rows: usize, month: u32, seed: u64) -> DataSource {
    let spec = TaxiSpec {
        rows,
        month,
        seed,
        ..Default::default()
    };
    let path = generate(&spec, &dir.join(format!("m{month}.parquet")), &|_| {}).unwrap();
    DataSource::open(&[path], &ReadOptions::default()).unwrap()
}

fn batches(source: &DataSource, fitted: &FittedPipeline) -> Vec<RecordBatch> {
    let cols = fitted.input_columns();
    let names: Vec<&str> = cols.iter().map(String::as_str).collect();
    let proj = source.projection(&names).unwrap();
    source
        .partitions()
        .iter()
        .map(|p| source.read(p, &proj).unwrap())
        .collect()
}

#[test]
fn taxi_preset_fits_in_one_pass_and_counts_drops() {
    let dir = tempfile::tempdir().unwrap();
    let source = taxi_file(dir.path(), 20_000, 1, 1);
    let fitted = presets::taxi().fit(&source, &|| {}).unwrap();
    assert_eq!(fitted.fit_stats().passes, 1);
    let layout = fitted.layout();
    assert_eq!(layout.dense, 1);
    assert_eq!(layout.names[0], "trip_distance");
    assert!(
        layout.names[1].starts_with("PULocationID="),
        "{}",
        layout.names[1]
    );
    let out = fitted.transform_source(&source, &|| {}).unwrap();
    assert_eq!(out.rows_read, 20_000);
    assert!(
        out.dropped.total() > 0 && out.dropped.total() < 2_000,
        "{:?}",
        out.dropped
    );
    assert_eq!(out.rows() + out.dropped.total(), out.rows_read);
    let block = &out.blocks[0];
    assert!(block.label.iter().all(|d| (1.0..=60.0).contains(d)));
    assert_eq!(block.sparse.len(), 2);
    assert_eq!(block.sparse[0].offset, 1);
    assert_eq!(block.sparse[1].offset, 1 + block.sparse[0].width);
    assert_eq!(
        1 + block.sparse[0].width + block.sparse[1].width,
        layout.width()
    );
}

#[test]
fn an_unseen_zone_next_month_is_an_all_zero_row() {
    let dir = tempfile::tempdir().unwrap();
    let train = taxi_file(dir.path(), 5_000, 1, 7);
    let fitted = presets::taxi().fit(&train, &|| {}).unwrap();
    let next = taxi_file(dir.path(), 5_000, 2, 8);
    let batch = &batches(&next, &fitted)[0];
    // Replace every pickup zone by one the training month never had.
    let mut columns = batch.columns().to_vec();
    let pu = batch.schema().index_of("PULocationID").unwrap();
    columns[pu] = std::sync::Arc::new(arrow_array::Int64Array::from(vec![999; batch.num_rows()]));
    let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let block = fitted.transform(&batch).unwrap();
    assert!(block.rows() > 0);
    assert!(block.sparse[0]
        .indices
        .iter()
        .all(|&i| i == SparseColumn::NONE));
    // Drop-off zones are real; only the rare zone unseen in a small training month is all-zero.
    let seen = block.sparse[1]
        .indices
        .iter()
        .filter(|&&i| i != SparseColumn::NONE)
        .count();
    assert!(seen * 100 > block.rows() * 95, "{seen} of {}", block.rows());
}

#[test]
fn fitted_state_does_not_depend_on_the_partitioning() {
    let dir = tempfile::tempdir().unwrap();
    let one = taxi_file(dir.path(), 30_000, 3, 3);
    let path = one.paths()[0].to_path_buf();
    let reference = presets::taxi().fit(&one, &|| {}).unwrap();
    for parts in [2, 5, 13] {
        let opts = ReadOptions {
            partitions: Some(parts),
            ..Default::default()
        };
        let source = DataSource::open(&[&path], &opts).unwrap();
        let fitted = presets::taxi().fit(&source, &|| {}).unwrap();
        assert_eq!(fitted.stages(), reference.stages(), "{parts} partitions");
        let mut reversed = batches(&source, &fitted);
        reversed.reverse();
        let again = presets::taxi().fit_batches(&reversed).unwrap();
        assert_eq!(again.stages(), reference.stages());
    }
}

#[test]
fn save_load_transform_is_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let source = taxi_file(dir.path(), 8_000, 4, 4);
    for spec in [presets::taxi()] {
        let fitted = spec.fit(&source, &|| {}).unwrap();
        let saved = dir.path().join("model");
        fitted.save(&saved).unwrap();
        let loaded = FittedPipeline::load(&saved).unwrap();
        assert_eq!(loaded.layout(), fitted.layout());
        for batch in batches(&source, &fitted) {
            let a = fitted.transform(&batch).unwrap();
            let b = loaded.transform(&batch).unwrap();
            let bits = |x: &FeatureBlock| {
                x.dense
                    .iter()
                    .chain(x.label.iter())
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            };
            assert_eq!(bits(&a), bits(&b));
            assert_eq!(a.sparse, b.sparse);
        }
    }
}

#[test]
fn newer_or_corrupt_files_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let source = taxi_file(dir.path(), 2_000, 5, 5);
    let saved = dir.path().join("model");
    presets::taxi()
        .fit(&source, &|| {})
        .unwrap()
        .save(&saved)
        .unwrap();
    let file = saved.join(PIPELINE_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    let newer = text.replacen("\"format_version\": 1", "\"format_version\": 99", 1);
    std::fs::write(&file, newer).unwrap();
    let err = FittedPipeline::load(&saved).unwrap_err();
    assert!(
        matches!(err, FeatureError::UnsupportedVersion { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade"));
    std::fs::write(&file, &text[..text.len() / 2]).unwrap();
    let err = FittedPipeline::load(&saved).unwrap_err();
    assert!(
        matches!(err, FeatureError::Corrupt { .. }) && err.is_user_error(),
        "{err}"
    );
    let missing = FittedPipeline::load(dir.path().join("nope")).unwrap_err();
    assert!(matches!(missing, FeatureError::Io { .. }), "{missing}");
}

#[test]
fn invalid_params_fail_before_reading() {
    let spec = PipelineSpec::new()
        .stage(RangeFilter::new("x", Some(5.0), Some(1.0)))
        .assemble(VectorAssembler::new(&["x"], "y"));
    let err = spec.fit_batches(&[]).unwrap_err();
    assert!(
        matches!(
            err,
            FeatureError::InvalidParam {
                param: "min/max",
                ..
            }
        ),
        "{err}"
    );
    let no_assembler = PipelineSpec::new().stage(NullFilter::new(&["y"]));
    assert!(no_assembler.check().is_err());
}
