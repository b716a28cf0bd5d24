//! The analysis cache: a second command on an unchanged, Node-written
//! snapshot maps the first one's analysis and prints the same numbers; a
//! changed, truncated or replaced file, or a damaged cache entry, is never
//! answered from the cache.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

/// Runs leakscope with its cache in `cache`, timings on (they say whether
/// the analysis was mapped from the cache).
fn run(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(args)
        .env("CI", "1")
        .env("LEAKSCOPE_CACHE_DIR", cache)
        .env("LEAKSCOPE_TIMINGS", "1")
        .output()
        .expect("run leakscope")
}

/// The command's JSON, and whether its analysis came from the cache.
fn json(cache: &Path, args: &[&str]) -> (serde_json::Value, bool) {
    let out = run(cache, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "leakscope {args:?} failed: {stderr}");
    let mapped = stderr.contains("Mapped the cached analysis");
    (serde_json::from_slice(&out.stdout).unwrap(), mapped)
}

fn entries(cache: &Path, ext: &str) -> Vec<PathBuf> {
    std::fs::read_dir(cache)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect()
        })
        .unwrap_or_default()
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn set_modified(path: &Path, when: SystemTime) {
    let file = std::fs::File::options().append(true).open(path).unwrap();
    file.set_modified(when).unwrap();
}

#[test]
fn a_repeat_query_is_answered_from_the_cache_with_the_same_numbers() {
    let dir = common::test_dir("cache-repeat");
    let cache = dir.join("cache");
    let file = common::leaky_server_snapshot(&dir, 300);
    let f = file.to_str().unwrap();
    let summary = ["summary", f, "--top", "0", "--json"];

    let (first, mapped) = json(&cache, &summary);
    assert!(!mapped, "nothing was cached yet");
    assert_eq!(entries(&cache, "analysis").len(), 1, "the analysis is kept");
    let (again, mapped) = json(&cache, &summary);
    assert!(mapped, "the second run maps the first one's analysis");
    assert_eq!(again, first);
    assert!(first["classes"].as_array().unwrap().len() > 100);
    let (fresh, mapped) = json(
        &cache,
        &["summary", f, "--top", "0", "--json", "--no-cache"],
    );
    assert!(!mapped);
    assert_eq!(fresh, first);

    // Retainers: the retainer index is built once and kept beside it.
    let retainers = ["retainers", f, "--class", "IncomingMessage", "--json"];
    let (paths, mapped) = json(&cache, &retainers);
    assert!(mapped);
    assert_eq!(entries(&cache, "retainers").len(), 1);
    let (paths_again, _) = json(&cache, &retainers);
    let (paths_fresh, _) = json(&cache, &[&retainers[..], &["--no-cache"]].concat());
    assert_eq!(paths_again, paths);
    assert_eq!(paths_fresh, paths);
    assert_eq!(
        paths["paths"][0]["target"]["className"], "IncomingMessage",
        "{paths}"
    );
    assert!(
        paths["paths"][0]["hops"].as_array().unwrap().len() >= 3,
        "{paths}"
    );

    let dominators = ["dominators", f, "--json"];
    let (tree, mapped) = json(&cache, &dominators);
    assert!(mapped);
    let (tree_fresh, _) = json(&cache, &[&dominators[..], &["--no-cache"]].concat());
    assert_eq!(tree, tree_fresh);
    // A comparison needs only class names: a full analysis serves it too.
    let (diff, mapped) = json(&cache, &["diff", f, f, "--json"]);
    assert!(mapped);
    assert_eq!(diff["classes"].as_array().map(Vec::len), Some(0), "{diff}");

    // `leakscope cache` lists it, and `--clear` empties the cache.
    let (listed, _) = json(&cache, &["cache", "--json"]);
    let entries = listed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{listed}");
    let canonical = std::fs::canonicalize(&file).unwrap();
    assert_eq!(entries[0]["snapshot"], canonical.to_str().unwrap());
    assert_eq!(entries[0]["hasRetainers"], true);
    let on_disk: u64 = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert_eq!(listed["bytes"].as_u64(), Some(on_disk));
    let (cleared, _) = json(&cache, &["cache", "--clear", "--json"]);
    assert_eq!(cleared["freedBytes"].as_u64(), Some(on_disk));
    assert!(entries_in(&cache).is_empty());
    assert!(!json(&cache, &summary).1, "analysed afresh after --clear");
}

