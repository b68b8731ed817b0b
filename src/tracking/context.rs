//! The standard tags MLflow's Python client puts on every run: user, source, git commit.

use std::fs;
use std::path::{Path, PathBuf};

use super::wire::KeyValue;

/// Who and what started a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunContext {
    /// OS user (`mlflow.user`, `user_id`).
    pub user: String,
    /// Program name (`mlflow.source.name`).
    pub source_name: String,
    /// Git commit of the working directory's checkout (`mlflow.source.git.commit`).
    pub git_commit: Option<String>,
    /// Git branch (`mlflow.source.git.branch`).
    pub git_branch: Option<String>,
}

impl RunContext {
    /// Reads the user from `USER`/`USERNAME`, the program from argv[0] and git from `.git/HEAD`.
    pub fn detect() -> Self {
        let user = ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "unknown".to_string());
        let source_name = std::env::args()
            .next()
            .and_then(|arg0| {
                Path::new(&arg0)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "distml".to_string());
        let git = std::env::current_dir().ok().and_then(|dir| git_head(&dir));
        RunContext {
            user,
            source_name,
            git_commit: git.as_ref().map(|(commit, _)| commit.clone()),
            git_branch: git.and_then(|(_, branch)| branch),
        }
    }

    /// The `mlflow.*` and `distml.version` tags for a new run.
    pub fn tags(&self) -> Vec<KeyValue> {
        let mut tags = vec![
            KeyValue::new("mlflow.user", self.user.clone()),
            KeyValue::new("mlflow.source.name", self.source_name.clone()),
            KeyValue::new("mlflow.source.type", "LOCAL"),
            KeyValue::new("distml.version", env!("CARGO_PKG_VERSION")),
        ];
        if let Some(commit) = &self.git_commit {
            tags.push(KeyValue::new("mlflow.source.git.commit", commit.clone()));
        }
        if let Some(branch) = &self.git_branch {
            tags.push(KeyValue::new("mlflow.source.git.branch", branch.clone()));
        }
        tags
    }
}

/// The commit (and branch) checked out in the repository containing `start`, if any.
pub fn git_head(start: &Path) -> Option<(String, Option<String>)> {
    let git_dir = start.ancestors().find_map(git_dir_of)?;
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else {
        return is_commit(head).then(|| (head.to_string(), None));
    };
    let branch = reference.strip_prefix("refs/heads/").map(str::to_string);
    // Worktrees keep shared refs in the common dir.
    let common = fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    let commit = [&git_dir, &common]
        .iter()
        .find_map(|dir| {
            fs::read_to_string(dir.join(reference))
                .ok()
                .map(|s| s.trim().to_string())
        })
        .or_else(|| packed_ref(&common, reference))?;
    is_commit(&commit).then_some((commit, branch))
}

/// `dir/.git` as a directory, or the `gitdir:` a `.git` file points to (worktrees, submodules).
fn git_dir_of(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = fs::read_to_string(&dot_git).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    Some(dir.join(target))
}

fn packed_ref(git_dir: &Path, reference: &str) -> Option<String> {
    let text = fs::read_to_string(git_dir.join("packed-refs")).ok()?;
    text.lines().find_map(|line| {
        let (commit, name) = line.split_once(' ')?;
        (name == reference).then(|| commit.to_string())
    })
}

fn is_commit(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_branch_loose_and_packed_refs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = dir.path().join(".git");
        fs::create_dir_all(git.join("refs/heads")).expect("mkdir");
        let commit = "0123456789abcdef0123456789abcdef01234567";
        fs::write(git.join("HEAD"), "ref: refs/heads/main\n").expect("write");
        fs::write(git.join("refs/heads/main"), format!("{commit}\n")).expect("write");
        let nested = dir.path().join("a/b");
        fs::create_dir_all(&nested).expect("mkdir");
        assert_eq!(
            git_head(&nested),
            Some((commit.to_string(), Some("main".into())))
        );
        fs::remove_file(git.join("refs/heads/main")).expect("rm");
        fs::write(
            git.join("packed-refs"),
            format!("# pack\n{commit} refs/heads/main\n"),
        )
        .expect("write");
        assert_eq!(git_head(dir.path()).map(|h| h.0), Some(commit.to_string()));
        fs::write(git.join("HEAD"), format!("{commit}\n")).expect("detached");
        assert_eq!(git_head(dir.path()), Some((commit.to_string(), None)));
    }
}
