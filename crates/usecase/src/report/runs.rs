//! The documents of the commands that run something or read a file other
//! than a snapshot (`gc-log`, `jit`, `sample`, `load`, `cache`).

use std::path::{Path, PathBuf};

use leakscope_report::{
    cache, gc_log, jit, load, sample, CacheReport, Document, GcLogReport, JitRunReport, LoadReport,
    SampleReport,
};
use leakscope_sourcemap::SourceMapReport;

/// A `--trace-gc` log and its processes (already analysed, as
/// [`super::gc_process`] made them) as its document.
pub fn gc_log_report(
    file: &Path,
    log: &leakscope_gclog::Log,
    processes: Vec<gc_log::ProcessReport>,
) -> GcLogReport {
    GcLogReport {
        schema_version: GcLogReport::SCHEMA_VERSION,
        file: file.to_owned(),
        bytes: log.bytes,
        gc_lines: log.gc_lines,
        other_lines: log.other_lines,
        leak_suspected: processes.iter().any(|p| p.verdict.leak_suspected),
        processes,
    }
}

/// A JIT recording's load and its findings (as [`super::jit_report`] made
/// them) as `jit --json`'s document.
pub fn jit_run_report(
    recording: &leakscope_jit::session::Recording,
    findings: &jit::JitReport,
    source_maps: &SourceMapReport,
) -> JitRunReport {
    JitRunReport {
        schema_version: JitRunReport::SCHEMA_VERSION,
        url: recording.url.clone(),
        requests: recording.load.completed,
        requests_per_second: recording.load.requests_per_second,
        findings: findings.clone(),
        source_maps: super::source_maps(source_maps),
    }
}

/// Where `sample` wrote its files.
pub struct SampleFiles {
    pub heapprofile: PathBuf,
    pub flamegraph: PathBuf,
    pub pprof: PathBuf,
}

/// A sampled heap profile, its `top` functions (as listed) and the files
/// written as `sample --json`'s document.
pub fn sample_report(
    files: SampleFiles,
    profile: &leakscope_profile::SamplingProfile,
    top: &[leakscope_profile::FunctionTotal],
    source_maps: &SourceMapReport,
) -> SampleReport {
    SampleReport {
        schema_version: SampleReport::SCHEMA_VERSION,
        flamegraph: files.flamegraph,
        heapprofile: files.heapprofile,
        pprof: files.pprof,
        samples: profile.samples.len() as u64,
        source_maps: super::source_maps(source_maps),
        top_functions: top
            .iter()
            .map(|f| sample::FunctionTotal {
                function: f.function.clone(),
                samples: f.samples,
                self_size: f.self_size,
            })
            .collect(),
        total_size: profile.total_size(),
    }
}

/// A load run's report as its document.
pub fn load_report(r: &leakscope_load::Report) -> LoadReport {
    LoadReport {
        schema_version: LoadReport::SCHEMA_VERSION,
        completed: r.completed,
        errors: r.errors.clone(),
        error_count: r.error_count,
        status_counts: r.status_counts.clone(),
        non_2xx_3xx: r.non_2xx_3xx,
        seconds: r.seconds,
        requests_per_second: r.requests_per_second,
        body_bytes: r.body_bytes,
        connections_opened: r.connections_opened,
        latency: load::Latency {
            mean_ms: r.latency.mean_ms,
            p50_ms: r.latency.p50_ms,
            p90_ms: r.latency.p90_ms,
            p99_ms: r.latency.p99_ms,
            max_ms: r.latency.max_ms,
        },
    }
}

/// The analysis cache's entries as `cache --json`'s document.
pub fn cache_entries(
    directory: &Path,
    max_bytes: u64,
    entries: &[leakscope_snapshot::CachedFile],
) -> CacheReport {
    CacheReport::Entries(cache::CacheEntries {
        schema_version: CacheReport::SCHEMA_VERSION,
        directory: directory.to_owned(),
        max_bytes,
        bytes: entries.iter().map(|e| e.bytes).sum(),
        entries: entries
            .iter()
            .map(|e| cache::CachedFile {
                snapshot: e.snapshot.clone(),
                bytes: e.bytes,
                last_used: e
                    .last_used
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                has_retainers: e.has_retainers,
            })
            .collect(),
    })
}

/// What `cache --clear` freed as its document.
pub fn cache_cleared(directory: &Path, freed_bytes: u64) -> CacheReport {
    CacheReport::Cleared(cache::CacheCleared {
        schema_version: CacheReport::SCHEMA_VERSION,
        directory: directory.to_owned(),
        freed_bytes,
    })
}
