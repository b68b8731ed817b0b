//! Partitions: which rows of which file one unit of parallel work reads, and how files are cut.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::FileFormat;

/// Target size of one CSV partition when the user does not choose a count.
pub const CSV_PARTITION_BYTES: u64 = 64 << 20;

/// A slice of one Parquet row group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowGroupSlice {
    /// Row group index in the file.
    pub row_group: usize,
    /// First row of the slice within the row group.
    pub offset: usize,
    /// Number of rows in the slice.
    pub rows: usize,
}

/// Which part of a file a partition holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Extent {
    /// Parquet: slices of consecutive row groups.
    RowGroups(Vec<RowGroupSlice>),
    /// CSV: every line that starts in `[start, end)` (byte offsets; the header is skipped).
    Bytes {
        /// First byte (inclusive).
        start: u64,
        /// Last byte (exclusive).
        end: u64,
    },
}

/// One unit of parallel work: a contiguous piece of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// Position in the data source's partition list.
    pub index: usize,
    /// Index of the file in the data source's file list.
    pub file: usize,
    /// The file's path.
    pub path: PathBuf,
    /// The part of the file.
    pub extent: Extent,
    /// Row count when known before reading (Parquet).
    pub rows: Option<u64>,
}

/// What the planner needs to know about one file.
#[derive(Debug, Clone)]
pub(crate) struct FileLayout {
    pub(crate) path: PathBuf,
    pub(crate) format: FileFormat,
    pub(crate) bytes: u64,
    /// Row counts of the row groups (Parquet only).
    pub(crate) row_groups: Vec<usize>,
}

impl FileLayout {
    fn natural_pieces(&self) -> usize {
        match self.format {
            FileFormat::Parquet => self.row_groups.len().max(1),
            FileFormat::Csv => self.bytes.div_ceil(CSV_PARTITION_BYTES).max(1) as usize,
        }
    }
}

/// Plans partitions: `requested` in total (at least one per file), or by default one per row
/// group / 64 MiB of CSV, and never fewer than `min_default` (the core count).
pub(crate) fn plan(
    files: &[FileLayout],
    requested: Option<usize>,
    min_default: usize,
) -> Vec<Partition> {
    let pieces = match requested {
        Some(p) => share_by_bytes(files, p),
        None => {
            let natural: Vec<usize> = files.iter().map(FileLayout::natural_pieces).collect();
            if natural.iter().sum::<usize>() >= min_default {
                natural
            } else {
                share_by_bytes(files, min_default)
            }
        }
    };
    let mut out = Vec::new();
    for (file_index, (file, &k)) in files.iter().zip(&pieces).enumerate() {
        for extent in cut_file(file, k, requested.is_none()) {
            let rows = match &extent {
                Extent::RowGroups(slices) => Some(slices.iter().map(|s| s.rows as u64).sum()),
                Extent::Bytes { .. } => None,
            };
            out.push(Partition {
                index: out.len(),
                file: file_index,
                path: file.path.clone(),
                extent,
                rows,
            });
        }
    }
    out
}

/// Splits `total` pieces over files in proportion to their size (largest remainder), ≥ 1 each.
fn share_by_bytes(files: &[FileLayout], total: usize) -> Vec<usize> {
    let bytes: u64 = files.iter().map(|f| f.bytes.max(1)).sum();
    let exact: Vec<f64> = files
        .iter()
        .map(|f| total as f64 * f.bytes.max(1) as f64 / bytes as f64)
        .collect();
    let mut shares: Vec<usize> = exact.iter().map(|x| (x.floor() as usize).max(1)).collect();
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut i = 0;
    while shares.iter().sum::<usize>() < total {
        shares[order[i % order.len()]] += 1;
        i += 1;
    }
    shares
}

