//! The hunt's verdict on snapshots already taken — by `node
//! --heapsnapshot-signal`, `v8.writeHeapSnapshot()`, DevTools or `leakscope
//! snapshot` — of one process, oldest first.
//!
//! The evidence is the same as a live hunt's: V8 keeps an object's id for
//! the life of the process, and objects first seen by a snapshot have ids
//! above every id of the snapshot before it, so the last snapshot alone
//! dates every live object. That only holds for snapshots of one process in
//! the order they were taken, so both are checked first: a surviving object
//! keeps its id, type and name from one snapshot to the next (checked on a
//! sample of objects made after start-up, which two runs of one app number
//! differently), and the largest id only rises. Without load, rates are per
//! second, from the times the files were written.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use leakscope_inspector::Observer;
use leakscope_snapshot::{HeapSnapshot, SnapshotError};
use leakscope_sourcemap::{Positions, SourceMapReport};
use serde::Serialize;

use crate::digest::{counted_ids, growing_classes, ClassGrowth, Digest};
use crate::verdict::{assess, Confidence, Evidence, Finding, Round, Rules, Scale};

/// Why snapshots could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum FindLeaksError {
    #[error("give at least three snapshots of one process, oldest first (got {0}): a baseline and two after it")]
    TooFew(usize),
    #[error("{}: {source}", .path.display())]
    Snapshot {
        path: PathBuf,
        #[source]
        source: SnapshotError,
    },
    #[error("{} is given twice", .0.display())]
    Repeated(PathBuf),
    #[error("{} and {} are not snapshots of one process: {why}", .earlier.display(), .later.display())]
    NotOneProcess {
        earlier: PathBuf,
        later: PathBuf,
        why: String,
    },
    #[error("{} was taken before {}: give the snapshots oldest first ({why})", .later.display(), .earlier.display())]
    OutOfOrder {
        earlier: PathBuf,
        later: PathBuf,
        why: String,
    },
}

/// One input snapshot, as the report describes it.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotSummary {
    pub path: PathBuf,
    /// When it was written, seconds since the Unix epoch (its file's
    /// modification time, or the time in a `Heap.…` name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken: Option<f64>,
    /// The V8 heap in it, as DevTools' Statistics view totals it.
    pub heap_bytes: u64,
    pub nodes: u64,
    /// The largest id V8's object counter gave an object in it.
    pub max_id: u32,
}

/// The verdict on a series of snapshots.
#[derive(Debug, Serialize)]
pub struct Judgement {
    /// `leak` or `no leak: …`.
    pub verdict: &'static str,
    pub confidence: Confidence,
    pub confidence_reason: String,
    /// Whose heap: `main`, or `worker N` (from a `Heap.…` file name).
    pub thread: String,
    pub snapshots: Vec<SnapshotSummary>,
    /// Between consecutive snapshots: no requests, and seconds when the
    /// snapshots' times are known.
    pub intervals: Vec<Round>,
    pub findings: Vec<Finding>,
    pub growing_classes: Vec<ClassGrowth>,
    pub notes: Vec<String>,
    pub warnings: Vec<crate::warning::Warning>,
    /// Positions printed from source maps, and maps that could not be used.
    #[serde(skip_serializing_if = "SourceMapReport::is_empty")]
    pub source_maps: SourceMapReport,
    /// How long the judging took.
    pub seconds: f64,
}

/// What a `Heap.YYYYMMDD.HHMMSS.PID.TID.SEQ.heapsnapshot` name says (Node's
/// `--heapsnapshot-signal` and `v8.writeHeapSnapshot()` defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
struct NodeName {
    pid: u32,
    thread: u32,
    sequence: u32,
    /// Local time of day in the name; only its order is used.
    stamp: u64,
}

