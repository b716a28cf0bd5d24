//! The published documents: every read-only command's `--json` (the kept
//! `hunt.json` too) on real snapshots, logs, profiles and runs validates
//! against the schema the binary prints, the committed schema files are that
//! schema, and a saved report reads back typed without losing anything.

mod common;

use common::*;
use leakscope_report::live::{Evaluated, GcDone, Recorded, SnapshotTaken};
use leakscope_report::watch::WatchLine;
use leakscope_report::{
    CacheReport, DiffReport, DominatorsReport, FindLeaksReport, GcLogReport, HuntReport,
    JitRunReport, LoadReport, RetainersReport, SampleReport, StatsReport, SummaryReport,
    TimelineReport,
};
use serde_json::Value;

/// Every command with a published `--json` document.
const COMMANDS: [&str; 19] = [
    "hunt",
    "watch",
    "find-leaks",
    "snapshot",
    "gc",
    "record",
    "eval",
    "clear",
    "summary",
    "dominators",
    "retainers",
    "diff",
    "stats",
    "timeline",
    "gc-log",
    "jit",
    "sample",
    "load",
    "cache",
];

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
    for command in COMMANDS {
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
    check::<GcDone>("gc", &gc);
    check::<SnapshotTaken>("snapshot", &taken);
    check::<Evaluated>("eval", &evaluated);
    check::<Recorded>("record", &recorded);
}

/// `doc` is of this version, valid against `command`'s schema, and reads
/// back typed as `D` without losing anything.
fn check<D: leakscope_report::Document + serde::de::DeserializeOwned>(command: &str, doc: &Value) {
    assert_eq!(doc["schema_version"], 1, "{command}: {doc}");
    assert_eq!(violations(&schema(command), doc), "", "{command}");
    let typed: D = leakscope_report::read(&serde_json::to_vec(doc).unwrap()).unwrap();
    assert_eq!(
        &serde_json::to_value(&typed).unwrap(),
        doc,
        "{command} reads back"
    );
}

