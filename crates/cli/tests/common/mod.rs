//! Helpers shared by the integration tests: real `node` processes write real
//! snapshots into a per-test directory under `target/`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A fresh directory for one test's files.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target/test-snapshots").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn node(args: &[&str], cwd: &Path) -> Output {
    node_with_env(args, &[], cwd)
}

/// Runs `node` and asserts it succeeded.
pub fn node_with_env(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    let out = Command::new("node")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .expect("node must be installed to run the tests");
    assert!(
        out.status.success(),
        "node {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A snapshot of a bare Node process.
pub fn small_app_snapshot(dir: &Path) -> PathBuf {
    let out = dir.join("small.heapsnapshot");
    node(
        &["-e", &format!("const keep = Array.from({{length: 1000}}, (_, i) => ({{i, s: 'item' + i}})); require('v8').writeHeapSnapshot({:?})", out)],
        dir,
    );
    out
}

/// A snapshot of the bundled leaky server after `requests` requests.
pub fn leaky_server_snapshot(dir: &Path, requests: u32) -> PathBuf {
    let out = dir.join("leaky.heapsnapshot");
    let script = workspace_root().join("examples/leaky-server.js");
    let requests = requests.to_string();
    node_with_env(
        &["--expose-gc", script.to_str().unwrap()],
        &[
            ("LEAKSCOPE_SELF_LOAD", &requests),
            ("LEAKSCOPE_SNAPSHOT", out.to_str().unwrap()),
            ("PORT", "0"),
        ],
        dir,
    );
    out
}

/// Two snapshots of the rich-heap fixture (same process, some objects freed).
pub fn rich_heap_snapshots(dir: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (
        dir.join("rich-1.heapsnapshot"),
        dir.join("rich-2.heapsnapshot"),
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rich-heap.js");
    node(
        &[
            "--expose-gc",
            script.to_str().unwrap(),
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
        dir,
    );
    (a, b)
}

pub fn leakscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(args)
        .env("CI", "1")
        .output()
        .expect("run leakscope")
}

pub fn leakscope_json(args: &[&str]) -> serde_json::Value {
    let out = leakscope(args);
    assert!(
        out.status.success(),
        "leakscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("leakscope printed JSON")
}

/// Path to the DevTools oracle's dump.mjs, installed once per test run
/// (npm install cached under target/devtools-oracle).
pub fn oracle() -> &'static Path {
    static ORACLE: OnceLock<PathBuf> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let root = workspace_root();
        let dir = root.join("target/devtools-oracle");
        let lock = std::fs::File::create(root.join("target/devtools-oracle.lock")).unwrap();
        lock.lock().unwrap();
        let out = Command::new("bash")
            .arg(root.join("tools/devtools-oracle/setup.sh"))
            .arg(&dir)
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "installing the DevTools oracle failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("dump.mjs")
    })
}

pub fn oracle_json(args: &[&str]) -> serde_json::Value {
    let dump = oracle();
    let mut all = vec![dump.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = node(&all, &workspace_root());
    serde_json::from_slice(&out.stdout).expect("oracle printed JSON")
}

/// A `.heaptimeline` recorded by a Node process through its own inspector.
pub fn timeline_snapshot(dir: &Path) -> PathBuf {
    let out = dir.join("allocations.heaptimeline");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/timeline.js");
    node(&[script.to_str().unwrap(), out.to_str().unwrap()], dir);
    out
}
