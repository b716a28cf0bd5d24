//! The published documents: `hunt --json`, the kept `hunt.json` and
//! `find-leaks --json` of real runs validate against the schema the binary
//! prints, the committed schema files are that schema, and a saved report
//! reads back typed without losing anything.

mod common;

use common::*;
use leakscope_report::{FindLeaksReport, HuntReport};
use serde_json::Value;

fn schema(command: &str) -> Value {
    leakscope_json(&[command, "--json-schema"])
}

/// Every error `schema` finds in `doc`, one per line.
fn violations(schema: &Value, doc: &Value) -> String {
    let validator = jsonschema::validator_for(schema).expect("a valid JSON Schema");
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn committed_schema_files_are_what_the_binary_prints() {
    for command in [
        "hunt",
        "find-leaks",
        "snapshot",
        "gc",
        "record",
        "eval",
        "clear",
    ] {
        let file = workspace_root().join(format!("docs/schemas/{command}.schema.json"));
        let committed: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(
            committed,
            schema(command),
            "{} is stale: regenerate it with `leakscope {command} --json-schema`",
            file.display()
        );
    }
}

#[test]
fn a_hunt_prints_and_keeps_one_document_valid_against_its_schema() {
    let dir = test_dir("schema-hunt");
    let out = dir.join("kept");
    let printed = leakscope_json(&["hunt", "--json", "--keep", "--out", out.to_str().unwrap()]);
    let kept: Value =
        serde_json::from_slice(&std::fs::read(out.join("hunt.json")).unwrap()).unwrap();
    assert_eq!(printed, kept, "--json and hunt.json are the same document");
    assert_eq!(printed["schema_version"], 1);
    assert!(printed["findings"][0]["holder"]
        .as_str()
        .unwrap()
        .contains("`pending`"));
    assert_eq!(printed["snapshots"].as_array().unwrap().len(), 4);
    let schema = schema("hunt");
    assert_eq!(violations(&schema, &printed), "");

    // The schema is strict enough to fail: a missing verdict, a confidence
    // it does not know, a count that is not a number.
    let mut broken = printed.clone();
    broken.as_object_mut().unwrap().remove("verdict");
    broken["confidence"] = "certain".into();
    broken["findings"][0]["objects"] = "many".into();
    let found = violations(&schema, &broken);
    assert!(found.contains("verdict"), "{found}");
    assert!(found.contains("/confidence"), "{found}");
    assert!(found.contains("/findings/0/objects"), "{found}");

    // Read back typed (as `serve` reads it), nothing lost.
    let bytes = std::fs::read(out.join("hunt.json")).unwrap();
    let typed: HuntReport = leakscope_report::read(&bytes).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), kept);
    // A report of another version is refused, with both versions named.
    let mut future = kept.clone();
    future["schema_version"] = 2.into();
    let refused = leakscope_report::read::<HuntReport>(&serde_json::to_vec(&future).unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        refused,
        "schema version 2, and this leakscope reads version 1"
    );
}

#[test]
fn a_hunt_with_its_gc_log_and_jit_sections_is_valid_against_its_schema() {
    let script = workspace_root().join("examples/leaky-server.js");
    let out = leakscope(&[
        "hunt",
        "--json",
        "--trace-gc",
        "--jit",
        "--rounds",
        "2",
        "--",
        "node",
        script.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!doc["gc_log"].as_array().unwrap().is_empty());
    assert!(doc["gc_log"][0]["gcs"].as_u64().unwrap() > 0);
    assert!(!doc["jit"]["hot"].as_array().unwrap().is_empty());
    assert_eq!(violations(&schema("hunt"), &doc), "");
    let typed: HuntReport = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), doc);
}

#[test]
fn find_leaks_json_is_valid_against_its_schema() {
    let dir = test_dir("schema-find-leaks");
    let snapshots = keeper_snapshots(&dir, true);
    let mut args = vec!["find-leaks", "--json"];
    args.extend(snapshots.iter().map(|p| p.to_str().unwrap()));
    let out = leakscope(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["snapshots"].as_array().unwrap().len(), 3);
    assert!(doc["findings"][0]["holder"]
        .as_str()
        .unwrap()
        .contains("`kept`"));
    assert_eq!(violations(&schema("find-leaks"), &doc), "");
    let typed: FindLeaksReport = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), doc);
}

#[test]
fn the_live_commands_json_is_valid_against_their_schemas() {
    let dir = test_dir("schema-live");
    let app = App::start(&workspace_root().join("examples/leaky-server.js"), true);
    let pid = app.pid();
    let gc = leakscope_json(&["gc", "--pid", &pid, "--json"]);
    assert_eq!(gc["pid"].as_u64(), Some(pid.parse().unwrap()));
    assert_eq!(schema_violations("gc", &gc), "");

    let file = dir.join("live.heapsnapshot");
    let taken = leakscope_json(&[
        "snapshot",
        "--pid",
        &pid,
        "-o",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        taken["bytes"].as_u64(),
        Some(std::fs::metadata(&file).unwrap().len())
    );
    assert_eq!(schema_violations("snapshot", &taken), "");

    let evaluated = leakscope_json(&["eval", "--pid", &pid, "--json", "6 * 7"]);
    assert_eq!(evaluated["result"], "42");
    assert_eq!(schema_violations("eval", &evaluated), "");

    let timeline = dir.join("live.heaptimeline");
    let recorded = leakscope_json(&[
        "record",
        "--pid",
        &pid,
        "--duration",
        "1s",
        "-o",
        timeline.to_str().unwrap(),
        "--json",
    ]);
    assert!(recorded["ticks"].as_u64().unwrap() > 0);
    assert_eq!(schema_violations("record", &recorded), "");
    for doc in [&gc, &taken, &evaluated, &recorded] {
        assert_eq!(doc["schema_version"], 1);
    }
}
