//! Helpers shared by the CLI tests: the binary, the repo's example files, scratch files.
#![allow(dead_code, reason = "each test file uses a part of the helpers")]

use assert_cmd::Command;
use std::path::PathBuf;

/// The `limitr` binary.
pub fn limitr() -> Command {
    Command::cargo_bin("limitr").expect("the limitr binary is built for tests")
}

/// A file under the repo's `examples/cli/`.
pub fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cli")
        .join(name)
}

/// The repo's quick start policy.
pub fn quickstart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/policies/quickstart.json")
}

/// Writes `text` to `name` in a fresh temporary directory (kept alive by the returned guard).
pub fn scratch(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("a scratch file");
    (dir, path)
}