#[test]
fn snapshot_commands_json_is_valid_against_their_schemas() {
    let dir = test_dir("schema-snapshot-commands");
    let snapshot = leaky_server_snapshot(&dir, 300);
    let f = snapshot.to_str().unwrap();

    let summary = leakscope_json(&["summary", f, "--json"]);
    check::<SummaryReport>("summary", &summary);
    assert!(summary["nodeCount"].as_u64().unwrap() > 10_000);
    assert!(summary["classes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "IncomingMessage"));
    let instances = leakscope_json(&[
        "summary",
        f,
        "--class",
        "IncomingMessage",
        "--top",
        "3",
        "--json",
    ]);
    check::<SummaryReport>("summary", &instances);
    let list = instances["instances"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|i| i["className"] == "IncomingMessage"));
    // Either output, but not neither: without its list it is refused.
    let mut broken = instances.clone();
    broken.as_object_mut().unwrap().remove("instances");
    assert_ne!(violations(&schema("summary"), &broken), "");

    let tree = leakscope_json(&["dominators", f, "--top", "5", "--depth", "2", "--json"]);
    check::<DominatorsReport>("dominators", &tree);
    let top = tree["dominators"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    assert!(!top[0]["dominates"].as_array().unwrap().is_empty());

    let retainers = leakscope_json(&[
        "retainers",
        f,
        "--class",
        "IncomingMessage",
        "--max",
        "2",
        "--json",
    ]);
    check::<RetainersReport>("retainers", &retainers);
    let paths = retainers["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 2);
    assert!(paths
        .iter()
        .any(|p| p["chain"].as_str().unwrap().contains("->pending → Array")));

    let stats = leakscope_json(&["stats", f, "--json"]);
    check::<StatsReport>("stats", &stats);
    assert_eq!(stats["statistics"], summary["statistics"]);
    assert!(stats["statistics"]["v8heap"]["strings"].as_u64().unwrap() > 0);
}

#[test]
fn diff_json_is_valid_against_its_schema() {
    let dir = test_dir("schema-diff");
    let (base, next) = rich_heap_snapshots(&dir);
    let diff = leakscope_json(&[
        "diff",
        base.to_str().unwrap(),
        next.to_str().unwrap(),
        "--top",
        "0",
        "--json",
    ]);
    check::<DiffReport>("diff", &diff);
    // Between the snapshots the fixture dropped 50 Requests and made 300.
    assert!(diff["classes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| { c["name"] == "Request" && c["addedCount"] == 300 && c["removedCount"] == 50 }));
}

#[test]
fn timeline_json_and_instances_with_stacks_are_valid_against_their_schemas() {
    let dir = test_dir("schema-timeline");
    let recording = timeline_snapshot(&dir);
    let f = recording.to_str().unwrap();
    let timeline = leakscope_json(&["timeline", f, "--json"]);
    check::<TimelineReport>("timeline", &timeline);
    assert!(timeline["recording_seconds"].as_f64().unwrap() > 0.0);
    let classes = timeline["classes"].as_array().unwrap();
    let allocated_by_batch = |c: &Value| {
        c["stacks"].as_array().unwrap().iter().any(|s| {
            s["frames"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["function"] == "allocateBatch")
        })
    };
    assert!(classes.iter().any(allocated_by_batch), "{timeline}");

    // A recording's instances carry their allocation stacks.
    let name = classes.iter().find(|c| allocated_by_batch(c)).unwrap()["name"]
        .as_str()
        .unwrap();
    let instances = leakscope_json(&["summary", f, "--class", name, "--top", "3", "--json"]);
    check::<SummaryReport>("summary", &instances);
    assert!(instances["instances"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["allocation_stack"][0]["function"] == "allocateBatch"));
}

#[test]
fn gc_log_json_is_valid_against_its_schema() {
    let dir = test_dir("schema-gc-log");
    let out = node(
        &[
            "--trace-gc",
            "-e",
            "console.log('pid', process.pid); let keep = []; \
             for (let i = 0; i < 200; i++) { keep.push(new Array(10000).fill(i)); \
             if (keep.length > 20) keep = []; }",
        ],
        &dir,
    );
    let log = dir.join("app.log");
    std::fs::write(&log, &out.stdout).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let pid: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("pid "))
        .unwrap()
        .parse()
        .unwrap();
    let out = leakscope(&["gc-log", log.to_str().unwrap(), "--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("gc-log printed JSON");
    check::<GcLogReport>("gc-log", &doc);
    assert_eq!(doc["other_lines"], 1, "the app's own line");
    assert_eq!(doc["processes"][0]["pid"], pid);
    assert!(doc["processes"][0]["gcs"].as_u64().unwrap() > 0);
}

#[test]
fn load_json_is_valid_against_its_schema() {
    let app = App::start(&workspace_root().join("examples/clean-server.js"), false);
    let url = format!("http://127.0.0.1:{}/", app.port);
    let doc = leakscope_json(&["load", &url, "-c", "2", "-n", "200", "--json"]);
    check::<LoadReport>("load", &doc);
    assert_eq!(doc["completed"], 200);
    assert_eq!(doc["status_counts"]["200"], 200);
}

#[test]
fn cache_json_is_valid_against_its_schema() {
    let dir = test_dir("schema-cache");
    let cache_dir = dir.join("cache");
    let snapshot = small_app_snapshot(&dir);
    let run = |args: &[&str]| -> Value {
        let out = leakscope_command()
            .env("LEAKSCOPE_CACHE_DIR", &cache_dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    run(&["summary", snapshot.to_str().unwrap(), "--json"]);
    let listed = run(&["cache", "--json"]);
    check::<CacheReport>("cache", &listed);
    let entries = listed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{listed}");
    let canonical = std::fs::canonicalize(&snapshot).unwrap();
    assert_eq!(entries[0]["snapshot"], canonical.to_str().unwrap());
    let cleared = run(&["cache", "--clear", "--json"]);
    check::<CacheReport>("cache", &cleared);
    assert_eq!(cleared["freedBytes"], listed["bytes"]);
}

#[test]
fn sample_json_is_valid_against_its_schema() {
    let dir = test_dir("schema-sample");
    let app = App::start(&corpus_app("closure-array.js"), true);
    let load = Load::start(app.port, 2);
    let doc = leakscope_json(&[
        "sample",
        "--pid",
        &app.pid(),
        "--duration",
        "2s",
        "-o",
        dir.to_str().unwrap(),
        "--json",
    ]);
    load.stop();
    check::<SampleReport>("sample", &doc);
    assert_eq!(doc["pprof"], dir.join("heap.pb.gz").to_str().unwrap());
    assert!(doc["total_size"].as_u64().unwrap() > 0);
    assert!(!doc["top_functions"].as_array().unwrap().is_empty());
}

#[test]
fn jit_json_is_valid_against_its_schema() {
    if skip_slow() {
        return;
    }
    let script = workspace_root().join("examples/leaky-server.js");
    let out = leakscope(&[
        "jit",
        "--warmup",
        "1s",
        "--duration",
        "4s",
        "--json",
        "--",
        "node",
        script.to_str().unwrap(),
    ]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    check::<JitRunReport>("jit", &doc);
    assert!(doc["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert!(doc["requests"].as_u64().unwrap() > 0);
    assert_eq!(doc["v8Log"], true);
    assert!(!doc["hot"].as_array().unwrap().is_empty());
}

#[test]
fn watch_json_lines_are_valid_against_their_schema() {
    // One process, launched, and a fleet of two given by PID.
    let script = workspace_root().join("examples/leaky-server.js");
    let one = leakscope(&[
        "watch",
        "--json",
        "--duration",
        "2s",
        "--",
        "node",
        "--expose-gc",
        "-e",
        "setInterval(() => { globalThis.kept = (globalThis.kept || []).concat(new Array(1e4).fill(1)); gc(); }, 50)",
    ]);
    let a = App::start(&script, true);
    let b = App::start(&script, true);
    let fleet = leakscope(&[
        "watch",
        "--json",
        "--duration",
        "3s",
        "--pid",
        &a.pid(),
        "--pid",
        &b.pid(),
    ]);
    let mut types = std::collections::BTreeSet::new();
    for out in [&one, &fleet] {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.trim().is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in text.lines() {
            let doc: Value = serde_json::from_str(line).unwrap();
            types.insert(doc["type"].as_str().unwrap().to_owned());
            check::<WatchLine>("watch", &doc);
        }
    }
    // The launched app's GCs and summary; the fleet's attach, detach
    // (each with its summary inside) and last line.
    for wanted in ["gc", "summary", "attached", "detached", "fleet-summary"] {
        assert!(types.contains(wanted), "no {wanted} line in {types:?}");
    }
    let fleet_text = String::from_utf8_lossy(&fleet.stdout);
    let attached: Vec<u64> = fleet_text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|d| d["type"] == "attached")
        .map(|d| d["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(attached.len(), 2, "{fleet_text}");
}
