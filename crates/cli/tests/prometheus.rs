//! Fleet mode end to end with a real Prometheus server (`apt-get install
//! prometheus`): `watch` over two real Node servers, one leaking, scraped
//! with the bearer token and `honor_labels`, the shipped alert rules
//! loaded; the query API shows both processes with their labels, and the
//! leak alert fires for the leaking one only.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_prometheus(dir: &Path, metrics_port: u16, token_file: &Path) -> (Killed, u16) {
    let rules = workspace_root().join("deploy/prometheus/leakscope.rules.yml");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: leakscope\n    honor_labels: true\n    \
             authorization:\n      type: Bearer\n      credentials_file: {}\n    \
             static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n",
            rules.display(),
            token_file.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = match Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("prometheus is not installed: `apt-get install prometheus` (CI installs it)")
        }
        Err(e) => panic!("cannot run prometheus: {e}"),
    };
    (Killed(child), port)
}

/// The `data.result` of a Prometheus API answer.
fn api_result(port: u16, path: &str) -> Vec<serde_json::Value> {
    let (status, body) = http_get(port, path, None);
    if !status.contains(" 200") {
        return Vec::new();
    }
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let data = &answer["data"];
    data.get("result")
        .or_else(|| data.get("alerts"))
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default()
}

#[test]
fn prometheus_scrapes_the_fleet_and_fires_the_leak_alert_for_the_leaking_process_only() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("prometheus-fleet");
    let _ = std::fs::remove_dir_all(dir.join("data"));
    let token_file = dir.join("metrics-token");
    let _ = std::fs::remove_file(&token_file);
    let leaky = App::start(&corpus_app("closure-array.js"), true);
    let clean = App::start(&corpus_app("clean-garbage.js"), true);
    let metrics_port = free_port();
    let _watch = Killed(
        Command::new(env!("CARGO_BIN_EXE_leakscope"))
            .args(["watch", "--pid", &leaky.pid(), "--pid", &clean.pid()])
            .args(["--prometheus", &format!("127.0.0.1:{metrics_port}")])
            .args(["--metrics-token-file", token_file.to_str().unwrap()])
            .args(["--instance", "ci-host", "--duration", "120s"])
            .env("CI", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !token_file.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let token = std::fs::read_to_string(&token_file).unwrap();
    let token = token.trim();
    let (_prometheus, prometheus_port) = start_prometheus(&dir, metrics_port, &token_file);
    let load = Load::start(leaky.port, 2);
    let clean_load = Load::start(clean.port, 1);

    // The alert goes to firing for the leaking process.
    let deadline = Instant::now() + Duration::from_secs(75);
    let firing = loop {
        let firing: Vec<_> = api_result(prometheus_port, "/api/v1/alerts")
            .into_iter()
            .filter(|a| a["labels"]["alertname"] == "NodeLeakSuspected" && a["state"] == "firing")
            .collect();
        if !firing.is_empty() || Instant::now() > deadline {
            break firing;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    // What leakscope serves passes promtool's checks.
    let (status, exposed) = http_get(metrics_port, "/metrics", Some(token));
    load.stop();
    clean_load.stop();
    let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
    assert_eq!(firing.len(), 1, "{firing:?}\nprometheus log:\n{log}");
    let labels = &firing[0]["labels"];
    assert_eq!(labels["pid"], leaky.pid());
    assert_eq!(labels["command"], "closure-array.js");
    assert_eq!(labels["instance"], "ci-host", "honor_labels keeps ours");
    assert_eq!(labels["severity"], "warning");

    // Both processes, with their labels; only one suspected.
    let suspected = api_result(
        prometheus_port,
        "/api/v1/query?query=leakscope_leak_suspected",
    );
    let mut seen: Vec<(String, String, String, String)> = suspected
        .iter()
        .map(|s| {
            let m = &s["metric"];
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&m["pid"]),
                text(&m["command"]),
                text(&m["instance"]),
                text(&s["value"][1]),
            )
        })
        .collect();
    seen.sort();
    let mut want = vec![
        (
            leaky.pid(),
            "closure-array.js".to_owned(),
            "ci-host".to_owned(),
            "1".to_owned(),
        ),
        (
            clean.pid(),
            "clean-garbage.js".to_owned(),
            "ci-host".to_owned(),
            "0".to_owned(),
        ),
    ];
    want.sort();
    assert_eq!(seen, want);
    let heap = api_result(
        prometheus_port,
        &format!(
            "/api/v1/query?query=nodejs_heap_size_used_bytes%7Bpid%3D%22{}%22%7D",
            clean.pid()
        ),
    );
    assert_eq!(heap.len(), 1, "{heap:?}");
    let used: f64 = heap[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(used > 1e6, "{used}");

    assert!(status.contains(" 200"), "{status}");
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus)");
    std::io::Write::write_all(check.stdin.as_mut().unwrap(), exposed.as_bytes()).unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{exposed}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
