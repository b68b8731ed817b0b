//! Feature blocks written to and read back from local spill files, compactly: categorical
//! indices in the narrowest integer type that holds their index space, floats as raw bytes.
//! A spill file is read only by the process that wrote it, so bytes are in native order.

use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};

use crate::feature::{FeatureBlock, SparseColumn};

use super::StoreError;

/// First bytes of every spill file (and its format version).
const MAGIC: &[u8; 8] = b"DMLSPIL1";

/// A private directory of spill files, deleted with everything in it when dropped — when the
/// job ends, fails or unwinds.
#[derive(Debug)]
pub struct SpillDir {
    dir: tempfile::TempDir,
}

impl SpillDir {
    /// A new directory under `parent` (`--spill-dir`, default the system temp directory).
    pub fn new(parent: Option<&Path>) -> Result<Self, StoreError> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let dir = tempfile::Builder::new()
            .prefix("distml-spill-")
            .tempdir_in(&parent)
            .map_err(|source| StoreError::Spill {
                path: parent.clone(),
                source,
            })?;
        Ok(SpillDir { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `block` as block `index`; returns its file.
    pub fn write(&self, index: usize, block: &FeatureBlock) -> Result<PathBuf, StoreError> {
        let path = self.dir.path().join(format!("block-{index:06}.bin"));
        let bytes = encode(block);
        let io = |source| StoreError::Spill {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::File::create(&path).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        Ok(path)
    }
}

/// Reads back a block written by [`SpillDir::write`].
pub fn read(path: &Path) -> Result<FeatureBlock, StoreError> {
    let bytes = std::fs::read(path).map_err(|source| StoreError::Spill {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes).ok_or_else(|| StoreError::Corrupt(path.to_path_buf()))
}

/// The bytes of `block` in the spill format.
pub fn encode(block: &FeatureBlock) -> Vec<u8> {
    let rows = block.rows();
    let mut out = Vec::with_capacity(spilled_size(block));
    out.extend_from_slice(MAGIC);
    put_u64(&mut out, rows as u64);
    put_u64(&mut out, block.dense.ncols() as u64);
    put_u64(&mut out, block.sparse.len() as u64);
    put_floats(&mut out, block.dense.as_standard_layout().as_slice());
    for column in &block.sparse {
        put_u64(&mut out, column.offset as u64);
        put_u64(&mut out, column.width as u64);
        put_indices(&mut out, column);
        put_optional(&mut out, column.values.as_deref());
    }
    put_floats(&mut out, block.label.as_slice());
    put_optional(&mut out, block.weight.as_ref().and_then(|w| w.as_slice()));
    out
}

/// The size of `block`'s spill file (what [`encode`] writes).
pub fn spilled_size(block: &FeatureBlock) -> usize {
    let rows = block.rows();
    let sparse: usize = block
        .sparse
        .iter()
        .map(|c| {
            16 + 1 + rows * index_bytes(c.width) + 1 + c.values.as_ref().map_or(0, |_| rows * 8)
        })
        .sum();
    MAGIC.len()
        + 24
        + block.dense.len() * 8
        + sparse
        + rows * 8
        + 1
        + block.weight.as_ref().map_or(0, |_| rows * 8)
}

/// Bytes per index for an index space of `width` ([`SparseColumn::NONE`] takes the type's
/// maximum, so the space must stay below it).
fn index_bytes(width: usize) -> usize {
    if width < u8::MAX as usize {
        1
    } else if width < u16::MAX as usize {
        2
    } else {
        4
    }
}

fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_floats(out: &mut Vec<u8>, values: Option<&[f64]>) {
    if let Some(values) = values {
        out.extend_from_slice(bytemuck::cast_slice(values));
    }
}

fn put_optional(out: &mut Vec<u8>, values: Option<&[f64]>) {
    out.push(u8::from(values.is_some()));
    put_floats(out, values);
}

fn put_indices(out: &mut Vec<u8>, column: &SparseColumn) {
    let bytes = index_bytes(column.width);
    out.push(bytes as u8);
    // Narrowing keeps NONE distinct: it becomes the narrow type's maximum, above every index.
    match bytes {
        1 => out.extend(column.indices.iter().map(|&i| i.min(u8::MAX as u32) as u8)),
        2 => {
            let narrow: Vec<u16> = column
                .indices
                .iter()
                .map(|&i| i.min(u16::MAX as u32) as u16)
                .collect();
            out.extend_from_slice(bytemuck::cast_slice(&narrow));
        }
        _ => out.extend_from_slice(bytemuck::cast_slice(&column.indices)),
    }
}

/// Reads the spill format back; `None` when the bytes are not a whole spill file.
fn decode(bytes: &[u8]) -> Option<FeatureBlock> {
    let mut r = Reader { bytes };
    if r.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let rows = r.u64()? as usize;
    let dense_cols = r.u64()? as usize;
    let sparse_cols = r.u64()? as usize;
    let dense =
        Array2::from_shape_vec((rows, dense_cols), r.floats(rows.checked_mul(dense_cols)?)?)
            .ok()?;
    let mut sparse = Vec::with_capacity(sparse_cols);
    for _ in 0..sparse_cols {
        let offset = r.u64()? as usize;
        let width = r.u64()? as usize;
        let indices = r.indices(rows)?;
        let values = r.optional(rows)?;
        sparse.push(SparseColumn {
            offset,
            width,
            indices,
            values,
        });
    }
    let label = Array1::from(r.floats(rows)?);
    let weight = r.optional(rows)?.map(Array1::from);
    r.bytes.is_empty().then_some(FeatureBlock {
        dense,
        sparse,
        label,
        weight,
    })
}

/// `bytes` as a vector of `T`, copied out (the file's bytes need not be aligned for `T`).
fn copied<T: bytemuck::Pod>(bytes: &[u8]) -> Vec<T> {
    let mut out = vec![T::zeroed(); bytes.len() / std::mem::size_of::<T>()];
    bytemuck::cast_slice_mut::<T, u8>(&mut out).copy_from_slice(bytes);
    out
}

/// A cursor over a spill file's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn floats(&mut self, n: usize) -> Option<Vec<f64>> {
        Some(copied(self.take(n.checked_mul(8)?)?))
    }

    fn optional(&mut self, n: usize) -> Option<Option<Vec<f64>>> {
        match self.take(1)?[0] {
            0 => Some(None),
            _ => self.floats(n).map(Some),
        }
    }

    fn indices(&mut self, n: usize) -> Option<Vec<u32>> {
        let widen = |narrow: u32, max: u32| {
            if narrow == max {
                SparseColumn::NONE
            } else {
                narrow
            }
        };
        match self.take(1)?[0] {
            1 => Some(
                self.take(n)?
                    .iter()
                    .map(|&i| widen(i as u32, u8::MAX as u32))
                    .collect(),
            ),
            2 => {
                let narrow: Vec<u16> = copied(self.take(n.checked_mul(2)?)?);
                Some(
                    narrow
                        .into_iter()
                        .map(|i| widen(i as u32, u16::MAX as u32))
                        .collect(),
                )
            }
            4 => Some(copied(self.take(n.checked_mul(4)?)?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(rows: usize, width: usize, weighted: bool) -> FeatureBlock {
        FeatureBlock {
            dense: Array2::from_shape_fn((rows, 3), |(i, j)| (i as f64).sin() * 1e9 + j as f64),
            sparse: vec![
                SparseColumn {
                    offset: 3,
                    width,
                    indices: (0..rows)
                        .map(|i| {
                            if i % 7 == 0 {
                                SparseColumn::NONE
                            } else {
                                (i % width) as u32
                            }
                        })
                        .collect(),
                    values: None,
                },
                SparseColumn {
                    offset: 3 + width,
                    width: 10,
                    indices: (0..rows).map(|i| (i % 10) as u32).collect(),
                    values: Some((0..rows).map(|i| i as f64 / 3.0).collect()),
                },
            ],
            label: (0..rows).map(|i| f64::from(i as u32).ln_1p()).collect(),
            weight: weighted.then(|| (0..rows).map(|i| (i % 4) as f64).collect()),
        }
    }

    #[test]
    fn blocks_round_trip_bit_for_bit_in_every_index_width() {
        for (width, bytes) in [(5, 1), (254, 1), (255, 2), (70_000, 4)] {
            assert_eq!(index_bytes(width), bytes);
            for weighted in [false, true] {
                let original = block(1000, width, weighted);
                let encoded = encode(&original);
                assert_eq!(encoded.len(), spilled_size(&original), "width {width}");
                assert_eq!(decode(&encoded).as_ref(), Some(&original), "width {width}");
            }
        }
        let empty = block(0, 5, false);
        assert_eq!(decode(&encode(&empty)), Some(empty));
    }

    #[test]
    fn narrow_indices_make_the_file_smaller_than_the_block() {
        let b = block(10_000, 265, false);
        // dense 24 + two index columns (2 + 1 bytes) + values 8 + label 8 per row.
        assert!(spilled_size(&b) < 10_000 * 44, "{}", spilled_size(&b));
    }

    #[test]
    fn truncated_or_foreign_files_are_refused() {
        let bytes = encode(&block(50, 5, true));
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode(b"not a spill file").is_none());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_none());
    }

    #[test]
    fn the_directory_is_removed_when_dropped() {
        let spill = SpillDir::new(None).unwrap();
        let path = spill.write(3, &block(10, 5, false)).unwrap();
        assert_eq!(read(&path).unwrap(), block(10, 5, false));
        let dir = spill.path().to_path_buf();
        drop(spill);
        assert!(!dir.exists());
    }
}
