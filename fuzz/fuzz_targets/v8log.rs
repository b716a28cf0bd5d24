//! Any bytes, in any chunking: the V8 log reader counts what it cannot
//! read and never panics.
#![no_main]

use leakscope_v8log::JitLog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(1, |&b| b as usize % 64 + 1);
    let mut log = JitLog::default();
    for chunk in data.chunks(split) {
        log.feed(chunk);
    }
    let report = log.finish();
    for site in &report.ic_sites {
        let _ = report.site_position(site);
    }
});
