//! Any bytes: the reader returns an error or a snapshot that the analyses
//! can run on, never a panic.
#![no_main]

use leakscope_snapshot::{reader, Depth, HeapSnapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = reader::read_from(data, Some(data.len() as u64), &mut |_| {}) {
        let snapshot = HeapSnapshot::analyze(raw, Depth::Full, &mut leakscope_snapshot::Silent);
        let _ = snapshot.class_rows();
    }
});
