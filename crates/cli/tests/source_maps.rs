//! Positions in the sources the developer edits: hunts on a TypeScript
//! server compiled by `tsc` (maps beside the scripts), the same bundled by
//! esbuild (one inline `data:` map of three sources), and the tsc build whose
//! maps are missing (`corpus/sourcemaps`, built during the test run).

mod common;

use common::sourcemaps::{expected_site, sourcemap_server};
use common::*;
use serde_json::Value;

fn hunt(build: &str, extra: &[&str]) -> (i32, Value, String) {
    let script = sourcemap_server(build);
    let mut args = vec!["hunt", "--json", "--budget", "60s"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "node", script.to_str().unwrap()]);
    let (status, stdout, stderr) = leakscope_status(&args);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("hunt printed no JSON ({e}); stderr: {stderr}"));
    (status, json, stderr)
}

/// The 1-based line where `needle` starts in a TypeScript source.
fn source_line(source: &str, needle: &str) -> u32 {
    let text =
        std::fs::read_to_string(workspace_root().join("corpus/sourcemaps").join(source)).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} in {source}")) as u32
        + 1
}

fn finding<'a>(report: &'a Value, holder: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["holder"].as_str().unwrap().contains(holder))
        .unwrap_or_else(|| panic!("a finding held by {holder}: {report:#}"))
}

