//! The source-map test app (corpus/sourcemaps): a TypeScript server built
//! three ways under `target/sourcemap-apps` by `corpus/sourcemaps/build.sh`
//! (tsc with `.js.map` files, an esbuild bundle with an inline map, and the
//! tsc output with its maps deleted), and where its leaks are in the sources.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `target/sourcemap-apps`, built once per test process (the build is
/// skipped when nothing changed; a lock serialises the test binaries):
/// `tsc/dist/server.js`, `bundle/server.js`, `missing-map/dist/server.js`,
/// `expected.json`.
pub fn sourcemap_apps() -> &'static Path {
    static APPS: OnceLock<PathBuf> = OnceLock::new();
    APPS.get_or_init(|| {
        super::set_up_once(
            "corpus/sourcemaps/build.sh",
            "target/sourcemap-apps",
            "the source-map test builds",
        )
    })
}

/// The entry script of one build: `tsc`, `bundle` or `missing-map`.
pub fn sourcemap_server(build: &str) -> PathBuf {
    let apps = sourcemap_apps();
    match build {
        "tsc" => apps.join("tsc/dist/server.js"),
        "bundle" => apps.join("bundle/server.js"),
        "bundle-min" => apps.join("bundle-min/server.js"),
        "missing-map" => apps.join("missing-map/dist/server.js"),
        _ => panic!("no source-map build {build:?} (tsc, bundle, bundle-min, missing-map)"),
    }
}

fn expected() -> &'static serde_json::Value {
    static EXPECTED: OnceLock<serde_json::Value> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let path = sourcemap_apps().join("expected.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        serde_json::from_str(&text).expect("expected.json is JSON")
    })
}

/// Where the `// @leak-site: NAME` marker is in the TypeScript sources:
/// (`src/audit.ts`, 1-based line).
pub fn expected_site(name: &str) -> (String, u32) {
    let site = &expected()[name];
    let source = site["source"]
        .as_str()
        .unwrap_or_else(|| panic!("no leak site {name:?} in expected.json"));
    (source.to_owned(), site["line"].as_u64().unwrap() as u32)
}

/// Where a build put that marker's line: (file relative to
/// `sourcemap_apps()`, e.g. `tsc/dist/audit.js`, 1-based line).
pub fn expected_compiled_site(name: &str, build: &str) -> (String, u32) {
    let site = &expected()[name]["compiled"][build];
    let file = site["file"]
        .as_str()
        .unwrap_or_else(|| panic!("no compiled position of {name:?} for {build:?}"));
    (file.to_owned(), site["line"].as_u64().unwrap() as u32)
}
