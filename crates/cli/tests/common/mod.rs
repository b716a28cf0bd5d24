//! Helpers shared by the integration tests: real `node` processes write real
//! snapshots into a per-test directory under `target/`.
#![allow(dead_code)]

pub mod sourcemaps;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A fresh directory for one test's files.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target/test-snapshots").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn node(args: &[&str], cwd: &Path) -> Output {
    node_with_env(args, &[], cwd)
}

/// Runs `node` and asserts it succeeded.
pub fn node_with_env(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    let out = Command::new("node")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .expect("node must be installed to run the tests");
    assert!(
        out.status.success(),
        "node {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A snapshot of a bare Node process.
pub fn small_app_snapshot(dir: &Path) -> PathBuf {
    let out = dir.join("small.heapsnapshot");
    node(
        &["-e", &format!("const keep = Array.from({{length: 1000}}, (_, i) => ({{i, s: 'item' + i}})); require('v8').writeHeapSnapshot({out:?})")],
        dir,
    );
    out
}

/// A snapshot of the bundled leaky server after `requests` requests.
pub fn leaky_server_snapshot(dir: &Path, requests: u32) -> PathBuf {
    let out = dir.join("leaky.heapsnapshot");
    let script = workspace_root().join("examples/leaky-server.js");
    let requests = requests.to_string();
    node_with_env(
        &["--expose-gc", script.to_str().unwrap()],
        &[
            ("LEAKSCOPE_SELF_LOAD", &requests),
            ("LEAKSCOPE_SNAPSHOT", out.to_str().unwrap()),
            ("PORT", "0"),
        ],
        dir,
    );
    out
}

/// Two snapshots of the rich-heap fixture (same process, some objects freed).
pub fn rich_heap_snapshots(dir: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (
        dir.join("rich-1.heapsnapshot"),
        dir.join("rich-2.heapsnapshot"),
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rich-heap.js");
    node(
        &[
            "--expose-gc",
            script.to_str().unwrap(),
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
        dir,
    );
    (a, b)
}

pub fn leakscope(args: &[&str]) -> Output {
    leakscope_command()
        .args(args)
        .output()
        .expect("run leakscope")
}

/// `leakscope` as the tests run it: not on a terminal, its analysis cache
/// under `target/` rather than the user's.
pub fn leakscope_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leakscope"));
    command.env("CI", "1").env(
        "LEAKSCOPE_CACHE_DIR",
        workspace_root().join("target/test-cache"),
    );
    command
}

pub fn leakscope_json(args: &[&str]) -> serde_json::Value {
    let out = leakscope(args);
    assert!(
        out.status.success(),
        "leakscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("leakscope printed JSON")
}

/// Runs a repository `setup.sh DIR` once per test run (several test
/// binaries may ask at once: a lock file serialises them) and returns DIR.
fn set_up_once(script: &str, dir: &str, what: &str) -> PathBuf {
    let root = workspace_root();
    std::fs::create_dir_all(root.join("target")).unwrap();
    let lock = std::fs::File::create(root.join(format!("{dir}.lock"))).unwrap();
    lock.lock().unwrap();
    let out = Command::new("bash")
        .arg(root.join(script))
        .arg(root.join(dir))
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "installing {what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    root.join(dir)
}

/// Path to the DevTools oracle's dump.mjs, installed once per test run
/// (npm install cached under target/devtools-oracle).
pub fn oracle() -> &'static Path {
    static ORACLE: OnceLock<PathBuf> = OnceLock::new();
    ORACLE.get_or_init(|| {
        set_up_once(
            "tools/devtools-oracle/setup.sh",
            "target/devtools-oracle",
            "the DevTools oracle",
        )
        .join("dump.mjs")
    })
}

/// Path to `client.mjs`, the official MCP TypeScript SDK's client
/// (`tools/mcp-client`), installed once per test run.
pub fn mcp_client() -> &'static Path {
    static CLIENT: OnceLock<PathBuf> = OnceLock::new();
    CLIENT.get_or_init(|| {
        set_up_once(
            "tools/mcp-client/setup.sh",
            "target/mcp-client",
            "the MCP client SDK",
        )
        .join("client.mjs")
    })
}

/// `target/corpus/node_modules`: the corpus's pinned npm packages,
/// installed once per test run.
pub fn corpus_node_modules() -> &'static Path {
    static MODULES: OnceLock<PathBuf> = OnceLock::new();
    MODULES.get_or_init(|| {
        set_up_once(
            "corpus/setup.sh",
            "target/corpus",
            "the corpus's npm packages",
        )
        .join("node_modules")
    })
}

/// `leakscope watch ARGS -- node APP` with the app's stdout lines on our
/// side: returns the child, the rest of its stderr, and the app's port
/// (every stderr line before the port line is passed to `check`).
pub fn launched_watch(
    args: &[&str],
    app: &Path,
    check: impl Fn(&str),
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
    u16,
) {
    use std::io::BufRead;
    let mut watch = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .arg("watch")
        .args(args)
        .args(["--", "node"])
        .arg(app)
        .env("PORT", "0")
        .env("CI", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(watch.stderr.take().unwrap()).lines();
    let port = loop {
        let line = stderr.next().expect("the app's listening line").unwrap();
        check(&line);
        if let Some(port) = line.strip_prefix("listening on http://127.0.0.1:") {
            break port.trim().parse().unwrap();
        }
    };
    (watch, stderr, port)
}

pub fn oracle_json(args: &[&str]) -> serde_json::Value {
    let dump = oracle();
    let mut all = vec![dump.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = node(&all, &workspace_root());
    serde_json::from_slice(&out.stdout).expect("oracle printed JSON")
}

/// A `.heaptimeline` recorded by a Node process through its own inspector.
pub fn timeline_snapshot(dir: &Path) -> PathBuf {
    let out = dir.join("allocations.heaptimeline");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/timeline.js");
    node(&[script.to_str().unwrap(), out.to_str().unwrap()], dir);
    out
}

/// A Node server from `corpus/` or `examples/`, killed on drop.
pub struct App {
    pub child: std::process::Child,
    pub port: u16,
}

impl App {
    /// Starts `script` with PORT=0 and waits for its `listening on` line.
    /// `inspect_port_0` makes SIGUSR1 open the inspector on a random port,
    /// so tests running side by side never fight over 9229.
    pub fn start(script: &Path, inspect_port_0: bool) -> App {
        App::start_with_args(script, inspect_port_0, &[])
    }

    /// [`App::start`] with arguments after the script (which a test can
    /// find the process by).
    pub fn start_with_args(script: &Path, inspect_port_0: bool, args: &[&str]) -> App {
        use std::io::BufRead;
        let mut command = Command::new("node");
        command
            .arg(script)
            .args(args)
            .env("PORT", "0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if inspect_port_0 {
            command.env("NODE_OPTIONS", "--inspect-port=0");
        }
        let mut child = command.spawn().expect("node must be installed");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let line = lines.next().expect("a listening line").unwrap();
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        // Keep draining stdout so the app never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        App { child, port }
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One of the repository's own apps with known memory behaviour.
pub fn corpus_app(name: &str) -> PathBuf {
    workspace_root().join("corpus/own").join(name)
}

/// HTTP/1.1 keep-alive load on `connections` connections until stopped:
/// the test's own small `ab -k`. Each request has a unique URL.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl Load {
    pub fn start(port: u16, connections: usize) -> Load {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = (0..connections)
            .map(|c| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut done = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port))
                        else {
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            continue;
                        };
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            if !one_request(&mut stream, &format!("/r{c}-{done}")) {
                                break;
                            }
                            done += 1;
                        }
                    }
                    done
                })
            })
            .collect();
        Load { stop, threads }
    }

    /// Stops and returns the number of requests served.
    pub fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.threads.into_iter().map(|t| t.join().unwrap()).sum()
    }
}

