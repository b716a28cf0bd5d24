//! `--trace-gc` logs turned into numbers: per GC kind counts and pauses,
//! the share of wall time spent in GC, and a leak verdict on the heap
//! after GC over time — for each process (pid and isolate) in the log.
//!
//! The reader streams any size of input in 4 MiB blocks and parses lines
//! on bytes without allocating; lines that are not GC lines (the app's own
//! output, `--trace-gc-verbose` blocks) are counted and skipped, and a GC
//! line may carry a prefix (a timestamp, a process manager's tag).
//!
//! ```no_run
//! let log = leakscope_gclog::read(std::io::stdin().lock(), &mut leakscope_progress::Silent)?;
//! for p in log.reports() {
//!     println!("{}: {}", p.pid, p.verdict.summary);
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

mod parse;

use std::collections::HashMap;
use std::io::Read;

use leakscope_gctrend::{judge_series, SeriesPoint, SeriesVerdict};
use serde::Serialize;

pub use leakscope_gctrend::SeriesConfig;
pub use leakscope_progress::{Observer, Silent};
pub use parse::{parse_line, GcLine, Kind};

/// One GC, compact (a 1 GB log holds about seven million).
#[derive(Debug, Clone, Copy)]
pub struct Gc {
    pub at_ms: f64,
    pub kind: Kind,
    pub reduce: bool,
    pub before: u64,
    pub after: u64,
    /// As the log prints it: an `f32` here turned `357.3` into
    /// `357.29998779296875` in the JSON.
    pub pause_ms: f64,
}

/// The GCs of one isolate.
#[derive(Debug, Default)]
pub struct Process {
    pub pid: u32,
    pub isolate: u64,
    pub gcs: Vec<Gc>,
    /// Reason → count per kind (indexed as `Kind as usize`).
    reasons: HashMap<Vec<u8>, [u64; 4]>,
}

/// Everything read from a log.
#[derive(Debug, Default)]
pub struct Log {
    pub processes: Vec<Process>,
    pub gc_lines: u64,
    pub other_lines: u64,
    pub bytes: u64,
}

/// Reads a whole log, telling `observer` the bytes read so far.
pub fn read(mut input: impl Read, observer: &mut dyn Observer) -> std::io::Result<Log> {
    const BLOCK: usize = 4 << 20;
    let mut log = Log::default();
    let mut index: HashMap<(u32, u64), usize> = HashMap::new();
    let mut buf = vec![0u8; BLOCK];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // A single line longer than the buffer: grow.
            buf.resize(buf.len() * 2, 0);
        }
        let n = match input.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        log.bytes += n as u64;
        let end = filled + n;
        let data = &buf[..end];
        if n == 0 {
            // The last line, without a newline.
            if end > 0 {
                log.add_line(data, &mut index);
            }
            observer.advanced(log.bytes);
            break;
        }
        let Some(last_newline) = memchr::memrchr(b'\n', data) else {
            filled = end;
            continue;
        };
        let complete = last_newline + 1;
        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', &data[..complete]) {
            log.add_line(&data[start..newline], &mut index);
            start = newline + 1;
        }
        observer.advanced(log.bytes);
        buf.copy_within(complete..end, 0);
        filled = end - complete;
    }
    Ok(log)
}

impl Log {
    fn add_line(&mut self, line: &[u8], index: &mut HashMap<(u32, u64), usize>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(gc) = find_gc(line) else {
            self.other_lines += 1;
            return;
        };
        self.gc_lines += 1;
        let i = *index.entry((gc.pid, gc.isolate)).or_insert_with(|| {
            self.processes.push(Process {
                pid: gc.pid,
                isolate: gc.isolate,
                ..Process::default()
            });
            self.processes.len() - 1
        });
        let p = &mut self.processes[i];
        p.gcs.push(Gc {
            at_ms: gc.at_ms,
            kind: gc.kind,
            reduce: gc.reduce,
            before: gc.before,
            after: gc.after,
            pause_ms: gc.pause_ms,
        });
        // `--trace-gc-nvp` lines and cut lines give no reason to count.
        if gc.reason.is_empty() {
            return;
        }
        match p.reasons.get_mut(gc.reason) {
            Some(counts) => counts[gc.kind as usize] += 1,
            None => {
                let mut counts = [0; 4];
                counts[gc.kind as usize] = 1;
                p.reasons.insert(gc.reason.to_vec(), counts);
            }
        }
    }

