//! A fast subset of the leak corpus (`bench/corpus.sh` runs all of it):
//! leaks inside real npm packages' own data structures, and clean servers
//! that use the same packages within bounds. Each app's header names what
//! the hunt must find (corpus/README.md); the packages are the pinned
//! versions of corpus/package-lock.json, installed once under target/.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::*;

/// The `// key: value` lines an app starts with.
fn header(app: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(app)
        .unwrap()
        .lines()
        .map_while(|l| l.strip_prefix("// "))
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// Hunts in `corpus/NAME` and checks the verdict against its header.
fn judge(name: &str) {
    let app = workspace_root().join("corpus").join(name);
    let want = header(&app);
    let mut command = Command::new(env!("CARGO_BIN_EXE_leakscope"));
    command
        .args(["hunt", "--json"])
        .env("CI", "1")
        .env("NODE_PATH", corpus_node_modules());
    if let Some(url) = want.get("url") {
        command.args(["--url", url]);
    }
    let out = command.arg("--").arg("node").arg(&app).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let h: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: no JSON ({e}): {stderr}"));
    let findings = h["findings"].as_array().unwrap();
    assert!(
        h["seconds"].as_f64().unwrap() <= 90.0,
        "{name}: {}",
        h["seconds"]
    );
    if want["expect"] == "clean" {
        assert_eq!(out.status.code(), Some(0), "{name}: {findings:#?}");
        assert!(findings.is_empty());
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{name} missed: {stderr}");
    let holder = &want["holder"];
    let found = findings
        .iter()
        .find(|f| f["holder"].as_str().unwrap().contains(holder.as_str()))
        .unwrap_or_else(|| panic!("{name}: no finding names {holder}: {findings:#?}"));
    if let Some(package) = want.get("package") {
        assert_eq!(found["package"], package.as_str(), "{name}: {found:#}");
        assert!(found["holder"]
            .as_str()
            .unwrap()
            .contains(&format!("from package {package}")));
    }
    if let Some(items) = want.get("items") {
        assert_eq!(found["leaked_items"]["name"], items.as_str(), "{name}");
    }
}

#[test]
fn express_session_memory_store() {
    if skip_slow() {
        return;
    }
    judge("npm/session-store.js");
}

#[test]
fn prom_client_label_per_user() {
    if skip_slow() {
        return;
    }
    judge("npm/prom-labels.js");
}

#[test]
fn lodash_memoize_without_bound() {
    if skip_slow() {
        return;
    }
    judge("npm/lodash-memoize.js");
}

#[test]
fn node_cache_without_ttl() {
    if skip_slow() {
        return;
    }
    judge("npm/node-cache-no-ttl.js");
}

#[test]
fn debug_instance_per_request() {
    if skip_slow() {
        return;
    }
    judge("npm/debug-instances.js");
}

#[test]
fn eventemitter3_listener_per_request() {
    if skip_slow() {
        return;
    }
    judge("npm/eventemitter3-orders.js");
}

/// Each MessagePort is kept open by its own native handle, not by any
/// JavaScript object.
#[test]
fn ports_kept_open_by_native_handles() {
    if skip_slow() {
        return;
    }
    judge("own/native-port-leak.js");
}

/// Each user's array grows by less than an entry a round: the arrays are
/// judged together.
#[test]
fn a_leak_spread_over_thousands_of_holders() {
    if skip_slow() {
        return;
    }
    judge("own/per-user-history.js");
}

/// Two caches from two packages share their values, so what each retains
/// creeps as the other evicts, while the heap stays flat.
#[test]
fn two_full_lru_caches_sharing_values_are_clean() {
    if skip_slow() {
        return;
    }
    judge("npm/clean-two-lru.js");
}

#[test]
fn express_session_with_cookies_is_clean() {
    if skip_slow() {
        return;
    }
    judge("npm/clean-express-session.js");
}

#[test]
fn prom_client_with_bounded_labels_is_clean() {
    if skip_slow() {
        return;
    }
    judge("npm/clean-prom-client.js");
}
