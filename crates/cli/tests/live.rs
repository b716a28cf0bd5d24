//! Live capture against real Node processes: attach by PID (SIGUSR1) or by
//! launching, snapshot, gc, watch, record/timeline, sample, and the live fixes.
#![allow(clippy::print_stderr, reason = "a test reports what it measured")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn summary_count(file: &Path, class: &str) -> u64 {
    let v = leakscope_json(&[
        "summary",
        file.to_str().unwrap(),
        "--json",
        "--top",
        "100000",
    ]);
    v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == class)
        .map_or(0, |c| c["count"].as_u64().unwrap())
}

fn no_partial_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".partial")
    })
}

/// Tests that let SIGUSR1 open the default port 9229 take turns.
static DEFAULT_PORT: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn snapshot_by_pid_of_a_process_started_without_inspector_flags() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-snapshot-pid");
    let _port = DEFAULT_PORT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let app = App::start(&corpus_app("closure-array.js"), false);
    let load = Load::start(app.port, 2);
    std::thread::sleep(Duration::from_millis(1500));
    let served = load.stop();
    assert!(served > 100, "load served {served}");
    let out = dir.join("pid.heapsnapshot");
    let report = leakscope_json(&[
        "snapshot",
        "--pid",
        &app.pid(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(report["pid"].as_u64().unwrap().to_string(), app.pid());
    // Same disk: the target writes the file itself (the shorter pause).
    assert_eq!(report["method"], "written-by-target");
    assert_eq!(
        report["bytes"].as_u64().unwrap(),
        std::fs::metadata(&out).unwrap().len()
    );
    // Every request served is retained by the leak (plus at most a few in flight).
    let requests = summary_count(&out, "IncomingMessage");
    assert!(
        requests >= served && requests <= served + 10,
        "{requests} IncomingMessage for {served} requests"
    );
    assert!(no_partial_files(&dir));
}

#[test]
fn snapshot_and_gc_in_launch_mode_stop_the_app_afterwards() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-snapshot-launch");
    let out = dir.join("launch.heapsnapshot");
    let script = "class LaunchMarker {}; globalThis.keep = Array.from({length: 4321}, () => new LaunchMarker()); setInterval(() => {}, 1000);";
    let report = leakscope_json(&[
        "snapshot",
        "-o",
        out.to_str().unwrap(),
        "--json",
        "--",
        "node",
        "-e",
        script,
    ]);
    assert_eq!(summary_count(&out, "LaunchMarker"), 4321);
    let pid = report["pid"].as_u64().unwrap() as i32;
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the launched app must be stopped"
    );

    let gc = leakscope_json(&["gc", "--json", "--", "node", "-e", "globalThis.junk = []; for (let i = 0; i < 2e5; i++) junk.push({i}); junk = null; setInterval(() => {}, 1000);"]);
    let (before, after) = (
        gc["used_before"].as_u64().unwrap(),
        gc["used_after"].as_u64().unwrap(),
    );
    assert!(
        before > after + 4_000_000,
        "a full GC frees the 200k dropped objects: {before} -> {after}"
    );
}

