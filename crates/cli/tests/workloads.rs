//! The hunt beyond HTTP servers it loads itself, on real Node processes
//! (`corpus/workloads/`): a queue consumer with no port (`--no-load`,
//! launched and by `--pid`), a WebSocket server driven by the user's own
//! client (`--load-cmd`), snapshots Node wrote on a signal (`find-leaks`),
//! a leak inside a worker thread, and a process that refuses SIGUSR1.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn workload(name: &str) -> PathBuf {
    workspace_root().join("corpus/workloads").join(name)
}

/// A Node process that prints one line when it has started; killed on drop.
struct Process {
    child: Child,
}

impl Process {
    fn start(node_args: &[&str], script: &Path, cwd: &Path) -> Process {
        use std::io::BufRead;
        let mut child = Command::new("node")
            .args(node_args)
            .arg(script)
            .current_dir(cwd)
            .env("PORT", "0")
            .env("NODE_OPTIONS", "--inspect-port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node must be installed");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("a first line").unwrap();
        assert!(!first.is_empty());
        std::thread::spawn(move || for _ in lines {});
        Process { child }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `leakscope ARGS` → (exit status, JSON on stdout, stderr).
fn run_json(args: &[&str]) -> (i32, serde_json::Value, String) {
    let (status, stdout, stderr) = leakscope_status(args);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}); stderr: {stderr}"));
    (status, json, stderr)
}

