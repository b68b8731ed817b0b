//! End-to-end tests of the pipeline on generated taxi files: fitting in one pass, unseen zones,
//! partition invariance and the save → load → transform round trip.

use std::path::Path;

use arrow_array::RecordBatch;

use super::presets;
use super::*;
use crate::data::taxi::{generate, TaxiSpec};
use crate::data::{DataSource, ReadOptions};
use crate::merge::Moments;

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

/// Every partition of `source`, projected on `columns`.
fn read_columns(source: &DataSource, columns: &[String]) -> Vec<RecordBatch> {
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let projection = source.projection(&names).unwrap();
    source
        .partitions()
        .iter()
        .map(|p| source.read(p, &projection).unwrap())
        .collect()
}

fn batches(source: &DataSource, fitted: &FittedPipeline) -> Vec<RecordBatch> {
    read_columns(source, &fitted.input_columns())
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
    for spec in [presets::taxi(), presets::taxi_rich(), every_stage()] {
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

/// A pipeline using every stage, to prove that each fitted form persists exactly.
fn every_stage() -> PipelineSpec {
    use crate::data::taxi::schema::{PICKUP, TRIP_DISTANCE};
    PipelineSpec::new()
        .stage(TimestampDiff::new(PICKUP, "dropoff_datetime", "secs").unit(DiffUnit::Seconds))
        .stage(Arithmetic::new(
            "secs",
            Op::Div,
            Operand::Const(60.0),
            "minutes",
        ))
        .stage(RangeFilter::new("minutes", Some(1.0), Some(60.0)))
        .stage(DatePart::new(PICKUP, Part::DayOfMonth, "day"))
        .stage(NullFilter::new(&["passenger_count"]))
        .stage(StandardScaler::new(&[TRIP_DISTANCE]).with_mean(true))
        .stage(MinMaxScaler::new(&["fare_amount"]))
        .stage(MaxAbsScaler::new(&["tip_amount"]))
        .stage(Imputer::new(&["congestion_surcharge"]).strategy(Strategy::Median))
        .stage(QuantileDiscretizer::new(&["total_amount"], 5))
        .stage(Bucketizer::new(
            "passenger_count",
            &[f64::NEG_INFINITY, 1.5, f64::INFINITY],
        ))
        .stage(StringIndexer::new(&["day"]).string_order_type(StringOrderType::AlphabetAsc))
        .stage(OneHotEncoder::new(&["total_amount_bucket", "day_index"]).drop_last(false))
        .stage(FeatureHasher::new(&["VendorID", "payment_type"], "hashed").num_features(64))
        .stage(Interaction::new(
            &["passenger_count_bucket", "trip_distance_scaled"],
            "pc_x_dist",
        ))
        .assemble(
            VectorAssembler::new(
                &[
                    "trip_distance_scaled",
                    "fare_amount_scaled",
                    "tip_amount_scaled",
                    "congestion_surcharge_imputed",
                    "total_amount_bucket_vec",
                    "day_index_vec",
                    "hashed",
                    "pc_x_dist",
                ],
                "minutes",
            )
            .weight_col("passenger_count"),
        )
}

#[test]
fn every_stage_fits_in_fused_passes() {
    let dir = tempfile::tempdir().unwrap();
    let source = taxi_file(dir.path(), 6_000, 6, 6);
    let fitted = every_stage().fit(&source, &|| {}).unwrap();
    // Scalers, imputer, discretizer and indexer share one pass; the encoder needs the
    // discretizer's buckets, so a second pass (MLlib would also scan for it).
    assert_eq!(fitted.fit_stats().passes, 2);
    let layout = fitted.layout();
    assert_eq!(layout.dense, 4);
    assert_eq!(
        layout
            .names
            .iter()
            .filter(|n| n.starts_with("hashed["))
            .count(),
        64
    );
    assert!(layout
        .names
        .contains(&"passenger_count=[1.5, inf]:trip_distance_scaled".to_string()));
    let out = fitted.transform_source(&source, &|| {}).unwrap();
    assert!(out.rows() > 5_000);
    assert!(out.dropped.0.keys().any(|k| k.starts_with("NullFilter")));
    let block = &out.blocks[0];
    assert_eq!(block.weight.as_ref().map(|w| w.len()), Some(block.rows()));
    let hashed: Vec<_> = block.sparse.iter().filter(|c| c.width == 64).collect();
    assert_eq!(hashed.len(), 2, "two columns hashed into one space");
    assert_eq!(hashed[0].offset, hashed[1].offset);
}

#[test]
fn rich_preset_adds_hour_weekday_and_the_zone_pair() {
    let dir = tempfile::tempdir().unwrap();
    let source = taxi_file(dir.path(), 10_000, 7, 9);
    let fitted = presets::taxi_rich().fit(&source, &|| {}).unwrap();
    assert_eq!(fitted.fit_stats().passes, 1);
    let names = &fitted.layout().names;
    assert!(
        names.iter().any(|n| n == "pickup_hour=0") && names.iter().any(|n| n == "pickup_weekday=1")
    );
    let pairs = names
        .iter()
        .filter(|n| n.starts_with("PULocationID=") && n.contains(":DOLocationID="))
        .count();
    let block = fitted.transform(&batches(&source, &fitted)[0]).unwrap();
    assert_eq!(block.sparse.len(), 5);
    assert_eq!(block.sparse[4].width, pairs);
    let (pu, du) = (block.sparse[0].width as u32, block.sparse[1].width as u32);
    for r in 0..block.rows() {
        let (a, b) = (block.sparse[0].indices[r], block.sparse[1].indices[r]);
        assert_eq!(block.sparse[4].indices[r], a * du + b);
        assert!(a < pu);
    }
}

#[test]
fn generic_preset_imputes_and_drops_null_targets() {
    use arrow_array::{Float64Array, StringArray};
    use std::sync::Arc;
    let part = |y: Vec<Option<f64>>, c: Vec<Option<&str>>, x: Vec<Option<f64>>| {
        RecordBatch::try_from_iter([
            ("y", Arc::new(Float64Array::from(y)) as _),
            ("c", Arc::new(StringArray::from(c)) as _),
            ("x", Arc::new(Float64Array::from(x)) as _),
        ])
        .unwrap()
    };
    let train = vec![
        part(
            vec![Some(1.0), None, Some(3.0)],
            vec![Some("a"), Some("b"), Some("b")],
            vec![Some(2.0), Some(100.0), None],
        ),
        part(vec![Some(4.0)], vec![Some("a")], vec![Some(4.0)]),
    ];
    let fitted = presets::generic("y", &["c"], &["x"])
        .fit_batches(&train)
        .unwrap();
    assert_eq!(fitted.fit_stats().dropped.0["NullFilter: null y"], 1);
    assert_eq!(fitted.layout().names, vec!["x_imputed", "c=a", "c=b"]);
    let later = part(
        vec![Some(5.0), None],
        vec![Some("new"), Some("a")],
        vec![None, Some(1.0)],
    );
    let (block, dropped) = fitted.transform_counted(&later).unwrap();
    assert_eq!(block.rows(), 1);
    assert_eq!(dropped.total(), 1);
    assert_eq!(
        block.dense[[0, 0]],
        3.0,
        "mean of 2 and 4 (the null-target row is not fitted on)"
    );
    assert_eq!(block.sparse[0].indices, vec![SparseColumn::NONE]);
}

#[test]
fn a_file_with_inconsistent_fitted_state_is_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let source = taxi_file(dir.path(), 3_000, 8, 8);
    let saved = dir.path().join("model");
    every_stage()
        .fit(&source, &|| {})
        .unwrap()
        .save(&saved)
        .unwrap();
    let file = saved.join(STAGES_FILE);
    let packed = std::fs::read(&file).unwrap();
    let original: serde_json::Value =
        serde_json::from_slice(&zstd::decode_all(&packed[..]).unwrap()).unwrap();
    let break_stage = |stage: &str, field: &str, value: serde_json::Value| {
        let mut v = original.clone();
        for s in v["stages"].as_array_mut().unwrap() {
            if s["stage"] == stage {
                s[field] = value.clone();
            }
        }
        let json = serde_json::to_vec(&v).unwrap();
        std::fs::write(&file, zstd::encode_all(&json[..], 3).unwrap()).unwrap();
        FittedPipeline::load(&saved).unwrap_err()
    };
    let err = break_stage("StandardScalerModel", "mean", serde_json::json!([]));
    assert!(matches!(err, FeatureError::Corrupt { .. }), "{err}");
    let err = break_stage("Bucketizer", "splitsArray", serde_json::json!([["1.0"]]));
    assert!(matches!(err, FeatureError::Corrupt { .. }), "{err}");
    let err = break_stage("ImputerModel", "fill", serde_json::json!(["x"]));
    assert!(matches!(err, FeatureError::Corrupt { .. }), "{err}");
}

#[test]
fn large_vocabularies_are_stored_compressed_and_garbage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = taxi_file(dir.path(), 20_000, 5, 40);
    let saved = dir.path().join("rich");
    let fitted = presets::taxi_rich().fit(&source, &|| {}).unwrap();
    fitted.save(&saved).unwrap();
    let packed = std::fs::metadata(saved.join(STAGES_FILE)).unwrap().len();
    let body = crate::feature::persist::load_stages(&saved, STAGES_FILE).unwrap();
    let plain = serde_json::to_vec(&body.stages).unwrap().len()
        + serde_json::to_vec(&body.layout).unwrap().len();
    assert!(
        fitted.layout().width() > 1000,
        "a PU×DO space: {}",
        fitted.layout().width()
    );
    assert!(
        (packed as usize) * 5 < plain,
        "compressed {packed} B vs {plain} B of JSON"
    );
    assert!(std::fs::metadata(saved.join(PIPELINE_FILE)).unwrap().len() < 16 * 1024);
    std::fs::write(saved.join(STAGES_FILE), b"not zstd").unwrap();
    let err = FittedPipeline::load(&saved).unwrap_err();
    assert!(
        matches!(err, FeatureError::Corrupt { .. }) && err.to_string().contains(STAGES_FILE),
        "{err}"
    );
}