/// Sends one GET and reads the whole response (Content-Length or chunked).
fn one_request(stream: &mut std::net::TcpStream, path: &str) -> bool {
    use std::io::{Read, Write};
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return false;
        };
        if n == 0 {
            return false;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let body = &buf[end + 4..];
        if let Some(len) = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            if body.len() >= len {
                return true;
            }
        } else if body.ends_with(b"0\r\n\r\n") {
            return true;
        }
    }
}

/// Runs leakscope and returns (exit code, stdout, stderr).
pub fn leakscope_status(args: &[&str]) -> (i32, String, String) {
    let out = leakscope(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Heap used after a full GC, through `leakscope gc`.
pub fn heap_after_gc(pid: &str) -> u64 {
    let v = leakscope_json(&["gc", "--pid", pid, "--json"]);
    v["used_after"].as_u64().unwrap()
}

/// The headless Chromium on this machine (`.ci/run` installs one).
pub fn chromium() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium is needed for this test (apt-get install chromium)")
}

/// GET over HTTP/1.0 (no chunked answers), with `token` as bearer token if
/// given; returns (status line, body), both empty when nothing listens.
pub fn http_get(port: u16, path: &str, token: Option<&str>) -> (String, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (String::new(), String::new());
    };
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

/// A memory cgroup holding one process, removed on drop (v1 or v2).
pub struct MemoryLimit {
    dir: std::path::PathBuf,
}

impl MemoryLimit {
    pub fn new(name: &str, bytes: u64) -> MemoryLimit {
        let v1 = std::path::Path::new("/sys/fs/cgroup/memory");
        let (dir, file) = if v1.is_dir() {
            (v1.join(name), "memory.limit_in_bytes")
        } else {
            (
                std::path::Path::new("/sys/fs/cgroup").join(name),
                "memory.max",
            )
        };
        let _ = std::fs::create_dir(&dir);
        std::fs::write(dir.join(file), bytes.to_string())
            .expect("the tests run as root with a writable memory cgroup");
        MemoryLimit { dir }
    }

    /// `sh -c` that moves itself into the cgroup, then runs `node args`.
    pub fn node(&self, args: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!(
            "echo $$ > {}/cgroup.procs && exec node {args}",
            self.dir.display()
        ));
        command
    }
}

