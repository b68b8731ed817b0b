//! A fit over a store — streamed, cached in memory, spilled, or a mix — gives the bits of the
//! same fit over blocks held in a `Vec`, and the spill files go with the store.

use crate::data::taxi::{generate, TaxiSpec};
use crate::data::{DataSource, ReadOptions};
use crate::feature::{FeatureBlock, FittedPipeline};
use crate::model::{evaluate, Learner, MetricSums};
use crate::train::{fit_local, pipeline_spec, Blocks, FeatureSettings, LocalSums};

use super::*;

/// A generated taxi month in 6 partitions, its fitted taxi pipeline, and the blocks in a `Vec`.
fn taxi() -> (
    tempfile::TempDir,
    DataSource,
    FittedPipeline,
    Vec<FeatureBlock>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("yellow_tripdata_2023-01.parquet");
    let spec = TaxiSpec {
        rows: 6_000,
        seed: 5,
        ..Default::default()
    }
    .with_month("2023-01")
    .unwrap();
    generate(&spec, &path, &|_| {}).unwrap();
    let options = ReadOptions {
        partitions: Some(6),
        ..Default::default()
    };
    let source = DataSource::open(&[path], &options).unwrap();
    let spec = pipeline_spec(&FeatureSettings::default(), &source, false).unwrap();
    let pipeline = spec.fit(&source, &|| {}).unwrap();
    let blocks = pipeline.transform_source(&source, &|| {}).unwrap().blocks;
    (dir, source, pipeline, blocks)
}

fn learner(kind: &str, settings: &[(&str, &str)]) -> Learner {
    Learner::with_settings(kind.parse().unwrap(), settings.iter().copied()).unwrap()
}

/// Every way a job can keep its blocks: streamed, all in memory, all spilled, half and half.
fn stores<'a>(
    source: &'a DataSource,
    pipeline: &'a FittedPipeline,
    blocks: &[FeatureBlock],
    spill: &Path,
) -> Vec<(&'static str, BlockStore<'a>)> {
    let recipe = || BlockRecipe::new(source, pipeline).unwrap();
    let half: u64 = blocks[..3].iter().map(memory_size).sum();
    let cached = |limit: u64| {
        BlockStore::cached(
            recipe(),
            &MemoryBudget::new(ByteSize(limit)),
            Some(spill),
            &|| {},
        )
        .unwrap()
    };
    vec![
        ("streamed", BlockStore::streamed(recipe())),
        ("in memory", cached(u64::MAX)),
        ("spilled", cached(0)),
        ("half spilled", cached(half)),
    ]
}

#[test]
fn every_placement_fits_and_scores_the_bits_of_a_vec() {
    let (_dir, source, pipeline, blocks) = taxi();
    let spill = tempfile::tempdir().unwrap();
    let layout = pipeline.layout();
    let learners = [
        learner("linear", &[]),
        learner(
            "elastic-net",
            &[("reg", "0.01"), ("elastic-net", "0.5"), ("max-iter", "15")],
        ),
        learner(
            "linear",
            &[("solver", "sgd"), ("max-iter", "3"), ("batch-size", "256")],
        ),
        learner("gbt", &[("max-iter", "4"), ("num-leaves", "7")]),
    ];
    let stores = stores(&source, &pipeline, &blocks, spill.path());
    let placements: Vec<Placement> = stores.iter().map(|(_, s)| s.placement()).collect();
    assert_eq!(placements[0].streamed, 6);
    assert_eq!((placements[1].in_memory, placements[1].spilled), (6, 0));
    assert_eq!((placements[2].in_memory, placements[2].spilled), (0, 6));
    // Which blocks win the budget depends on thread timing; the results must not.
    assert_eq!(placements[3].in_memory + placements[3].spilled, 6);
    assert!(placements[3].in_memory > 0 && placements[3].spilled > 0);
    assert!(placements[2].spill_bytes < placements[1].memory_bytes);
    for learner in &learners {
        let (expected, _) = fit_local(learner, &blocks, layout).unwrap();
        let metrics = evaluate(&expected, &blocks);
        for (name, store) in &stores {
            let mut sums = LocalSums::over(Blocks::Stored(store));
            let (model, _) = learner.fit(layout, &mut sums).unwrap();
            assert!(model == expected, "{} {name}", learner.model.as_str());
            let scored = store
                .reduce(&|b| MetricSums::of(&model, b), &MetricSums::merge)
                .unwrap()
                .unwrap()
                .finish();
            assert_eq!(scored, metrics, "{name}");
            assert_eq!(
                store.rows(),
                blocks.iter().map(|b| b.rows() as u64).sum::<u64>()
            );
        }
    }
}

#[test]
fn spill_files_are_removed_with_the_store_or_a_failed_build() {
    let (_dir, source, pipeline, _) = taxi();
    let parent = tempfile::tempdir().unwrap();
    let entries = || std::fs::read_dir(parent.path()).unwrap().count();
    let recipe = BlockRecipe::new(&source, &pipeline).unwrap();
    let budget = MemoryBudget::new(ByteSize(0));
    let store = BlockStore::cached(recipe, &budget, Some(parent.path()), &|| {}).unwrap();
    assert_eq!(entries(), 1, "one private spill directory");
    drop(store);
    assert_eq!(entries(), 0);
    // A build that fails half way (a label the learner refuses) leaves nothing behind either.
    let logistic = learner("logistic", &[]);
    let recipe = BlockRecipe::new(&source, &pipeline)
        .unwrap()
        .validated_for(&logistic.params);
    let err = BlockStore::cached(recipe, &budget, Some(parent.path()), &|| {}).unwrap_err();
    assert!(err.is_user_error(), "{err}");
    assert!(
        err.to_string()
            .contains("yellow_tripdata_2023-01.parquet, row "),
        "{err}"
    );
    assert_eq!(entries(), 0);
}

#[test]
fn an_unusable_spill_dir_is_named() {
    let (_dir, source, pipeline, _) = taxi();
    let recipe = BlockRecipe::new(&source, &pipeline).unwrap();
    let missing = Path::new("/nonexistent/distml-spill");
    let budget = MemoryBudget::new(ByteSize(0));
    let err = BlockStore::cached(recipe, &budget, Some(missing), &|| {}).unwrap_err();
    assert!(err.is_user_error());
    assert!(
        err.to_string()
            .starts_with("--spill-dir /nonexistent/distml-spill"),
        "{err}"
    );
}
