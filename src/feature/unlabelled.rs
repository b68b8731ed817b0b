//! A fitted pipeline for rows that carry no label: what a server scores. The stages that make
//! the label or only read what the label is made of (the taxi job's duration from the dropoff
//! time, and its 1–60 minute filter) are left out, and so are the raw columns only they read;
//! everything the features need stays, fitted as it was.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_schema::Schema;

use super::{FeatureError, FittedPipeline};

impl FittedPipeline {
    /// Whether this pipeline scores rows without labels (made by [`Self::unlabelled`]).
    pub fn is_unlabelled(&self) -> bool {
        self.assembler.unlabelled
    }

    /// This pipeline without the label's stages and inputs; the blocks it makes have NaN
    /// labels. An error when a feature depends on the label.
    ///
    /// ```no_run
    /// use distml::data::{DataSource, ReadOptions};
    /// use distml::feature::presets;
    ///
    /// let trips = DataSource::open(&["jan.parquet"], &ReadOptions::default())?;
    /// let pipeline = presets::taxi().fit(&trips, &|| {})?;
    /// let serving = pipeline.unlabelled()?;
    /// assert!(!serving.input_columns().contains(&"dropoff_datetime".to_string()));
    /// assert_eq!(serving.layout(), pipeline.layout());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unlabelled(&self) -> Result<FittedPipeline, FeatureError> {
        let label = self.label_column().to_string();
        let mut from_label: HashSet<String> = HashSet::from([label.clone()]);
        let mut stages = Vec::new();
        for stage in &self.stages {
            let (inputs, outputs) = stage.columns();
            let makes_label = outputs.iter().any(|o| from_label.contains(o));
            let reads_only_label =
                !inputs.is_empty() && inputs.iter().all(|c| from_label.contains(c));
            if makes_label || reads_only_label {
                from_label.extend(outputs);
                continue;
            }
            if let Some(c) = inputs.iter().find(|c| from_label.contains(*c)) {
                return Err(depends_on_label(c, &label));
            }
            stages.push(stage.clone());
        }
        let mut assembler = self.assembler.clone();
        if let Some(c) = assembler
            .input_cols
            .iter()
            .find(|c| from_label.contains(*c))
        {
            return Err(depends_on_label(c, &label));
        }
        assembler.unlabelled = true;
        let needed: HashSet<String> = stages
            .iter()
            .flat_map(|s| s.columns().0)
            .chain(assembler.input_cols.iter().cloned())
            .collect();
        let fields: Vec<_> = self
            .input_schema
            .fields()
            .iter()
            .filter(|f| needed.contains(f.name()))
            .cloned()
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let pipeline = FittedPipeline::new(schema, stages, assembler, self.stats.clone())?;
        if pipeline.layout() != self.layout() {
            return Err(FeatureError::internal(
                "Pipeline",
                "the features changed without the label's stages",
            ));
        }
        Ok(pipeline)
    }
}

fn depends_on_label(column: &str, label: &str) -> FeatureError {
    FeatureError::param(
        "Pipeline",
        "inputCols",
        format!("feature column '{column}' is computed from the label '{label}': rows without a label cannot be scored"),
    )
}
