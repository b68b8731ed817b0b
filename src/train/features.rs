//! The feature pipeline a job's settings ask for: a taxi preset, or a generic table pipeline.

use crate::data::{DataError, DataSource};
use crate::feature::{presets, PipelineSpec};

use super::config::{FeatureSettings, Preset};

/// The unfitted pipeline `config` asks for, with generic column names resolved against `source`
/// (case-insensitively, TLC aliases included) so an unknown column fails before any work.
pub fn pipeline_spec(
    config: &FeatureSettings,
    source: &DataSource,
) -> Result<PipelineSpec, DataError> {
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
            Preset::Taxi => presets::taxi(),
            Preset::TaxiRich => presets::taxi_rich(),
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
    let cat: Vec<&str> = categorical.iter().map(String::as_str).collect();
    let num: Vec<&str> = numeric.iter().map(String::as_str).collect();
    Ok(presets::generic(&target, &cat, &num))
}
