//! `FeatureHasher`: columns hashed into one fixed-size index space (MLlib semantics:
//! MurmurHash3 x86_32 with seed 42; a numeric column is the feature `name` with its value, a
//! string, boolean or listed categorical column is the feature `name=value` with 1.0; nulls
//! are skipped). Each input column is one part of the shared space.

use std::io::Write;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use super::frame::{ColumnData, FeatureNames, Frame, SparseFeature, SparsePart};
use super::{FeatureError, SparseColumn};

const STAGE: &str = "FeatureHasher";
const SEED: u32 = 42;

/// MurmurHash3 x86_32 (Austin Appleby), the hash Spark's `FeatureHasher` uses.
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        let k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let k = tail
            .iter()
            .rev()
            .fold(0u32, |k, &b| (k << 8) | u32::from(b));
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Parameters of a `FeatureHasher`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureHasher {
    /// Input columns (numeric, boolean or string).
    pub input_cols: Vec<String>,
    /// Output sparse column.
    pub output_col: String,
    /// Size of the index space (MLlib default 2^18).
    pub num_features: usize,
    /// Numeric columns to hash as categories (`name=value`).
    pub categorical_cols: Vec<String>,
}

impl FeatureHasher {
    /// Hashes `inputs` into `output` with 2^18 features.
    pub fn new(inputs: &[&str], output: &str) -> Self {
        FeatureHasher {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            output_col: output.into(),
            num_features: 1 << 18,
            categorical_cols: Vec::new(),
        }
    }

    /// Sets `numFeatures`.
    pub fn num_features(mut self, n: usize) -> Self {
        self.num_features = n;
        self
    }

    /// Sets `categoricalCols`.
    pub fn categorical_cols(mut self, cols: &[&str]) -> Self {
        self.categorical_cols = cols.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        if self.input_cols.is_empty() {
            return Err(FeatureError::param(STAGE, "inputCols", "is empty"));
        }
        if self.num_features == 0 || self.num_features >= SparseColumn::NONE as usize {
            return Err(FeatureError::param(
                STAGE,
                "numFeatures",
                format!("{} is not in 1..2^32-1", self.num_features),
            ));
        }
        Ok(())
    }

    fn index(&self, bytes: &[u8]) -> u32 {
        (murmur3_32(bytes, SEED) as i32).rem_euclid(self.num_features as i32) as u32
    }

    fn hash_column(&self, name: &str, a: &ArrayRef) -> Result<SparsePart, FeatureError> {
        let categorical = self.categorical_cols.iter().any(|c| c == name)
            || matches!(
                a.data_type(),
                DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            );
        if !categorical {
            return self.hash_numeric(name, a);
        }
        let text = arrow_cast::cast::cast(a.as_ref(), &DataType::Utf8)
            .map_err(|e| FeatureError::internal(STAGE, e))?;
        let text = text.as_string::<i32>();
        let mut buf = Vec::with_capacity(64);
        let indices = (0..text.len())
            .map(|i| {
                if text.is_null(i) {
                    return SparseColumn::NONE;
                }
                buf.clear();
                let _ = write!(buf, "{name}={}", text.value(i));
                self.index(&buf)
            })
            .collect();
        Ok(SparsePart {
            indices,
            values: None,
        })
    }

    fn hash_numeric(&self, name: &str, a: &ArrayRef) -> Result<SparsePart, FeatureError> {
        if !super::columns::is_numeric(a.data_type()) {
            return Err(FeatureError::ColumnType {
                stage: STAGE.into(),
                column: name.into(),
                expected: "a numeric, boolean or string column",
                found: a.data_type().to_string(),
            });
        }
        let v = arrow_cast::cast::cast(a.as_ref(), &DataType::Float64)
            .map_err(|e| FeatureError::internal(STAGE, e))?;
        let v = v.as_primitive::<Float64Type>();
        let index = self.index(name.as_bytes());
        let indices = (0..v.len())
            .map(|i| {
                if v.is_null(i) {
                    SparseColumn::NONE
                } else {
                    index
                }
            })
            .collect();
        Ok(SparsePart {
            indices,
            values: Some(v.values().to_vec()),
        })
    }
}

impl super::traits::Transformer for FeatureHasher {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let mut parts = Vec::with_capacity(self.input_cols.len());
        for name in &self.input_cols {
            let a = frame.array(STAGE, name)?;
            parts.push(self.hash_column(name, a)?);
        }
        let feature = SparseFeature {
            names: FeatureNames::Indexed {
                prefix: self.output_col.clone(),
                width: self.num_features,
            },
            parts,
        };
        frame.set(&self.output_col, ColumnData::Sparse(feature));
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::traits::Transformer;
    use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    /// Oracle (scikit-learn's MurmurHash3 x86_32; Python's % is Spark's nonNegativeMod):
    /// ```python
    /// from sklearn.utils import murmurhash3_32 as m
    /// [m(s, seed=42) for s in ['PULocationID=132', 'trip_distance', '', 'hello', 'color=a']]
    /// # [1530987118, -645987111, 142593372, -488910111, 2098659251]
    /// [m(s, seed=42) % 1024 for s in ['PULocationID=132', 'trip_distance', 'color=a']]  # [622, 217, 947]
    /// ```
    #[test]
    fn murmur3_matches_sklearn() {
        let cases = [
            ("PULocationID=132", 1530987118i32),
            ("trip_distance", -645987111),
            ("", 142593372),
            ("hello", -488910111),
            ("color=a", 2098659251),
        ];
        for (s, want) in cases {
            assert_eq!(murmur3_32(s.as_bytes(), 42) as i32, want, "{s}");
        }
    }

    #[test]
    fn columns_hash_into_one_shared_space() {
        let batch = RecordBatch::try_from_iter([
            (
                "PULocationID",
                Arc::new(Int64Array::from(vec![Some(132), None])) as _,
            ),
            (
                "trip_distance",
                Arc::new(Float64Array::from(vec![2.5, 4.0])) as _,
            ),
            (
                "color",
                Arc::new(StringArray::from(vec![Some("a"), None])) as _,
            ),
        ])
        .unwrap();
        let h = FeatureHasher::new(&["PULocationID", "trip_distance", "color"], "h")
            .num_features(1024)
            .categorical_cols(&["PULocationID"]);
        h.check().unwrap();
        let out = h.transform(Frame::from_batch(&batch)).unwrap();
        let ColumnData::Sparse(s) = out.column("t", "h").unwrap() else {
            panic!()
        };
        assert_eq!(s.names.width(), 1024);
        assert_eq!(s.parts[0].indices, vec![622, SparseColumn::NONE]);
        assert_eq!(s.parts[1].indices, vec![217, 217]);
        assert_eq!(s.parts[1].values, Some(vec![2.5, 4.0]));
        assert_eq!(s.parts[2].indices, vec![947, SparseColumn::NONE]);
        assert!(FeatureHasher::new(&["x"], "h")
            .num_features(0)
            .check()
            .is_err());
    }
}
