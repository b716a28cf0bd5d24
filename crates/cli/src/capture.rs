//! Taking a snapshot from a live command: the library's
//! [`write_snapshot`] with a spinner, its cost said first.

use std::path::Path;

use leakscope_inspector::capture::{write_snapshot, Captured, SnapshotOptions};
use leakscope_inspector::{Client, InspectorError};

/// Takes a snapshot into `path`, showing progress unless `quiet`.
pub async fn capture(
    client: &Client,
    path: &Path,
    options: SnapshotOptions,
    quiet: bool,
) -> anyhow::Result<Captured> {
    let mut terminal = crate::progress::Terminal::new(quiet);
    let captured = write_snapshot(client, path, options, &mut terminal).await;
    terminal.bar.finish_and_clear();
    captured.map_err(with_force_hint)
}

/// A refused snapshot's error, with the flag that takes it anyway.
pub fn with_force_hint(e: InspectorError) -> anyhow::Error {
    match e {
        InspectorError::SnapshotUnaffordable(_) => {
            anyhow::anyhow!("{e}; --force-snapshot takes it anyway")
        }
        e => e.into(),
    }
}