fn entries_in(cache: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

#[test]
fn a_changed_or_truncated_file_is_never_answered_from_the_cache() {
    let dir = common::test_dir("cache-changed");
    let cache = dir.join("cache");
    let file = common::leaky_server_snapshot(&dir, 200);
    let f = file.to_str().unwrap();
    let summary = ["summary", f, "--top", "0", "--json"];
    let (before, _) = json(&cache, &summary);
    assert!(json(&cache, &summary).1, "cached");

    // Same size, same modification time, one digit changed near the start:
    // the root's self size 0 → 7.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = find(&bytes, b"\"nodes\":[").expect("a nodes array") + 9;
    let root = std::str::from_utf8(&bytes[at..at + 20]).unwrap();
    let fields: Vec<&str> = root.split(',').take(4).collect();
    assert_eq!(fields[3], "0", "the root's self size: {root}");
    let size_at = at + fields[..3].iter().map(|f| f.len() + 1).sum::<usize>();
    bytes[size_at] = b'7';
    let when = modified(&file);
    std::fs::write(&file, &bytes).unwrap();
    set_modified(&file, when);
    let (edited, mapped) = json(&cache, &summary);
    assert!(!mapped, "an edited file is analysed again");
    assert_eq!(
        edited["totalShallowSize"].as_u64().unwrap(),
        before["totalShallowSize"].as_u64().unwrap() + 7
    );
    assert!(json(&cache, &summary).1, "and its new analysis is cached");

    // Replaced by another snapshot.
    let other_dir = dir.join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = common::small_app_snapshot(&other_dir);
    std::fs::copy(&other, &file).unwrap();
    let (replaced, mapped) = json(&cache, &summary);
    assert!(!mapped);
    let (expected, _) = json(
        &cache,
        &["summary", other.to_str().unwrap(), "--top", "0", "--json"],
    );
    assert_eq!(replaced, expected);

    // Truncated (an interrupted download): the reader's error, not the
    // cached numbers.
    let whole = std::fs::read(&file).unwrap();
    std::fs::write(&file, &whole[..whole.len() / 2]).unwrap();
    let out = run(&cache, &summary);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("truncated heap snapshot"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_damaged_cache_entry_is_never_trusted() {
    let dir = common::test_dir("cache-damaged");
    let cache = dir.join("cache");
    let file = common::small_app_snapshot(&dir);
    let f = file.to_str().unwrap();
    let summary = ["summary", f, "--top", "0", "--json"];
    let (expected, _) = json(&cache, &summary);
    let entry = entries(&cache, "analysis").pop().expect("an entry");
    let whole = std::fs::read(&entry).unwrap();

    // One byte flipped in the middle of the columns.
    let mut flipped = whole.clone();
    flipped[whole.len() / 3] ^= 0x40;
    std::fs::write(&entry, &flipped).unwrap();
    let (answer, mapped) = json(&cache, &summary);
    assert!(!mapped, "a damaged entry is not mapped");
    assert_eq!(answer, expected);
    assert_eq!(std::fs::read(&entry).unwrap(), whole, "and is written anew");
    assert!(json(&cache, &summary).1);

    // Cut short, as by a full disk.
    std::fs::write(&entry, &whole[..whole.len() - 100]).unwrap();
    let (answer, mapped) = json(&cache, &summary);
    assert!(!mapped);
    assert_eq!(answer, expected);

    // A cache too small for the analysis keeps nothing, and still answers.
    let small = dir.join("small-cache");
    let out = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(summary)
        .env("LEAKSCOPE_CACHE_DIR", &small)
        .env("LEAKSCOPE_CACHE_SIZE", "64K")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        expected
    );
    assert!(entries(&small, "analysis").is_empty());
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_cached_timeline_keeps_its_samples_and_stacks() {
    let dir = common::test_dir("cache-timeline");
    let cache = dir.join("cache");
    let file = common::timeline_snapshot(&dir);
    let timeline = ["timeline", file.to_str().unwrap(), "--json"];
    let (fresh, mapped) = json(&cache, &[&timeline[..], &["--no-cache"]].concat());
    assert!(!mapped);
    assert!(
        fresh["recording_seconds"].as_f64().unwrap() > 0.5,
        "{fresh}"
    );
    let stacks = fresh["classes"][0]["stacks"].as_array().unwrap();
    assert!(!stacks.is_empty() && !stacks[0]["frames"].as_array().unwrap().is_empty());
    let (first, mapped) = json(&cache, &timeline);
    assert!(!mapped);
    let (again, mapped) = json(&cache, &timeline);
    assert!(mapped, "the second run maps the first one's analysis");
    assert_eq!(first, fresh);
    assert_eq!(again, fresh);
}
