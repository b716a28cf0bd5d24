//! Snapshots kept analysed between tool calls: the last few in memory
//! (an agent asks several questions of one file), each read through the
//! analysis cache so even a restarted server maps a known file in about a
//! second.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use leakscope_explore::{Explorer, Observer};
use leakscope_snapshot::Cache;

/// Explorers kept in memory (a 1 GB snapshot's takes about 1 GB).
const KEPT: usize = 3;

/// A file as it was when analysed: a changed file is read again.
#[derive(Debug, Clone, PartialEq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(path: &Path) -> std::io::Result<Stamp> {
        let meta = std::fs::metadata(path)?;
        Ok(Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

pub type Shared = Arc<RwLock<Explorer>>;

struct Entry {
    path: PathBuf,
    stamp: Stamp,
    explorer: Shared,
}

pub struct Loaded {
    cache: Option<Cache>,
    entries: Mutex<Vec<Entry>>,
}

impl Loaded {
    pub fn new(cache: Option<Cache>) -> Self {
        Loaded {
            cache,
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The analysed snapshot at `path`, loading it (on this thread: call
    /// from a blocking task) if it is not in memory or changed since.
    pub fn get(&self, path: &Path, observer: &mut dyn Observer) -> Result<Shared, String> {
        let path = path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !path.is_file() {
            return Err(format!("{}: not a file", path.display()));
        }
        let stamp = Stamp::of(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        {
            let mut entries = self.entries.lock().expect("loaded lock");
            if let Some(i) = entries.iter().position(|e| e.path == path) {
                let entry = entries.remove(i);
                if entry.stamp == stamp {
                    let explorer = entry.explorer.clone();
                    entries.push(entry);
                    return Ok(explorer);
                }
            }
        }
        let explorer = Explorer::load(&path, self.cache.as_ref(), observer)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let explorer = Arc::new(RwLock::new(explorer));
        let mut entries = self.entries.lock().expect("loaded lock");
        entries.push(Entry {
            path,
            stamp,
            explorer: explorer.clone(),
        });
        if entries.len() > KEPT {
            entries.remove(0);
        }
        Ok(explorer)
    }
}
