//! Differential tests: leakscope's numbers must equal those of the real
//! Chrome DevTools heap snapshot worker (tools/devtools-oracle) exactly, on
//! snapshots that real Node processes write during the test.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// Compares the Summary view, the Statistics view and the 20 largest
/// dominators of one snapshot against DevTools.
fn assert_matches_devtools(snapshot: &Path) {
    let file = snapshot.to_str().unwrap();
    let ours = common::leakscope_json(&["summary", file, "--top", "0", "--nodes", "20", "--json"]);
    let theirs = common::oracle_json(&[file, "--top", "20"]);

    for field in [
        "nodeCount",
        "edgeCount",
        "rootRetainedSize",
        "totalShallowSize",
        "statistics",
    ] {
        assert_eq!(ours[field], theirs[field], "{field} differs on {file}");
    }
    let row = |c: &Value, key: &str| {
        (
            c[key].as_str().unwrap().to_owned(),
            (
                c["name"].clone(),
                c["count"].clone(),
                c["shallowSize"].clone(),
                c["retainedSize"].clone(),
                c["distance"].clone(),
            ),
        )
    };
    let rows = |v: &Value, key: &str| -> BTreeMap<_, _> {
        v["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| row(c, key))
            .collect()
    };
    let (ours_rows, theirs_rows) = (rows(&ours, "key"), rows(&theirs, "classKey"));
    assert!(
        theirs_rows.len() > 50,
        "the oracle saw only {} classes",
        theirs_rows.len()
    );
    for (key, theirs) in &theirs_rows {
        assert_eq!(
            ours_rows.get(key),
            Some(theirs),
            "class {key} differs on {file}"
        );
    }
    assert_eq!(
        ours_rows.len(),
        theirs_rows.len(),
        "class count differs on {file}"
    );

    let top = |v: &Value| -> Vec<Value> {
        v["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                serde_json::json!([
                    n["id"],
                    n["name"],
                    n["className"],
                    n["shallowSize"],
                    n["retainedSize"],
                    n["distance"]
                ])
            })
            .collect()
    };
    assert_eq!(
        top(&ours),
        top(&theirs),
        "top-20 dominators differ on {file}"
    );
}

#[test]
fn small_app_matches_devtools() {
    let dir = common::test_dir("oracle-small");
    assert_matches_devtools(&common::small_app_snapshot(&dir));
}

#[test]
fn leaky_server_after_load_matches_devtools() {
    let dir = common::test_dir("oracle-leaky");
    assert_matches_devtools(&common::leaky_server_snapshot(&dir, 2000));
}

#[test]
fn rich_heap_matches_devtools_and_comparison_too() {
    let dir = common::test_dir("oracle-rich");
    let (base, next) = common::rich_heap_snapshots(&dir);
    assert_matches_devtools(&base);
    assert_matches_devtools(&next);

    let (b, n) = (base.to_str().unwrap(), next.to_str().unwrap());
    let ours = common::leakscope_json(&["diff", b, n, "--top", "0", "--json"]);
    let theirs = common::oracle_json(&["--diff", b, n]);
    let fields = [
        "name",
        "addedCount",
        "removedCount",
        "countDelta",
        "addedSize",
        "removedSize",
        "sizeDelta",
    ];
    let rows = |v: &Value, key: &str| -> BTreeMap<String, Vec<Value>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c[key].as_str().unwrap().to_owned(),
                    fields.iter().map(|f| c[*f].clone()).collect(),
                )
            })
            .collect()
    };
    let theirs = rows(&theirs["classes"], "classKey");
    assert!(
        theirs.len() > 5,
        "the fixture should change several classes"
    );
    assert_eq!(rows(&ours["classes"], "key"), theirs);
}

#[test]
fn allocation_timeline_matches_devtools_and_keeps_its_traces() {
    let dir = common::test_dir("oracle-timeline");
    let timeline = common::timeline_snapshot(&dir);
    assert_matches_devtools(&timeline);

    let raw =
        leakscope_snapshot::reader::read_file(&timeline, &mut leakscope_snapshot::Silent).unwrap();
    assert_eq!(raw.graph.trace_node_id.len(), raw.graph.node_count());
    assert!(
        raw.graph.trace_node_id.iter().any(|&t| t != 0),
        "tracked allocations have trace nodes"
    );
    assert!(
        raw.extras.samples.len() >= 4,
        "a sample per 50 ms interval: {}",
        raw.extras.samples.len()
    );
    assert!(
        raw.extras.samples.windows(2).all(|w| w[0].0 <= w[1].0),
        "timestamps ascend"
    );
    let functions = raw.extras.trace_function_info_fields.len();
    assert_eq!(functions, 6);
    assert!(raw.extras.trace_function_infos.len() >= 6 * 2);
    assert!(raw.extras.trace_tree_json.starts_with(b"["));
}