fn text(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The queue consumer leaks one `scheduleRetry` closure per message, 20
/// messages every 20 ms: about 1000 a second while it runs (less across a
/// snapshot's pause).
fn assert_consumer_leak(h: &serde_json::Value) {
    let f = &h["findings"][0];
    assert!(text(&f["holder"]).contains("`retries`"), "{f:#}");
    assert!(text(&f["holder"]).contains("queue-consumer.js"), "{f:#}");
    assert_eq!(text(&f["leaked_items"]["name"]), "closure scheduleRetry");
    let per_second = f["leaked_items"]["per_second"].as_f64().unwrap();
    assert!(
        (600.0..1200.0).contains(&per_second),
        "{per_second} closures a second"
    );
    // No requests were counted: rates are per second and per hour only.
    assert!(f.get("bytes_per_request").is_none(), "{f:#}");
    assert!(f["leaked_items"].get("per_request").is_none());
    let bytes_per_second = f["bytes_per_second"].as_f64().unwrap();
    let mb_per_hour = f["mb_per_hour"].as_f64().unwrap();
    assert!((mb_per_hour - bytes_per_second * 3600.0 / 1e6).abs() < 1e-6 * mb_per_hour);
    assert!(
        (100e3..600e3).contains(&bytes_per_second),
        "{bytes_per_second} B/s"
    );
    assert_eq!(text(&f["thread"]), "main");
    assert_eq!(text(&h["load"]), "none");
    assert!(h.get("requests_per_second").is_none());
    for round in h["rounds"].as_array().unwrap() {
        assert_eq!(round["requests"], 0);
        assert!(round["seconds"].as_f64().unwrap() >= 3.0, "{round:#}");
    }
    assert!(f["per_round"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["objects"].as_u64().unwrap() > 1000));
    assert!(text(&f["allocation"]["stack"][0]).contains("queue-consumer.js:"));
}

/// `hunt --json --no-load` with 4 s rounds, on `target` (`--pid P` or
/// `-- node app.js`).
fn hunt_without_load(target: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec![
        "hunt",
        "--json",
        "--no-load",
        "--round-time",
        "4s",
        "--budget",
        "60s",
    ];
    args.extend_from_slice(target);
    run_json(&args)
}

#[test]
fn no_load_names_a_queue_consumers_leak_per_second() {
    if skip_slow() {
        return;
    }
    let script = workload("queue-consumer.js");
    let (status, h, stderr) = hunt_without_load(&["--", "node", script.to_str().unwrap()]);
    assert_eq!(status, 1, "{stderr}\n{h:#}");
    assert_consumer_leak(&h);
    assert_eq!(text(&h["confidence"]), "high");
}

#[test]
fn no_load_stays_quiet_on_a_clean_consumer() {
    if skip_slow() {
        return;
    }
    let script = workload("clean-queue-consumer.js");
    let (status, h, stderr) = hunt_without_load(&["--", "node", script.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}\n{h:#}");
    assert_eq!(h["findings"].as_array().unwrap().len(), 0);
    assert_eq!(h["rounds"].as_array().unwrap().len(), 3);
    assert!(text(&h["verdict"]).starts_with("no leak"));
}

#[test]
fn no_load_by_pid_adds_no_traffic_and_leaves_the_process_as_it_was() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("workloads-pid");
    let mut consumer = Process::start(&[], &workload("queue-consumer.js"), &dir);
    let pid = consumer.child.id();
    let before = leakscope_inspector::listening_ports(pid);
    assert!(
        before.is_empty(),
        "a consumer listens on nothing: {before:?}"
    );
    let (status, h, stderr) = hunt_without_load(&["--pid", &consumer.pid()]);
    assert_eq!(status, 1, "{stderr}\n{h:#}");
    assert_consumer_leak(&h);
    assert!(consumer.alive());
    // The inspector SIGUSR1 opened is closed again, and the GC observer gone.
    let start = Instant::now();
    while !leakscope_inspector::listening_ports(pid).is_empty()
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(leakscope_inspector::listening_ports(pid), before);
    let left = leakscope_json(&[
        "eval",
        "--pid",
        &consumer.pid(),
        "--json",
        "typeof globalThis.__leakscope_gc",
    ]);
    assert_eq!(left["result"], "undefined");
}

#[test]
fn load_cmd_drives_a_websocket_server_with_the_users_client() {
    if skip_slow() {
        return;
    }
    let modules = corpus_node_modules();
    let client = workload("ws-client.js");
    let command = format!(
        "NODE_PATH={} node {} {{url}}",
        modules.display(),
        client.display()
    );
    for (server, leaks) in [("ws-server.js", true), ("clean-ws-server.js", false)] {
        let mut cmd = leakscope_command();
        cmd.env("NODE_PATH", modules).args([
            "hunt",
            "--json",
            "--load-cmd",
            &command,
            "--budget",
            "60s",
            "--",
            "node",
            workload(server).to_str().unwrap(),
        ]);
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let h: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{server}: no JSON ({e}): {stderr}"));
        assert_eq!(text(&h["load"]), "command", "{server}");
        assert_eq!(text(&h["load_command"]), command);
        let url = text(&h["url"]);
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with('/'),
            "{url}"
        );
        for round in h["rounds"].as_array().unwrap() {
            let run = &round["load_command"];
            assert_eq!(text(&run["status"]), "exit status 0", "{round:#}");
            assert_eq!(run["failed"], false);
            assert_eq!(text(&round["ended_by"]), "command exited");
        }
        if leaks {
            assert_eq!(out.status.code(), Some(1), "{server}: {stderr}\n{h:#}");
            let f = &h["findings"][0];
            assert!(text(&f["holder"]).contains("`subscriptions`"), "{f:#}");
            assert_eq!(text(&f["leaked_items"]["name"]), "Subscription");
            // ws-client.js sends 10 × 200 subscriptions a run.
            for r in f["per_round"].as_array().unwrap() {
                let objects = r["objects"].as_u64().unwrap();
                assert!(objects >= 2000, "{r:#}");
            }
            assert_eq!(
                f["leaked_items"]["count"].as_u64().unwrap() % 2000,
                0,
                "{f:#}"
            );
            assert!(f["bytes_per_second"].as_f64().unwrap() > 0.0);
        } else {
            assert_eq!(out.status.code(), Some(0), "{server}: {stderr}\n{h:#}");
            assert!(h["findings"].as_array().unwrap().is_empty());
        }
    }
}

#[test]
fn a_failing_load_cmd_is_reported_with_its_status_and_last_lines() {
    if skip_slow() {
        return;
    }
    let (status, stdout, stderr) = leakscope_status(&[
        "hunt",
        "--load-cmd",
        "echo connecting; echo 'connection refused' >&2; exit 3",
        "--",
        "node",
        workload("clean-queue-consumer.js").to_str().unwrap(),
    ]);
    assert_eq!(status, 2, "{stdout}");
    let last = stderr.lines().last().unwrap();
    assert!(
        last.contains("the load command failed in the warm-up (exit status 3)"),
        "{stderr}"
    );
    assert!(last.contains("connecting / connection refused"), "{last}");
}

/// Three snapshots Node writes itself on SIGUSR2, `gap` apart.
fn signal_snapshots(dir: &Path, script: &Path, gap: Duration) -> Vec<PathBuf> {
    let process = Process::start(&["--heapsnapshot-signal=SIGUSR2"], script, dir);
    std::thread::sleep(Duration::from_secs(1));
    let mut files = Vec::new();
    for n in 1..=3 {
        let _ = Command::new("kill")
            .args(["-USR2", &process.pid()])
            .status();
        let start = Instant::now();
        // Written, and no longer growing.
        loop {
            let found = written_snapshots(dir);
            if found.len() == n {
                let size = std::fs::metadata(&found[n - 1]).map_or(0, |m| m.len());
                std::thread::sleep(Duration::from_millis(300));
                if size > 0 && std::fs::metadata(&found[n - 1]).unwrap().len() == size {
                    files = found;
                    break;
                }
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no snapshot {n}");
            std::thread::sleep(Duration::from_millis(100));
        }
        if n < 3 {
            std::thread::sleep(gap);
        }
    }
    files
}

fn written_snapshots(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("Heap.") && name.ends_with(".heapsnapshot")
        })
        .collect();
    found.sort();
    found
}

