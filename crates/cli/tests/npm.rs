//! The npm packages end to end: `npm/pack.sh` packs this build's binary
//! and the launcher, the tarballs install into an empty project with no
//! registry, and there `npx --no-install leakscope` forwards arguments,
//! exit statuses and Ctrl-C, says which package is missing, and the
//! JavaScript API passes its node:test suite (`npm/test`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;

/// The tarballs and an empty project with both installed, made once.
struct Installed {
    tarballs: PathBuf,
    project: PathBuf,
}

fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = test_dir("npm");
        let tarballs = dir.join("tarballs");
        let packed = Command::new("bash")
            .arg(workspace_root().join("npm/pack.sh"))
            .arg(&tarballs)
            .env("LEAKSCOPE_BINARY", env!("CARGO_BIN_EXE_leakscope"))
            .output()
            .unwrap();
        assert!(
            packed.status.success(),
            "{}",
            String::from_utf8_lossy(&packed.stderr)
        );
        let project = dir.join("project");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(
            project.join("package.json"),
            r#"{"name":"app","version":"1.0.0","private":true}"#,
        )
        .unwrap();
        let (main, platform) = tarball_names(&tarballs);
        npm_install(&project, &[&main, &platform]);
        Installed { tarballs, project }
    })
}

fn tarball_names(dir: &Path) -> (PathBuf, PathBuf) {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let platform = names
        .iter()
        .find(|p| p.to_string_lossy().contains("leakscope-linux-"))
        .expect("a platform tarball")
        .clone();
    let main = names
        .iter()
        .find(|p| **p != platform)
        .expect("the main tarball")
        .clone();
    (main, platform)
}