#[test]
fn bad_targets_give_one_line_errors() {
    if skip_slow() {
        return;
    }
    // A dead PID.
    let mut sleeper = Command::new("sleep")
        .arg("30")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (code, _, err) = leakscope_status(&[
        "snapshot",
        "--pid",
        "999999999",
        "-o",
        "/tmp/x.heapsnapshot",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no process with PID 999999999"), "{err}");
    // Not a Node process: refused, and never signalled (SIGUSR1 would kill it).
    let (code, _, err) = leakscope_status(&["gc", "--pid", &sleeper.id().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("not a Node.js process"), "{err}");
    assert!(
        sleeper.try_wait().unwrap().is_none(),
        "sleep must still run"
    );
    let _ = sleeper.kill();
    // Nothing listening, a remote host, no target, a launch that fails.
    let (code, _, err) = leakscope_status(&["gc", "--port", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot reach the inspector"), "{err}");
    let (code, _, err) = leakscope_status(&["gc", "--url", "ws://192.0.2.1:9229/x"]);
    assert_eq!(code, 2);
    assert!(err.contains("--allow-remote"), "{err}");
    let (code, _, err) = leakscope_status(&["gc"]);
    assert_eq!(code, 2);
    assert!(err.contains("no target"), "{err}");
    let (code, _, err) = leakscope_status(&["gc", "--", "node", "-e", "process.exit(3)"]);
    assert_eq!(code, 2);
    assert!(err.contains("exited"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn sigusr1_failures_are_explained() {
    if skip_slow() {
        return;
    }
    // 9229 held by someone else: the app cannot open its inspector there.
    let _port = DEFAULT_PORT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let squatter = std::net::TcpListener::bind("127.0.0.1:9229").expect("9229 free for the test");
    let app = App::start(&corpus_app("clean-garbage.js"), false);
    let (code, _, err) = leakscope_status(&["gc", "--pid", &app.pid()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("9229 is taken by another process") && err.contains("--inspect-port=0"),
        "{err}"
    );
    drop(squatter);
    drop(_port);
    // An app that handles SIGUSR1 itself never opens the inspector.
    let dir = test_dir("live-sigusr1-handler");
    let script = dir.join("own-handler.js");
    std::fs::write(&script, "process.on('SIGUSR1', () => {}); console.log('listening on http://127.0.0.1:1'); setInterval(() => {}, 1000);").unwrap();
    let app = App::start(&script, true);
    let (code, _, err) = leakscope_status(&["gc", "--pid", &app.pid()]);
    assert_eq!(code, 2);
    assert!(err.contains("handle SIGUSR1 itself"), "{err}");
    assert!(app_alive(&app), "the app keeps running");
}

fn app_alive(app: &App) -> bool {
    Path::new(&format!("/proc/{}", app.pid())).exists()
}

#[test]
fn target_dying_mid_snapshot_leaves_no_file() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-snapshot-dies");
    let script = "globalThis.big = Array.from({length: 1500000}, (_, i) => ({i, s: 'x' + i})); console.log('listening on http://127.0.0.1:1'); setInterval(() => {}, 1000);";
    let mut child = Command::new("node")
        .args(["-e", script])
        .env("NODE_OPTIONS", "--inspect-port=0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
    }
    let out = dir.join("dies.heapsnapshot");
    let pid = child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let (code, _, err) = leakscope_status(&[
        "snapshot",
        "--pid",
        &pid.to_string(),
        "-o",
        out.to_str().unwrap(),
    ]);
    killer.join().unwrap();
    let _ = child.wait();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("closed the inspector connection"), "{err}");
    assert!(!out.exists());
    assert!(no_partial_files(&dir));
}

/// Runs `watch --json` on a server under load; returns (exit code, JSON lines).
fn watch_under_load(app: &App, seconds: u64, extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let load = Load::start(app.port, 2);
    let pid = app.pid();
    let duration = format!("{seconds}s");
    let mut args = vec!["watch", "--pid", &pid, "--json", "--duration", &duration];
    args.extend_from_slice(extra);
    let (code, out, err) = leakscope_status(&args);
    load.stop();
    let lines = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l} ({err})")))
        .collect();
    (code, lines)
}

#[test]
fn watch_raises_a_leak_on_a_leaking_server_and_serves_metrics() {
    if skip_slow() {
        return;
    }
    let app = App::start(&corpus_app("closure-array.js"), true);
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token_file = test_dir("live-watch-metrics").join("token");
    let _ = std::fs::remove_file(&token_file);
    let token_path = token_file.clone();
    let scraper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(25));
        let token = std::fs::read_to_string(&token_path).unwrap();
        (
            http_get(metrics_port, "/metrics", None).0,
            http_get(metrics_port, "/metrics", Some(token.trim())).1,
        )
    });
    let addr = format!("127.0.0.1:{metrics_port}");
    let (code, lines) = watch_under_load(
        &app,
        30,
        &[
            "--prometheus",
            &addr,
            "--metrics-token-file",
            token_file.to_str().unwrap(),
            "--instance",
            "test-host",
        ],
    );
    let (refused, metrics) = scraper.join().unwrap();
    assert!(refused.contains(" 401"), "{refused}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is the user's alone");
    let gcs: Vec<_> = lines.iter().filter(|l| l["type"] == "gc").collect();
    let leak = lines
        .iter()
        .find(|l| l["type"] == "leak")
        .expect("a leak event");
    let first_gc = gcs[0]["at_ms"].as_f64().unwrap();
    assert!(
        leak["end_ms"].as_f64().unwrap() - first_gc < 25_000.0,
        "{leak}"
    );
    assert!(leak["growth"].as_i64().unwrap() > 2_000_000, "{leak}");
    assert!(leak["reason"].as_str().unwrap().contains("mb/hr"), "{leak}");
    assert_eq!(code, 1, "a leak event makes exit status 1");
    // memwatch-style stats after full GCs, with the heap climbing.
    let stats: Vec<_> = lines.iter().filter(|l| l["type"] == "stats").collect();
    assert!(stats.len() >= 3);
    let last = stats.last().unwrap();
    assert!(last["max"].as_u64() > last["min"].as_u64());
    assert!(last["usage_trend"].as_f64().unwrap() > 0.0, "{last}");
    assert!(gcs.iter().any(|g| g["kind"] == "major") && gcs.iter().any(|g| g["kind"] == "minor"));
    assert!(gcs[0]["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["space"] == "old_space"));
    let labels = format!(
        "instance=\"test-host\",pid=\"{}\",command=\"closure-array.js\"",
        app.pid()
    );
    for series in [
        format!("nodejs_heap_size_used_bytes{{{labels}}} "),
        format!("nodejs_heap_space_size_used_bytes{{{labels},space=\"old\"}} "),
        format!("nodejs_gc_duration_seconds_count{{{labels},kind=\"minor\"}} "),
        format!("nodejs_eventloop_lag_p99_seconds{{{labels}}} "),
        format!("leakscope_leak_suspected{{{labels}}} 1\n"),
        "leakscope_watched_processes{instance=\"test-host\"} 1\n".to_owned(),
    ] {
        assert!(
            metrics.contains(&series),
            "{series} missing from:\n{metrics}"
        );
    }
    // The observer is gone from the target.
    let left = leakscope_json(&[
        "eval",
        "--pid",
        &app.pid(),
        "--json",
        "typeof globalThis.__leakscope_gc + ' ' + (Symbol.for('leakscope.gcwatch') in globalThis)",
    ]);
    assert_eq!(left["result"], "undefined false");
}

/// A leak of 20–30 MB/s makes V8's own full GCs seconds apart: the rate
/// rule, fed by forced probes, must still fire within 30 s.
#[test]
fn watch_fires_within_30_s_on_a_fast_leak() {
    if skip_slow() {
        return;
    }
    let app = App::start(&corpus_app("fast-leak.js"), true);
    let (code, lines) = watch_under_load(&app, 30, &[]);
    let first_gc = lines.iter().find(|l| l["type"] == "gc").expect("GCs")["at_ms"]
        .as_f64()
        .unwrap();
    let leaks: Vec<_> = lines.iter().filter(|l| l["type"] == "leak").collect();
    let rate = leaks
        .iter()
        .find(|l| l["rule"] == "rate")
        .unwrap_or_else(|| panic!("a rate event: {leaks:?}"));
    let after = rate["end_ms"].as_f64().unwrap() - first_gc;
    assert!(after < 30_000.0, "{after} ms: {rate}");
    assert!(rate["reason"].as_str().unwrap().contains("MB/s"), "{rate}");
    assert_eq!(code, 1, "a leak event makes exit status 1");
    eprintln!(
        "rate event {:.1} s after the first GC: {}",
        after / 1000.0,
        rate["reason"]
    );
    // The summary reports the real growth, not memwatch's flat start.
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary", "{summary}");
    let growth = &summary["growth"];
    let (start, end) = (
        growth["start_heap"].as_u64().unwrap(),
        growth["end_heap"].as_u64().unwrap(),
    );
    assert!(end > 2 * start, "{growth}");
    assert!(
        growth["mb_per_hour"].as_f64().unwrap() > 20_000.0,
        "{growth}"
    );
    assert!(
        summary["stats"]["usage_trend"].as_f64().unwrap() > 10e6,
        "{summary}"
    );
}

/// The terminal's last line says how much the heap grew.
#[test]
fn watch_s_last_line_reports_the_growth() {
    if skip_slow() {
        return;
    }
    let (mut watch, stderr, port) =
        launched_watch(&["--duration", "12s"], &corpus_app("fast-leak.js"), |_| {});
    let rest = std::thread::spawn(move || stderr.map_while(Result::ok).count());
    let load = Load::start(port, 2);
    let mut stdout = String::new();
    std::io::Read::read_to_string(watch.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let status = watch.wait().unwrap();
    load.stop();
    rest.join().unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "{stdout}");
    let done = stdout.lines().last().unwrap();
    // "done: 9 full and 88 other GCs; heap after full GC 118.9 MB → 315.2 MB
    // in 8s (+196.3 MB, 83535 MB/hour), trend +68.8 MB; 1 leak event"
    assert!(done.starts_with("done: "), "{stdout}");
    assert!(done.contains(" → ") && done.contains("MB/hour"), "{done}");
    assert!(!done.contains("trend +0 B"), "{done}");
    let growth: f64 = done
        .split(" (+")
        .nth(1)
        .and_then(|r| r.split(" MB").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a growth in MB: {done}"));
    assert!(growth > 50.0, "{done}");
}

/// "Stays quiet for 2 minutes on clean servers under the same load".
#[test]
fn watch_stays_quiet_on_clean_servers() {
    if skip_slow() {
        return;
    }
    let apps = [
        corpus_app("clean-garbage.js"),
        corpus_app("clean-error-burst.js"),
        corpus_app("clean-bounded-cache.js"),
        workspace_root().join("examples/clean-server.js"),
    ];
    let runs: Vec<_> = apps
        .into_iter()
        .map(|script| {
            std::thread::spawn(move || {
                let app = App::start(&script, true);
                let (code, lines) = watch_under_load(&app, 120, &[]);
                (script, code, lines)
            })
        })
        .collect();
    for run in runs {
        let (script, code, lines) = run.join().unwrap();
        let name = script.file_name().unwrap().to_string_lossy().into_owned();
        let leaks: Vec<_> = lines.iter().filter(|l| l["type"] == "leak").collect();
        let summary = lines.last().unwrap();
        eprintln!(
            "{name}: {} leak events, {} full GCs, growth {}",
            leaks.len(),
            summary["stats"]["num_full_gc"],
            summary["growth"]
        );
        assert!(leaks.is_empty(), "{name}: {leaks:?}");
        assert_eq!(code, 0, "{name}");
        assert!(
            lines.iter().filter(|l| l["type"] == "gc").count() > 20,
            "{name} saw few GCs"
        );
    }
}

#[test]
fn record_then_timeline_names_the_leaking_class_and_allocation_site() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-record");
    let app = App::start(&corpus_app("closure-array.js"), true);
    let load = Load::start(app.port, 2);
    let out = dir.join("rec.heaptimeline");
    let report = leakscope_json(&[
        "record",
        "--pid",
        &app.pid(),
        "--duration",
        "6s",
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    load.stop();
    assert!(report["ticks"].as_u64().unwrap() > 20);
    let t = leakscope_json(&[
        "timeline",
        out.to_str().unwrap(),
        "--from",
        "1s",
        "--to",
        "5s",
        "--json",
        "--top",
        "50",
    ]);
    let classes = t["classes"].as_array().unwrap();
    let requests = classes
        .iter()
        .find(|c| c["name"] == "IncomingMessage")
        .expect("IncomingMessage in the window");
    assert!(requests["count"].as_u64().unwrap() > 50);
    // The leaked closures were allocated by `greet` (declared on line 13).
    let closures = classes.iter().find(|c| c["name"] == "Function").unwrap();
    let frame = &closures["stacks"][0]["frames"][0];
    assert_eq!(frame["function"], "greet", "{closures}");
    assert!(frame["script"]
        .as_str()
        .unwrap()
        .ends_with("closure-array.js"));
    assert_eq!(frame["line"], 13);
    // The window bounds the objects: the whole recording has more.
    let all = leakscope_json(&["timeline", out.to_str().unwrap(), "--json", "--top", "50"]);
    assert!(all["objects"].as_u64() > t["objects"].as_u64());
}

#[test]
fn sample_flame_graph_names_the_leaking_function() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-sample");
    let app = App::start(&corpus_app("closure-array.js"), true);
    let load = Load::start(app.port, 2);
    let report = leakscope_json(&[
        "sample",
        "--pid",
        &app.pid(),
        "--duration",
        "6s",
        "-o",
        dir.to_str().unwrap(),
        "--json",
    ]);
    load.stop();
    // `greet` (line 13) allocates the leaked closures: among the top sites.
    let top: Vec<&str> = report["top_functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert!(
        top.iter()
            .any(|f| f.starts_with("greet ") && f.contains("closure-array.js:13:")),
        "{top:?}"
    );
    let svg = std::fs::read_to_string(dir.join("heap-flamegraph.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("greet") && svg.contains("closure-array.js"));
    let profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("heap.heapprofile")).unwrap())
            .unwrap();
    assert!(profile["samples"].as_array().unwrap().len() > 10);
    let pprof = std::fs::read(dir.join("heap.pb.gz")).unwrap();
    assert_eq!(&pprof[..2], &[0x1f, 0x8b], "gzip");
    assert!(no_partial_files(&dir));
}

/// Heap after GC grows by this much over `seconds` of load.
fn growth_under_load(app: &App, seconds: u64) -> i64 {
    let before = heap_after_gc(&app.pid());
    let load = Load::start(app.port, 2);
    std::thread::sleep(Duration::from_secs(seconds));
    load.stop();
    heap_after_gc(&app.pid()) as i64 - before as i64
}

#[test]
fn eval_at_reaches_module_scope_and_stops_the_leak() {
    if skip_slow() {
        return;
    }
    let app = App::start(&workspace_root().join("examples/leaky-server.js"), true);
    let leaking = growth_under_load(&app, 3);
    assert!(leaking > 3_000_000, "the example leaks: {leaking}");
    // Global scope cannot see the module's `pending`; its line 16 can.
    let global = leakscope_json(&["eval", "--pid", &app.pid(), "--json", "typeof pending"]);
    assert_eq!(global["result"], "undefined");
    let load = Load::start(app.port, 1);
    let fixed = leakscope_json(&[
        "eval",
        "--pid",
        &app.pid(),
        "--json",
        "--at",
        "leaky-server.js:16",
        "pending.push = () => 0, pending.length = 0, typeof pending",
    ]);
    load.stop();
    assert_eq!(fixed["result"], "object");
    let after = growth_under_load(&app, 3);
    assert!(
        after < 1_000_000,
        "heap after GC keeps growing after the fix: {after}"
    );
    // An expression that throws in the frame is reported, not swallowed.
    let load = Load::start(app.port, 1);
    let (code, _, err) = leakscope_status(&[
        "eval",
        "--pid",
        &app.pid(),
        "--at",
        "leaky-server.js:16",
        "pending = []",
    ]);
    load.stop();
    assert_eq!(code, 2);
    assert!(err.contains("Assignment to constant variable"), "{err}");
}

#[test]
fn clear_by_snapshot_id_frees_the_leaked_objects() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-clear");
    let app = App::start(&corpus_app("closure-array.js"), true);
    let grew = growth_under_load(&app, 3);
    assert!(grew > 3_000_000, "{grew}");
    let snap = dir.join("holder.heapsnapshot");
    leakscope_json(&[
        "snapshot",
        "--pid",
        &app.pid(),
        "-o",
        snap.to_str().unwrap(),
        "--json",
    ]);
    let (_, text, _) = leakscope_status(&[
        "retainers",
        snap.to_str().unwrap(),
        "--class",
        "IncomingMessage",
    ]);
    let holder = text
        .lines()
        .find(|l| l.trim_start().starts_with("->pending"))
        .and_then(|l| l.rsplit('@').next())
        .expect("a path through ->pending")
        .trim()
        .to_owned();
    let before = heap_after_gc(&app.pid());
    let cleared = leakscope_json(&[
        "clear",
        "--pid",
        &app.pid(),
        "--id",
        &holder,
        "--snapshot",
        snap.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(cleared["kind"], "Array");
    assert!(cleared["removed"].as_u64().unwrap() > 1000);
    assert_eq!(schema_violations("clear", &cleared), "");
    let after = heap_after_gc(&app.pid());
    assert!(
        before - after > (grew as u64) * 8 / 10,
        "clearing frees the leak: {before} -> {after} (grew {grew})"
    );
    // Without the snapshot the id means nothing to V8 any more: said plainly.
    let (code, _, err) = leakscope_status(&["clear", "--pid", &app.pid(), "--id", &holder]);
    assert_eq!(code, 2);
    assert!(err.contains("--snapshot"), "{err}");
}

#[test]
fn set_source_edits_live_and_flags_edits_that_cannot_work() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-set-source");
    let original = std::fs::read_to_string(corpus_app("closure-array.js")).unwrap();
    let fixed = dir.join("fixed.js");
    std::fs::write(
        &fixed,
        original.replace("  pending.push(", "  if (false) pending.push("),
    )
    .unwrap();
    let stale = dir.join("stale.js");
    std::fs::write(
        &stale,
        original.replace("return req.headers['user-agent'];", "return typeof http;"),
    )
    .unwrap();
    assert!(
        std::fs::read_to_string(&stale).unwrap() != original,
        "stale.js must differ from closure-array.js"
    );
    let broken = dir.join("broken.js");
    std::fs::write(&broken, "function (").unwrap();

    let app = App::start(&corpus_app("closure-array.js"), true);
    let (code, _, err) = leakscope_status(&[
        "set-source",
        "--pid",
        &app.pid(),
        "--script",
        "closure-array.js",
        "--file",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("does not compile"), "{err}");
    let (code, _, err) = leakscope_status(&[
        "set-source",
        "--pid",
        &app.pid(),
        "--script",
        "closure-array.js",
        "--file",
        stale.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot take effect") && err.contains("greet"),
        "{err}"
    );

    let app = App::start(&corpus_app("closure-array.js"), true);
    let (code, out, err) = leakscope_status(&[
        "set-source",
        "--pid",
        &app.pid(),
        "--script",
        "closure-array.js",
        "--file",
        fixed.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replaced the source"));
    let after = growth_under_load(&app, 3);
    assert!(
        after < 1_000_000,
        "the edited handler no longer leaks: {after}"
    );
}

#[test]
fn ctrl_c_leaves_no_tracking_and_no_observer_behind() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-interrupt");
    let app = App::start(&corpus_app("clean-garbage.js"), true);
    let out = dir.join("never.heaptimeline");
    // They say they were interrupted (130); `serve` may also stop as
    // asked (0).
    for (args, codes) in [
        (
            vec!["record", "--duration", "60s", "-o", out.to_str().unwrap()],
            &[130][..],
        ),
        (vec!["watch"], &[130]),
        (
            vec!["sample", "--duration", "60s", "-o", dir.to_str().unwrap()],
            &[130],
        ),
        (vec!["serve"], &[0, 130]),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
            .args(&args)
            .args(["--pid", &app.pid()])
            .env("CI", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let start = Instant::now();
        let status = child.wait().unwrap();
        assert!(
            codes.contains(&status.code().unwrap_or(-1)),
            "{args:?}: {status:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(10));
    }
    assert!(!out.exists() && no_partial_files(&dir));
    assert!(!dir.join("heap.heapprofile").exists());
    // Tracking would run a full GC every 50 ms; count them for a second.
    let count = "new Promise((done) => { let n = 0; const { PerformanceObserver } = require('perf_hooks'); \
        const o = new PerformanceObserver((l) => { n += l.getEntries().filter((e) => e.detail.kind === 4).length; }); \
        o.observe({ entryTypes: ['gc'] }); setTimeout(() => { o.disconnect(); done(n); }, 1000); })";
    let majors = leakscope_json(&["eval", "--pid", &app.pid(), "--json", count]);
    assert!(
        majors["result"].as_str().unwrap().parse::<u32>().unwrap() < 3,
        "{majors}"
    );
    let left = leakscope_json(&[
        "eval",
        "--pid",
        &app.pid(),
        "--json",
        "typeof globalThis.__leakscope_gc",
    ]);
    assert_eq!(left["result"], "undefined");
}

/// Waits up to 5 s for the target's listening ports to equal `want`.
fn ports_become(
    pid: u32,
    want: &std::collections::BTreeSet<u16>,
) -> std::collections::BTreeSet<u16> {
    let start = Instant::now();
    loop {
        let now = leakscope_inspector::listening_ports(pid);
        if &now == want || start.elapsed() > Duration::from_secs(5) {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_inspector_leakscope_opened_is_closed_again() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-inspector-closed");
    // --inspect-port=0: SIGUSR1 opens a random port, so the test runs beside others.
    let app = App::start(&corpus_app("clean-garbage.js"), true);
    let pid = app.child.id();
    let before = leakscope_inspector::listening_ports(pid);
    assert_eq!(
        before,
        [app.port].into(),
        "only the app's own port at first"
    );

    let out = dir.join("pid.heapsnapshot");
    for args in [
        vec!["gc", "--pid", &app.pid(), "--json"],
        vec!["snapshot", "--pid", &app.pid(), "-o", out.to_str().unwrap()],
    ] {
        let (code, _, stderr) = leakscope_status(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert_eq!(ports_become(pid, &before), before, "after {args:?}");
    }
    assert!(out.exists());

    // Interrupted: the clean-up still closes it.
    let mut watch = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["watch", "--pid", &app.pid()])
        .env("CI", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let during = leakscope_inspector::listening_ports(pid);
    assert_eq!(during.len(), 2, "watch opened the inspector: {during:?}");
    let _ = Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status();
    assert_eq!(watch.wait().unwrap().code(), Some(130));
    assert_eq!(
        ports_become(pid, &before),
        before,
        "after an interrupted watch"
    );

    // An inspector that was open before leakscope came stays open.
    let _ = Command::new("kill").args(["-USR1", &app.pid()]).status();
    let start = Instant::now();
    let mut open = leakscope_inspector::listening_ports(pid);
    while open.len() < 2 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
        open = leakscope_inspector::listening_ports(pid);
    }
    assert_eq!(open.len(), 2, "SIGUSR1 opened the inspector: {open:?}");
    let (code, _, stderr) = leakscope_status(&["gc", "--pid", &app.pid(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(leakscope_inspector::listening_ports(pid), open);
}

/// `watch --all --match`: processes started without inspector flags, all on
/// the default port 9229 (leakscope moves each inspector it opens to a
/// random port, so the next SIGUSR1 finds 9229 free); a process started
/// later is picked up, one that exits is dropped, the leak is named for the
/// leaking process only, and every target listens on exactly its own
/// sockets afterwards.
#[test]
fn watch_all_follows_a_changing_set_of_processes() {
    if skip_slow() {
        return;
    }
    let _port = DEFAULT_PORT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let marker = format!("leakscope-fleet-test-{}", std::process::id());
    let snapshots = test_dir("live-fleet").join("snapshots");
    let _ = std::fs::remove_dir_all(&snapshots);
    let leaky = App::start_with_args(&corpus_app("closure-array.js"), false, &[&marker]);
    let clean = App::start_with_args(&corpus_app("clean-garbage.js"), false, &[&marker]);
    let mut exiting = App::start_with_args(&corpus_app("clean-garbage.js"), false, &[&marker]);
    let own_ports = |app: &App| std::collections::BTreeSet::from([app.port]);
    let mut watch = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args([
            "watch",
            "--all",
            "--match",
            &marker,
            "--json",
            "--duration",
            "30s",
            "--snapshot-on-leak",
            snapshots.to_str().unwrap(),
            "--cooldown",
            "1h",
            "--warmup",
            "2s",
        ])
        .env("CI", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read as it comes (a full pipe would stop the watch); the load stops at
    // the first leak event, so the snapshot it takes stays small.
    let stdout = watch.stdout.take().unwrap();
    let mut load = Some(Load::start(leaky.port, 1));
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let line = line.unwrap();
            if line.contains(r#""type":"leak""#) {
                load.take().map(Load::stop);
            }
            text += &line;
            text.push('\n');
        }
        load.take().map(Load::stop);
        text
    });
    std::thread::sleep(Duration::from_secs(8));
    let late = App::start_with_args(&corpus_app("clean-garbage.js"), false, &[&marker]);
    let late_load = Load::start(late.port, 1);
    std::thread::sleep(Duration::from_secs(4));
    let gone = exiting.child.id();
    exiting.child.kill().unwrap();
    let _ = exiting.child.wait();
    let output = watch.wait_with_output().unwrap();
    late_load.stop();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<serde_json::Value> = reader
        .join()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l} ({stderr})")))
        .collect();
    let digest: Vec<String> = lines
        .iter()
        .filter(|l| l["type"] != "gc")
        .map(std::string::ToString::to_string)
        .collect();
    assert_eq!(
        output.status.code(),
        Some(1),
        "a leak event: {stderr} {digest:#?}"
    );
    let pid = |app: &App| u64::from(app.child.id());
    let attached: std::collections::BTreeMap<u64, &serde_json::Value> = lines
        .iter()
        .filter(|l| l["type"] == "attached")
        .map(|l| (l["pid"].as_u64().unwrap(), l))
        .collect();
    let expected: std::collections::BTreeSet<u64> =
        [pid(&leaky), pid(&clean), u64::from(gone), pid(&late)].into();
    assert_eq!(
        attached
            .keys()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        expected,
        "{lines:?}"
    );
    assert_eq!(attached[&pid(&leaky)]["command"], "closure-array.js");
    assert!(attached.values().all(|a| a["opened_inspector"] == true));
    let exited = lines
        .iter()
        .find(|l| l["type"] == "detached" && l["pid"] == gone)
        .unwrap_or_else(|| panic!("the killed process is dropped: {lines:?}"));
    assert_eq!(exited["reason"], "exited");
    let leaking: std::collections::BTreeSet<u64> = lines
        .iter()
        .filter(|l| l["type"] == "leak")
        .map(|l| l["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(leaking, [pid(&leaky)].into(), "only the leaking process");
    let late_gcs = lines
        .iter()
        .filter(|l| l["type"] == "gc" && l["pid"] == pid(&late))
        .count();
    assert!(late_gcs > 0, "the late process is watched: {digest:#?}");
    // One snapshot of the leaking process, announced with its pause; later
    // leak events within the cooldown take none.
    let written: Vec<_> = lines.iter().filter(|l| l["type"] == "snapshot").collect();
    assert_eq!(written.len(), 1, "{digest:#?}");
    assert_eq!(written[0]["pid"], pid(&leaky));
    let file = Path::new(written[0]["path"].as_str().unwrap());
    assert_eq!(std::fs::metadata(file).unwrap().len(), written[0]["bytes"]);
    assert_eq!(
        std::fs::read_dir(&snapshots).unwrap().count(),
        1,
        "no partial files"
    );
    assert!(lines
        .iter()
        .any(|l| l["type"] == "snapshot-starting" && l["pause_secs"].as_f64() > Some(0.0)));
    let leak_events = lines.iter().filter(|l| l["type"] == "leak").count();
    let skipped = lines
        .iter()
        .filter(|l| l["type"] == "snapshot-skipped")
        .inspect(|l| {
            assert!(
                l["reason"].as_str().unwrap().contains("cooldown 60m"),
                "{l}"
            );
        })
        .count();
    assert_eq!(skipped, leak_events - 1);
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "fleet-summary", "{summary}");
    assert_eq!(summary["processes"], 4);
    assert_eq!(summary["leaking"], 1);
    for app in [&leaky, &clean, &late] {
        assert_eq!(
            ports_become(app.child.id(), &own_ports(app)),
            own_ports(app),
            "PID {} listens on its own port only",
            app.child.id()
        );
    }
}

#[test]
fn a_snapshot_the_target_cannot_afford_is_refused_unless_forced() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("live-unaffordable");
    let limit = MemoryLimit::new(
        &format!("leakscope-test-{}", std::process::id()),
        1_200 << 20,
    );
    let script = workspace_root().join("bench/bigheap.js");
    let mut big = limit
        .node(&format!("--max-old-space-size=2000 {}", script.display()))
        .env("MB", "120")
        .env("NODE_OPTIONS", "--inspect-port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(big.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("ready"), "{line}");
    let pid = big.id().to_string();
    let out = dir.join("big.heapsnapshot");
    let (status, _, stderr) =
        leakscope_status(&["snapshot", "--pid", &pid, "-o", out.to_str().unwrap()]);
    assert_eq!(status, 2, "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(last.contains("a snapshot now would need about"), "{stderr}");
    assert!(
        last.contains("available to it") && last.contains("--force-snapshot"),
        "{last}"
    );
    // Announced before it was refused, and nothing written.
    assert!(stderr.contains("snapshot: about"), "{stderr}");
    assert!(!out.exists() && no_partial_files(&dir));
    assert!(big.try_wait().unwrap().is_none(), "the target is untouched");
    // The same process without the limit's pressure: a small heap passes.
    let _ = big.kill();
    let _ = big.wait();
    let mut small = limit
        .node("-e \"globalThis.keep = Array.from({length: 1000}, (_, i) => ({i})); console.log('ready'); setInterval(() => {}, 1000)\"")
        .env("NODE_OPTIONS", "--inspect-port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(small.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let (status, _, stderr) = leakscope_status(&[
        "snapshot",
        "--pid",
        &small.id().to_string(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert!(out.exists());
    let _ = small.kill();
    let _ = small.wait();
}
