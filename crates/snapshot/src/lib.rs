//! leakscope's heap snapshot engine: reads V8 `.heapsnapshot` and
//! `.heaptimeline` files of any size (plain, gzip or zstd) and computes the numbers Chrome
//! DevTools' Memory panel shows — class summary, distances, shallow and
//! retained sizes, dominators, retainers, comparison and statistics —
//! equal to DevTools', on flat arrays.
//!
//! ```no_run
//! use leakscope_snapshot::{load, Depth};
//! let snapshot = load("app.heapsnapshot".as_ref(), Depth::Full, &mut |_| {}, &mut |_| {})?;
//! let mut rows = snapshot.class_rows();
//! rows.sort_by(|a, b| b.retained_size.cmp(&a.retained_size));
//! println!("{} retains {} bytes", rows[0].name, rows[0].retained_size);
//! # Ok::<(), leakscope_snapshot::SnapshotError>(())
//! ```

// Node and edge data live in parallel columns indexed by ordinal; an index
// loop over several columns reads better than zipped iterators.
#![allow(clippy::needless_range_loop)]

pub mod analysis;
mod bitset;
pub mod compressed;
pub mod error;
pub mod graph;
pub mod reader;
pub mod strings;

use std::path::Path;

pub use analysis::allocation::{AllocationTraces, Frame};
pub use analysis::diff::{compare, ClassDiff};
pub use analysis::retainers::{Retainer, RetainerIndex};
pub use analysis::summary::{ClassRow, NodeInfo};
pub use analysis::{Depth, HeapSnapshot, InterfaceDefinition, Statistics};
pub use error::SnapshotError;

/// Reads and analyses a snapshot file. `bytes_read` is called as the file is
/// read; `step` as each analysis step starts.
pub fn load(
    path: &Path,
    depth: Depth,
    bytes_read: &mut dyn FnMut(u64),
    step: &mut dyn FnMut(&'static str),
) -> Result<HeapSnapshot, SnapshotError> {
    let raw = reader::read_file(path, bytes_read)?;
    Ok(HeapSnapshot::analyze(raw, depth, step))
}
