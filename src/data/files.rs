//! Turning the paths a user gives (files, directories, globs) into a sorted list of data files.

use std::path::{Path, PathBuf};

use super::DataError;

/// The on-disk format of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header row.
    Csv,
}

/// Expands files, directories (their `.parquet`/`.csv` files) and glob patterns, in sorted order.
pub fn expand_paths<P: AsRef<Path>>(inputs: &[P]) -> Result<Vec<PathBuf>, DataError> {
    let mut files = Vec::new();
    for input in inputs {
        let input = input.as_ref();
        let text = input.to_string_lossy();
        if text.contains(['*', '?', '[']) {
            files.extend(expand_glob(&text)?);
        } else if input.is_dir() {
            files.extend(list_dir(input)?);
        } else if input.is_file() {
            files.push(input.to_path_buf());
        } else {
            return Err(DataError::NotFound {
                path: text.into_owned(),
            });
        }
    }
    Ok(files)
}

fn expand_glob(pattern: &str) -> Result<Vec<PathBuf>, DataError> {
    let paths = glob::glob(pattern).map_err(|e| DataError::InvalidOption {
        option: "--data",
        message: format!("bad glob pattern '{pattern}': {e}"),
    })?;
    let mut found: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(DataError::NotFound {
            path: pattern.to_string(),
        });
    }
    Ok(found)
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && format_from_extension(p).is_some())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(DataError::NotFound {
            path: format!("{} (no .parquet or .csv files inside)", dir.display()),
        });
    }
    Ok(found)
}

fn format_from_extension(path: &Path) -> Option<FileFormat> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".parquet") || name.ends_with(".parq") || name.ends_with(".pq") {
        Some(FileFormat::Parquet)
    } else if name.ends_with(".csv") || name.ends_with(".txt") || name.ends_with(".tsv") {
        Some(FileFormat::Csv)
    } else {
        None
    }
}

/// Detects a file's format from its magic bytes, falling back to its extension.
pub fn detect_format(path: &Path) -> Result<FileFormat, DataError> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let n = file.read(&mut head).map_err(|e| DataError::io(path, e))?;
    if n == 4 && &head == b"PAR1" {
        return Ok(FileFormat::Parquet);
    }
    match format_from_extension(path) {
        Some(FileFormat::Parquet) => Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            reason: "named .parquet but does not start with the Parquet magic bytes".into(),
        }),
        Some(FileFormat::Csv) => Ok(FileFormat::Csv),
        None if looks_like_text(path)? => Ok(FileFormat::Csv),
        None => Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            reason: "binary content without the Parquet magic bytes".into(),
        }),
    }
}

fn looks_like_text(path: &Path) -> Result<bool, DataError> {
    use std::io::Read;
    let mut buf = vec![0u8; 4096];
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let n = file.read(&mut buf).map_err(|e| DataError::io(path, e))?;
    let head = &buf[..n];
    Ok(n > 0 && !head.contains(&0) && std::str::from_utf8(head).is_ok() && head.contains(&b','))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_directories_expand_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", "notes.md"] {
            std::fs::write(dir.path().join(name), "x,y\n1,2\n").unwrap();
        }
        let listed = expand_paths(&[dir.path()]).unwrap();
        let names: Vec<_> = listed
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.csv", "b.csv"]);
        let pattern = dir.path().join("*.csv");
        assert_eq!(expand_paths(&[pattern]).unwrap(), listed);
    }

    #[test]
    fn missing_path_is_not_found() {
        let err = expand_paths(&["/no/such/file.parquet"]).unwrap_err();
        assert!(err.to_string().contains("/no/such/file.parquet"), "{err}");
    }

    #[test]
    fn binary_garbage_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob.bin");
        std::fs::write(&path, [0u8, 1, 2, 3, 255, 0]).unwrap();
        assert!(matches!(
            detect_format(&path),
            Err(DataError::UnknownFormat { .. })
        ));
        let fake = dir.path().join("fake.parquet");
        std::fs::write(&fake, "a,b\n1,2\n").unwrap();
        assert!(matches!(
            detect_format(&fake),
            Err(DataError::UnknownFormat { .. })
        ));
    }
}
