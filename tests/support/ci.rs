//! How every test helper reads `CI`, and says why a test skipped.

use std::io::Write;

/// Whether the tests run in CI (`CI=true` or `CI=1`, any case), where a missing external
/// dependency is a failure, never a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Says that `test` skipped and why — on the process's stderr itself, not the test's captured
/// output (which `cargo test` shows only for failures), so the line appears in the run's log.
pub fn skip(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}