impl NodeName {
    fn of(path: &Path) -> Option<NodeName> {
        let name = path.file_name()?.to_str()?;
        let rest = name.strip_prefix("Heap.")?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [date, time, pid, thread, sequence, ..] = parts[..] else {
            return None;
        };
        if date.len() != 8 || time.len() != 6 {
            return None;
        }
        Some(NodeName {
            pid: pid.parse().ok()?,
            thread: thread.parse().ok()?,
            sequence: sequence.parse().ok()?,
            stamp: format!("{date}{time}").parse().ok()?,
        })
    }
}

/// Judges `paths` (snapshots of one process, oldest first). `calls`: how
/// many calls (requests, operations) each interval made, when known, so
/// rates are per call. `load` reads and fully analyses one (the caller
/// chooses caching and progress).
pub fn find_leaks(
    paths: &[PathBuf],
    calls: Option<u64>,
    rules: &Rules,
    positions: &Positions,
    load: &mut dyn FnMut(&Path) -> Result<HeapSnapshot, SnapshotError>,
    observer: &mut dyn Observer,
) -> Result<Judgement, FindLeaksError> {
    let started = Instant::now();
    if paths.len() < 3 {
        return Err(FindLeaksError::TooFew(paths.len()));
    }
    for (i, p) in paths.iter().enumerate() {
        let same = |q: &PathBuf| q == p || q.canonicalize().ok() == p.canonicalize().ok();
        if paths[..i].iter().any(same) {
            return Err(FindLeaksError::Repeated(p.clone()));
        }
    }
    let names = check_names(paths)?;
    let mut notes = Vec::new();
    let mut digests: Vec<Digest> = Vec::new();
    let mut summaries = Vec::new();
    let mut previous: Option<Identity> = None;
    let mut last: Option<HeapSnapshot> = None;
    for (i, path) in paths.iter().enumerate() {
        observer.note(&format!(
            "reading {} ({}/{})",
            path.display(),
            i + 1,
            paths.len()
        ));
        let s = load(path).map_err(|source| FindLeaksError::Snapshot {
            path: path.clone(),
            source,
        })?;
        let digest = Digest::of(&s);
        if let Some(previous) = &previous {
            let earlier = &paths[i - 1];
            check_pair(
                previous,
                &s,
                &digests[i - 1],
                &digest,
                earlier,
                path,
                &mut notes,
            )?;
        }
        summaries.push(SnapshotSummary {
            path: path.clone(),
            taken: None,
            heap_bytes: s.statistics.v8heap.total,
            nodes: s.node_count() as u64,
            max_id: digest.max_id,
        });
        if i + 1 < paths.len() {
            previous = Some(Identity::of(&s, digest.max_id));
        }
        digests.push(digest);
        if i + 1 == paths.len() {
            last = Some(s);
        }
    }
    let last = last.expect("three or more snapshots");
    let times = taken_times(paths, names.as_deref(), &mut notes);
    for (summary, &t) in summaries.iter_mut().zip(&times) {
        summary.taken = t;
    }
    let intervals: Vec<Round> = (1..paths.len())
        .map(|i| Round {
            requests: calls.unwrap_or(0),
            seconds: match (times[i - 1], times[i]) {
                (Some(a), Some(b)) => b - a,
                _ => 0.0,
            },
            connections: 0,
        })
        .collect();
    observer.progress("Comparing the snapshots");
    let findings = assess(
        &Evidence {
            last: &last,
            digests: &digests,
            rounds: &intervals,
            traces: None,
            heap: &summaries.iter().map(|s| s.heap_bytes).collect::<Vec<_>>(),
            positions,
        },
        rules,
    );
    let mut growing = growing_classes(&digests, Scale::of(&intervals));
    growing.truncate(15);
    let thread = match names.as_deref().and_then(|n| n.first()) {
        Some(n) if n.thread != 0 => format!("worker {}", n.thread),
        _ => "main".to_owned(),
    };
    let mut findings = findings;
    for f in &mut findings {
        f.thread.clone_from(&thread);
    }
    for c in &mut growing {
        c.thread.clone_from(&thread);
    }
    let mut warnings = Vec::new();
    let heaps: Vec<u64> = summaries.iter().map(|s| s.heap_bytes).collect();
    let explained: u64 = findings.iter().map(|f| f.bytes).sum();
    warnings.extend(crate::session::unexplained_growth(
        "the heap", &heaps, explained,
    ));
    if findings.iter().any(|f| f.confidence == Confidence::Low) {
        warnings.push(crate::warning::Warning::SmallFindingsOffline {
            intervals: intervals.len(),
            sure_at: rules.confirm_rounds + 1,
        });
    }
    let (confidence, confidence_reason) = match findings.iter().max_by_key(|f| match f.confidence {
        Confidence::High => 2,
        Confidence::Medium => 1,
        Confidence::Low => 0,
    }) {
        Some(best) => (best.confidence, best.evidence.clone()),
        None if !warnings.is_empty() => (Confidence::Low, warnings[0].to_string()),
        None => (
            if intervals.len() >= 3 {
                Confidence::High
            } else {
                Confidence::Medium
            },
            format!(
                "{} snapshots: no group of objects grew in every interval",
                paths.len()
            ),
        ),
    };
    Ok(Judgement {
        verdict: if findings.is_empty() {
            "no leak: nothing grew steadily from snapshot to snapshot"
        } else {
            "leak"
        },
        confidence,
        confidence_reason,
        thread,
        snapshots: summaries,
        intervals,
        findings,
        growing_classes: growing,
        notes,
        warnings,
        source_maps: positions.report(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Node's default file names, when every file has one, must name one
/// process and one thread, in sequence.
fn check_names(paths: &[PathBuf]) -> Result<Option<Vec<NodeName>>, FindLeaksError> {
    let names: Option<Vec<NodeName>> = paths.iter().map(|p| NodeName::of(p)).collect();
    let Some(names) = names else {
        return Ok(None);
    };
    for i in 1..names.len() {
        let (a, b) = (names[i - 1], names[i]);
        let pair = || (paths[i - 1].clone(), paths[i].clone());
        if a.pid != b.pid {
            let (earlier, later) = pair();
            return Err(FindLeaksError::NotOneProcess {
                earlier,
                later,
                why: format!("their names say PID {} and PID {}", a.pid, b.pid),
            });
        }
        if a.thread != b.thread {
            let (earlier, later) = pair();
            return Err(FindLeaksError::NotOneProcess {
                earlier,
                later,
                why: format!(
                    "their names say thread {} and thread {}: each thread has a heap of its own",
                    a.thread, b.thread
                ),
            });
        }
        if b.sequence <= a.sequence {
            let (earlier, later) = pair();
            return Err(FindLeaksError::OutOfOrder {
                earlier,
                later,
                why: format!("their names number them {} and {}", a.sequence, b.sequence),
            });
        }
    }
    Ok(Some(names))
}

/// Whether `later` is of the same process as the snapshot `earlier` was
/// sampled from, and taken after it.
fn check_pair(
    earlier: &Identity,
    later: &HeapSnapshot,
    earlier_digest: &Digest,
    later_digest: &Digest,
    earlier_path: &Path,
    later_path: &Path,
    notes: &mut Vec<String>,
) -> Result<(), FindLeaksError> {
    let (shared, same) = earlier.agreement(later);
    let pair = || (earlier_path.to_owned(), later_path.to_owned());
    // One process keeps every survivor's id, type and name (one V8
    // internal array was seen to change its name); two runs of one app
    // agree on about half of their later objects.
    if shared >= 50 && (same as f64) < 0.9 * shared as f64 {
        let (earlier, later) = pair();
        return Err(FindLeaksError::NotOneProcess {
            earlier,
            later,
            why: format!(
                "only {same} of the {shared} objects they share by id are the same object (one process keeps an object's id); was the process restarted between them?"
            ),
        });
    }
    if later_digest.max_id < earlier_digest.max_id {
        let (earlier, later) = pair();
        return Err(FindLeaksError::OutOfOrder {
            earlier,
            later,
            why: format!(
                "V8 numbers objects upwards, and its highest object id fell from {} to {}",
                earlier_digest.max_id, later_digest.max_id
            ),
        });
    }
    if shared < 50 {
        notes.push(format!(
            "{} and {} share too few objects to check that they are of one process; the verdict assumes so",
            earlier_path.display(),
            later_path.display()
        ));
    }
    Ok(())
}

/// When each snapshot was written: the files' modification times when they
/// rise in the order given, else the times in Node's default names, else
/// none (rates are then per interval).
fn taken_times(
    paths: &[PathBuf],
    names: Option<&[NodeName]>,
    notes: &mut Vec<String>,
) -> Vec<Option<f64>> {
    let modified: Option<Vec<f64>> = paths
        .iter()
        .map(|p| {
            let t = std::fs::metadata(p).ok()?.modified().ok()?;
            Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs_f64())
        })
        .collect();
    let rising = |t: &[f64]| t.windows(2).all(|w| w[1] > w[0]);
    if let Some(times) = modified.filter(|t| rising(t)) {
        return times.into_iter().map(Some).collect();
    }
    if let Some(names) = names {
        let stamps: Vec<f64> = names.iter().map(|n| stamp_seconds(n.stamp)).collect();
        if rising(&stamps) {
            notes.push(
                "the files' modification times do not rise in their order (copied?): the times in their names are used".to_owned(),
            );
            return stamps.into_iter().map(Some).collect();
        }
    }
    notes.push(
        "the snapshots' times are unknown (the files' modification times do not rise in their order): growth is given per interval, not per second".to_owned(),
    );
    vec![None; paths.len()]
}

/// `YYYYMMDDHHMMSS` as seconds since the Unix epoch (local time read as
/// UTC: only differences are used).
fn stamp_seconds(stamp: u64) -> f64 {
    let (date, time) = (stamp / 1_000_000, stamp % 1_000_000);
    let (y, m, d) = (
        (date / 10000) as i64,
        (date / 100 % 100) as i64,
        (date % 100) as i64,
    );
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let seconds = (time / 10000) * 3600 + (time / 100 % 100) * 60 + time % 100;
    (days * 86400) as f64 + seconds as f64
}

/// A sample of a snapshot's objects made after start-up, by id, with a
/// hash of their type and name.
struct Identity(Vec<(u32, u64)>);

impl Identity {
    /// At most this many objects are sampled.
    const SAMPLE: usize = 100_000;

    fn of(s: &HeapSnapshot, max_id: u32) -> Identity {
        let counted = counted_ids(s);
        let g = &s.graph;
        let ids: Vec<u32> = (0..s.node_count() as u32).filter(|&v| counted(v)).collect();
        // Start-up objects get the same ids in every run of an app: the
        // later half of the ids tells runs apart.
        let late: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|&v| g.node_id[v as usize] > max_id / 2)
            .collect();
        let pool = if late.len() >= 1000 { late } else { ids };
        let step = pool.len().div_ceil(Self::SAMPLE).max(1);
        let mut sample: Vec<(u32, u64)> = pool
            .iter()
            .step_by(step)
            .map(|&v| (g.node_id[v as usize], fingerprint(s, v)))
            .collect();
        sample.sort_unstable_by_key(|e| e.0);
        Identity(sample)
    }

    /// Of the sampled objects also in `later`: how many, and how many of
    /// them have the same type and name there.
    fn agreement(&self, later: &HeapSnapshot) -> (usize, usize) {
        let g = &later.graph;
        let (mut shared, mut same) = (0, 0);
        for v in 0..later.node_count() as u32 {
            let id = g.node_id[v as usize];
            if let Ok(k) = self.0.binary_search_by_key(&id, |e| e.0) {
                shared += 1;
                if self.0[k].1 == fingerprint(later, v) {
                    same += 1;
                }
            }
        }
        (shared, same)
    }
}

fn fingerprint(s: &HeapSnapshot, v: u32) -> u64 {
    let g = &s.graph;
    let mut h = DefaultHasher::new();
    g.type_name(v).hash(&mut h);
    s.strings.get(g.node_name[v as usize]).hash(&mut h);
    h.finish()
}
