//! `leakscope hunt` and `leakscope load` against real Node servers: the
//! hunt must name the holder, the leaked objects and where they were
//! allocated, and must stay quiet on servers that do not leak.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn example(name: &str) -> PathBuf {
    workspace_root().join("examples").join(name)
}

/// Runs `leakscope hunt --json [extra] -- node script`; (exit status, JSON).
fn hunt(script: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["hunt", "--json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "node", script.to_str().unwrap()]);
    let (status, stdout, stderr) = leakscope_status(&args);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("hunt printed no JSON ({e}); stderr: {stderr}"));
    (status, json)
}

/// What a developer must read in the first finding.
struct Culprit<'a> {
    holder: &'a str,
    items: &'a str,
    /// Items per request, roughly.
    per_request: f64,
    allocation: &'a str,
}

/// Checks the first finding against `want`, and returns it.
fn assert_leak(script: &Path, want: Culprit) -> serde_json::Value {
    assert_leak_with(script, &[], want)
}

/// [`assert_leak`] with more arguments for the hunt.
fn assert_leak_with(script: &Path, extra: &[&str], want: Culprit) -> serde_json::Value {
    let (status, h) = hunt(script, extra);
    assert_eq!(status, 1, "a leak must exit 1: {h:#}");
    let f = &h["findings"][0];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    assert!(
        text(&f["holder"]).contains(want.holder),
        "holder {:?} should name {:?}",
        f["holder"],
        want.holder
    );
    assert_eq!(text(&f["leaked_items"]["name"]), want.items, "{f:#}");
    let per_request = f["leaked_items"]["per_request"].as_f64().unwrap();
    assert!(
        (per_request - want.per_request).abs() <= want.per_request * 0.1,
        "{per_request} items per request, expected ≈{}",
        want.per_request
    );
    let stack = f["allocation"]["stack"].to_string();
    assert!(
        stack.contains(want.allocation),
        "allocation {stack} should name {:?}",
        want.allocation
    );
    // Every round added to it: the evidence of a leak (small ones earn
    // confirmation rounds).
    let rounds: Vec<u64> = f["per_round"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(rounds.len(), h["rounds"].as_array().unwrap().len());
    assert!(rounds.len() >= 3);
    assert!(rounds.iter().all(|&b| b > 0), "{rounds:?}");
    assert!(h["seconds"].as_f64().unwrap() <= 90.0);
    // The sampling profiler saw the application allocate what was kept.
    let sampled = h["sampled_allocations"].as_array().unwrap();
    assert!(!sampled.is_empty() && sampled[0]["bytes"].as_u64().unwrap() > 0);
    // The retaining path ends at the holder's items.
    let path = f["path_to_holder"].to_string();
    assert!(
        path.contains("GC roots") || path.contains("global"),
        "{path}"
    );
    f.clone()
}

fn assert_clean(script: &Path) {
    let (status, h) = hunt(script, &[]);
    assert_eq!(status, 0, "no leak must exit 0: {:#}", h["findings"]);
    assert_eq!(h["findings"].as_array().unwrap().len(), 0);
    let rounds = h["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3);
    // A tracked round may end early when tracking slows the app down.
    let requests: u64 = rounds.iter().map(|r| r["requests"].as_u64().unwrap()).sum();
    assert!(requests >= 6000, "{requests}");
    assert_eq!(h["confidence"], "high");
}

#[test]
fn bundled_demo_names_the_pending_array() {
    // `leakscope hunt` with no arguments: the README's first command.
    let (status, stdout, stderr) = leakscope_status(&["hunt"]);
    // The demo succeeds by finding its leak (a newcomer's first command).
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.contains("LEAK 1: Array `pending` (module scope of leaky-server.js)"),
        "{stdout}"
    );
    assert!(stdout.contains("9000 closure rememberHeaders"), "{stdout}");
    assert!(stdout.contains("IncomingMessage ≈1.00/request"), "{stdout}");
    assert!(!stdout.contains("unnamed"), "{stdout}");
    assert!(
        stdout.contains("closure rememberHeaders created at leaky-server.js:16"),
        "{stdout}"
    );
}

#[test]
fn closure_array() {
    if skip_slow() {
        return;
    }
    let f = assert_leak(
        &corpus_app("closure-array.js"),
        Culprit {
            holder: "Array `pending` (module scope of closure-array.js)",
            items: "closure rememberHeaders",
            per_request: 1.0,
            allocation: "closure rememberHeaders created at closure-array.js:14",
        },
    );
    // Every function on the way is named (or only reaches the module scope).
    assert!(f.get("anonymous_functions").is_none(), "{f:#}");
}

#[test]
fn unnamed_functions_holding_a_leak_are_pointed_out() {
    if skip_slow() {
        return;
    }
    let report = test_dir("hunt-unnamed").join("hunt.html");
    let f = assert_leak_with(
        &corpus_app("anonymous-listener.js"),
        &["--report", report.to_str().unwrap()],
        Culprit {
            holder: "Array `seen` (captured by (anonymous) at anonymous-listener.js:15:24)",
            items: "closure (anonymous)",
            per_request: 1.0,
            allocation: "closure (anonymous) created at anonymous-listener.js:16:15",
        },
    );
    let unnamed: Vec<(&str, &str)> = f["anonymous_functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["defined_at"].as_str().unwrap(),
                a["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        unnamed,
        [
            ("anonymous-listener.js:16:15", "leaked_items"),
            ("anonymous-listener.js:15:24", "retaining_path"),
        ],
        "{f:#}"
    );
    let advice = f["anonymous_functions"][1]["advice"].as_str().unwrap();
    assert!(advice.contains("give it a name"), "{advice}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("<p class=unnamed>").count(), 2, "{html}");
}

#[test]
fn listener_leak() {
    if skip_slow() {
        return;
    }
    assert_leak(
        &corpus_app("listener-leak.js"),
        Culprit {
            holder: "the 'reload' listeners of EventEmitter `settings`",
            items: "closure onReload",
            per_request: 1.0,
            allocation: "closure onReload created at listener-leak.js:26",
        },
    );
}

#[test]
fn cache_leak() {
    assert_leak(
        &corpus_app("cache-leak.js"),
        Culprit {
            holder: "Map `renderCache` (module scope of cache-leak.js)",
            items: "RenderedPage",
            per_request: 1.0,
            allocation: "new RenderedPage (defined at cache-leak.js:",
        },
    );
}

#[test]
fn timers_never_cleared() {
    if skip_slow() {
        return;
    }
    assert_leak(
        &corpus_app("timer-leak.js"),
        Culprit {
            holder: "the 60000 ms timer list",
            items: "Timeout",
            per_request: 1.0,
            allocation: "timer-leak.js",
        },
    );
}

#[test]
fn set_of_closed_sockets() {
    if skip_slow() {
        return;
    }
    // One socket per connection, not per request: 20 connections a round.
    assert_leak(
        &corpus_app("socket-set.js"),
        Culprit {
            holder: "Set `openSockets` (module scope of socket-set.js)",
            items: "Socket",
            per_request: 60.0 / 9000.0,
            allocation: "new Socket",
        },
    );
}

#[test]
fn shared_closure_context_chain() {
    if skip_slow() {
        return;
    }
    assert_leak(
        &corpus_app("shared-context.js"),
        Culprit {
            holder: "variable `current` (module scope of shared-context.js)",
            items: "Thing",
            per_request: 1.0,
            allocation: "new Thing (defined at shared-context.js:15",
        },
    );
}

#[test]
fn es_module() {
    if skip_slow() {
        return;
    }
    assert_leak(
        &corpus_app("esm-leak.mjs"),
        Culprit {
            holder: "Map `sessions` (module scope of esm-leak.mjs)",
            items: "UserSession",
            per_request: 1.0,
            allocation: "new UserSession (defined at esm-leak.mjs:",
        },
    );
}

#[test]
fn slow_leak_under_churn() {
    if skip_slow() {
        return;
    }
    assert_leak(
        &corpus_app("slow-churn.js"),
        Culprit {
            holder: "Array `auditLog` (module scope of slow-churn.js)",
            items: "AuditEntry",
            per_request: 1.0 / 50.0,
            allocation: "new AuditEntry (defined at slow-churn.js:",
        },
    );
}

#[test]
fn no_leak() {
    assert_clean(&corpus_app("clean-garbage.js"));
}

#[test]
fn error_burst() {
    if skip_slow() {
        return;
    }
    assert_clean(&corpus_app("clean-error-burst.js"));
}

#[test]
fn bounded_cache() {
    if skip_slow() {
        return;
    }
    assert_clean(&corpus_app("clean-bounded-cache.js"));
}

#[test]
fn clean_example_server() {
    if skip_slow() {
        return;
    }
    assert_clean(&example("clean-server.js"));
}

#[test]
fn hunt_by_pid_of_a_process_started_without_inspector_flags() {
    if skip_slow() {
        return;
    }
    let app = App::start(&corpus_app("closure-array.js"), true);
    // `--url` is the load's URL here; the inspector's is `--inspector-url`.
    let url = format!("http://127.0.0.1:{}/greet?id={{seq}}", app.port);
    let (status, stdout, stderr) = leakscope_status(&[
        "hunt",
        "--json",
        "--pid",
        &app.pid(),
        "--url",
        &url,
        "--rounds",
        "3",
    ]);
    assert_eq!(status, 1, "{stderr}");
    let h: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(h["pid"].as_u64().unwrap().to_string(), app.pid());
    assert_eq!(h["url"], url);
    assert!(h["findings"][0]["holder"]
        .as_str()
        .unwrap()
        .starts_with("Array `pending`"));
    // The process keeps serving after the hunt detached.
    assert!(heap_after_gc(&app.pid()) > 0);
}

#[test]
fn html_report_renders_in_headless_chromium() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("hunt-report");
    let report = dir.join("hunt.html");
    let (status, _) = hunt(
        &corpus_app("listener-leak.js"),
        &[
            "--report",
            report.to_str().unwrap(),
            "--keep",
            "--out",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(status, 1);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("http://") || !html.contains("<script"),
        "no scripts, no network"
    );
    for round in 0..=3 {
        let name = if round == 0 {
            "hunt-0-baseline.heapsnapshot".to_owned()
        } else {
            format!("hunt-{round}.heapsnapshot")
        };
        assert!(dir.join(name).exists(), "--keep keeps the snapshots");
    }

    let chromium = chromium();
    let url = format!("file://{}", report.display());
    let headless = |extra: &[&str]| {
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .args(extra)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    // The DOM Chromium rendered: the three plots with their curves, the
    // finding and its retaining path.
    let dom = String::from_utf8(headless(&["--dump-dom"]).stdout).unwrap();
    for id in [
        "plot-heap",
        "plot-pauses",
        "plot-classes",
        "finding-1",
        "verdict",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "{id} missing from the rendered page"
        );
    }
    assert_eq!(dom.matches("<svg").count(), 3);
    assert!(
        dom.contains("<polyline") || dom.contains("<path"),
        "plots have lines"
    );
    assert!(dom.contains("the 'reload' listeners of EventEmitter `settings`"));
    assert!(dom.contains("Session"));
    // And a screenshot of it: a real PNG of the requested size.
    let png = dir.join("report.png");
    headless(&[
        &format!("--screenshot={}", png.display()),
        "--window-size=1000,2400",
    ]);
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert_eq!(&bytes[1..4], b"PNG");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1000, 2400));
    assert!(
        bytes.len() > 30_000,
        "a page with plots is not blank ({} bytes)",
        bytes.len()
    );
}

#[test]
fn load_drives_a_real_server() {
    if skip_slow() {
        return;
    }
    let app = App::start(&corpus_app("cache-leak.js"), false);
    let url = format!("http://127.0.0.1:{}/page?n={{seq}}", app.port);
    let r = leakscope_json(&["load", &url, "-c", "8", "-n", "2000", "--json"]);
    assert_eq!(r["completed"], 2000);
    assert_eq!(r["error_count"], 0);
    assert_eq!(r["status_counts"]["200"], 2000);
    assert_eq!(r["connections_opened"], 8);
    // cache-leak answers `<main>` + key×3 + `</main>` with the key
    // `/page?n=N&_=C`, N the request number and C its own counter, both
    // 0..2000 in some order: 13 + 3 × (11 + digits(N) + digits(C)) bytes.
    let digits: u64 = (0..2000u64).map(|n| n.to_string().len() as u64).sum();
    assert_eq!(
        r["body_bytes"].as_u64().unwrap(),
        2000 * (13 + 3 * 11) + 3 * 2 * digits
    );
    let l = &r["latency"];
    assert!(l["p50_ms"].as_f64().unwrap() <= l["p99_ms"].as_f64().unwrap());

    let dir = test_dir("load-request-file");
    let file = dir.join("requests.txt");
    std::fs::write(
        &file,
        "# two kinds\nGET /a?id={seq}\nPOST /b {\"id\": {seq}}\n",
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port);
    let r = leakscope_json(&[
        "load",
        &base,
        "--request-file",
        file.to_str().unwrap(),
        "-n",
        "100",
        "-c",
        "2",
        "--no-keep-alive",
        "--json",
    ]);
    assert_eq!(r["completed"], 100);
    assert_eq!(r["connections_opened"], 100);
}

#[test]
fn interrupted_load_reports_what_it_sent() {
    if skip_slow() {
        return;
    }
    let app = App::start(&corpus_app("clean-garbage.js"), false);
    let load = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["load", &format!("http://127.0.0.1:{}/", app.port)])
        .args(["-d", "60s", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sent = Command::new("kill")
        .args(["-INT", &load.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = load.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let completed = r["completed"].as_u64().unwrap();
    assert!(completed > 0, "{r}");
    assert_eq!(r["status_counts"]["200"].as_u64(), Some(completed));
    assert!(r["seconds"].as_f64().unwrap() < 30.0, "{r}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
}

#[test]
fn load_reports_a_dead_server_plainly() {
    if skip_slow() {
        return;
    }
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let (status, _, stderr) =
        leakscope_status(&["load", &format!("http://127.0.0.1:{port}/"), "-n", "50"]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("no request succeeded (connect: connection refused)"),
        "{stderr}"
    );
    let (status, _, stderr) = leakscope_status(&["load", "https://example.com/"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("https is not supported"), "{stderr}");
}

#[test]
fn target_exiting_mid_hunt_is_reported_not_waited_for() {
    if skip_slow() {
        return;
    }
    // Exits in round 1. While exiting, Node still accepts connections it
    // never answers: without watching the session the load would time out
    // request after request.
    let dir = test_dir("hunt-target-exits");
    let script = dir.join("crash.js");
    std::fs::write(
        &script,
        "const http = require('node:http'); let n = 0; const kept = [];\n\
         http.createServer((req, res) => { kept.push({ url: req.url }); if (++n === 2000) process.exit(7); res.end('x'); })\n\
         .listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); });\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (status, stdout, stderr) = leakscope_status(&[
        "hunt",
        "--warmup",
        "500",
        "--",
        "node",
        script.to_str().unwrap(),
    ]);
    assert_eq!(status, 2, "{stdout}{stderr}");
    let error = stderr.lines().last().unwrap();
    assert_eq!(
        error,
        "leakscope: error: the launched app exited (exit status: 7): the target went away during round 1"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "gave up after {:?}, not after request timeouts",
        started.elapsed()
    );
}

#[test]
fn bad_hunt_arguments_fail_before_any_load() {
    let app = corpus_app("clean-garbage.js");
    let app = app.to_str().unwrap();
    let (status, stdout, stderr) = leakscope_status(&[
        "hunt",
        "--report",
        "/nonexistent-dir/hunt.html",
        "--",
        "node",
        app,
    ]);
    assert_eq!(status, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr.trim(),
        "leakscope: error: cannot write /nonexistent-dir/hunt.html: No such file or directory (os error 2)"
    );
    // No target: `--url` is where load goes, so it needs a target to load.
    for args in [
        &["hunt", "--url", "http://127.0.0.1:1/"][..],
        &["hunt", "--no-load"],
        &["hunt", "--load-cmd", "true"],
    ] {
        let (status, _, stderr) = leakscope_status(args);
        assert_eq!(status, 2);
        assert!(
            stderr.contains("--url, --request-file, --load-cmd and --no-load need a target"),
            "{args:?}: {stderr}"
        );
    }
    let (status, _, stderr) = leakscope_status(&["hunt", "--requests", "0", "--", "node", app]);
    assert_eq!(status, 2);
    assert!(stderr.contains("--requests must be at least 1"), "{stderr}");
}

#[test]
fn hunt_warns_when_the_load_misses_the_app_and_takes_a_path() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("hunt-404");
    let script = dir.join("api-only.js");
    std::fs::write(
        &script,
        "const http = require('node:http'); const kept = [];\n\
         http.createServer((req, res) => {\n\
           if (req.url.startsWith('/api/')) { kept.push({ url: req.url, at: Date.now() }); res.end('ok'); return; }\n\
           res.statusCode = 404; res.end('not found');\n\
         }).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); });\n",
    )
    .unwrap();
    // `/` is 404 here: the verdict is clean, and says why it may not be.
    let (status, h) = hunt(&script, &[]);
    assert_eq!(status, 0);
    assert_eq!(h["findings"].as_array().unwrap().len(), 0);
    let warning = h["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("9000 of 9000 responses were errors (9000 × 404)"),
        "{warning}"
    );
    // A bare path goes to the port the app listens on.
    let (status, h) = hunt(&script, &["--url", "/api/items?id={seq}"]);
    assert_eq!(status, 1);
    assert!(h["url"].as_str().unwrap().ends_with("/api/items?id={seq}"));
    assert_eq!(h["warnings"].as_array().unwrap().len(), 0);
    assert_eq!(
        h["findings"][0]["holder"],
        "Array `kept` (module scope of api-only.js)"
    );
}

// Issue #11's cases, each with an app of the same shape.

fn first_finding(h: &serde_json::Value) -> &serde_json::Value {
    &h["findings"][0]
}

#[test]
fn strings_in_a_dictionary_are_a_leak() {
    if skip_slow() {
        return;
    }
    // A session store keeps one JSON string per cookie-less client in a
    // plain object used as a dictionary: no class of its own grows.
    let (status, h) = hunt(&corpus_app("session-strings.js"), &[]);
    assert_eq!(status, 1, "{:#}", h["findings"]);
    let f = first_finding(&h);
    assert_eq!(
        f["holder"],
        "`sessions` of MemoryStore (held by `store`, module scope of session-strings.js)"
    );
    let items = f["leaked_items"]["name"].as_str().unwrap();
    assert!(items.ends_with("string)"), "{items}");
    let per_request = f["leaked_items"]["per_request"].as_f64().unwrap();
    assert!((per_request - 1.0).abs() < 0.05, "{per_request}");
    assert!(f["leaked_items"]["example"]
        .as_str()
        .unwrap()
        .contains("cookie"));
    // The dictionary's own table grows too, and is part of the bytes.
    assert!(f["storage_bytes"].as_u64().unwrap() > 100_000, "{f:#}");
}

#[test]
fn a_slow_leak_under_churn_is_confirmed_by_more_rounds() {
    if skip_slow() {
        return;
    }
    // One small Job every 10th request, 300 short-lived objects per request:
    // under 64 KiB in three rounds, so the hunt runs more to be sure.
    let (status, h) = hunt(&corpus_app("slow-dict-churn.js"), &[]);
    assert_eq!(status, 1, "{:#}", h["findings"]);
    let f = first_finding(&h);
    assert!(f["holder"]
        .as_str()
        .unwrap()
        .starts_with("Object `jobsById` (module scope of slow-dict-churn.js)"));
    assert_eq!(f["leaked_items"]["name"], "Job");
    let per_request = f["leaked_items"]["per_request"].as_f64().unwrap();
    assert!((per_request - 0.1).abs() < 0.01, "{per_request}");
    assert!(h["rounds"].as_array().unwrap().len() >= 5);
    assert_eq!(f["confidence"], "medium");
    assert!(h["notes"][0]
        .as_str()
        .unwrap()
        .contains("small suspect after 3 rounds"));
    // The rate is stated both ways a reader wants it.
    assert!(f["mb_per_hour"].as_f64().unwrap() > 1.0);
}

#[test]
fn an_app_that_slows_down_as_it_leaks_still_gets_a_verdict_in_time() {
    if skip_slow() {
        return;
    }
    // 1000 more 'request' listeners per request: each request runs every
    // listener ever added, so throughput collapses as the heap grows.
    let (status, h) = hunt(&corpus_app("listener-slowdown.js"), &[]);
    assert_eq!(status, 1, "{:#}", h["findings"]);
    assert!(h["seconds"].as_f64().unwrap() <= 90.0, "{}", h["seconds"]);
    let f = first_finding(&h);
    assert!(f["holder"]
        .as_str()
        .unwrap()
        .starts_with("the 'request' listeners of Server"));
    assert_eq!(f["leaked_items"]["name"], "closure audit");
    let per_request = f["leaked_items"]["per_request"].as_f64().unwrap();
    assert!((per_request - 1000.0).abs() < 50.0, "{per_request}");
    // Rounds ended on time or heap growth, not after their 3000 requests.
    let rounds = h["rounds"].as_array().unwrap();
    assert!(rounds
        .iter()
        .all(|r| r["requests"].as_u64().unwrap() < 3000 && r["ended_by"] != "requests"));
}

#[test]
fn allocation_tracking_is_dropped_when_the_app_cannot_afford_it() {
    if skip_slow() {
        return;
    }
    // A new connection per request makes tracking (a full GC every 50 ms)
    // ruinous here: asked for, the probe must keep it off, and the hunt
    // stays fast.
    let (status, h) = hunt(&corpus_app("close-per-request.js"), &["--tracking"]);
    assert_eq!(status, 1, "{:#}", h["findings"]);
    assert!(h["findings"][0]["holder"]
        .as_str()
        .unwrap()
        .starts_with("Array `visits`"));
    // Either the probe kept it off, or (when the probe ran on a machine
    // too busy to tell) the tracked round was cut short as soon as it
    // slowed the app.
    let why = h["tracking"]["why"].as_str().unwrap();
    assert!(
        why.contains("slower") || why.contains("stopped") || why.contains("cut short"),
        "{why}"
    );
    // Every other round ran at the app's own pace, none stalled by tracking.
    let warm = h["warmup"]["requests_per_second"].as_f64().unwrap();
    let rates: Vec<f64> = h["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ended_by"] != "tracking slowdown")
        .map(|r| r["requests_per_second"].as_f64().unwrap())
        .collect();
    assert!(
        !rates.is_empty() && rates.iter().all(|&r| r > warm / 3.0),
        "{warm} then {rates:?}"
    );
    assert!(h["seconds"].as_f64().unwrap() < 45.0);
}

#[test]
fn allocation_tracking_names_the_enclosing_function_when_affordable() {
    if skip_slow() {
        return;
    }
    // The listener leak allocates little per request: the probe lets
    // tracking run in round 3, whose stacks add the function that made the
    // leaked closures.
    let (status, h) = hunt(&corpus_app("listener-leak.js"), &["--tracking"]);
    assert_eq!(status, 1, "{:#}", h["findings"]);
    let why = h["tracking"]["why"].as_str().unwrap();
    if h["tracking"]["used"] != true {
        // The probe may judge a loaded machine too slow: then it must say so.
        assert!(why.contains("slower"), "{why}");
        return;
    }
    let round = h["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tracked"] == true);
    assert!(round.is_some(), "{why}");
    let site = &h["findings"][0]["allocation"];
    assert_eq!(site["source"], "closure definition + allocation tracking");
    let stack = site["stack"].to_string();
    assert!(
        stack.contains("closure onReload created at listener-leak.js:26")
            && stack.contains("in (anonymous) listener-leak.js:24"),
        "{stack}"
    );
}

#[test]
fn buffers_count_with_their_backing_stores() {
    if skip_slow() {
        return;
    }
    // Each leaked Buffer is ~100 B on the JS heap and 8 KiB outside it.
    let (status, h) = hunt(&corpus_app("buffer-leak.js"), &[]);
    assert_eq!(status, 1, "{:#}", h["findings"]);
    let f = first_finding(&h);
    assert!(f["holder"].as_str().unwrap().starts_with("Map `uploads`"));
    assert_eq!(f["leaked_items"]["name"], "Buffer");
    let per_request = f["bytes_per_request"].as_f64().unwrap();
    assert!(
        per_request > 8192.0 && per_request < 9000.0,
        "{per_request}"
    );
    let items = f["leaked_items"]["count"].as_u64().unwrap();
    assert!(f["external_bytes"].as_u64().unwrap() >= items * 8192);
    // The process view agrees: `external` grew about as much.
    let external = |m: &serde_json::Value| m["external"].as_u64().unwrap();
    let rounds = h["rounds"].as_array().unwrap();
    let grew = external(&rounds[rounds.len() - 1]["memory"]) - external(&h["baseline_memory"]);
    assert!(grew as f64 >= 0.9 * f["external_bytes"].as_u64().unwrap() as f64);
}

#[test]
fn a_holder_in_library_code_is_named_with_its_owner_and_package() {
    if skip_slow() {
        return;
    }
    let (status, h) = hunt(
        &corpus_app("metrics-histogram.js"),
        &["--url", "/api/orders?user={seq}"],
    );
    assert_eq!(status, 1, "{:#}", h["findings"]);
    let f = first_finding(&h);
    assert_eq!(
        f["holder"],
        "`hashMap` of Histogram `api_latency_seconds` from package tiny-metrics (held by `histogram`, module scope of metrics.js)"
    );
    assert_eq!(f["package"], "tiny-metrics");
    let per_request = f["leaked_items"]["per_request"].as_f64().unwrap();
    assert!((per_request - 1.0).abs() < 0.05, "{per_request}");
}

#[test]
fn numbers_in_an_array_and_an_ever_longer_string_are_leaks() {
    if skip_slow() {
        return;
    }
    // No new object per request in either: the holder's storage (unboxed
    // doubles) or the string it keeps replacing grows instead.
    let (status, h) = hunt(&corpus_app("latency-array.js"), &[]);
    assert_eq!(status, 1, "{:#}", h["findings"]);
    let f = first_finding(&h);
    assert!(f["holder"]
        .as_str()
        .unwrap()
        .starts_with("Array `stageTimings`"));
    // 16 doubles of 8 bytes per request, plus the array's spare capacity.
    let per_request = f["bytes_per_request"].as_f64().unwrap();
    assert!((100.0..300.0).contains(&per_request), "{per_request}");
    assert_eq!(h["findings"].as_array().unwrap().len(), 1);

    let (status, h) = hunt(&corpus_app("string-log.js"), &[]);
    assert_eq!(status, 1, "{:#}", h["findings"]);
    assert_eq!(h["findings"].as_array().unwrap().len(), 1);
    assert_eq!(
        first_finding(&h)["holder"],
        "variable `accessLog` (module scope of string-log.js)"
    );
}

#[test]
fn no_test_reads_outside_the_repository() {
    // A user's clone has only the repository: everything a test uses is in it.
    let tests = workspace_root().join("crates");
    let mut offenders = Vec::new();
    let mut stack = vec![tests];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains(concat!("..", "/shared")) {
                    offenders.push(path);
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

/// Per-request stats kept alive by two unref'd intervals at once: no single
/// timer list dominates them, so both are named, and the bytes account for
/// the heap's growth.
#[test]
fn objects_two_timer_lists_keep_together_are_one_finding() {
    if skip_slow() {
        return;
    }
    let (status, h) = hunt(&corpus_app("two-interval-stats.js"), &[]);
    assert_eq!(status, 1, "{h:#}");
    let findings = h["findings"].as_array().unwrap();
    let f = &findings[0];
    assert_eq!(f["leaked_items"]["name"], "RequestStats", "{f:#}");
    let per_request = f["leaked_items"]["per_request"].as_f64().unwrap();
    assert!((per_request - 1.0).abs() < 0.05, "{per_request}");
    let holders: Vec<String> = std::iter::once(&f["holder"])
        .chain(f["held_together_with"].as_array().unwrap())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(
        holders
            .iter()
            .any(|h| h.contains("the 10000 ms timer list"))
            && holders
                .iter()
                .any(|h| h.contains("the 30000 ms timer list")),
        "{holders:?}"
    );
    // One finding for the stats, however the lists share them.
    assert!(findings
        .iter()
        .skip(1)
        .all(|f| f["leaked_items"]["name"] != "RequestStats"));
    // Its bytes are most of the heap's growth.
    let heap: Vec<u64> = std::iter::once(&h["baseline_memory"])
        .chain(h["rounds"].as_array().unwrap().iter().map(|r| &r["memory"]))
        .map(|m| m["heap_used"].as_u64().unwrap())
        .collect();
    let grew = heap[heap.len() - 1] - heap[0];
    let bytes = f["bytes"].as_u64().unwrap();
    assert!(bytes * 10 >= grew * 7, "{bytes} of {grew}");
}
