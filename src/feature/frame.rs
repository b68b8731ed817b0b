//! The table a pipeline passes between stages: Arrow columns from the input plus the
//! categorical index and sparse columns that stages produce, and the rows dropped so far.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_buffer::BooleanBuffer;
use serde::{Deserialize, Serialize};

use super::FeatureError;

/// Categorical indices with their labels; `labels.len()` is the `keep` bucket of unseen values.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexColumn {
    /// Index per row.
    pub indices: Vec<u32>,
    /// Label of each index, in index order.
    pub labels: Arc<Vec<String>>,
    /// The column the labels are values of (used in feature names).
    pub source: String,
}

/// Names of the features in a sparse index space.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureNames {
    /// One name per index.
    List(Arc<Vec<String>>),
    /// `prefix[i]` for each index (hashed spaces, where a list would be large and meaningless).
    Indexed {
        /// Name prefix.
        prefix: String,
        /// Size of the space.
        width: usize,
    },
    /// Every combination of the factors' names, joined by `:` (the first factor varies slowest).
    Product(Vec<FeatureNames>),
}

impl FeatureNames {
    /// Size of the index space.
    pub fn width(&self) -> usize {
        match self {
            FeatureNames::List(names) => names.len(),
            FeatureNames::Indexed { width, .. } => *width,
            FeatureNames::Product(f) => f.iter().map(FeatureNames::width).product(),
        }
    }

    /// Every name, in index order.
    pub fn expand(&self) -> Vec<String> {
        match self {
            FeatureNames::List(names) => names.as_ref().clone(),
            FeatureNames::Indexed { prefix, width } => {
                (0..*width).map(|i| format!("{prefix}[{i}]")).collect()
            }
            FeatureNames::Product(factors) => factors.iter().fold(vec![String::new()], |acc, f| {
                let names = f.expand();
                acc.iter()
                    .flat_map(|a| names.iter().map(move |n| join(a, n)))
                    .collect()
            }),
        }
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}:{b}")
    }
}

/// One active index per row ([`super::SparseColumn::NONE`] for none) and its value (1.0 if `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct SparsePart {
    /// Active index per row.
    pub indices: Vec<u32>,
    /// Value per row; `None` means 1.0.
    pub values: Option<Vec<f64>>,
}

/// A sparse feature: one index space shared by one or more parts (several parts when a
/// hasher maps several columns into the same space).
#[derive(Debug, Clone, PartialEq)]
pub struct SparseFeature {
    /// Names of the space's features.
    pub names: FeatureNames,
    /// The parts, each with at most one active index per row.
    pub parts: Vec<SparsePart>,
}

/// The data of one frame column.
#[derive(Debug, Clone)]
pub enum ColumnData {
    /// An Arrow column (input or derived numeric/timestamp/string).
    Array(ArrayRef),
    /// Categorical indices (StringIndexer, Bucketizer).
    Index(IndexColumn),
    /// A sparse feature (OneHotEncoder, FeatureHasher, Interaction).
    Sparse(SparseFeature),
}

impl ColumnData {
    /// A short type description for error messages.
    pub fn type_name(&self) -> String {
        match self {
            ColumnData::Array(a) => a.data_type().to_string(),
            ColumnData::Index(_) => "a categorical index".into(),
            ColumnData::Sparse(_) => "a sparse vector".into(),
        }
    }
}

/// Rows dropped by filters, `skip` options and null targets, per stage and reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCounts(pub BTreeMap<String, u64>);

impl DropCounts {
    /// Adds `n` rows under `reason`.
    pub fn add(&mut self, reason: &str, n: u64) {
        if n > 0 {
            *self.0.entry(reason.to_string()).or_default() += n;
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &DropCounts) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }

    /// Total rows dropped.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// A named frame column.
#[derive(Debug, Clone)]
pub struct FrameColumn {
    /// Column name.
    pub name: String,
    /// Column data.
    pub data: ColumnData,
}

/// One partition on its way through a pipeline.
#[derive(Debug, Clone)]
pub struct Frame {
    rows: usize,
    columns: Vec<FrameColumn>,
    dropped: DropCounts,
}

impl Frame {
    /// Wraps a record batch (no copy).
    pub fn from_batch(batch: &RecordBatch) -> Self {
        let columns = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, a)| FrameColumn {
                name: f.name().clone(),
                data: ColumnData::Array(a.clone()),
            })
            .collect();
        Frame {
            rows: batch.num_rows(),
            columns,
            dropped: DropCounts::default(),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Column names, in order.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// Rows dropped so far.
    pub fn dropped(&self) -> &DropCounts {
        &self.dropped
    }

    /// The named column (exact name, else case-insensitive), or an error naming the stage.
    pub fn column(&self, stage: &str, name: &str) -> Result<&ColumnData, FeatureError> {
        self.position(name)
            .map(|i| &self.columns[i].data)
            .ok_or_else(|| FeatureError::MissingColumn {
                stage: stage.to_string(),
                column: name.to_string(),
                available: self.names(),
            })
    }

    /// The named column as an Arrow array, or a type error.
    pub fn array(&self, stage: &str, name: &str) -> Result<&ArrayRef, FeatureError> {
        match self.column(stage, name)? {
            ColumnData::Array(a) => Ok(a),
            other => Err(FeatureError::ColumnType {
                stage: stage.to_string(),
                column: name.to_string(),
                expected: "a plain column",
                found: other.type_name(),
            }),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .or_else(|| {
                self.columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(name))
            })
    }

    /// Sets a column, replacing one of the same name.
    pub fn set(&mut self, name: &str, data: ColumnData) {
        match self.columns.iter().position(|c| c.name == name) {
            Some(i) => self.columns[i].data = data,
            None => self.columns.push(FrameColumn {
                name: name.to_string(),
                data,
            }),
        }
    }

    /// Keeps the rows where `keep` is true, counting the others under `reason`.
    pub fn retain(&mut self, keep: Vec<bool>, reason: &str) -> Result<(), FeatureError> {
        // Packed 64 flags at a time (`From<Vec<bool>>` appends bit by bit).
        let mask = BooleanArray::new(BooleanBuffer::collect_bool(keep.len(), |i| keep[i]), None);
        let kept = mask.true_count();
        if kept == self.rows {
            return Ok(());
        }
        self.dropped.add(reason, (self.rows - kept) as u64);
        for column in &mut self.columns {
            column.data = filter_column(&column.data, &mask, reason)?;
        }
        self.rows = kept;
        Ok(())
    }
}

fn filter_column(
    data: &ColumnData,
    mask: &BooleanArray,
    stage: &str,
) -> Result<ColumnData, FeatureError> {
    let pick_u32 = |v: &[u32]| -> Vec<u32> { pick(v, mask) };
    Ok(match data {
        ColumnData::Array(a) => ColumnData::Array(
            arrow_select::filter::filter(a.as_ref(), mask)
                .map_err(|e| FeatureError::internal(stage, e))?,
        ),
        ColumnData::Index(ix) => ColumnData::Index(IndexColumn {
            indices: pick_u32(&ix.indices),
            labels: ix.labels.clone(),
            source: ix.source.clone(),
        }),
        ColumnData::Sparse(sp) => ColumnData::Sparse(SparseFeature {
            names: sp.names.clone(),
            parts: sp
                .parts
                .iter()
                .map(|p| SparsePart {
                    indices: pick_u32(&p.indices),
                    values: p.values.as_deref().map(|v| pick(v, mask)),
                })
                .collect(),
        }),
    })
}

fn pick<T: Copy>(values: &[T], mask: &BooleanArray) -> Vec<T> {
    values
        .iter()
        .zip(mask.values().iter())
        .filter_map(|(&v, k)| k.then_some(v))
        .collect()
}

impl Frame {
    /// Removes a column and returns its data (the assembler moves sparse indices out).
    pub fn take(&mut self, name: &str) -> Option<ColumnData> {
        let i = self.position(name)?;
        Some(self.columns.remove(i).data)
    }
}