fn cut_file(file: &FileLayout, pieces: usize, prefer_row_groups: bool) -> Vec<Extent> {
    match file.format {
        FileFormat::Csv => (0..pieces as u64)
            .map(|i| Extent::Bytes {
                start: file.bytes * i / pieces as u64,
                end: file.bytes * (i + 1) / pieces as u64,
            })
            .collect(),
        FileFormat::Parquet if prefer_row_groups && pieces == file.row_groups.len() => file
            .row_groups
            .iter()
            .enumerate()
            .map(|(g, &rows)| {
                Extent::RowGroups(vec![RowGroupSlice {
                    row_group: g,
                    offset: 0,
                    rows,
                }])
            })
            .collect(),
        FileFormat::Parquet => cut_rows(&file.row_groups, pieces)
            .into_iter()
            .map(Extent::RowGroups)
            .collect(),
    }
}

/// Cuts the rows of consecutive row groups into `pieces` contiguous runs of near-equal length.
fn cut_rows(row_groups: &[usize], pieces: usize) -> Vec<Vec<RowGroupSlice>> {
    let total: usize = row_groups.iter().sum();
    let pieces = pieces.clamp(1, total.max(1));
    let bounds: Vec<usize> = (0..=pieces).map(|i| total * i / pieces).collect();
    let mut out = Vec::with_capacity(pieces);
    for w in bounds.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let mut slices = Vec::new();
        let mut group_start = 0;
        for (g, &rows) in row_groups.iter().enumerate() {
            let group_end = group_start + rows;
            let (a, b) = (lo.max(group_start), hi.min(group_end));
            if a < b {
                slices.push(RowGroupSlice {
                    row_group: g,
                    offset: a - group_start,
                    rows: b - a,
                });
            }
            group_start = group_end;
        }
        out.push(slices);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parquet(bytes: u64, groups: &[usize]) -> FileLayout {
        FileLayout {
            path: "f.parquet".into(),
            format: FileFormat::Parquet,
            bytes,
            row_groups: groups.to_vec(),
        }
    }

    #[test]
    fn default_is_one_partition_per_row_group_when_there_are_enough() {
        let parts = plan(&[parquet(100, &[10, 20, 30])], None, 2);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2].rows, Some(30));
    }

    #[test]
    fn a_single_row_group_is_split_to_reach_the_core_count() {
        let parts = plan(&[parquet(100, &[101])], None, 4);
        let rows: Vec<u64> = parts.iter().map(|p| p.rows.unwrap()).collect();
        assert_eq!(rows, vec![25, 25, 25, 26]);
    }

    #[test]
    fn requested_count_covers_every_row_exactly_once() {
        let groups = [7, 13, 1, 40];
        for p in 1..=61 {
            let parts = plan(&[parquet(100, &groups)], Some(p), 2);
            let mut seen = vec![vec![false; 40]; 4];
            for part in &parts {
                let Extent::RowGroups(slices) = &part.extent else {
                    panic!("a Parquet partition must hold row groups")
                };
                for s in slices {
                    for cell in &mut seen[s.row_group][s.offset..s.offset + s.rows] {
                        assert!(!*cell, "row counted twice");
                        *cell = true;
                    }
                }
            }
            let covered: usize = seen.iter().flatten().filter(|&&x| x).count();
            assert_eq!(covered, 61);
            assert_eq!(parts.len(), p.min(61));
        }
    }

    #[test]
    fn csv_is_cut_by_bytes_and_files_share_by_size() {
        let csv = FileLayout {
            path: "a.csv".into(),
            format: FileFormat::Csv,
            bytes: 1000,
            row_groups: vec![],
        };
        let small = FileLayout {
            bytes: 10,
            ..csv.clone()
        };
        let parts = plan(&[csv, small], Some(5), 2);
        assert_eq!(parts.iter().filter(|p| p.file == 0).count(), 4);
        assert_eq!(parts.iter().filter(|p| p.file == 1).count(), 1);
        assert_eq!(
            parts[3].extent,
            Extent::Bytes {
                start: 750,
                end: 1000
            }
        );
    }
}
