//! Helpers shared by the integration tests: running the real binary and finding Python.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../support/ci.rs"]
mod ci;
pub use ci::{in_ci, skip};

/// Runs the `distml` binary with `args`.
pub fn distml(args: &[&str]) -> Output {
    distml_in(args, Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Runs the `distml` binary with `args` in `dir`.
pub fn distml_in(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distml"))
        .args(args)
        .current_dir(dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("the distml binary runs")
}

/// The last stdout line parsed as JSON (the command's result), after asserting success.
pub fn json_result(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "distml failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().expect("a result line on stdout");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {last}"))
}

/// stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The Python interpreter with pandas/pyarrow (`DISTML_PYTHON`); None (skip) outside CI.
pub fn python() -> Option<PathBuf> {
    let found = std::env::var_os("DISTML_PYTHON")
        .map(PathBuf::from)
        .filter(|p| p.exists());
    if found.is_none() {
        assert!(
            !in_ci(),
            "CI=true but DISTML_PYTHON does not name a Python with pandas/pyarrow"
        );
        skip(
            "a pandas/pyarrow cross-check",
            "set DISTML_PYTHON to a Python with pandas and pyarrow",
        );
    }
    found
}

/// Generates a taxi file with the binary and returns its path.
pub fn generate_taxi(dir: &Path, name: &str, rows: usize, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let rows = rows.to_string();
    let mut args = vec![
        "generate",
        "taxi",
        "--rows",
        &rows,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    json_result(&distml(&args));
    out
}

/// Asserts that `distml args` (run in `dir`) exits 2 without a panic and names every needle.
pub fn assert_bad_input_in(dir: &Path, args: &[&str], must_mention: &[&str]) {
    let out = distml_in(args, dir);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2 for {args:?}, stderr:\n{err}"
    );
    assert!(!err.contains("panicked"), "panic for {args:?}:\n{err}");
    for needle in must_mention {
        assert!(
            err.contains(needle),
            "stderr for {args:?} lacks '{needle}':\n{err}"
        );
    }
}

/// The path of example `name`, which `cargo test` builds beside the test binaries.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo test` (which builds the examples) or `cargo build --examples`",
        path.display()
    );
    path
}
