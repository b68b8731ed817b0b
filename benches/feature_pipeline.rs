//! Fit + transform of the taxi preset on 1M generated rows (one pass to fit, one to transform).

use criterion::{criterion_group, criterion_main, Criterion};
use distml::data::taxi::{generate, TaxiSpec};
use distml::data::{DataSource, ReadOptions};
use distml::feature::presets;

fn taxi_preset(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = TaxiSpec {
        rows: 1_000_000,
        ..Default::default()
    };
    let path = generate(&spec, &dir.path().join("taxi.parquet"), &|_| {}).expect("generate");
    let source = DataSource::open(&[path], &ReadOptions::default()).expect("open");
    let mut group = c.benchmark_group("feature_pipeline");
    group.sample_size(10);
    group.bench_function("taxi_fit_transform_1m", |b| {
        b.iter(|| {
            let fitted = presets::taxi().fit(&source, &|| {}).expect("fit");
            let out = fitted.transform_source(&source, &|| {}).expect("transform");
            assert!(out.rows() > 900_000);
            out.rows()
        })
    });
    group.bench_function("taxi_transform_1m", |b| {
        let fitted = presets::taxi().fit(&source, &|| {}).expect("fit");
        b.iter(|| {
            fitted
                .transform_source(&source, &|| {})
                .expect("transform")
                .rows()
        })
    });
    group.finish();
}

criterion_group!(benches, taxi_preset);
criterion_main!(benches);