/// Partition summaries travel from workers to the coordinator as JSON; an empty sketch's ±∞
/// bounds or a column's infinite extremes must come back as they went.
#[test]
fn summaries_with_infinities_cross_the_process_boundary() {
    fn round_trip<S: Summary + PartialEq + std::fmt::Debug>(summary: S) {
        let value = stage::ErasedSummary::to_json(&summary).unwrap();
        let back: S = serde_json::from_slice(&serde_json::to_vec(&value).unwrap()).unwrap();
        assert_eq!(back, summary);
    }
    let empty = QuantileSketch::new(0.01);
    round_trip(SketchSummary(vec![empty.clone()]));
    round_trip(ImputerSummary(vec![ColumnStats::Median(empty)]));
    round_trip(ExtremesSummary(vec![
        Extremes(Some((f64::NEG_INFINITY, f64::INFINITY))),
        Extremes(None),
    ]));
    round_trip(MomentsSummary(vec![Moments {
        weight: 2.0,
        mean: f64::INFINITY,
        m2: f64::NEG_INFINITY,
    }]));
}

/// The rows of `batch` whose part `keep` accepts.
fn rows_where(batch: &RecordBatch, parts: &[u8], keep: &dyn Fn(u8) -> bool) -> RecordBatch {
    let mask = arrow_array::BooleanArray::from(parts.iter().map(|&p| keep(p)).collect::<Vec<_>>());
    arrow_select::filter::filter_record_batch(batch, &mask).unwrap()
}