/// `npm install` of local tarballs, offline: the other platforms' optional
/// packages cannot be fetched and are skipped, as npm does on any machine.
fn npm_install(project: &Path, tarballs: &[&Path]) {
    let out = Command::new("npm")
        .args([
            "install",
            "--offline",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
        ])
        .args(tarballs)
        .current_dir(project)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn npx(project: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("npx")
        .args(["--no-install", "leakscope"])
        .args(args)
        .envs(env.iter().copied())
        .env("CI", "1")
        .env(
            "LEAKSCOPE_CACHE_DIR",
            workspace_root().join("target/test-cache"),
        )
        .current_dir(project)
        .output()
        .unwrap()
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn strings(paths: Vec<PathBuf>) -> Vec<String> {
    paths
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// A tarball's package.json.
fn manifest(tarball: &Path) -> serde_json::Value {
    let out = Command::new("tar")
        .arg("-xzOf")
        .arg(tarball)
        .arg("package/package.json")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_tarballs_install_offline_and_npx_runs_the_binary() {
    if skip_slow() {
        return;
    }
    let Installed { tarballs, project } = installed();
    let (main, platform) = tarball_names(tarballs);
    // The main package: a launcher, the API, no install script, and one
    // optional package per platform at its own version.
    let m = manifest(&main);
    assert_eq!(m["name"], "leakscope");
    assert_eq!(m["bin"]["leakscope"], "bin/leakscope.js");
    assert!(m.get("scripts").is_none(), "{m}");
    let optional = m["optionalDependencies"].as_object().unwrap();
    for key in [
        "linux-x64-gnu",
        "linux-x64-musl",
        "linux-arm64-gnu",
        "darwin-x64",
        "darwin-arm64",
        "win32-x64",
    ] {
        assert_eq!(
            optional[&format!("@leakscope/{key}")],
            m["version"],
            "{key}"
        );
    }
    let p = manifest(&platform);
    assert_eq!(p["name"], "@leakscope/linux-x64-gnu");
    assert_eq!(p["os"], serde_json::json!(["linux"]));
    assert_eq!(p["cpu"], serde_json::json!(["x64"]));
    assert_eq!(p["libc"], serde_json::json!(["glibc"]));
    assert_eq!(p["version"], m["version"]);

    // Arguments and exit statuses pass through: 0 clean, 1 leak, 2 bad input.
    let version = npx(project, &["--version"], &[]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("leakscope {}", m["version"].as_str().unwrap())
    );
    let dir = test_dir("npm-snapshots");
    let leaking = strings(keeper_snapshots(&dir.join("leak"), true));
    let clean = strings(keeper_snapshots(&dir.join("clean"), false));
    let args = |files: &[String]| -> Vec<String> {
        ["find-leaks", "--json", "--calls", "2000"]
            .iter()
            .map(std::string::ToString::to_string)
            .chain(files.iter().cloned())
            .collect()
    };
    let run = |files: &[String]| {
        let args = args(files);
        npx(
            project,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            &[],
        )
    };
    let found = run(&leaking);
    assert_eq!(
        found.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(
        report["findings"][0]["holder"],
        "Array `kept` (module scope of [eval])"
    );
    let nothing = run(&clean);
    assert_eq!(
        nothing.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&nothing.stderr)
    );
    let bad = npx(project, &["find-leaks", &leaking[0]], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(stderr_lines(&bad).len(), 1, "{:?}", stderr_lines(&bad));

    // LEAKSCOPE_BINARY is honoured, and a wrong one is one line, exit 2.
    let own = npx(
        project,
        &["--version"],
        &[("LEAKSCOPE_BINARY", env!("CARGO_BIN_EXE_leakscope"))],
    );
    assert!(own.status.success());
    let wrong = npx(
        project,
        &["--version"],
        &[("LEAKSCOPE_BINARY", "/nonexistent/leakscope")],
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert_eq!(
        stderr_lines(&wrong),
        ["leakscope: LEAKSCOPE_BINARY is /nonexistent/leakscope, which does not exist"]
    );
}

#[test]
fn a_missing_or_unsupported_platform_says_what_to_install() {
    if skip_slow() {
        return;
    }
    let Installed { tarballs, .. } = installed();
    let (main, _) = tarball_names(tarballs);
    // Only the main package, as `npm install --omit=optional` leaves it.
    let project = test_dir("npm-no-platform");
    std::fs::write(
        project.join("package.json"),
        r#"{"name":"bare","version":"1.0.0","private":true}"#,
    )
    .unwrap();
    npm_install(&project, &[&main]);
    let out = npx(&project, &["--version"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("leakscope: the package @leakscope/linux-x64-gnu is not installed: run `npm install @leakscope/linux-x64-gnu@"), "{lines:?}");
    // A platform nobody builds for.
    let launcher = project.join("node_modules/leakscope/bin/leakscope.js");
    let out = Command::new("node")
        .arg("-e")
        .arg(format!(
            "Object.defineProperty(process, 'platform', {{ value: 'aix' }}); process.argv = [process.argv[0], 'leakscope', '--version']; require({launcher:?})"
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("leakscope: no leakscope binary is published for aix-x64"),
        "{lines:?}"
    );
}

#[test]
fn ctrl_c_reaches_the_binary_which_stops_its_app_and_exits_130() {
    if skip_slow() {
        return;
    }
    let Installed { project, .. } = installed();
    let marker = format!("leakscope-npm-ctrl-c-{}", std::process::id());
    let app = format!("setInterval(() => {{}}, 1000); // {marker}");
    let mut launcher = Command::new("node")
        .arg(project.join("node_modules/.bin/leakscope"))
        .args([
            "hunt",
            "--no-load",
            "--round-time",
            "60s",
            "--budget",
            "10m",
            "--",
            "node",
            "-e",
            &app,
        ])
        .env("CI", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the app runs, then Ctrl-C the launcher alone.
    let running = || {
        Command::new("pgrep")
            .args(["-f", &marker])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !running() {
        assert!(Instant::now() < deadline, "the app never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    Command::new("kill")
        .args(["-INT", &launcher.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = launcher.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the launcher did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(130));
    // The binary stopped the app it launched.
    let deadline = Instant::now() + Duration::from_secs(10);
    while running() {
        assert!(Instant::now() < deadline, "the app outlived leakscope");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_javascript_api_passes_its_node_test_suite() {
    if skip_slow() {
        return;
    }
    let Installed { project, .. } = installed();
    for test in ["api.test.js", "esm.test.mjs"] {
        std::fs::copy(
            workspace_root().join("npm/test").join(test),
            project.join(test),
        )
        .unwrap();
    }
    let out = Command::new("node")
        .args(["--test", "api.test.js", "esm.test.mjs"])
        .env("CI", "1")
        .current_dir(project)
        .output()
        .unwrap();
    let tap = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{tap}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        tap.contains("# pass 8") && tap.contains("# fail 0"),
        "{tap}"
    );
}