impl Drop for MemoryLimit {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Whether to skip a slow end-to-end test (whole hunts of many apps, the
/// corpus, browsers, npm installs, live targets): they run only when
/// `LEAKSCOPE_SLOW_TESTS` is set, as `.ci/run` sets it, so the README's
/// test command finishes in minutes and CI still runs everything.
pub fn skip_slow() -> bool {
    std::env::var_os("LEAKSCOPE_SLOW_TESTS").is_none_or(|v| v.is_empty() || v == "0")
}

/// Three snapshots of a Node process whose `work` keeps (`leak`) or drops
/// the 2 000 entries of each round in the module array `kept`, written by
/// Node as `dir/snap-{0,1,2}.heapsnapshot`, oldest first.
pub fn keeper_snapshots(dir: &Path, leak: bool) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let script = format!(
        "const v8 = require('v8');
         class Entry {{ constructor(i) {{ this.i = i; this.text = 'entry ' + i; }} }}
         const kept = [];
         function work(i) {{ const e = new Entry(i); if ({leak}) kept.push(e); return e.text.length; }}
         for (let round = 0; round < 3; round++) {{
           for (let i = 0; i < 2000; i++) work(round * 2000 + i);
           v8.writeHeapSnapshot(require('path').join({dir:?}, 'snap-' + round + '.heapsnapshot'));
         }}"
    );
    node(&["-e", &script], dir);
    (0..3)
        .map(|r| dir.join(format!("snap-{r}.heapsnapshot")))
        .collect()
}

/// Every error the JSON Schema that `leakscope COMMAND --json-schema`
/// prints finds in `doc`, one per line (empty when it is valid).
pub fn schema_violations(command: &str, doc: &serde_json::Value) -> String {
    let schema = leakscope_json(&[command, "--json-schema"]);
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect::<Vec<_>>()
        .join("\n")
}