fn assert_close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!(
            x == y || (x - y).abs() <= 1e-12 * x.abs().max(1.0),
            "{x} vs {y}"
        );
    }
}

/// Equal blocks, up to the last digits of values that went through merged float summaries.
fn assert_blocks_close(a: &FeatureBlock, b: &FeatureBlock) {
    assert_eq!(a.dense.dim(), b.dense.dim());
    assert_close(
        &a.dense.iter().copied().collect::<Vec<_>>(),
        &b.dense.iter().copied().collect::<Vec<_>>(),
    );
    assert_eq!(a.sparse.len(), b.sparse.len());
    for (x, y) in a.sparse.iter().zip(&b.sparse) {
        assert_eq!((x.offset, x.width), (y.offset, y.width));
        assert!(
            x.indices == y.indices,
            "sparse indices differ at offset {}",
            x.offset
        );
        assert_eq!(x.values.is_some(), y.values.is_some());
        if let (Some(u), Some(v)) = (&x.values, &y.values) {
            assert_close(u, v);
        }
    }
    assert!(a.label == b.label, "labels differ");
    assert_eq!(a.weight.is_some(), b.weight.is_some());
    if let (Some(u), Some(v)) = (&a.weight, &b.weight) {
        assert_close(u.as_slice().unwrap(), v.as_slice().unwrap());
    }
}