fn paths(files: &[PathBuf]) -> Vec<&str> {
    files.iter().map(|p| p.to_str().unwrap()).collect()
}

#[test]
fn find_leaks_judges_snapshots_node_wrote_on_a_signal() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("find-leaks-signal");
    let files = signal_snapshots(&dir, &workload("queue-consumer.js"), Duration::from_secs(3));
    assert_eq!(files.len(), 3);
    let report = dir.join("leaks.html");
    let mut args = vec!["find-leaks", "--json", "--report", report.to_str().unwrap()];
    args.extend(paths(&files));
    let (status, j, stderr) = run_json(&args);
    assert_eq!(status, 1, "{stderr}\n{j:#}");
    let f = &j["findings"][0];
    assert!(text(&f["holder"]).contains("`retries`"), "{f:#}");
    assert_eq!(text(&f["leaked_items"]["name"]), "closure scheduleRetry");
    // Times from the files: about 3 s apart, so about 1000 closures a second.
    let intervals = j["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 2);
    for i in intervals {
        let s = i["seconds"].as_f64().unwrap();
        assert!((2.5..6.0).contains(&s), "{i:#}");
    }
    let per_second = f["leaked_items"]["per_second"].as_f64().unwrap();
    assert!((500.0..1300.0).contains(&per_second), "{per_second}");
    assert_eq!(text(&j["thread"]), "main");
    assert_eq!(j["snapshots"].as_array().unwrap().len(), 3);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("retries") && html.contains("id=verdict"));

    // The same, compressed as production snapshots travel.
    let gz: Vec<PathBuf> = files
        .iter()
        .map(|p| {
            let status = Command::new("gzip").arg("-k").arg(p).status().unwrap();
            assert!(status.success());
            p.with_extension("heapsnapshot.gz")
        })
        .collect();
    let mut args = vec!["find-leaks", "--json", "--no-cache"];
    args.extend(paths(&gz));
    let (status, jz, _) = run_json(&args);
    assert_eq!(status, 1);
    assert_eq!(jz["findings"][0]["holder"], f["holder"]);
    assert_eq!(jz["findings"][0]["bytes"], f["bytes"]);

    // Not oldest first: refused, naming the pair.
    let (status, _, stderr) = leakscope_status(&[
        "find-leaks",
        paths(&files)[0],
        paths(&files)[2],
        paths(&files)[1],
    ]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("was taken before") && stderr.contains(".002."),
        "{stderr}"
    );
    // The same files renamed (no name to go by): the ids tell the order.
    let renamed: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .zip(&files)
        .map(|(n, f)| {
            let to = dir.join(format!("{n}.heapsnapshot"));
            std::fs::copy(f, &to).unwrap();
            to
        })
        .collect();
    let (status, _, stderr) = leakscope_status(&[
        "find-leaks",
        paths(&renamed)[2],
        paths(&renamed)[1],
        paths(&renamed)[0],
    ]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("c.heapsnapshot") && stderr.contains("highest object id fell"),
        "{stderr}"
    );

    // A snapshot of another run of the same app: not one process.
    let other_dir = test_dir("find-leaks-other");
    let other = signal_snapshots(
        &other_dir,
        &workload("queue-consumer.js"),
        Duration::from_secs(1),
    );
    let mixed = dir.join("other.heapsnapshot");
    std::fs::copy(&other[1], &mixed).unwrap();
    let (status, _, stderr) = leakscope_status(&[
        "find-leaks",
        paths(&renamed)[0],
        mixed.to_str().unwrap(),
        paths(&renamed)[2],
    ]);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("are not snapshots of one process"),
        "{stderr}"
    );
    // …and by Node's file names, which carry the PID.
    let (status, _, stderr) = leakscope_status(&[
        "find-leaks",
        paths(&files)[0],
        other[1].to_str().unwrap(),
        paths(&files)[2],
    ]);
    assert_eq!(status, 2);
    assert!(stderr.contains("their names say PID"), "{stderr}");
}

