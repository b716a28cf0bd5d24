//! Real `--trace-gc` output (Node 0.12 and Node 20, captured from running
//! servers; written by real Node processes), and garbage that must never
//! make the reader panic.

use std::path::Path;

use leakscope_gclog::{parse_line, read, Kind, Log};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

fn read_fixture(name: &str) -> Log {
    read(&fixture(name)[..], &mut leakscope_gclog::Silent).unwrap()
}

const MB: f64 = 1024.0 * 1024.0;

#[test]
fn legacy_node_0_12_log() {
    let log = read_fixture("trace-gc-node0.12.txt");
    assert_eq!(log.gc_lines, 7);
    let reports = log.reports();
    assert_eq!(reports.len(), 1);
    let p = &reports[0];
    assert_eq!((p.pid, p.isolate.as_str()), (28093, ""));
    assert_eq!(p.kinds.len(), 1);
    let k = &p.kinds[0];
    assert_eq!((k.kind, k.count), (Kind::MarkSweep, 7));
    assert_eq!(k.pause_max_ms, 357.3);
    assert!((k.heap_after_first as f64 / MB - 10.9).abs() < 1e-6);
    assert!((k.heap_after_last as f64 / MB - 235.7).abs() < 1e-6);
    assert!(
        (k.pause_total_ms - 1130.6).abs() < 0.01,
        "{}",
        k.pause_total_ms
    );
    assert_eq!(p.reasons[0].reason, "HeapObjectsMap::UpdateHeapObjectsMap");
    // 10.9 → 235.7 MB in 10.4 minutes, the longest pause 25.0 → 357.3 ms.
    let v = &p.verdict;
    assert!(v.leak_suspected, "{}", v.summary);
    assert!(v.summary.contains("grows 21.5 MB/min"), "{}", v.summary);
    assert!(v.summary.contains("(10.9 → 235.7 MB)"), "{}", v.summary);
    assert!(
        v.summary.contains("full-GC pauses grew 14.3×"),
        "{}",
        v.summary
    );
}

/// Issue #11: a slow leak under churn, Node 20's format, 10 Mark-Compacts
/// over 25 s with scavenges between. The thirds' minima said "no
/// sustained growth".
#[test]
fn noisy_slow_leak_node_20_log() {
    let log = read_fixture("trace-gc-noisy-slow-leak-node20.txt");
    let p = &log.processes[0];
    let after: Vec<f64> = p
        .gcs
        .iter()
        .filter(|g| g.kind == Kind::MarkCompact)
        .map(|g| (g.after as f64 / MB * 10.0).round() / 10.0)
        .collect();
    assert_eq!(after, [5.5, 5.4, 5.6, 5.1, 5.8, 5.9, 5.8, 6.5, 6.6, 7.5]);
    let v = &log.reports()[0].verdict;
    assert!(v.leak_suspected, "{}", v.summary);
    assert!(v.trend_p.unwrap() < 0.01, "{v:?}");
}

#[test]
fn pauses_keep_the_log_s_digits() {
    let report = &read_fixture("trace-gc-node0.12.txt").reports()[0];
    assert_eq!(report.kinds[0].pause_max_ms.to_string(), "357.3");
    // Every pause of the modern sample is the double nearest its text, so
    // it prints back as the log wrote it.
    let text = fixture("trace-gc-node20.txt");
    let mut written: Vec<f64> = text
        .split(|&b| b == b'\n')
        .filter_map(|l| parse_line(l).map(|_| l))
        .map(|l| {
            let l = std::str::from_utf8(l).unwrap();
            let pause = l.split(" MB, ").nth(1).unwrap().split(' ').next().unwrap();
            pause.parse().unwrap()
        })
        .collect();
    let log = read(&text[..], &mut leakscope_gclog::Silent).unwrap();
    let mut read_back: Vec<f64> = log
        .processes
        .iter()
        .flat_map(|p| &p.gcs)
        .map(|g| g.pause_ms)
        .collect();
    written.sort_by(f64::total_cmp);
    read_back.sort_by(f64::total_cmp);
    assert!(written.len() > 200);
    assert_eq!(written, read_back);
}

#[test]
fn node_20_logs_in_all_three_formats() {
    let text = fixture("trace-gc-node20.txt");
    let expected = text
        .split(|&b| b == b'\n')
        .filter(|l| {
            l.starts_with(b"[")
                && (l.windows(9).any(|w| w == b"Scavenge ")
                    || l.windows(13).any(|w| w == b"Mark-Compact "))
        })
        .count() as u64;
    let log = read_fixture("trace-gc-node20.txt");
    assert!(expected > 200);
    assert_eq!(log.gc_lines, expected, "every GC line parses");
    // Sections from several runs: each isolate is its own process.
    assert!(log.processes.len() >= 4, "{}", log.processes.len());
    let reports = log.reports();
    let main = reports.iter().find(|p| p.pid == 22700).unwrap();
    let scavenges = main
        .kinds
        .iter()
        .find(|k| k.kind == Kind::Scavenge)
        .unwrap();
    assert!(scavenges.count >= 190);
    assert!(reports
        .iter()
        .any(|p| p.kinds.iter().any(|k| k.kind == Kind::MarkCompact)));
    assert!(reports
        .iter()
        .flat_map(|p| &p.reasons)
        .any(|r| r.reason == "low memory notification"));

    let nvp = read_fixture("trace-gc-nvp-node20.txt");
    assert_eq!(nvp.gc_lines, 6);
    let r = &nvp.reports()[0];
    assert_eq!(r.kinds.iter().map(|k| k.count).sum::<u64>(), 6);
    assert!(r.kinds.iter().any(|k| k.kind == Kind::MarkCompact));

    // --trace-gc-verbose: the per-space blocks are skipped.
    let verbose = read_fixture("trace-gc-verbose-node20.txt");
    assert!(verbose.gc_lines >= 3);
    assert!(verbose.other_lines > verbose.gc_lines * 5);
}

proptest! {
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse_line(&bytes);
        let log = read(&bytes[..], &mut leakscope_gclog::Silent).unwrap();
        prop_assert_eq!(log.bytes, bytes.len() as u64);
        let _ = log.reports();
    }

    #[test]
    fn cut_real_lines_never_panic(cut in 0usize..400, line in 0usize..200) {
        let text = fixture("trace-gc-node20.txt");
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        let l = lines[line % lines.len()];
        let cut = &l[..cut.min(l.len())];
        if let Some(gc) = parse_line(cut) {
            prop_assert!(gc.after > 0 || gc.before == 0 || gc.kind != Kind::MarkSweep);
        }
        let log = read(cut, &mut leakscope_gclog::Silent).unwrap();
        let _ = log.reports();
    }

    #[test]
    fn mixed_in_app_output_is_skipped(noise in "[a-z ]{0,40}") {
        let mut text = fixture("trace-gc-node0.12.txt");
        text.extend_from_slice(noise.as_bytes());
        text.push(b'\n');
        let log = read(&text[..], &mut leakscope_gclog::Silent).unwrap();
        prop_assert_eq!(log.gc_lines, 7);
    }
}
