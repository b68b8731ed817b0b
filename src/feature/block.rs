//! The learner input of one partition: dense numeric columns plus categorical columns kept as
//! indices, so a one-hot of 265 zones costs one integer per row, not 265 floats.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

/// One categorical (one-hot, hashed or interaction) column: at most one active index per row.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseColumn {
    /// Where this column's index space starts in the full feature vector.
    pub offset: usize,
    /// Size of the index space.
    pub width: usize,
    /// Active index per row, relative to `offset`; [`SparseColumn::NONE`] for an all-zero row.
    pub indices: Vec<u32>,
    /// Value of the active index per row; `None` means 1.0 for every row.
    pub values: Option<Vec<f64>>,
}

impl SparseColumn {
    /// Marks a row with no active index (an unseen category under `keep` with `dropLast`).
    pub const NONE: u32 = u32::MAX;
}

/// Names and positions of the features in the full feature vector (dense first, then sparse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FeatureLayout {
    /// One name per feature, in vector order.
    pub names: Vec<String>,
    /// Number of dense features (they come first).
    pub dense: usize,
    /// Dense features holding category indices (a `StringIndexer` or `Bucketizer` output
    /// assembled as is): `(column, number of categories)`. Trees split them by category.
    #[serde(default)]
    pub categories: Vec<(usize, usize)>,
    /// The input column of each sparse column of a block, in block order (trees treat a
    /// sparse column's active index as a category).
    #[serde(default)]
    pub sparse_columns: Vec<String>,
}

impl FeatureLayout {
    /// Total number of features.
    pub fn width(&self) -> usize {
        self.names.len()
    }
}

/// Model input for one partition.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureBlock {
    /// Dense features, rows × `layout.dense`.
    pub dense: Array2<f64>,
    /// Categorical columns, each with its own index space inside the feature vector.
    pub sparse: Vec<SparseColumn>,
    /// The label per row.
    pub label: Array1<f64>,
    /// Optional weight per row (`weightCol`).
    pub weight: Option<Array1<f64>>,
}

impl FeatureBlock {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.label.len()
    }

    /// Bytes the block's columns hold in memory.
    pub fn memory_bytes(&self) -> u64 {
        let rows = self.rows() as u64;
        let sparse: u64 = self
            .sparse
            .iter()
            .map(|c| rows * 4 + c.values.as_ref().map_or(0, |_| rows * 8))
            .sum();
        let weight = self.weight.as_ref().map_or(0, |_| rows * 8);
        self.dense.len() as u64 * 8 + sparse + rows * 8 + weight
    }
}