#[test]
fn find_leaks_stays_quiet_on_a_clean_process() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("find-leaks-clean");
    let files = signal_snapshots(
        &dir,
        &workload("clean-queue-consumer.js"),
        Duration::from_secs(3),
    );
    let mut args = vec!["find-leaks", "--json"];
    args.extend(paths(&files));
    let (status, j, stderr) = run_json(&args);
    assert_eq!(status, 0, "{stderr}\n{j:#}");
    assert!(j["findings"].as_array().unwrap().is_empty());
    assert!(text(&j["verdict"]).starts_with("no leak"));
    // Fewer than three snapshots: no verdict.
    let (status, _, stderr) = leakscope_status(&["find-leaks", paths(&files)[0], paths(&files)[1]]);
    assert_eq!(status, 2);
    assert!(stderr.contains("at least three snapshots"), "{stderr}");
}

#[test]
fn a_leak_inside_a_worker_thread_is_found_in_the_workers_heap() {
    if skip_slow() {
        return;
    }
    for (app, leaks) in [("worker-jobs.js", true), ("clean-worker-jobs.js", false)] {
        let (status, h, stderr) = run_json(&[
            "hunt",
            "--json",
            "--url",
            "/jobs/{seq}",
            "--",
            "node",
            workload(app).to_str().unwrap(),
        ]);
        let threads = h["threads"].as_array().unwrap();
        assert_eq!(threads.len(), 1, "{app}: {h:#}");
        assert_eq!(
            text(&threads[0]["thread"]),
            "worker 1 (worker-jobs-worker.js)"
        );
        assert_eq!(threads[0]["judged"], true);
        let heaps = threads[0]["heap_used"].as_array().unwrap();
        assert_eq!(heaps.len(), h["rounds"].as_array().unwrap().len() + 1);
        if !leaks {
            assert_eq!(status, 0, "{app}: {stderr}\n{h:#}");
            assert!(h["findings"].as_array().unwrap().is_empty());
            continue;
        }
        assert_eq!(status, 1, "{app}: {stderr}\n{h:#}");
        let f = &h["findings"][0];
        assert_eq!(text(&f["thread"]), "worker 1 (worker-jobs-worker.js)");
        assert!(text(&f["holder"]).contains("`finishedJobs`"), "{f:#}");
        assert!(text(&f["holder"]).contains("worker-jobs-worker.js"));
        assert_eq!(text(&f["leaked_items"]["name"]), "Job");
        let per_request = f["leaked_items"]["per_request"].as_f64().unwrap();
        assert!((per_request - 1.0).abs() < 0.05, "{per_request}");
        assert!(text(&f["allocation"]["stack"][0]).contains("worker-jobs-worker.js:"));
        // The main thread holds none of it.
        assert!(h["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| text(&f["thread"]) != "main"));
    }
}

#[test]
fn a_process_that_refuses_sigusr1_gets_one_line_and_is_not_signalled() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("workloads-refuses");
    let mut consumer = Process::start(
        &["--experimental-permission", "--allow-fs-read=*"],
        &workload("clean-queue-consumer.js"),
        &dir,
    );
    let (status, stdout, stderr) =
        leakscope_status(&["hunt", "--no-load", "--pid", &consumer.pid()]);
    assert_eq!(status, 2, "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("permission model"), "{stderr}");
    assert!(stderr.contains("--heapsnapshot-signal") && stderr.contains("find-leaks"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(consumer.alive(), "SIGUSR1 was sent to it");
}