#[test]
fn a_fit_without_one_part_equals_a_fit_on_the_other_parts_alone() {
    let dir = tempfile::tempdir().unwrap();
    let one = taxi_file(dir.path(), 9_000, 5, 5);
    let opts = ReadOptions {
        partitions: Some(3),
        ..Default::default()
    };
    let source = DataSource::open(&[one.paths()[0].to_path_buf()], &opts).unwrap();
    for spec in [presets::taxi(), every_stage()] {
        let raw = read_columns(&source, &spec.input_columns());
        let parts: Vec<Vec<u8>> = raw
            .iter()
            .map(|b| {
                (0..b.num_rows())
                    .map(|r| ((r * 7 + r / 5) % 3) as u8)
                    .collect()
            })
            .collect();
        let rows = |keep: &dyn Fn(u8) -> bool| -> Vec<RecordBatch> {
            raw.iter()
                .zip(&parts)
                .map(|(b, p)| rows_where(b, p, keep))
                .collect()
        };
        let parted = spec.parted(&raw, &parts, 3).unwrap();
        for held in [None, Some(0u8), Some(1), Some(2)] {
            let fit = parted.fit_without(held).unwrap();
            let alone = spec.fit_batches(&rows(&|p| Some(p) != held)).unwrap();
            assert_eq!(fit.pipeline.layout(), alone.layout());
            assert_eq!(fit.pipeline.fit_stats(), alone.fit_stats(), "{held:?}");
            if spec == presets::taxi() {
                assert_eq!(fit.pipeline.stages(), alone.stages());
            }
            for part in 0..3u8 {
                let mine = &fit.parts[part as usize];
                let theirs = rows(&|p| p == part);
                let read: usize = theirs.iter().map(RecordBatch::num_rows).sum();
                assert_eq!(mine.rows_read, read as u64);
                let mut dropped = DropCounts::default();
                for (a, batch) in mine.blocks.iter().zip(&theirs) {
                    let (b, d) = alone.transform_counted(batch).unwrap();
                    assert_blocks_close(a, &b);
                    dropped.merge(&d);
                }
                assert_eq!(mine.dropped, dropped);
            }
        }
    }
}

/// The taxi preset on `rows` generated trips in 4 partitions, every row's part (of 3), and a
/// zone that only part 0 has (so folds 1 and 2 never see it).
fn parted_taxi(dir: &Path, spec: &PipelineSpec) -> (Vec<RecordBatch>, Vec<Vec<u8>>) {
    let one = taxi_file(dir, 6_000, 7, 7);
    let opts = ReadOptions {
        partitions: Some(4),
        ..Default::default()
    };
    let source = DataSource::open(&[one.paths()[0].to_path_buf()], &opts).unwrap();
    let mut raw = read_columns(&source, &spec.input_columns());
    let parts: Vec<Vec<u8>> = raw
        .iter()
        .map(|b| (0..b.num_rows()).map(|r| (r % 3) as u8).collect())
        .collect();
    // Zone 999 on a few part-0 rows of the first partition.
    let Ok(pu) = raw[0].schema().index_of("PULocationID") else {
        return (raw, parts);
    };
    let zones = raw[0]
        .column(pu)
        .as_any()
        .downcast_ref::<arrow_array::Int64Array>()
        .unwrap();
    let edited: arrow_array::Int64Array = (0..raw[0].num_rows())
        .map(|r| Some(if r % 300 == 0 { 999 } else { zones.value(r) }))
        .collect();
    let mut columns = raw[0].columns().to_vec();
    columns[pu] = std::sync::Arc::new(edited);
    raw[0] = RecordBatch::try_new(raw[0].schema(), columns).unwrap();
    (raw, parts)
}