    /// One report per process, in order of first appearance.
    pub fn reports(&self) -> Vec<ProcessReport> {
        self.reports_with(&SeriesConfig::default())
    }

    /// Reports judged with another warm-up or growth threshold.
    pub fn reports_with(&self, config: &SeriesConfig) -> Vec<ProcessReport> {
        self.processes.iter().map(|p| p.report(config)).collect()
    }
}

/// A GC line at the start of `line` or after a prefix.
fn find_gc(line: &[u8]) -> Option<GcLine<'_>> {
    if line.first() == Some(&b'[') {
        if let Some(gc) = parse_line(line) {
            return Some(gc);
        }
    }
    // `2026-11-24T10:00:00Z app[1]: [123:0x…] …`: try the next few brackets
    // that open a pid.
    let mut from = 1;
    for _ in 0..4 {
        let i = from + memchr::memchr(b'[', line.get(from..)?)?;
        if line.get(i + 1).is_some_and(u8::is_ascii_digit) {
            if let Some(gc) = parse_line(&line[i..]) {
                return Some(gc);
            }
        }
        from = i + 1;
    }
    None
}

#[derive(Debug, Clone, Serialize)]
pub struct KindReport {
    pub kind: Kind,
    pub count: u64,
    pub pause_total_ms: f64,
    pub pause_p50_ms: f64,
    pub pause_p99_ms: f64,
    pub pause_max_ms: f64,
    pub heap_before_mean: u64,
    pub heap_after_mean: u64,
    /// Heap after the first and the last GC of this kind.
    pub heap_after_first: u64,
    pub heap_after_last: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    pub kind: Kind,
    pub reason: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessReport {
    pub pid: u32,
    /// `0x…`, empty in the legacy format.
    pub isolate: String,
    pub first_ms: f64,
    pub last_ms: f64,
    pub gcs: u64,
    pub kinds: Vec<KindReport>,
    /// Share of wall time in GC pauses, from the first GC to the end of the
    /// last one.
    pub gc_time_share: f64,
    /// 1 − the above: the share left to the application.
    pub mutator_utilization: f64,
    pub verdict: SeriesVerdict,
    pub reasons: Vec<ReasonCount>,
}

impl Process {
    pub fn report(&self, config: &SeriesConfig) -> ProcessReport {
        let first_ms = self.gcs.first().map_or(0.0, |g| g.at_ms);
        let last = self.gcs.last();
        let end_ms = last.map_or(0.0, |g| g.at_ms + g.pause_ms);
        let total_pause = sum_ms(self.gcs.iter().map(|g| g.pause_ms));
        let wall = end_ms - first_ms;
        let share = if wall > 0.0 {
            (total_pause / wall).min(1.0)
        } else {
            0.0
        };
        let mut kinds: Vec<Kind> = self.gcs.iter().map(|g| g.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let kinds = kinds.into_iter().map(|k| self.kind_report(k)).collect();
        let points: Vec<SeriesPoint> = self
            .gcs
            .iter()
            .map(|g| SeriesPoint {
                at_ms: g.at_ms,
                heap_used: g.after,
                full: g.kind.is_full(),
                pause_ms: g.pause_ms,
            })
            .collect();
        let mut reasons: Vec<ReasonCount> = self
            .reasons
            .iter()
            .flat_map(|(reason, counts)| {
                [
                    Kind::Scavenge,
                    Kind::MinorMarkCompact,
                    Kind::MarkCompact,
                    Kind::MarkSweep,
                ]
                .into_iter()
                .filter(|&k| counts[k as usize] > 0)
                .map(|k| ReasonCount {
                    kind: k,
                    reason: String::from_utf8_lossy(reason).into_owned(),
                    count: counts[k as usize],
                })
            })
            .collect();
        reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
        ProcessReport {
            pid: self.pid,
            isolate: if self.isolate == 0 {
                String::new()
            } else {
                format!("{:#x}", self.isolate)
            },
            first_ms,
            last_ms: last.map_or(0.0, |g| g.at_ms),
            gcs: self.gcs.len() as u64,
            kinds,
            gc_time_share: share,
            mutator_utilization: 1.0 - share,
            verdict: judge_series(&points, config),
            reasons,
        }
    }

    fn kind_report(&self, kind: Kind) -> KindReport {
        let of_kind: Vec<&Gc> = self.gcs.iter().filter(|g| g.kind == kind).collect();
        let mut pauses: Vec<f64> = of_kind.iter().map(|g| g.pause_ms).collect();
        pauses.sort_unstable_by(f64::total_cmp);
        let pick = |q: f64| {
            let i = ((pauses.len() as f64 - 1.0) * q).round() as usize;
            pauses[i]
        };
        let n = of_kind.len() as u64;
        KindReport {
            kind,
            count: n,
            pause_total_ms: sum_ms(pauses.iter().copied()),
            pause_p50_ms: pick(0.5),
            pause_p99_ms: pick(0.99),
            pause_max_ms: pick(1.0),
            heap_before_mean: of_kind.iter().map(|g| g.before).sum::<u64>() / n,
            heap_after_mean: of_kind.iter().map(|g| g.after).sum::<u64>() / n,
            heap_after_first: of_kind[0].after,
            heap_after_last: of_kind[of_kind.len() - 1].after,
        }
    }
}

/// Adds pauses in whole nanoseconds, so that a total prints as the sum of
/// the log's decimals (148.53, not the 148.5300000000001 of adding doubles).
fn sum_ms(pauses: impl Iterator<Item = f64>) -> f64 {
    pauses.map(|p| (p * 1e6).round() as u64).sum::<u64>() as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_processes_apart_and_skips_other_lines() {
        let text = "listening on http://127.0.0.1:3000\n\
[1:0xa]  100 ms: Scavenge 4.5 (4.7) -> 4.0 (5.7) MB, 1.00 / 0.00 ms  (average mu = 1.000, current mu = 1.000) task; \n\
[2:0xb]  200 ms: Scavenge 8.0 (9.0) -> 6.0 (9.0) MB, 2.00 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; \r\n\
Nov 24 10:00:00 app[2]: [1:0xa]  300 ms: Mark-Compact 9.0 (24.2) -> 5.0 (24.5) MB, 3.00 / 0.00 ms  (average mu = 1.000, current mu = 1.000) task; GC in old space requested\n\
[1:0xa] Memory allocator,       used:   5864 KB, available: 4237592 KB\n\
[1:0xa]  400 ms: Scavenge 4.5 (4.7) -> 4.0 (5.7) MB, 1.00 / 0.00 ms  (average mu = 1.000, current mu";
        // Tiny reads exercise the line carried over between blocks.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(7).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let log = read(Trickle(text.as_bytes()), &mut leakscope_progress::Silent).unwrap();
        // The cut-off last line still carries every number: it counts.
        assert_eq!(log.gc_lines, 4);
        assert_eq!(log.other_lines, 2);
        assert_eq!(log.bytes, text.len() as u64);
        let reports = log.reports();
        assert_eq!(reports.len(), 2);
        assert_eq!((reports[0].pid, reports[0].gcs), (1, 3));
        assert_eq!(reports[0].isolate, "0xa");
        assert_eq!(reports[0].kinds[1].kind, Kind::MarkCompact);
        assert_eq!(reports[1].reasons[0].reason, "allocation failure");
        // 5 ms of pauses between 100 ms and 401 ms.
        assert!((reports[0].gc_time_share - 5.0 / 301.0).abs() < 1e-9);
    }
}
