//! The pull-request gate of `find-leaks` and `hunt`: JUnit and Markdown
//! files, `--allow`, `--baseline`, and their exit statuses, on snapshots
//! and servers Node runs during the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use quick_xml::events::Event;

fn find_leaks(files: &[PathBuf], extra: &[&str]) -> Output {
    leakscope_command()
        .arg("find-leaks")
        .args(files)
        .args(["--calls", "2000"])
        .args(extra)
        .output()
        .unwrap()
}

/// The testcases of a JUnit file: (name, failure message if failing, system-out).
fn junit(path: &Path) -> (String, Vec<(String, Option<String>, String)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut cases = Vec::new();
    let mut suite = String::new();
    let mut out = String::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => {
                let attr = |name: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name.as_bytes())
                        .map(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned()
                        })
                };
                match e.name().as_ref() {
                    b"testsuite" => {
                        suite = format!(
                            "{} tests={} failures={}",
                            attr("name").unwrap(),
                            attr("tests").unwrap(),
                            attr("failures").unwrap()
                        );
                    }
                    b"testcase" => cases.push((attr("name").unwrap(), None, String::new())),
                    b"system-out" => out.clear(),
                    b"failure" => cases.last_mut().unwrap().1 = attr("message"),
                    _ => {}
                }
            }
            Event::Text(t) => out.push_str(&t.decode().unwrap()),
            Event::End(e) if e.name().as_ref() == b"system-out" => {
                cases.last_mut().unwrap().2 = std::mem::take(&mut out).trim().to_owned();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (suite, cases)
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn find_leaks_writes_junit_and_markdown_and_honours_allow_and_baseline() {
    let dir = test_dir("gate-find-leaks");
    let leaking = keeper_snapshots(&dir.join("leak"), true);
    let clean = keeper_snapshots(&dir.join("clean"), false);
    let holder = "Array `kept` (module scope of [eval])";

    // A leak: a failing testcase naming the holder, a Markdown table.
    let (xml, md, json) = (
        dir.join("leak.xml"),
        dir.join("leak.md"),
        dir.join("leak.json"),
    );
    let out = find_leaks(
        &leaking,
        &[
            "--junit",
            xml.to_str().unwrap(),
            "--markdown",
            md.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{:?}", lines(&out));
    std::fs::write(&json, &out.stdout).unwrap();
    let (suite, cases) = junit(&xml);
    assert_eq!(suite, "leakscope find-leaks tests=1 failures=1");
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].0, format!("{holder} (main)"));
    let message = cases[0].1.as_deref().expect("a failure");
    assert!(
        message.starts_with(&format!("new leak: {holder} grows by "))
            && message.ends_with(" B/request"),
        "{message}"
    );
    let per_call: f64 = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        ["findings"][0]["bytes_per_request"]
        .as_f64()
        .unwrap();
    assert!(
        message.contains(&format!("{} B/request", per_call.round())),
        "{message} vs {per_call}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.starts_with("### leakscope find-leaks: 1 memory leak(s) fail this run"),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| ❌ new leak | {holder} | {} B/request |",
            per_call.round()
        )),
        "{md}"
    );
    assert!(md.contains("→ ->kept Array → [] Entry"), "{md}");

    // Clean: one passing testcase.
    let xml_clean = dir.join("clean.xml");
    let md_clean = dir.join("clean.md");
    let out = find_leaks(
        &clean,
        &[
            "--junit",
            xml_clean.to_str().unwrap(),
            "--markdown",
            md_clean.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", lines(&out));
    let (suite, cases) = junit(&xml_clean);
    assert_eq!(suite, "leakscope find-leaks tests=1 failures=0");
    assert_eq!(cases, [("no memory leak".to_owned(), None, String::new())]);
    assert!(std::fs::read_to_string(&md_clean)
        .unwrap()
        .starts_with("### leakscope find-leaks: no memory leak"));

    // --allow: reported, passing.
    let xml_allowed = dir.join("allowed.xml");
    let out = find_leaks(
        &leaking,
        &[
            "--allow",
            "`kept`",
            "--junit",
            xml_allowed.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", lines(&out));
    let (suite, cases) = junit(&xml_allowed);
    assert_eq!(suite, "leakscope find-leaks tests=1 failures=0");
    assert!(
        cases[0].1.is_none() && cases[0].2.starts_with("allowed by --allow"),
        "{cases:?}"
    );
    // A pattern on the leaked class works too; one that matches nothing does not allow.
    assert_eq!(
        find_leaks(&leaking, &["--allow", "^Entry$"]).status.code(),
        Some(0)
    );
    assert_eq!(
        find_leaks(&leaking, &["--allow", "lru-cache"])
            .status
            .code(),
        Some(1)
    );

    // --baseline: the same leak at the same rate passes; at a third of
    // this rate in the baseline, it grew threefold and fails.
    let out = find_leaks(&leaking, &["--baseline", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{:?}", lines(&out));
    assert!(
        lines(&out)
            .iter()
            .any(|l| l.contains("in the baseline (1.0× its rate)")),
        "{:?}",
        lines(&out)
    );
    let mut older: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    older["findings"][0]["bytes_per_request"] = serde_json::json!(per_call / 3.0);
    let grown = dir.join("grown.json");
    std::fs::write(&grown, older.to_string()).unwrap();
    let xml_grown = dir.join("grown.xml");
    let out = find_leaks(
        &leaking,
        &[
            "--baseline",
            grown.to_str().unwrap(),
            "--junit",
            xml_grown.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let (_, cases) = junit(&xml_grown);
    assert!(
        cases[0]
            .1
            .as_deref()
            .unwrap()
            .starts_with("grew 3.0× over the baseline: "),
        "{cases:?}"
    );
    // A baseline without the finding: new, fails.
    older["findings"] = serde_json::json!([]);
    std::fs::write(&grown, older.to_string()).unwrap();
    assert_eq!(
        find_leaks(&leaking, &["--baseline", grown.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn bad_gate_input_is_one_line_and_exit_2_before_any_work() {
    let dir = test_dir("gate-bad-input");
    let files: Vec<PathBuf> = (0..3)
        .map(|i| dir.join(format!("never-read-{i}.heapsnapshot")))
        .collect();
    let cases: [(&[&str], &str); 4] = [
        (&["--allow", "(unclosed"], "leakscope: error: --allow \"(unclosed\" is not a valid regular expression: unclosed group"),
        (&["--baseline", "/nonexistent/old.json"], "leakscope: error: --baseline /nonexistent/old.json: No such file or directory (os error 2)"),
        (&["--baseline", "MALFORMED"], "leakscope: error: --baseline MALFORMED: not JSON (key must be a string at line 1 column 3); give a `leakscope hunt --json` or `find-leaks --json` report"),
        (&["--baseline", "NOT-A-REPORT"], "leakscope: error: --baseline NOT-A-REPORT: not a leakscope --json report (it has no \"findings\" list)"),
    ];
    std::fs::write(dir.join("MALFORMED"), "{ nope").unwrap();
    std::fs::write(dir.join("NOT-A-REPORT"), r#"{"classes": []}"#).unwrap();
    for (args, expected) in cases {
        let out = leakscope_command()
            .current_dir(&dir)
            .arg("find-leaks")
            .args(&files)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(lines(&out), [expected], "{args:?}");
    }
}

#[test]
fn hunt_fails_a_pull_request_that_adds_a_leak_and_passes_its_baseline() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("gate-hunt");
    let server = workspace_root().join("examples/leaky-server.js");
    let (xml, md, json) = (
        dir.join("hunt.xml"),
        dir.join("hunt.md"),
        dir.join("hunt.json"),
    );
    let hunt = |extra: &[&str]| {
        leakscope_command()
            .args([
                "hunt",
                "--rounds",
                "3",
                "--requests",
                "600",
                "--warmup",
                "300",
            ])
            .args(extra)
            .arg("--")
            .arg("node")
            .arg(&server)
            .output()
            .unwrap()
    };
    let out = hunt(&[
        "--json",
        "--junit",
        xml.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{:?}", lines(&out));
    std::fs::write(&json, &out.stdout).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let holder = report["findings"][0]["holder"].as_str().unwrap();
    assert_eq!(holder, "Array `pending` (module scope of leaky-server.js)");
    let (suite, cases) = junit(&xml);
    assert!(
        suite.starts_with("leakscope hunt tests=") && !suite.ends_with("failures=0"),
        "{suite}"
    );
    assert!(
        cases[0]
            .1
            .as_deref()
            .unwrap()
            .starts_with(&format!("new leak: {holder} grows by ")),
        "{cases:?}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains(&format!("| ❌ new leak | {holder} |")), "{md}");
    // The same leak again, against that report as the baseline: it passes.
    let out = hunt(&["--baseline", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{:?}", lines(&out));

    // The GitHub Action's step, as it runs there: the step summary, the
    // outputs and the artifact's files.
    let action = |allow: &str| {
        let out = dir.join(format!("action{}", allow.len()));
        let (summary, outputs) = (
            dir.join(format!("summary{}.md", allow.len())),
            dir.join(format!("outputs{}", allow.len())),
        );
        let status = std::process::Command::new("bash")
            .arg(workspace_root().join("action/hunt.sh"))
            .env("LEAKSCOPE", env!("CARGO_BIN_EXE_leakscope"))
            .env("OUT", &out)
            .env("COMMAND", format!("node {}", server.display()))
            .env("ARGS", "--rounds 3 --requests 600 --warmup 300")
            .env("ALLOW", allow)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
            .env("CI", "1")
            .env(
                "LEAKSCOPE_CACHE_DIR",
                workspace_root().join("target/test-cache"),
            )
            .status()
            .unwrap();
        (
            status.code(),
            out,
            std::fs::read_to_string(summary).unwrap(),
            std::fs::read_to_string(outputs).unwrap(),
        )
    };
    let (code, out, summary, outputs) = action("");
    assert_eq!(code, Some(1));
    assert!(
        summary.contains(&format!("| ❌ new leak | {holder} |")),
        "{summary}"
    );
    let leaks: usize = outputs
        .lines()
        .find_map(|l| l.strip_prefix("leaks="))
        .unwrap()
        .parse()
        .unwrap();
    let reported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("hunt.json")).unwrap()).unwrap();
    assert_eq!(
        leaks,
        reported["findings"].as_array().unwrap().len(),
        "{outputs}"
    );
    assert!(leaks >= 1);
    assert!(
        outputs.contains("failing=") && !outputs.contains("failing=0"),
        "{outputs}"
    );
    for file in ["report.html", "hunt.json", "junit.xml", "summary.md"] {
        assert!(out.join(file).metadata().unwrap().len() > 100, "{file}");
    }
    let (code, _, summary, outputs) = action("`pending`");
    assert_eq!(code, Some(0));
    assert!(
        summary.contains(&format!("| ✅ allowed by --allow | {holder} |")),
        "{summary}"
    );
    assert!(outputs.contains("failing=0"), "{outputs}");
}
