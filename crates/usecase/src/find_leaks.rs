//! The hunt's verdict on snapshots already taken (`find-leaks`), from the
//! files to the published report. The CLI and the MCP server both end up
//! here, so the verdict is the same whoever asked for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use leakscope_hunt::{FindLeaksError, Rules};
use leakscope_inspector::Observer;
use leakscope_report::FindLeaksReport;
use leakscope_snapshot::{HeapSnapshot, SnapshotError};
use leakscope_sourcemap::Positions;

/// Snapshots to judge.
pub struct FindLeaksRequest {
    /// Three or more snapshots of one process, oldest first.
    pub files: Vec<PathBuf>,
    /// Calls (requests, operations) each interval made, when known, so
    /// rates are per call; `Some(0)` counts as unknown.
    pub calls: Option<u64>,
    /// How positions are mapped back to sources.
    pub positions: Arc<Positions>,
}

/// Judges `request.files`. `load` reads and fully analyses one snapshot:
/// the face chooses caching and how loading shows.
pub fn find_leaks(
    request: &FindLeaksRequest,
    load: &mut dyn FnMut(&Path) -> Result<HeapSnapshot, SnapshotError>,
    observer: &mut dyn Observer,
) -> Result<FindLeaksReport, FindLeaksError> {
    let judged = leakscope_hunt::find_leaks(
        &request.files,
        request.calls.filter(|&c| c > 0),
        &Rules::default(),
        &request.positions,
        load,
        observer,
    )?;
    Ok(crate::report::find_leaks_report(&judged))
}
