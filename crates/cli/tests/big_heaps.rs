//! The hunt's decisions for heaps too big to snapshot every round, on small
//! real processes (the big heaps themselves are in `bench/bigheap-hunt.sh`):
//! rounds judged by the sampling heap profiler's live allocations, one
//! snapshot at the end to name the holder, and none at all when the target
//! cannot afford one.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::*;

fn snapshots_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".heapsnapshot"))
        .collect();
    names.sort();
    names
}

/// `hunt --json --keep --out DIR ARGS -- node examples/leaky-server.js`.
fn hunt_demo(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let demo = workspace_root().join("examples/leaky-server.js");
    let mut args = vec!["hunt", "--json", "--keep", "--out", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "node", demo.to_str().unwrap()]);
    let (status, stdout, stderr) = leakscope_status(&args);
    let json =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON ({e}); stderr: {stderr}"));
    (status, json)
}

/// The demo leaks a closure and its request per request: about 865 bytes.
fn assert_demo_rate(f: &serde_json::Value) {
    let per_request = f["bytes_per_request"].as_f64().unwrap();
    assert!(
        (550.0..1300.0).contains(&per_request),
        "{per_request} B/request"
    );
}

#[test]
fn without_snapshots_the_live_samples_name_where_the_leak_is_allocated() {
    let dir = test_dir("big-heaps-none");
    let (status, h) = hunt_demo(&dir, &["--no-snapshot"]);
    assert_eq!(status, 1, "{h:#}");
    assert!(
        h["sampled_because"]
            .as_str()
            .unwrap()
            .contains("no snapshots"),
        "{h:#}"
    );
    let f = &h["findings"][0];
    let site = f["allocation"]["stack"][0].as_str().unwrap();
    assert!(
        site.starts_with("greet ") && site.contains("leaky-server.js:15:"),
        "{site}"
    );
    assert!(
        f["holder"].as_str().unwrap().contains("`greet` allocates"),
        "{f:#}"
    );
    assert_demo_rate(f);
    // Every round's kept allocations, and each round ended by a GC alone.
    let rounds = h["rounds"].as_array().unwrap();
    assert!(rounds.len() >= 3);
    assert!(f["per_round"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["bytes"].as_u64().unwrap() > 100_000));
    assert!(snapshots_in(&dir).is_empty(), "{:?}", snapshots_in(&dir));
}

#[test]
fn one_snapshot_at_the_end_names_the_holder() {
    let dir = test_dir("big-heaps-one");
    let (status, h) = hunt_demo(&dir, &["--one-snapshot"]);
    assert_eq!(status, 1, "{h:#}");
    let f = &h["findings"][0];
    assert!(
        f["holder"].as_str().unwrap().contains("Array `pending`"),
        "{f:#}"
    );
    assert_eq!(f["leaked_items"]["name"], "closure rememberHeaders");
    assert!(!f["path_to_holder"].as_array().unwrap().is_empty());
    assert_demo_rate(f);
    assert_eq!(snapshots_in(&dir), ["hunt-final.heapsnapshot"]);
    assert_eq!(h["snapshots"].as_array().unwrap().len(), 1);
}

#[test]
fn a_heap_the_target_cannot_afford_to_snapshot_is_hunted_by_sampling() {
    let limit = MemoryLimit::new(
        &format!("leakscope-big-heaps-{}", std::process::id()),
        1_200 << 20,
    );
    let script = workspace_root().join("corpus/workloads/catalogue-consumer.js");
    let mut consumer = KillOnDrop(
        limit
            .node(&format!("--max-old-space-size=2000 {}", script.display()))
            .env("CATALOGUE_MB", "150")
            .env("NODE_OPTIONS", "--inspect-port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let consumer = &mut consumer.0;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(consumer.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("consumer started"), "{line}");
    let dir = test_dir("big-heaps-refused");
    let (status, stdout, stderr) = leakscope_status(&[
        "hunt",
        "--json",
        "--no-load",
        "--round-time",
        "3s",
        "--keep",
        "--out",
        dir.to_str().unwrap(),
        "--pid",
        &consumer.id().to_string(),
    ]);
    let h: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON ({e}); stderr: {stderr}"));
    assert_eq!(status, 1, "{stderr}\n{h:#}");
    let why = h["sampled_because"].as_str().unwrap();
    assert!(why.contains("more memory than the target has"), "{why}");
    let notes = h["notes"].to_string();
    assert!(notes.contains("no snapshot to name the holders"), "{notes}");
    let f = &h["findings"][0];
    let site = f["allocation"]["stack"][0].as_str().unwrap();
    assert!(
        site.starts_with("consume ") || site.starts_with("AuditEntry "),
        "{site}"
    );
    // About 1000 entries of ~300 bytes a second.
    let per_second = f["bytes_per_second"].as_f64().unwrap();
    assert!((100e3..800e3).contains(&per_second), "{per_second} B/s");
    // Nothing was snapshotted, and the consumer lives on.
    assert!(snapshots_in(&dir).is_empty());
    assert!(consumer.try_wait().unwrap().is_none());
}

/// A child process killed when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
