//! The feature pipeline a job's settings ask for: a taxi preset, or a generic table pipeline.

use crate::data::{DataError, DataSource};
use crate::feature::presets::{self, Categories};
use crate::feature::PipelineSpec;

use super::config::{FeatureSettings, Preset};

/// The unfitted pipeline `config` asks for, with generic column names resolved against `source`
/// (case-insensitively, TLC aliases included) so an unknown column fails before any work;
/// categorical columns are one-hot encoded unless `native_categories` (trees split indices).
pub fn pipeline_spec(
    config: &FeatureSettings,
    source: &DataSource,
    native_categories: bool,
) -> Result<PipelineSpec, DataError> {
    let how = match native_categories {
        true => Categories::Indices,
        false => Categories::OneHot,
    };
    let Some(target) = &config.target else {
        if !source.is_taxi() {
            return Err(DataError::InvalidOption {
                option: "--target",
                message: format!(
                    "{} is not a TLC trip file: name the label with --target and the features \
                     with --categorical/--numeric",
                    source.paths()[0].display()
                ),
            });
        }
        return Ok(match config.preset.unwrap_or_default() {
            Preset::Taxi => presets::taxi_with(how),
            Preset::TaxiRich => presets::taxi_rich_with(how),
        });
    };
    let resolve = |names: &[String]| -> Result<Vec<String>, DataError> {
        names.iter().map(|n| source.resolve(n)).collect()
    };
    let target = source.resolve(target)?;
    let categorical = resolve(&config.categorical)?;
    let numeric = resolve(&config.numeric)?;
    if categorical.is_empty() && numeric.is_empty() {
        return Err(DataError::InvalidOption {
            option: "--categorical/--numeric",
            message: "a generic job needs at least one feature column".into(),
        });
    }
    source.require_numeric(&numeric)?;
    let cat: Vec<&str> = categorical.iter().map(String::as_str).collect();
    let num: Vec<&str> = numeric.iter().map(String::as_str).collect();
    Ok(presets::generic_with(&target, &cat, &num, how))
}