#[test]
fn fold_pipelines_of_the_taxi_preset_relabel_the_whole_and_predict_alike() {
    use crate::model::{evaluate, Learner};
    use crate::train::fit_local;
    let dir = tempfile::tempdir().unwrap();
    let spec = presets::taxi();
    let (raw, parts) = parted_taxi(dir.path(), &spec);
    let parted = spec.parted(&raw, &parts, 3).unwrap();
    let whole = parted.fit_without(None).unwrap();
    let params = Learner::with_settings("ridge".parse().unwrap(), [("reg", "0.05")]).unwrap();
    for held in 0..3u8 {
        let fold = parted.fit_without(Some(held)).unwrap();
        assert!(
            spec.relabels(&whole.pipeline, &fold.pipeline),
            "fold {held}"
        );
        // Zone 999 is only in part 0: the fold holding part 0 out never saw it.
        if held == 0 {
            assert!(fold.pipeline.layout().width() < whole.pipeline.layout().width());
        }
        // Fitted on the fold's rows in either feature space, scored on the held rows alike.
        let side = |fit: &PartedFit, train: bool| -> Vec<FeatureBlock> {
            (0..3u8)
                .filter(|&p| (p != held) == train)
                .flat_map(|p| fit.parts[p as usize].blocks.clone())
                .collect()
        };
        let score = |fit: &PartedFit| {
            let (model, _) = fit_local(&params, &side(fit, true), fit.pipeline.layout()).unwrap();
            evaluate(&model, &side(fit, false))
        };
        let (own, shared) = (score(&fold), score(&whole));
        for metric in ["rmse", "mae", "r2"] {
            let (a, b) = (own[metric], shared[metric]);
            assert!(
                (a - b).abs() <= 1e-9 * a.abs(),
                "fold {held} {metric}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn fitted_scalers_or_a_kept_unseen_column_are_not_relabellings() {
    let dir = tempfile::tempdir().unwrap();
    let kept_unseen = {
        let mut spec = presets::taxi();
        for stage in &mut spec.stages {
            if let StageParams::OneHotEncoder(e) = stage {
                *e = e.clone().drop_last(false);
            }
        }
        spec
    };
    // A pipeline relabels itself (every_stage's fitted imputer holds a NaN, never equal).
    let whole = presets::taxi()
        .fit(&taxi_file(dir.path(), 2_000, 8, 8), &|| {})
        .unwrap();
    assert!(presets::taxi().relabels(&whole, &whole));
    for spec in [every_stage(), kept_unseen] {
        let (raw, parts) = parted_taxi(dir.path(), &spec);
        let parted = spec.parted(&raw, &parts, 3).unwrap();
        let whole = parted.fit_without(None).unwrap().pipeline;
        let fold = parted.fit_without(Some(0)).unwrap().pipeline;
        assert!(!spec.relabels(&whole, &fold));
    }
}

#[test]
fn unlabelled_rows_get_the_labelled_rows_features() {
    use arrow_array::{Array, UInt32Array};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let source = taxi_file(dir.path(), 5_000, 1, 3);
    for spec in [presets::taxi(), presets::taxi_rich()] {
        let fitted = spec.fit(&source, &|| {}).unwrap();
        let serving = fitted.unlabelled().unwrap();
        let inputs = serving.input_columns();
        assert!(
            !inputs.contains(&"dropoff_datetime".to_string()),
            "{inputs:?}"
        );
        assert_eq!(serving.layout(), fitted.layout());
        let batch = &batches(&source, &fitted)[0];
        // A row id travels through both pipelines to line their rows up.
        let ids: Arc<dyn Array> =
            Arc::new(UInt32Array::from_iter_values(0..batch.num_rows() as u32));
        let with_ids = |b: &RecordBatch, names: &[String]| {
            let mut fields: Vec<_> = names
                .iter()
                .map(|n| b.schema().field_with_name(n).unwrap().clone())
                .collect();
            let mut columns: Vec<_> = names
                .iter()
                .map(|n| b.column_by_name(n).unwrap().clone())
                .collect();
            fields.push(arrow_schema::Field::new(
                "row",
                arrow_schema::DataType::UInt32,
                false,
            ));
            columns.push(ids.clone());
            RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), columns).unwrap()
        };
        let keep = ["row".to_string()];
        let (labelled, kept) = fitted
            .transform_keeping(&with_ids(batch, &fitted.input_columns()), &keep)
            .unwrap();
        let (scored, all) = serving
            .transform_keeping(&with_ids(batch, &inputs), &keep)
            .unwrap();
        assert!(
            labelled.rows() < scored.rows(),
            "the 1-60 minute filter is gone"
        );
        assert!(scored.label.iter().all(|l| l.is_nan()));
        let rows_of = |a: &Arc<dyn Array>| {
            a.as_any()
                .downcast_ref::<UInt32Array>()
                .unwrap()
                .values()
                .to_vec()
        };
        let (kept, all) = (rows_of(&kept[0]), rows_of(&all[0]));
        for (i, row) in kept.iter().enumerate() {
            let j = all.iter().position(|r| r == row).unwrap();
            assert_eq!(labelled.dense.row(i), scored.dense.row(j));
            for (a, b) in labelled.sparse.iter().zip(&scored.sparse) {
                assert_eq!(a.indices[i], b.indices[j]);
            }
        }
    }
}
