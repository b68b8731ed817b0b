//! Uploading and downloading a directory through the server's artifact proxy
//! (`/api/2.0/mlflow-artifacts/artifacts`).

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::client::MlflowClient;
use super::error::TrackingError;
use super::wire::FileInfo;

const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";

/// The proxy path of a run's artifact root: `mlflow-artifacts:/1/<run>/artifacts` → `1/<run>/artifacts`.
pub fn proxy_root(artifact_uri: &str) -> Result<String, TrackingError> {
    let rest = artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .ok_or_else(|| TrackingError::UnsupportedArtifactStore {
            uri: artifact_uri.to_string(),
        })?;
    // Drop an optional `//host:port` authority.
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.find('/').map_or("", |i| &with_host[i..]),
        None => rest,
    };
    Ok(rest.trim_matches('/').to_string())
}

/// Uploads every file below `dir` to `<artifact_path>/<relative path>` of the run; returns the count.
pub fn upload_dir(
    client: &MlflowClient,
    artifact_uri: &str,
    dir: &Path,
    artifact_path: &str,
) -> Result<usize, TrackingError> {
    let root = proxy_root(artifact_uri)?;
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    for file in &files {
        let relative = file.strip_prefix(dir).unwrap_or(file);
        let mut segments: Vec<String> = root.split('/').map(encode_segment).collect();
        segments.extend(
            artifact_path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(encode_segment),
        );
        segments.extend(
            relative
                .components()
                .map(|c| encode_segment(&c.as_os_str().to_string_lossy())),
        );
        client
            .http()
            .put_file(&format!("{PROXY}/{}", segments.join("/")), file.clone())?;
    }
    Ok(files.len())
}

/// Downloads every file below `artifact_uri` (a `mlflow-artifacts:` URI) into `dest`, keeping
/// the layout; returns the count of files.
pub fn download_dir(
    client: &MlflowClient,
    artifact_uri: &str,
    dest: &Path,
) -> Result<usize, TrackingError> {
    let root = proxy_root(artifact_uri)?;
    let mut count = 0;
    let mut pending = vec![String::new()];
    while let Some(relative) = pending.pop() {
        let local = dest.join(safe_relative(&relative)?);
        std::fs::create_dir_all(&local).map_err(|e| TrackingError::io(&local, e))?;
        for entry in list_proxy(client, &join(&root, &relative))? {
            let name = join(
                &relative,
                entry.path.rsplit('/').next().unwrap_or(&entry.path),
            );
            if entry.is_dir {
                pending.push(name);
                continue;
            }
            let file = dest.join(safe_relative(&name)?);
            let url = format!("{PROXY}/{}", encoded(&join(&root, &name)));
            client.http().get_to_file(&url, &file)?;
            count += 1;
        }
    }
    Ok(count)
}

/// One directory of the proxy's listing (`GET …/artifacts?path=`).
fn list_proxy(client: &MlflowClient, path: &str) -> Result<Vec<FileInfo>, TrackingError> {
    #[derive(Deserialize)]
    struct Reply {
        #[serde(default)]
        files: Vec<FileInfo>,
    }
    let reply: Reply = client.http().get(PROXY, &[("path", path)])?;
    Ok(reply.files)
}

/// `a/b` from `a` and `b`, either possibly empty.
fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

/// Each `/`-separated segment percent-encoded.
fn encoded(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// A server-given relative path as a local one; `..`, roots and prefixes are refused so a
/// listing can never write outside the download directory.
fn safe_relative(path: &str) -> Result<PathBuf, TrackingError> {
    let candidate = Path::new(path);
    match candidate
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        true => Ok(candidate.to_path_buf()),
        false => Err(TrackingError::UnsafeArtifactPath(path.to_string())),
    }
}

/// Every regular file below `dir`, sorted.
pub(crate) fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), TrackingError> {
    let entries = std::fs::read_dir(dir).map_err(|e| TrackingError::io(dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| TrackingError::io(dir, e))?;
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Percent-encodes one URL path segment (RFC 3986 unreserved characters stay as they are).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_root_strips_scheme_and_host() {
        assert_eq!(
            proxy_root("mlflow-artifacts:/1/abc/artifacts")
                .ok()
                .as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(
            proxy_root("mlflow-artifacts://h:5000/2/r/artifacts")
                .ok()
                .as_deref(),
            Some("2/r/artifacts")
        );
        assert!(proxy_root("s3://bucket/1/r/artifacts").is_err());
        assert_eq!(encode_segment("a b%.json"), "a%20b%25.json");
    }

    #[test]
    fn downloads_never_leave_their_directory() {
        assert!(safe_relative("model/pipeline/stages.json").is_ok());
        assert!(safe_relative("").is_ok());
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b"] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("1/r/artifacts", "model"), "1/r/artifacts/model");
        assert_eq!(encoded("1/m x/a.json"), "1/m%20x/a.json");
    }
}
