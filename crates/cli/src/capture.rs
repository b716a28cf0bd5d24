//! Taking a snapshot from a live command: the library's
//! [`write_snapshot`] with a spinner, and a warning before a long pause.

use std::path::Path;

use leakscope_inspector::capture::{
    pause_estimate_secs, write_snapshot, Captured, SnapshotOptions,
};
use leakscope_inspector::Client;

use crate::output::size;

/// Takes a snapshot into `path`, showing progress unless `quiet`.
pub async fn capture(
    client: &Client,
    path: &Path,
    options: SnapshotOptions,
    quiet: bool,
) -> anyhow::Result<Captured> {
    let used = client.get_heap_usage().await?.used_size as u64;
    if used > 100_000_000 && !quiet {
        eprintln!(
            "note: the heap holds {}; the target stops for roughly {:.0} s while V8 writes the snapshot",
            size(used),
            pause_estimate_secs(used)
        );
    }
    let bar = crate::progress::spinner(quiet);
    let captured = write_snapshot(client, path, options, &mut |p| {
        bar.set_message(p.to_string())
    })
    .await;
    bar.finish_and_clear();
    Ok(captured?)
}
