//! Snapshots on leak events for many processes: at most one per process per
//! cooldown, and the directory kept under a disk cap by deleting the oldest
//! leak snapshots first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Where snapshots go and how many.
#[derive(Debug, Clone)]
pub struct SnapshotPolicy {
    pub dir: PathBuf,
    /// At most one snapshot per process this often.
    pub cooldown: Duration,
    /// Total bytes of leak snapshots kept in `dir`.
    pub disk_cap: u64,
    /// Take one even when the target lacks the memory to (see
    /// `leakscope_inspector::capture::SnapshotEstimate`).
    pub force: bool,
}

/// The policy and what was taken so far; shared by every watched process.
pub struct Snapshots {
    policy: SnapshotPolicy,
    last_taken: Mutex<HashMap<u32, Instant>>,
}

/// A heap snapshot file is about twice the heap it describes.
const FILE_BYTES_PER_HEAP_BYTE: u64 = 2;

/// Why a leak snapshot is not taken now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoSnapshot {
    #[error("no snapshot: PID {pid} had one {} ago (cooldown {})", rounded(*.since), rounded(*.cooldown))]
    Cooldown {
        pid: u32,
        since: Duration,
        cooldown: Duration,
    },
    #[error("no snapshot: one of a {} MB heap (~{} MB on disk) would not fit the {} MB disk cap", .heap_used / 1_000_000, .on_disk / 1_000_000, .cap / 1_000_000)]
    DiskCap {
        heap_used: u64,
        on_disk: u64,
        cap: u64,
    },
}

impl Snapshots {
    /// Creates the directory (0700: snapshots hold the app's secrets).
    pub fn new(policy: SnapshotPolicy) -> Result<Snapshots, crate::WatchError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&policy.dir)
            .map_err(|source| crate::WatchError::CreateDir {
                dir: policy.dir.clone(),
                source,
            })?;
        Ok(Snapshots {
            policy,
            last_taken: Mutex::new(HashMap::new()),
        })
    }

    /// The file for a snapshot of `pid` now, or why none is taken. A
    /// permit starts the process's cooldown.
    pub fn permit(&self, pid: u32, heap_used: u64) -> Result<PathBuf, NoSnapshot> {
        let mut last = self.last_taken.lock().expect("not poisoned");
        if let Some(at) = last.get(&pid) {
            let since = at.elapsed();
            if since < self.policy.cooldown {
                return Err(NoSnapshot::Cooldown {
                    pid,
                    since,
                    cooldown: self.policy.cooldown,
                });
            }
        }
        let on_disk = heap_used.saturating_mul(FILE_BYTES_PER_HEAP_BYTE);
        if on_disk > self.policy.disk_cap {
            return Err(NoSnapshot::DiskCap {
                heap_used,
                on_disk,
                cap: self.policy.disk_cap,
            });
        }
        last.insert(pid, Instant::now());
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        Ok(self
            .policy
            .dir
            .join(format!("leak-{pid}-{stamp}.heapsnapshot")))
    }

    /// Deletes the oldest leak snapshots (never `keep`) until the directory's
    /// leak snapshots fit the cap; returns the deleted files.
    pub fn force(&self) -> bool {
        self.policy.force
    }

    pub fn enforce_cap(&self, keep: &Path) -> Vec<PathBuf> {
        let mut files = leak_snapshots(&self.policy.dir);
        let mut total: u64 = files.iter().map(|f| f.2).sum();
        files.sort_by_key(|f| f.1);
        let mut deleted = Vec::new();
        for (path, _, bytes) in files {
            if total <= self.policy.disk_cap {
                break;
            }
            if path != keep && std::fs::remove_file(&path).is_ok() {
                total -= bytes;
                deleted.push(path);
            }
        }
        deleted
    }
}

/// `leak-*.heapsnapshot` files in `dir`: path, modification time, size.
fn leak_snapshots(dir: &Path) -> Vec<(PathBuf, SystemTime, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name();
            let name = name.to_str()?;
            if !(name.starts_with("leak-") && name.ends_with(".heapsnapshot")) {
                return None;
            }
            let meta = e.metadata().ok()?;
            Some((e.path(), meta.modified().ok()?, meta.len()))
        })
        .collect()
}

fn rounded(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..120 => format!("{secs}s"),
        120..7200 => format!("{}m", secs / 60),
        _ => format!("{}h", secs / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(dir: &Path, cooldown: Duration, disk_cap: u64) -> SnapshotPolicy {
        SnapshotPolicy {
            dir: dir.to_owned(),
            cooldown,
            disk_cap,
            force: false,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("leakscope-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn one_snapshot_per_process_per_cooldown() {
        let dir = scratch("cooldown");
        let s = Snapshots::new(policy(&dir, Duration::from_secs(3600), 1 << 30)).unwrap();
        let first = s.permit(10, 1_000_000).unwrap();
        assert!(first.starts_with(&dir));
        let refused = s.permit(10, 1_000_000).unwrap_err();
        assert!(
            matches!(refused, NoSnapshot::Cooldown { pid: 10, .. }),
            "{refused}"
        );
        assert!(refused.to_string().contains("cooldown 60m"), "{refused}");
        assert!(
            s.permit(11, 1_000_000).is_ok(),
            "another process has its own"
        );
        let too_big = s.permit(12, 600 << 20).unwrap_err();
        assert!(matches!(too_big, NoSnapshot::DiskCap { .. }), "{too_big}");
        assert!(too_big.to_string().contains("disk cap"), "{too_big}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_oldest_snapshots_go_first_when_over_the_cap() {
        let dir = scratch("cap");
        let s = Snapshots::new(policy(&dir, Duration::ZERO, 2500)).unwrap();
        let mut written = Vec::new();
        for i in 0..4 {
            let path = dir.join(format!("leak-1-{i}.heapsnapshot"));
            std::fs::write(&path, vec![b'x'; 1000]).unwrap();
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + i);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(t)
                .unwrap();
            written.push(path);
        }
        std::fs::write(dir.join("notes.txt"), vec![b'x'; 5000]).unwrap();
        let deleted = s.enforce_cap(&written[3]);
        assert_eq!(deleted, written[..2].to_vec());
        assert!(written[2].exists() && written[3].exists());
        assert!(
            dir.join("notes.txt").exists(),
            "only leak snapshots are deleted"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
