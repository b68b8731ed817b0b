//! Reading + describing a generated 1M-row taxi month (all 19 TLC columns).
//!
//! `cargo bench --bench data_describe`; compare with
//! `experiments/describe_pandas.py` on the same file.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distml::data::taxi::{generate, TaxiSpec};
use distml::data::{describe, DataSource, ReadOptions};

const ROWS: usize = 1_000_000;

fn bench_describe(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("yellow_2023-01.parquet");
    let spec = TaxiSpec {
        rows: ROWS,
        ..Default::default()
    };
    generate(&spec, &path, &|_| {}).expect("generate");
    let mut group = c.benchmark_group("describe");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.bench_function("taxi_1m_all_columns", |b| {
        b.iter(|| {
            let source = DataSource::open(&[&path], &ReadOptions::default()).expect("open");
            describe(&source, &[], &|| {}).expect("describe")
        })
    });
    group.finish();
}

criterion_group!(benches, bench_describe);
criterion_main!(benches);
