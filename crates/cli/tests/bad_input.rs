//! Bad input never panics: every cut of a real snapshot, and every kind of
//! wrong file, gives a one-line error and exit status 2.

mod common;

use std::path::Path;

fn assert_clean_error(file: &Path, expect: &str) {
    let out = common::leakscope(&["summary", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line expected: {stderr}"
    );
    assert!(stderr.starts_with("leakscope: error: "), "{stderr}");
    assert!(stderr.contains(expect), "expected {expect:?} in {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn truncated_snapshots_fail_cleanly_at_every_cut() {
    let dir = common::test_dir("truncated");
    let snapshot = common::small_app_snapshot(&dir);
    let bytes = std::fs::read(&snapshot).unwrap();
    // Cuts in every section: header, nodes, edges, strings, and the very end.
    let mut cuts: Vec<usize> = (0..400).map(|i| i * bytes.len() / 400).collect();
    cuts.extend([
        1,
        2,
        10,
        100,
        bytes.len() - 1,
        bytes.len() - 2,
        bytes.len() - 3,
    ]);
    for cut in cuts {
        let result =
            leakscope_snapshot::reader::read_from(&bytes[..cut], Some(cut as u64), &mut |_| {});
        let err = result.expect_err(&format!("a snapshot cut at byte {cut} must not parse"));
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "multi-line error at cut {cut}: {msg}");
    }
    // And through the CLI, for a few cuts.
    for (i, cut) in [bytes.len() / 7, bytes.len() / 2, bytes.len() - 5]
        .into_iter()
        .enumerate()
    {
        let cut_file = dir.join(format!("cut-{i}.heapsnapshot"));
        std::fs::write(&cut_file, &bytes[..cut]).unwrap();
        assert_clean_error(&cut_file, "truncated heap snapshot");
    }
}

/// A compressed snapshot cut short (an interrupted download) says so.
#[test]
fn truncated_compressed_snapshots_fail_cleanly() {
    use std::io::Write;
    let dir = common::test_dir("truncated-compressed");
    let bytes = std::fs::read(common::small_app_snapshot(&dir)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&bytes[..], 3).unwrap();
    for (name, data) in [("cut.heapsnapshot.gz", gz), ("cut.heapsnapshot.zst", zst)] {
        let file = dir.join(name);
        std::fs::write(&file, &data[..data.len() / 2]).unwrap();
        let out = common::leakscope(&["summary", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("the compressed data is truncated or corrupt"),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn wrong_files_fail_with_a_named_reason() {
    let dir = common::test_dir("wrong-files");
    assert_clean_error(&dir.join("missing.heapsnapshot"), "cannot read");
    assert_clean_error(&dir, "cannot read");

    let empty = dir.join("empty.heapsnapshot");
    std::fs::write(&empty, "").unwrap();
    assert_clean_error(&empty, "not a V8 heap snapshot");

    let html = dir.join("page.heapsnapshot");
    std::fs::write(&html, "<html>nope</html>").unwrap();
    assert_clean_error(&html, "not a V8 heap snapshot");

    let other_json = dir.join("package.json");
    std::fs::write(&other_json, r#"{"name": "x", "version": "1.0.0"}"#).unwrap();
    assert_clean_error(&other_json, "no `snapshot` header");

    // A real snapshot whose header lies about its node count.
    let snapshot = common::small_app_snapshot(&dir);
    let text = std::fs::read_to_string(&snapshot).unwrap();
    let lying = regex_replace_count(&text, "\"node_count\":", 1);
    let lying_file = dir.join("lying.heapsnapshot");
    std::fs::write(&lying_file, lying).unwrap();
    assert_clean_error(&lying_file, "nodes");

    // A non-digit inside the integer arrays.
    let bad_number = text.replacen("\"nodes\":[", "\"nodes\":[-", 1);
    let bad_file = dir.join("negative.heapsnapshot");
    std::fs::write(&bad_file, bad_number).unwrap();
    assert_clean_error(&bad_file, "only unsigned integers are allowed");
}

/// Adds `delta` to the number that follows `key` in `text`.
fn regex_replace_count(text: &str, key: &str, delta: u64) -> String {
    let at = text.find(key).unwrap() + key.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let value: u64 = digits.parse().unwrap();
    format!(
        "{}{}{}",
        &text[..at],
        value + delta,
        &text[at + digits.len()..]
    )
}

#[test]
fn mutated_snapshots_never_panic() {
    use leakscope_snapshot::{HeapSnapshot, RetainerIndex};
    let dir = common::test_dir("mutated");
    let snapshot = common::small_app_snapshot(&dir);
    let bytes = std::fs::read(&snapshot).unwrap();
    // A fixed LCG: the same mutations on every run.
    let mut state: u64 = 0x5eed;
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % bound
    };
    let replacements = b"0123456789,[]{}\":\\x-. \n";
    let (mut parsed, mut rejected) = (0, 0);
    for _ in 0..300 {
        let mut mutated = bytes.clone();
        for _ in 0..1 + next(3) {
            let at = next(mutated.len());
            mutated[at] = replacements[next(replacements.len())];
        }
        match leakscope_snapshot::reader::read_from(&mutated[..], None, &mut |_| {}) {
            Err(e) => {
                rejected += 1;
                assert!(!e.to_string().contains('\n'));
            }
            Ok(raw) => {
                parsed += 1;
                let s = HeapSnapshot::analyze(
                    raw,
                    leakscope_snapshot::Depth::Full,
                    &mut leakscope_snapshot::Silent,
                );
                let rows = s.class_rows();
                assert!(!rows.is_empty());
                let index = RetainerIndex::build(&s.graph);
                for v in s.largest_nodes(3) {
                    let _ = s.retaining_path(&index, v, 50);
                    let _ = s.display_name(v);
                }
                let _ = s.duplicate_strings();
            }
        }
    }
    // Both outcomes must occur, or the mutations test nothing.
    assert!(
        parsed > 20 && rejected > 20,
        "parsed {parsed}, rejected {rejected}"
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = common::test_dir("broken-pipe");
    let snapshot = common::small_app_snapshot(&dir);
    // A million lines of dominator tree: far more than a pipe buffers.
    let mut child = common::leakscope_command()
        .args([
            "dominators",
            snapshot.to_str().unwrap(),
            "--top",
            "100",
            "--depth",
            "3",
        ])
        .env("CI", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // like `| head`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
