//! leakscope's heap snapshot engine: reads V8 `.heapsnapshot` and
//! `.heaptimeline` files of any size (plain, gzip or zstd) and computes the numbers Chrome
//! DevTools' Memory panel shows — class summary, distances, shallow and
//! retained sizes, dominators, retainers, comparison and statistics —
//! equal to DevTools', on flat arrays.
//!
//! ```no_run
//! use leakscope_snapshot::{load, Depth};
//! let snapshot = load("app.heapsnapshot".as_ref(), Depth::Full, &mut leakscope_progress::Silent)?;
//! let mut rows = snapshot.class_rows();
//! rows.sort_by(|a, b| b.retained_size.cmp(&a.retained_size));
//! println!("{} retains {} bytes", rows[0].name, rows[0].retained_size);
//! # Ok::<(), leakscope_snapshot::SnapshotError>(())
//! ```

// Node and edge data live in parallel columns indexed by ordinal; an index
// loop over several columns reads better than zipped iterators.
#![allow(clippy::needless_range_loop)]

pub mod analysis;
pub mod bitset;
pub mod cache;
pub mod column;
pub mod compressed;
pub mod error;
pub mod graph;
pub mod reader;
pub mod strings;

use std::path::Path;

pub use analysis::allocation::{AllocationTraces, Frame};
pub use analysis::diff::{compare, ClassDiff};
pub use analysis::filters::NodeFilter;
pub use analysis::retainers::{Retainer, RetainerIndex};
pub use analysis::summary::{ClassRow, NodeInfo};
pub use analysis::{Depth, HeapSnapshot, InterfaceDefinition, Statistics};
pub use bitset::BitSet;
pub use cache::{Cache, CachedFile};
pub use error::SnapshotError;
pub use leakscope_progress::{Observer, Silent};

/// Reads and analyses a snapshot file, telling `observer` the bytes read
/// (`advanced`) and each analysis step as it starts (`progress`).
pub fn load(
    path: &Path,
    depth: Depth,
    observer: &mut dyn Observer,
) -> Result<HeapSnapshot, SnapshotError> {
    let raw = reader::read_file(path, observer)?;
    Ok(HeapSnapshot::analyze(raw, depth, observer))
}

/// [`load`], through the analysis cache: a file analysed before and unchanged
/// since is mapped from `cache` (then the only step is "Mapped the cached
/// analysis", once it is); otherwise it is analysed and its analysis kept for next time ("Saving the
/// analysis"). A cache that cannot be read or written is skipped, never an
/// error.
pub fn load_cached(
    path: &Path,
    depth: Depth,
    cache: &Cache,
    observer: &mut dyn Observer,
) -> Result<HeapSnapshot, SnapshotError> {
    let Ok(key) = cache::FileKey::of(path) else {
        return load(path, depth, observer);
    };
    if let Some(snapshot) = cache.open(&key, depth == Depth::Full) {
        observer.progress("Mapped the cached analysis");
        return Ok(snapshot);
    }
    let snapshot = load(path, depth, observer)?;
    // A file that changed while it was read is not kept under either key.
    if cache::FileKey::of(path).is_ok_and(|now| now == key) {
        observer.progress("Saving the analysis");
        if let Some(slot) = cache.store(&key, &snapshot) {
            return Ok(snapshot.with_slot(std::sync::Arc::new(slot)));
        }
    }
    Ok(snapshot)
}
