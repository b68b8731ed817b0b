//! The README's library example: generate two taxi months, fit the taxi pipeline and a ridge
//! model on the first, report the RMSE on the second.
//!
//! `cargo run --release --example taxi_train`

use distml::data::taxi::{generate, TaxiSpec};
use distml::data::{DataSource, ReadOptions};
use distml::feature::presets;
use distml::model::{evaluate, Learner};
use distml::train::fit_local;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (jan, feb) = (
        dir.path().join("jan.parquet"),
        dir.path().join("feb.parquet"),
    );
    generate(
        &TaxiSpec {
            rows: 200_000,
            seed: 1,
            ..Default::default()
        }
        .with_month("2023-01")?,
        &jan,
        &|_| {},
    )?;
    generate(
        &TaxiSpec {
            rows: 200_000,
            seed: 2,
            ..Default::default()
        }
        .with_month("2023-02")?,
        &feb,
        &|_| {},
    )?;

    let train = DataSource::open(&[&jan], &ReadOptions::default())?;
    let pipeline = presets::taxi().fit(&train, &|| {})?; // one pass of merged summaries
    let blocks = pipeline.transform_source(&train, &|| {})?.blocks; // one FeatureBlock per partition
    let ridge = Learner::with_settings("ridge".parse()?, [("reg", "0.001")])?; // checked before any work
    let (model, summary) = fit_local(&ridge, &blocks, pipeline.layout())?;
    let valid = DataSource::open(&[&feb], &ReadOptions::default())?;
    let metrics = evaluate(&model, &pipeline.transform_source(&valid, &|| {})?.blocks);
    println!(
        "{} iterations, validation RMSE {:.3}",
        summary.iterations, metrics["rmse"]
    );
    Ok(())
}