/// Every string of a finding, to check that no compiled position is left.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn frames(report: &Value) -> Vec<String> {
    report["sampled_allocations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["frames"].as_array().unwrap().clone())
        .map(|f| f.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_tsc_build_is_reported_in_its_typescript_sources() {
    if skip_slow() {
        return;
    }
    let (status, report, stderr) = hunt("tsc", &[]);
    assert_eq!(status, 1, "a leak: {stderr}");
    let f = finding(&report, "`auditTrail`");
    assert_eq!(
        f["holder"], "Array `auditTrail` (module scope of src/audit.ts)",
        "{f:#}"
    );
    // The items are object literals, which say nowhere where they were
    // made: the site comes from the sampling profiler's live samples.
    let site = &f["allocation"];
    assert_eq!(
        site["source"], "sampling heap profiler, live allocations",
        "{f:#}"
    );
    let stack = site["stack"].as_array().unwrap();
    assert!(
        stack
            .iter()
            .all(|s| s.as_str().unwrap().contains("src/server.ts:")
                || s.as_str().unwrap().contains("src/audit.ts:")),
        "{site:#}"
    );
    // The sampled allocations name recordAudit where it is defined.
    let record = source_line("src/audit.ts", "export function recordAudit");
    let want = format!("recordAudit src/audit.ts:{record}:");
    assert!(
        frames(&report).iter().any(|f| f.starts_with(&want)),
        "{want} in {:#}",
        report["sampled_allocations"]
    );
    let mut all = Vec::new();
    strings(f, &mut all);
    assert!(
        !all.iter().any(|s| s.contains(".js:")),
        "no compiled position is printed: {all:#?}"
    );
    // --json keeps what V8 said beside what was printed.
    let positions = report["source_maps"]["generated_positions"]
        .as_array()
        .unwrap();
    let audit = positions
        .iter()
        .find(|p| {
            p["shown"]
                .as_str()
                .unwrap()
                .starts_with(&format!("src/audit.ts:{record}:"))
        })
        .unwrap_or_else(|| panic!("recordAudit's position is kept: {positions:#?}"));
    assert!(
        audit["generated"]
            .as_str()
            .unwrap()
            .starts_with("audit.js:"),
        "{audit}"
    );
    assert!(
        report["source_maps"].get("warnings").is_none(),
        "{report:#}"
    );
}

#[test]
fn a_bundle_with_an_inline_map_names_classes_closures_and_modules_in_their_sources() {
    if skip_slow() {
        return;
    }
    // A Session per request in `sessions`, a closure per request in
    // `listeners`, an audit entry per request in `auditTrail`.
    let dir = test_dir("sourcemap-bundle");
    let requests = dir.join("requests.txt");
    std::fs::write(
        &requests,
        "GET /session{seq}\nGET /subscribe{seq}\nGET /audit{seq}\n",
    )
    .unwrap();
    let (status, report, stderr) = hunt("bundle", &["--request-file", requests.to_str().unwrap()]);
    assert_eq!(status, 1, "a leak: {stderr}");
    let (class_source, class_line) = expected_site("session-class");
    let (closure_source, closure_line) = expected_site("subscribe-closure");
    assert_eq!(class_source, "src/session.ts");
    let sessions = finding(&report, "`sessions`");
    assert!(
        sessions["holder"]
            .as_str()
            .unwrap()
            .contains("module scope of src/session.ts"),
        "the bundle's one scope is told apart by the map: {sessions:#}"
    );
    let site = sessions["allocation"]["stack"][0].as_str().unwrap();
    let want = format!("new Session (defined at {class_source}:{class_line}:");
    assert!(site.starts_with(&want), "{want} in {site}");
    let listeners = finding(&report, "`listeners`");
    let site = listeners["allocation"]["stack"][0].as_str().unwrap();
    let want = format!("closure onEvent created at {closure_source}:{closure_line}:");
    assert!(site.starts_with(&want), "{want} in {site}");
    let audit = finding(&report, "`auditTrail`");
    assert!(
        audit["holder"]
            .as_str()
            .unwrap()
            .contains("module scope of src/audit.ts"),
        "{audit:#}"
    );
    let generated: Vec<&str> = report["source_maps"]["generated_positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["generated"].as_str().unwrap())
        .collect();
    assert!(
        generated.iter().all(|g| g.starts_with("server.js:")),
        "one bundle: {generated:?}"
    );
}

#[test]
fn a_missing_map_warns_once_per_script_and_keeps_compiled_positions() {
    if skip_slow() {
        return;
    }
    let (status, report, stderr) = hunt("missing-map", &[]);
    assert_eq!(status, 1, "still a leak: {stderr}");
    let warnings: Vec<&str> = report["source_maps"]["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("warnings: {report:#}"))
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let audit: Vec<_> = warnings
        .iter()
        .filter(|w| w.contains("audit.js.map cannot be read"))
        .collect();
    assert_eq!(audit.len(), 1, "{warnings:#?}");
    assert!(
        warnings.iter().all(|w| w.len() < 300 && !w.contains('\n')),
        "one line each: {warnings:#?}"
    );
    let f = finding(&report, "`auditTrail`");
    assert_eq!(
        f["holder"], "Array `auditTrail` (module scope of audit.js)",
        "{f:#}"
    );
    assert!(
        frames(&report).iter().any(|f| f.contains("audit.js:")),
        "{:#}",
        report["sampled_allocations"]
    );
    assert!(report["source_maps"].get("generated_positions").is_none());
}

#[test]
fn no_source_maps_prints_what_v8_reports() {
    if skip_slow() {
        return;
    }
    let (status, report, stderr) = hunt("tsc", &["--no-source-maps"]);
    assert_eq!(status, 1, "a leak: {stderr}");
    let f = finding(&report, "`auditTrail`");
    assert_eq!(
        f["holder"], "Array `auditTrail` (module scope of audit.js)",
        "{f:#}"
    );
    assert!(report.get("source_maps").is_none(), "{report:#}");
    assert!(
        frames(&report).iter().all(|f| !f.contains(".ts:")),
        "{:#}",
        report["sampled_allocations"]
    );
}

#[test]
fn sample_writes_flame_graph_and_pprof_in_typescript_sources() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("sourcemap-sample");
    let script = sourcemap_server("tsc");
    let app = App::start(&script, true);
    let load = Load::start(app.port, 2);
    let (status, stdout, stderr) = leakscope_status(&[
        "sample",
        "--pid",
        &app.pid(),
        "--duration",
        "3s",
        "--interval",
        "4096",
        "-o",
        dir.to_str().unwrap(),
        "--json",
    ]);
    load.stop();
    drop(app);
    assert_eq!(status, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let top: Vec<&str> = report["top_functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    let record = source_line("src/audit.ts", "export function recordAudit");
    assert!(
        top.iter()
            .any(|f| f.starts_with(&format!("recordAudit src/audit.ts:{record}:"))),
        "{top:#?}"
    );
    let svg = std::fs::read_to_string(dir.join("heap-flamegraph.svg")).unwrap();
    assert!(
        svg.contains("src/audit.ts:"),
        "the flame graph shows sources"
    );
    // pprof's string table names the TypeScript file.
    let mut pprof = Vec::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(std::fs::File::open(dir.join("heap.pb.gz")).unwrap())
        .read_to_end(&mut pprof)
        .unwrap();
    let text = String::from_utf8_lossy(&pprof);
    assert!(
        text.contains("src/audit.ts"),
        "pprof's files are the sources"
    );
    // The .heapprofile stays V8's own.
    let raw = std::fs::read_to_string(dir.join("heap.heapprofile")).unwrap();
    assert!(raw.contains("audit.js") && !raw.contains("audit.ts"));
}

#[test]
fn jit_names_hot_functions_in_their_typescript_sources() {
    if skip_slow() {
        return;
    }
    let script = sourcemap_server("tsc");
    let (status, stdout, stderr) = leakscope_status(&[
        "jit",
        "--warmup",
        "1s",
        "--duration",
        "3s",
        "--json",
        "--",
        "node",
        script.to_str().unwrap(),
    ]);
    assert!(status == 0 || status == 1, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let hot = report["hot"].as_array().unwrap();
    let handle = hot
        .iter()
        .find(|f| f["name"] == "handle")
        .unwrap_or_else(|| panic!("handle is hot: {hot:#?}"));
    let line = source_line("src/server.ts", "function handle(");
    assert_eq!(handle["url"], "src/server.ts", "{handle:#}");
    assert_eq!(handle["line"], line, "{handle:#}");
    assert!(
        handle["generated"]
            .as_str()
            .unwrap()
            .contains("dist/server.js:"),
        "{handle:#}"
    );
    assert!(
        hot.iter()
            .filter(|f| f["line"] != 1) // a script's top level: no mapping there
            .all(|f| !f["url"].as_str().unwrap().ends_with("dist/server.js")),
        "every app function is mapped: {hot:#?}"
    );
}

#[test]
fn a_request_url_two_leaks_share_does_not_make_them_one() {
    if skip_slow() {
        return;
    }
    // `/all…`: each request's audit entry, Session and closure; the entry
    // and the request data the others keep share the request's URL string.
    let (status, report, stderr) = hunt("tsc", &["--url", "/all{seq}"]);
    assert_eq!(status, 1, "a leak: {stderr}");
    let audit = finding(&report, "`auditTrail`");
    assert_eq!(
        audit["leaked_items"]["name"], "{kind, path, note}",
        "{audit:#}"
    );
    // Named by whichever of the two kept more.
    let (kept, other) = match report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["holder"].as_str().unwrap().contains("`listeners`"))
    {
        Some(f) => (f, "`sessions`"),
        None => (finding(&report, "`sessions`"), "`listeners`"),
    };
    let listeners = kept;
    let together: Vec<&str> = listeners["held_together_with"]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().unwrap()).collect())
        .unwrap_or_default();
    assert!(
        together.iter().any(|h| h.contains(other)),
        "the Session and the closure keep the request's data together: {listeners:#}"
    );
    assert!(
        !listeners["classes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "{kind, path, note}"),
        "{listeners:#}"
    );
}

#[test]
fn a_minified_bundle_gets_its_names_and_lines_back() {
    if skip_slow() {
        return;
    }
    let (status, report, stderr) = hunt("bundle-min", &[]);
    assert_eq!(status, 1, "a leak: {stderr}");
    let f = &report["findings"][0];
    assert!(
        f["holder"]
            .as_str()
            .unwrap()
            .contains("(module scope of src/audit.ts)"),
        "{f:#}"
    );
    // V8 sees `function Q(…)`; the path says which function it is (the
    // server's `handle`, through whose scope the array is reached).
    let path: Vec<&str> = f["path_to_holder"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["node"].as_str().unwrap())
        .collect();
    assert!(
        path.iter()
            .any(|n| *n == "Function handle" || *n == "Function recordAudit"),
        "{path:#?}"
    );
    let record = source_line("src/audit.ts", "export function recordAudit");
    assert!(
        frames(&report)
            .iter()
            .any(|f| f.starts_with(&format!("recordAudit src/audit.ts:{record}:"))),
        "{:#}",
        report["sampled_allocations"]
    );
}
