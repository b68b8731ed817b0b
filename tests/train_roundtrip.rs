//! Train → save → load → predict is bit-identical, for every learner family.

use distml::data::taxi::{generate, TaxiSpec};
use distml::data::{DataSource, ReadOptions};
use distml::model::{ModelDirectory, ModelKind};
use distml::train::{run_train, TrainConfig};

fn month(dir: &std::path::Path, name: &str, month: &str, seed: u64) -> std::path::PathBuf {
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

#[test]
fn a_saved_model_predicts_bit_identically_after_loading() {
    let dir = tempfile::tempdir().unwrap();
    let train = month(dir.path(), "jan.parquet", "2023-01", 1);
    let valid = month(dir.path(), "feb.parquet", "2023-02", 2);
    for (kind, preset) in [
        (ModelKind::Linear, "taxi"),
        (ModelKind::ElasticNet, "taxi-rich"),
        (ModelKind::Poisson, "taxi"),
    ] {
        let model_dir = dir.path().join(format!("model-{}", kind.as_str()));
        let config = TrainConfig {
            data: vec![train.clone()],
            valid: vec![valid.clone()],
            model: kind,
            preset: serde_json::from_value(serde_json::json!(preset)).unwrap(),
            model_out: Some(model_dir.clone()),
            ..Default::default()
        };
        let outcome = run_train(&config, &(), None).unwrap();
        let loaded = ModelDirectory::load(&model_dir).unwrap();
        let bits = |m: &distml::model::LinearModel| -> Vec<u64> {
            m.coefficients
                .iter()
                .chain([&m.intercept])
                .map(|x| x.to_bits())
                .collect()
        };
        assert!(
            bits(&loaded.model) == bits(&outcome.model),
            "{kind:?}: coefficients reload bit-exactly"
        );
        assert_eq!(loaded.model.params, outcome.model.params);
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
            "{kind:?}: the pipeline transforms bit-identically"
        );
        for (a, b) in fresh.iter().zip(&reloaded) {
            let (p, q) = (outcome.model.predict(a), loaded.model.predict(b));
            assert!(
                p.iter()
                    .zip(q.iter())
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{kind:?}: predictions differ"
            );
        }
        assert_eq!(
            loaded.metadata.metrics["rmse"],
            outcome.summary.rmse.unwrap()
        );
    }
}
