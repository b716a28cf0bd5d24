//! `leakscope mcp` driven by the official MCP TypeScript SDK's client, as a
//! coding agent would: every tool on snapshots, a recording and processes
//! Node runs during the test, the numbers checked against the CLI's JSON,
//! progress notifications, and bad input answered as tool errors by a
//! server that keeps serving.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// Runs `calls` through the SDK client against `leakscope mcp ARGS`.
fn session(dir: &Path, args: &[&str], calls: Value) -> Value {
    let plan = dir.join("plan.json");
    let mut full = vec!["mcp"];
    full.extend_from_slice(args);
    std::fs::write(
        &plan,
        json!({
            "command": env!("CARGO_BIN_EXE_leakscope"),
            "args": full,
            "env": { "CI": "1", "LEAKSCOPE_CACHE_DIR": workspace_root().join("target/test-cache") },
            "calls": calls,
        })
        .to_string(),
    )
    .unwrap();
    let out = Command::new("node")
        .arg(mcp_client())
        .arg(&plan)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn text(call: &Value) -> &str {
    call["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
}

fn ok(call: &Value) -> &Value {
    assert_eq!(
        call["result"]["isError"],
        false,
        "{}: {}",
        call["name"],
        text(call)
    );
    &call["result"]["structuredContent"]
}

fn error(call: &Value) -> &str {
    assert_eq!(
        call["result"]["isError"], true,
        "{}: {}",
        call["name"], call["result"]
    );
    text(call)
}

#[test]
fn an_agent_uses_every_tool_through_the_official_sdk() {
    let dir = test_dir("mcp");
    let (a, b) = (dir.join("a.heapsnapshot"), dir.join("b.heapsnapshot"));
    node(
        &["-e", &format!(
            "class LeakyThing {{ constructor(i) {{ this.i = i; this.payload = 'payload '.repeat(4) + i; }} }}
             globalThis.keep = [];
             for (let i = 0; i < 1000; i++) keep.push(new LeakyThing(i));
             require('v8').writeHeapSnapshot({a:?});
             for (let i = 1000; i < 6000; i++) keep.push(new LeakyThing(i));
             require('v8').writeHeapSnapshot({b:?});"
        )],
        &dir,
    );
    let series: Vec<String> = (0..3)
        .map(|r| {
            dir.join(format!("s{r}.heapsnapshot"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    node(
        &[
            "-e",
            &format!(
                "const v8 = require('v8');
             class Entry {{ constructor(i) {{ this.i = i; this.text = 'entry ' + i; }} }}
             const kept = [];
             function keepOne(i) {{ kept.push(new Entry(i)); }}
             const files = {series:?};
             for (let round = 0; round < 3; round++) {{
               for (let i = 0; i < 2000; i++) keepOne(round * 2000 + i);
               v8.writeHeapSnapshot(files[round]);
             }}"
            ),
        ],
        &dir,
    );
    let recording = timeline_snapshot(&dir);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let app = App::start_with_args(
        &workspace_root().join("examples/clean-server.js"),
        true,
        &["mcp-snapshot-target"],
    );
    let taken = dir.join("taken.heapsnapshot");
    let server = workspace_root().join("examples/leaky-server.js");
    let calls = json!([
        { "name": "summary", "arguments": { "path": b, "top": 5 } },
        { "name": "summary", "arguments": { "path": b, "class_filter": "leakything" } },
        { "name": "compare", "arguments": { "base": a, "current": b, "top": 10 } },
        { "name": "retainers", "arguments": { "path": b, "class": "LeakyThing" } },
        { "name": "dominators", "arguments": { "path": b, "top": 3 } },
        { "name": "statistics", "arguments": { "path": b } },
        { "name": "duplicated_strings", "arguments": { "path": b, "top": 3 } },
        { "name": "find_leaks", "arguments": { "paths": series, "calls": 2000 } },
        { "name": "timeline", "arguments": { "path": recording } },
        // Bad input: tool errors, and the server keeps answering.
        { "name": "summary", "arguments": { "path": "/nonexistent/x.heapsnapshot" } },
        { "name": "retainers", "arguments": { "path": b } },
        { "name": "find_leaks", "arguments": { "paths": [a, b] } },
        { "name": "timeline", "arguments": { "path": b } },
        { "name": "hunt", "arguments": {} },
        { "name": "snapshot", "arguments": { "pid": 999_999_999u32, "path": dir.join("never.heapsnapshot") } },
        // A live process: a snapshot of it, then a hunt of a launched app.
        { "name": "snapshot", "arguments": { "pid": app.child.id(), "path": taken } },
        { "name": "summary", "arguments": { "path": taken, "top": 3 } },
        { "name": "hunt", "arguments": { "command": ["node", server], "rounds": 3, "requests": 600, "budget_seconds": 90 } },
    ]);
    let out = session(&dir, &["--no-cache"], calls);
    let tools: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for tool in [
        "summary",
        "compare",
        "retainers",
        "dominators",
        "statistics",
        "duplicated_strings",
        "find_leaks",
        "hunt",
        "snapshot",
        "timeline",
    ] {
        assert!(tools.contains(&tool), "{tool} in {tools:?}");
    }
    // Every argument is described for the agent.
    for tool in out["tools"].as_array().unwrap() {
        assert!(
            tool["description"].as_str().unwrap().len() > 60,
            "{}",
            tool["name"]
        );
        for (name, schema) in tool["inputSchema"]["properties"].as_object().unwrap() {
            assert!(
                schema["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{}.{name}",
                tool["name"]
            );
        }
    }
    let calls = out["calls"].as_array().unwrap();

    // Summary: the CLI's numbers, and progress while the file was read.
    let cli = leakscope_json(&["summary", b, "--top", "0", "--json"]);
    let summary = ok(&calls[0]);
    for (shown, class) in summary["classes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(cli["classes"].as_array().unwrap())
    {
        assert_eq!(shown["name"], class["name"]);
        assert_eq!(shown["count"], class["count"]);
        assert_eq!(shown["retainedSize"], class["retainedSize"]);
    }
    assert_eq!(summary["classes"].as_array().unwrap().len(), 5);
    assert!(
        text(&calls[0]).contains(" MB") || text(&calls[0]).contains(" kB"),
        "{}",
        text(&calls[0])
    );
    assert!(
        !calls[0]["progress"].as_array().unwrap().is_empty(),
        "progress while reading"
    );
    // The second question on the file is answered from memory.
    assert!(calls[1]["progress"].as_array().unwrap().is_empty());
    let filtered = ok(&calls[1]);
    assert_eq!(filtered["classes"][0]["name"], "LeakyThing");
    assert_eq!(filtered["classes"][0]["count"], 6000);

    // Compare: the CLI's diff.
    let diff = leakscope_json(&["diff", a, b, "--top", "0", "--json"]);
    let diff = diff["classes"].as_array().unwrap().clone();
    let leaky = |rows: &[Value]| {
        rows.iter()
            .find(|c| c["name"] == "LeakyThing")
            .cloned()
            .unwrap()
    };
    let compared = ok(&calls[2])["classes"].as_array().unwrap().clone();
    assert_eq!(leaky(&compared)["addedCount"], 5000);
    assert_eq!(leaky(&compared)["sizeDelta"], leaky(&diff)["sizeDelta"]);

    // Retainers of the largest LeakyThing: through the global `keep` array.
    let retainers = ok(&calls[3]);
    assert_eq!(retainers["object"]["className"], "LeakyThing");
    let path: Vec<&str> = retainers["retainingPath"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["edge"].as_str().unwrap())
        .collect();
    assert!(path.contains(&".keep"), "{path:?}");
    assert!(text(&calls[3]).contains("← .keep "), "{}", text(&calls[3]));

    // Dominators, statistics, duplicated strings.
    assert_eq!(ok(&calls[4])["items"].as_array().unwrap().len(), 3);
    assert_eq!(ok(&calls[5])["total"], cli["statistics"]["total"]);
    assert!(ok(&calls[6])["total"].as_u64().unwrap() > 0);

    // find_leaks names the module array, per call.
    let judged = ok(&calls[7]);
    assert_eq!(
        judged["findings"][0]["holder"],
        "Array `kept` (module scope of [eval])"
    );
    assert!(text(&calls[7]).contains("B/request"), "{}", text(&calls[7]));

    // The timeline: what the CLI says for the whole recording.
    let cli_timeline = leakscope_json(&["timeline", recording.to_str().unwrap(), "--json"]);
    assert_eq!(
        ok(&calls[8])["allocated"]["objects"],
        cli_timeline["objects"]
    );

    // Bad input, one tool error each.
    assert!(
        error(&calls[9]).contains("No such file or directory"),
        "{}",
        error(&calls[9])
    );
    assert_eq!(error(&calls[10]), "give exactly one of id, class or string");
    assert!(
        error(&calls[11]).contains("at least three snapshots"),
        "{}",
        error(&calls[11])
    );
    assert!(
        error(&calls[12]).contains("not an allocation recording"),
        "{}",
        error(&calls[12])
    );
    assert!(
        error(&calls[13]).starts_with("give either command"),
        "{}",
        error(&calls[13])
    );
    assert!(
        error(&calls[14]).contains("999999999"),
        "{}",
        error(&calls[14])
    );

    // A snapshot of the live app, then read by another tool.
    let written = ok(&calls[15]);
    assert!(written["bytes"].as_u64().unwrap() > 1_000_000, "{written}");
    assert!(ok(&calls[16])["nodes"].as_u64().unwrap() > 10_000);

    // The hunt names the demo's leak, with progress on the way.
    let hunt = ok(&calls[17]);
    assert_eq!(
        hunt["findings"][0]["holder"],
        "Array `pending` (module scope of leaky-server.js)"
    );
    assert!(
        hunt.get("gcs").is_none(),
        "the GC list stays out of the answer"
    );
    assert!(
        calls[17]["progress"].as_array().unwrap().len() >= 3,
        "{}",
        calls[17]["progress"]
    );
    assert!(
        text(&calls[17]).starts_with("hunt of node "),
        "{}",
        text(&calls[17])
    );
    drop(app);
}
