//! The commands on snapshots of real Node processes: what they print must
//! name the real culprits, counts and paths.

mod common;

use serde_json::Value;

fn class<'a>(rows: &'a Value, name: &str) -> Vec<&'a Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == name)
        .collect()
}

#[test]
fn leaky_server_summary_and_retainers_name_the_pending_array() {
    let dir = common::test_dir("commands-leaky");
    let snapshot = common::leaky_server_snapshot(&dir, 1500);
    let file = snapshot.to_str().unwrap();

    let summary = common::leakscope_json(&["summary", file, "--top", "0", "--json"]);
    let requests = class(&summary["classes"], "IncomingMessage");
    assert_eq!(requests.len(), 1);
    let count = requests[0]["count"].as_u64().unwrap();
    assert!(
        (1500..=1510).contains(&count),
        "every request leaks one IncomingMessage: {count}"
    );
    let closures = class(&summary["classes"], "Function")[0]["count"]
        .as_u64()
        .unwrap();
    assert!(
        closures >= 1500,
        "a rememberHeaders closure per request: {closures}"
    );

    let instances = common::leakscope_json(&[
        "summary",
        file,
        "--class",
        "IncomingMessage",
        "--top",
        "5",
        "--json",
    ]);
    let instances = instances["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 5);
    assert!(instances[0]["retainedSize"].as_u64() >= instances[4]["retainedSize"].as_u64());

    let paths = common::leakscope_json(&[
        "retainers",
        file,
        "--class",
        "IncomingMessage",
        "--max",
        "3",
        "--json",
    ]);
    let paths = paths["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 3);
    let held_by_pending = paths.iter().filter(|p| {
        let chain = p["chain"].as_str().unwrap();
        chain.starts_with("(GC roots) → ")
            && chain.contains("->pending → Array")
            && chain.contains("Function rememberHeaders")
            && chain.ends_with("->req → IncomingMessage")
    });
    assert!(held_by_pending.count() >= 2, "{paths:#?}");
    for p in paths {
        let hops = p["hops"].as_array().unwrap();
        assert_eq!(hops.last().unwrap()["to"]["className"], "IncomingMessage");
        // Distances fall by one per hop along DevTools' default path.
        let d: Vec<i64> = hops
            .iter()
            .map(|h| h["to"]["distance"].as_i64().unwrap())
            .collect();
        assert!(d.windows(2).all(|w| w[1] == w[0] + 1), "{d:?}");
    }

    let tree =
        common::leakscope_json(&["dominators", file, "--top", "5", "--depth", "2", "--json"]);
    let top = tree["dominators"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    let sizes: Vec<u64> = top
        .iter()
        .map(|n| n["retainedSize"].as_u64().unwrap())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    let nested = top[0]["dominates"].as_array().unwrap();
    assert!(!nested.is_empty());
    assert!(nested
        .iter()
        .all(|c| c["retainedSize"].as_u64() <= top[0]["retainedSize"].as_u64()));
}

#[test]
fn comparison_and_statistics_count_what_the_fixture_did() {
    let dir = common::test_dir("commands-rich");
    let (base, next) = common::rich_heap_snapshots(&dir);
    let (b, n) = (base.to_str().unwrap(), next.to_str().unwrap());

    // Between the snapshots the fixture dropped 50 Requests and made 300.
    let diff = common::leakscope_json(&["diff", b, n, "--top", "0", "--json"]);
    let requests: Vec<&Value> = class(&diff["classes"], "Request")
        .into_iter()
        .filter(|r| r["addedCount"] == 300)
        .collect();
    assert_eq!(requests.len(), 1, "{diff:#?}");
    assert_eq!(requests[0]["removedCount"], 50);
    assert_eq!(requests[0]["countDelta"], 250);
    assert!(requests[0]["key"].as_str().unwrap().ends_with(",Request"));
    // `{fresh: i, note}`: small integers are not heap objects, so V8 reports
    // no edge for `fresh` and the interface is named after `note` alone.
    let fresh = class(&diff["classes"], "{note}");
    assert_eq!(fresh.len(), 1, "plain objects get interface classes");
    assert!(
        (200..=202).contains(&fresh[0]["addedCount"].as_u64().unwrap()),
        "{:?}",
        fresh[0]
    );

    let stats = common::leakscope_json(&["stats", b, "--top", "0", "--json"]);
    let dups = stats["duplicatedStrings"].as_array().unwrap();
    let dup = dups
        .iter()
        .find(|d| d["text"] == "duplicated-string")
        .expect("the fixture's 50 copies");
    assert!(dup["count"].as_u64().unwrap() >= 50);
    assert!(dup["wastedSize"].as_u64().unwrap() > 0);
    let st = &stats["statistics"];
    let v8 = &st["v8heap"];
    assert!(
        st["native"]["typedArrays"].as_u64().unwrap() >= 100_000 + 65_536,
        "the fixture's buffers: {st}"
    );
    assert!(
        v8["strings"].as_u64().unwrap() > 5000,
        "the 5 kB string at least"
    );
    assert_eq!(
        st["total"].as_u64().unwrap(),
        v8["total"].as_u64().unwrap() + st["native"]["total"].as_u64().unwrap()
    );
}

/// A snapshot gzip- or zstd-compressed (as production snapshots travel)
/// gives the same numbers as the plain file, read as it streams.
#[test]
fn compressed_snapshots_give_the_plain_file_s_numbers() {
    use std::io::Write;
    let dir = common::test_dir("compressed");
    let plain = common::leaky_server_snapshot(&dir, 200);
    let bytes = std::fs::read(&plain).unwrap();
    let gz = dir.join("leaky.heapsnapshot.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&bytes).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    // Named without an extension: the format is told by the bytes.
    let zst = dir.join("leaky-zstd");
    std::fs::write(&zst, zstd::encode_all(&bytes[..], 3).unwrap()).unwrap();
    let summary = |file: &std::path::Path| {
        common::leakscope_json(&["summary", file.to_str().unwrap(), "--top", "0", "--json"])
    };
    let expected = summary(&plain);
    assert!(expected["classes"].as_array().unwrap().len() > 100);
    for file in [&gz, &zst] {
        assert_eq!(summary(file), expected, "{}", file.display());
    }
    // Two files compared across encodings: the same heap, nothing changed.
    let diff = common::leakscope_json(&[
        "diff",
        plain.to_str().unwrap(),
        gz.to_str().unwrap(),
        "--json",
    ]);
    let changed = diff["classes"].as_array().unwrap();
    assert!(changed.is_empty(), "{diff}");
}

#[test]
fn every_command_explains_itself() {
    for cmd in [
        "summary",
        "dominators",
        "retainers",
        "diff",
        "stats",
        "hunt",
        "load",
        "snapshot",
        "gc",
        "watch",
        "record",
        "timeline",
        "sample",
        "eval",
        "clear",
        "set-source",
        "cache",
    ] {
        let out = common::leakscope(&[cmd, "--help"]);
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Examples:"), "{cmd} --help has examples");
        assert!(
            help.contains(&format!("leakscope {cmd}")),
            "{cmd} --help shows a real invocation"
        );
    }
    let out = common::leakscope(&["retainers", "x.heapsnapshot"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing --id/--class/--string is a usage error"
    );
}
