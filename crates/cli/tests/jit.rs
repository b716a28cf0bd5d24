//! `leakscope jit` on a real Node server whose hot paths have known JIT
//! behaviour (`fixtures/jit-server.js`), under real load.

mod common;

use common::{chromium, leakscope_status, skip_slow, test_dir, workspace_root, App};
use serde_json::Value;

fn fixture() -> String {
    workspace_root()
        .join("crates/cli/tests/fixtures/jit-server.js")
        .display()
        .to_string()
}

fn hot<'a>(report: &'a Value, name: &str, line: u64) -> &'a Value {
    report["hot"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name && f["line"] == line)
        .unwrap_or_else(|| panic!("{name:?} at line {line} is hot: {report:#}"))
}

fn ic_site<'a>(function: &'a Value, key: &str) -> &'a Value {
    function["icSites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("the access to {key} is reported: {function:#}"))
}

#[test]
fn jit_names_the_megamorphic_access_the_deopt_and_the_anonymous_callback() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("jit-launch");
    let requests = dir.join("requests.txt");
    std::fs::write(&requests, "GET /mega\nGET /sum\nGET /mono\nGET /anon\n").unwrap();
    let report_file = dir.join("jit.html");
    let script = fixture();
    let (code, stdout, stderr) = leakscope_status(&[
        "jit",
        "--request-file",
        requests.to_str().unwrap(),
        "--warmup",
        "2s",
        "--duration",
        "5s",
        "-c",
        "4",
        "--json",
        "--report",
        report_file.to_str().unwrap(),
        "--",
        "node",
        &script,
    ]);
    assert_eq!(code, 1, "JIT problems found: {stderr}");
    assert!(
        !stderr.contains("[bailout"),
        "V8's deopt lines are not the app's output"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["v8Log"], true);
    assert!(report["requests"].as_u64().unwrap() > 100);

    // Reading .qty from objects of eight shapes: megamorphic, at its line.
    let line_total = hot(&report, "lineTotal", 9);
    assert_eq!(line_total["optimized"], true);
    let qty = ic_site(line_total, "qty");
    assert_eq!(qty["state"], "megamorphic");
    assert_eq!(qty["maps"], 8);
    assert_eq!(qty["position"], format!("{script}:10:15"));
    assert!(line_total["problems"][0]
        .as_str()
        .unwrap()
        .starts_with("`.qty` megamorphic (8 maps)"));

    // Optimized for small integers, then given strings: named with its reason.
    let add = hot(&report, "addNumbers", 24);
    let deopt = add["deopts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["reason"] == "not a Smi")
        .unwrap_or_else(|| panic!("a 'not a Smi' deopt: {add:#}"));
    assert_eq!(deopt["position"], format!("{script}:25:12"));

    // One shape only: no IC problem, no deopt.
    let mono = hot(&report, "monoTotal", 20);
    assert_eq!(mono["optimized"], true);
    assert_eq!(mono["icSites"].as_array().unwrap().len(), 0, "{mono:#}");
    assert_eq!(mono["deopts"].as_array().unwrap().len(), 0, "{mono:#}");

    // The reducer callback has no name, and is hot.
    let reducer = hot(&report, "", 64);
    assert_eq!(reducer["column"], 7);
    assert!(reducer["selfShare"].as_f64().unwrap() > 0.02, "{reducer:#}");
    assert!(reducer["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p.as_str().unwrap().starts_with("anonymous: give it a name")));

    // The HTML report, as headless Chromium renders it: the bars, the table
    // and the problems.
    let out = std::process::Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", report_file.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    assert!(dom.contains("id=\"plot-self\""), "{dom}");
    assert!(dom.matches("<rect").count() >= 4, "a bar per hot function");
    assert!(dom.contains("<table id=\"hot\">"));
    for text in [
        "lineTotal",
        "`.qty` megamorphic (8 maps)",
        "not a Smi",
        "anonymous: give it a name",
    ] {
        assert!(dom.contains(text), "{text} in the rendered report");
    }
    assert!(!dom.contains("<script"), "no script in the report");
}

#[test]
fn jit_on_a_running_process_profiles_and_says_what_needs_a_launch() {
    if skip_slow() {
        return;
    }
    let app = App::start(std::path::Path::new(&fixture()), true);
    let (code, stdout, stderr) = leakscope_status(&[
        "jit",
        "--pid",
        &app.pid(),
        "--url",
        &format!("http://127.0.0.1:{}/mono", app.port),
        "--warmup",
        "1s",
        "--duration",
        "3s",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["v8Log"], false);
    // Without V8's log, inlined functions' time stays with their callers,
    // and whether anything was optimized is unknown.
    let hot = report["hot"].as_array().unwrap();
    assert!(!hot.is_empty());
    for f in hot {
        assert_eq!(f["url"], fixture(), "{f:#}");
        assert!(f["optimized"].is_null(), "{f:#}");
        assert_eq!(f["icSites"].as_array().unwrap().len(), 0);
    }
    assert!(report["notes"][0]
        .as_str()
        .unwrap()
        .contains("leakscope jit -- node app.js"));
}

#[test]
fn jit_without_a_target_or_with_a_dead_pid_fails_in_one_line() {
    if skip_slow() {
        return;
    }
    let (code, _, stderr) = leakscope_status(&["jit"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no target"), "{stderr}");
    let (code, _, stderr) = leakscope_status(&["jit", "--pid", "999999", "--duration", "1s"]);
    assert_eq!(code, 2);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn hunt_with_jit_adds_the_jit_section() {
    if skip_slow() {
        return;
    }
    let script = fixture();
    let (code, stdout, stderr) = leakscope_status(&[
        "hunt",
        "--jit",
        "--url",
        "/mega",
        "--rounds",
        "2",
        "--requests",
        "2000",
        "--budget",
        "60s",
        "--json",
        "--",
        "node",
        &script,
    ]);
    assert_eq!(code, 0, "the server does not leak: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let jit = &report["jit"];
    assert_eq!(jit["v8Log"], true, "{jit:#}");
    let line_total = hot(jit, "lineTotal", 9);
    let qty = ic_site(line_total, "qty");
    assert_eq!(qty["state"], "megamorphic");
    assert_eq!(qty["position"], format!("{script}:10:15"));
}

/// `fixtures/jit-inlined-server.js`: `handle` inlines `addScore`, which
/// gets small integers for 1.2 s after the first request, then strings and
/// doubles.
fn inlined_fixture() -> String {
    workspace_root()
        .join("crates/cli/tests/fixtures/jit-inlined-server.js")
        .display()
        .to_string()
}

/// `jit --json` on the inlined-helper server with this warm-up; its exit
/// code and report.
fn jit_inlined(test: &str, warmup: &str) -> (i32, Value, String) {
    let dir = test_dir(test);
    let requests = dir.join("requests.txt");
    std::fs::write(&requests, "GET /score\n").unwrap();
    let (code, stdout, stderr) = leakscope_status(&[
        "jit",
        "--request-file",
        requests.to_str().unwrap(),
        "--warmup",
        warmup,
        "--duration",
        "3s",
        "-c",
        "4",
        "--json",
        "--",
        "node",
        &inlined_fixture(),
    ]);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("JSON ({e}), exit {code}: {stdout}\n{stderr}"));
    (code, report, stderr)
}

#[test]
fn jit_charges_a_deopt_in_an_inlined_helper_to_the_helper_at_its_position() {
    if skip_slow() {
        return;
    }
    // The types change 1.2 s after the first request: during the warm-up,
    // which V8's log sees (it writes nothing while the CPU profiler runs).
    let (code, report, stderr) = jit_inlined("jit-inlined-warm", "2s");
    assert_eq!(
        code, 1,
        "a deopt under a hot function is a problem: {stderr}"
    );
    let script = inlined_fixture();
    let deopts = report["deopts"].as_array().unwrap();
    // V8 bails out inside `addScore` (lines 10-11), never on `handle`'s
    // lines (14-18): at `total + value` (not a Smi, once given a double or
    // a string) or at the branch that never ran before (insufficient type
    // feedback); which of them first varies with V8's timing.
    let in_helper: Vec<&Value> = deopts
        .iter()
        .filter(|d| d["function"]["name"] == "addScore")
        .collect();
    assert!(
        !in_helper.is_empty(),
        "a deopt charged to addScore: {report:#}"
    );
    for d in &in_helper {
        let (line, column) = (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap());
        assert!((10..=11).contains(&line), "on addScore's lines: {d:#}");
        assert_eq!(d["position"], format!("{script}:{line}:{column}"));
        // Mostly in `handle`'s code with `addScore` inlined; V8 may also
        // have optimized `addScore` on its own first (then no caller).
        if !d["inlinedInto"].is_null() {
            assert_eq!(d["inlinedInto"]["name"], "handle", "{d:#}");
            assert_eq!(d["inlinedInto"]["line"], 14, "{d:#}");
            let at = d["inlinedAt"].as_str().unwrap();
            assert_eq!(at, format!("{script}:16:43"), "the call in handle: {d:#}");
        } else {
            assert!(d["inlinedAt"].is_null(), "{d:#}");
        }
        let reason = d["reason"].as_str().unwrap();
        assert!(
            reason == "not a Smi" || reason.starts_with("Insufficient type feedback for "),
            "V8's own reason: {d:#}"
        );
        assert!(d["advice"].as_str().unwrap().len() > 40, "{d:#}");
        assert_eq!(d["when"], "warm-up", "{d:#}");
        assert!(d["phases"]["warmUp"].as_u64().unwrap() >= 1);
        let first = d["firstSeconds"].as_f64().unwrap();
        assert!(first > 0.5 && first < 10.0, "seconds since start: {d:#}");
    }
    assert!(
        in_helper
            .iter()
            .any(|d| d["reason"] == "not a Smi" && d["line"] == 11 && d["column"] == 16),
        "`total + value` given a double: {report:#}"
    );
    // The helper is hot through the code inlined into `handle`, and says so.
    let helper = hot(&report, "addScore", 9);
    assert_eq!(helper["optimized"], true);
    assert!(
        !helper["deopts"].as_array().unwrap().is_empty(),
        "{helper:#}"
    );
    let problem = helper["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .find(|p| p.starts_with("deoptimized"))
        .unwrap_or_else(|| panic!("a deopt sentence: {helper:#}"));
    let inlined = in_helper.iter().any(|d| !d["inlinedInto"].is_null());
    assert!(
        (!inlined || problem.contains("in `addScore` (inlined into `handle`) at "))
            && problem.contains("during warm-up"),
        "{problem}"
    );
    assert_eq!(hot(&report, "handle", 14)["optimized"], true);
}

#[test]
fn jit_without_warm_up_gives_a_coherent_report() {
    if skip_slow() {
        return;
    }
    let (code, report, stderr) = jit_inlined("jit-inlined-cold", "0s");
    assert!(code == 0 || code == 1, "{stderr}");
    let hot_list = report["hot"].as_array().unwrap();
    assert!(!hot_list.is_empty(), "{report:#}");
    for f in hot_list {
        // Not the module's wrapper given every tick V8's log could not
        // place, and not "never optimized" for what the log could not see.
        assert!(
            !(f["name"] == "" && f["line"] == 1 && f["column"] == 1),
            "no nameless function at 1:1: {f:#}"
        );
        assert_ne!(f["optimized"], false, "{f:#}");
        assert!(
            f["problems"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| !p.as_str().unwrap().starts_with("never optimized")),
            "{f:#}"
        );
    }
    let handler = hot_list
        .iter()
        .find(|f| f["name"] == "handle" || (f["name"] == "" && f["line"] == 30))
        .unwrap_or_else(|| panic!("the handler is hot: {report:#}"));
    assert!(handler["selfShare"].as_f64().unwrap() > 0.02, "{handler:#}");
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("while the CPU profiler runs")),
        "the log's gap is said: {report:#}"
    );
    // `addScore` changes types 1.2 s into the profiled load: V8's log is
    // blind then, its deopt trace is not.
    let under_load: Vec<&Value> = report["deopts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["function"]["name"] == "addScore" && d["phases"]["load"].as_u64() >= Some(1))
        .collect();
    assert!(
        !under_load.is_empty(),
        "the deopt under load is reported: {:#}",
        report["deopts"]
    );
    for d in under_load {
        assert!(
            (10..=11).contains(&d["line"].as_u64().unwrap()),
            "at addScore's own lines: {d:#}"
        );
        assert!(d["when"].as_str().unwrap().contains("load"), "{d:#}");
    }
}

#[test]
fn jit_on_a_recording_too_short_to_judge_says_so_in_one_line() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("jit-too-short");
    let requests = dir.join("requests.txt");
    std::fs::write(&requests, "GET /score\n").unwrap();
    let (code, stdout, stderr) = leakscope_status(&[
        "jit",
        "--request-file",
        requests.to_str().unwrap(),
        "--warmup",
        "0s",
        "--duration",
        "10ms",
        "--json",
        "--",
        "node",
        &inlined_fixture(),
    ]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let last = stderr.trim().lines().last().unwrap();
    assert!(
        last.contains("was too short to judge: give --duration 5s or more"),
        "{stderr}"
    );
}
