//! The edge: what the tools measured, turned into the published documents
//! of `leakscope-report`. Nothing else writes them, so a tool's internal
//! types can change without changing a report. Here the hunt's and
//! find-leaks' (and their JIT and GC-log sections); `heap` for the snapshot
//! commands, `runs` for gc-log, jit, sample, load and cache.

mod heap;
mod runs;
mod watch;

pub use heap::ellipsize;
pub use heap::{
    class_table, describe, diff_report, dominators_report, frame, instance_list, node,
    retainers_report, statistics, stats_report, timeline_report,
};
pub use runs::{
    cache_cleared, cache_entries, gc_log_report, jit_run_report, load_report, sample_report,
    SampleFiles,
};
pub use watch::{loop_delay_p99_ms, watch_event, watch_summary};

use leakscope_hunt as hunt;
use leakscope_report::{common, find_leaks, gc_log, jit, Document, FindLeaksReport, HuntReport};

/// A finished hunt as its document.
pub fn hunt_report(
    report: &hunt::Report,
    gc_log: Option<&[leakscope_gclog::ProcessReport]>,
    jit: Option<&leakscope_jit::Findings>,
) -> HuntReport {
    use leakscope_report::hunt as doc;
    let o = &report.outcome;
    HuntReport {
        schema_version: HuntReport::SCHEMA_VERSION,
        target: report.target.clone(),
        verdict: report.verdict.to_owned(),
        confidence: confidence(report.confidence),
        confidence_reason: report.confidence_reason.clone(),
        requests_per_second: report.requests_per_second,
        load: match o.load {
            hunt::session::LoadMode::Http => doc::LoadMode::Http,
            hunt::session::LoadMode::Command => doc::LoadMode::Command,
            hunt::session::LoadMode::None => doc::LoadMode::None,
        },
        url: o.url.clone(),
        concurrency: o.concurrency.map(|c| c as u64),
        load_command: o.load_command.clone(),
        pid: o.pid,
        warmup: doc::Warmup {
            requests: o.warmup.requests,
            seconds: o.warmup.seconds,
            requests_per_second: o.warmup.requests_per_second,
            ended_by: o.warmup.ended_by.to_string(),
        },
        baseline_memory: memory(&o.baseline_memory),
        baseline_snapshot_seconds: o.baseline_snapshot_seconds,
        rounds: o
            .rounds
            .iter()
            .map(|r| doc::RoundReport {
                round: round(&r.round),
                errors: r.errors,
                status_counts: r.status_counts.clone(),
                requests_per_second: r.requests_per_second,
                p99_ms: r.p99_ms,
                heap_used: r.heap_used,
                memory: memory(&r.memory),
                ended_by: r.ended_by.to_string(),
                tracked: r.tracked,
                snapshot_seconds: r.snapshot_seconds,
                load_command: r.load_command.as_ref().map(|c| doc::CommandRun {
                    status: c.status.clone(),
                    failed: c.failed,
                    stopped: c.stopped,
                    seconds: c.seconds,
                    tail: c.tail.clone(),
                }),
            })
            .collect(),
        findings: o.findings.iter().map(finding).collect(),
        growing_classes: o.growing_classes.iter().map(class_growth).collect(),
        sampled_allocations: o.sampled_allocations.iter().map(sampled).collect(),
        gcs: o
            .gcs
            .iter()
            .map(|g| doc::GcPoint {
                seconds: g.seconds,
                kind: g.kind.to_owned(),
                pause_ms: g.pause_ms,
                heap_used: g.heap_used,
            })
            .collect(),
        baseline_ms: o.baseline_ms,
        tracking: doc::Tracking {
            used: o.tracking.used,
            why: o.tracking.why.to_string(),
        },
        threads: o
            .threads
            .iter()
            .map(|t| doc::ThreadHeap {
                thread: t.thread.clone(),
                heap_used: t.heap_used.clone(),
                judged: t.judged,
                note: t.note.clone(),
                snapshots: t.snapshots.clone(),
                sampled_allocations: t.sampled_allocations.iter().map(sampled).collect(),
            })
            .collect(),
        sampled_because: o.sampled_because.clone(),
        notes: o.notes.clone(),
        warnings: o.warnings.iter().map(ToString::to_string).collect(),
        stopped_by: o.stopped_by.clone(),
        timeline: o
            .timeline
            .iter()
            .map(|p| doc::Phase {
                what: p.what.clone(),
                seconds: p.seconds,
            })
            .collect(),
        snapshots: o.snapshots.clone(),
        seconds: o.seconds,
        source_maps: source_maps(&o.source_maps),
        snapshots_kept: report.snapshots_kept,
        gc_log: gc_log.map(|reports| reports.iter().map(gc_process).collect()),
        jit: jit.map(jit_report),
    }
}

/// A verdict on snapshot files as its document.
pub fn find_leaks_report(j: &hunt::Judgement) -> FindLeaksReport {
    FindLeaksReport {
        schema_version: FindLeaksReport::SCHEMA_VERSION,
        verdict: j.verdict.to_owned(),
        confidence: confidence(j.confidence),
        confidence_reason: j.confidence_reason.clone(),
        thread: j.thread.clone(),
        snapshots: j
            .snapshots
            .iter()
            .map(|s| find_leaks::SnapshotSummary {
                path: s.path.clone(),
                taken: s.taken,
                heap_bytes: s.heap_bytes,
                nodes: s.nodes,
                max_id: s.max_id,
            })
            .collect(),
        intervals: j.intervals.iter().map(round).collect(),
        findings: j.findings.iter().map(finding).collect(),
        growing_classes: j.growing_classes.iter().map(class_growth).collect(),
        notes: j.notes.clone(),
        warnings: j.warnings.iter().map(ToString::to_string).collect(),
        source_maps: source_maps(&j.source_maps),
        seconds: j.seconds,
    }
}

/// The JIT findings of a recording as their document.
pub fn jit_report(f: &leakscope_jit::Findings) -> jit::JitReport {
    jit::JitReport {
        busy_ms: f.busy_ms,
        gc_share: f.gc_share,
        hot: f
            .hot
            .iter()
            .map(|h| jit::HotFunction {
                name: h.name.clone(),
                url: h.url.clone(),
                line: h.line,
                column: h.column,
                generated: h.generated.clone(),
                self_share: h.self_share,
                total_share: h.total_share,
                self_ms: h.self_ms,
                optimized: h.optimized,
                inlined_into: h.inlined_into.clone(),
                compilations: h.compilations.as_ref().map(|c| jit::Compilations {
                    interpreted: c.interpreted,
                    baseline: c.baseline,
                    maglev: c.maglev,
                    turbofan: c.turbofan,
                }),
                deopts: h.deopts.iter().map(deopt).collect(),
                ic_sites: h
                    .ic_sites
                    .iter()
                    .map(|ic| jit::IcProblem {
                        position: ic.position.clone(),
                        generated: ic.generated.clone(),
                        kind: ic.kind.clone(),
                        key: ic.key.clone(),
                        state: ic_state(ic.state),
                        maps: ic.maps,
                    })
                    .collect(),
                allocated_bytes: h.allocated_bytes,
                allocation_share: h.allocation_share,
                problems: h.problems.clone(),
                jit_problem: h.has_jit_problem(),
            })
            .collect(),
        v8_log: f.v8_log,
        v8_version: f.v8_version.clone(),
        notes: f.notes.clone(),
        deopts: f.deopts.iter().map(deopt).collect(),
        profile_seconds: f.profile_seconds,
        busy_samples: f.busy_samples,
    }
}

/// One isolate's analysed GC log as its document.
pub fn gc_process(p: &leakscope_gclog::ProcessReport) -> gc_log::ProcessReport {
    let v = &p.verdict;
    gc_log::ProcessReport {
        pid: p.pid,
        isolate: p.isolate.clone(),
        first_ms: p.first_ms,
        last_ms: p.last_ms,
        gcs: p.gcs,
        kinds: p
            .kinds
            .iter()
            .map(|k| gc_log::KindReport {
                kind: gc_kind(k.kind),
                count: k.count,
                pause_total_ms: k.pause_total_ms,
                pause_p50_ms: k.pause_p50_ms,
                pause_p99_ms: k.pause_p99_ms,
                pause_max_ms: k.pause_max_ms,
                heap_before_mean: k.heap_before_mean,
                heap_after_mean: k.heap_after_mean,
                heap_after_first: k.heap_after_first,
                heap_after_last: k.heap_after_last,
            })
            .collect(),
        gc_time_share: p.gc_time_share,
        mutator_utilization: p.mutator_utilization,
        verdict: gc_log::SeriesVerdict {
            leak_suspected: v.leak_suspected,
            summary: v.summary.clone(),
            start_heap: v.start_heap,
            end_heap: v.end_heap,
            growth: v.growth,
            mb_per_hour: v.mb_per_hour,
            span_ms: v.span_ms,
            fit_r2: v.fit_r2,
            trend_p: v.trend_p,
            pause_growth: v.pause_growth,
            gcs_judged: v.gcs_judged as u64,
        },
        reasons: p
            .reasons
            .iter()
            .map(|r| gc_log::ReasonCount {
                kind: gc_kind(r.kind),
                reason: r.reason.clone(),
                count: r.count,
            })
            .collect(),
    }
}

fn gc_kind(kind: leakscope_gclog::Kind) -> gc_log::Kind {
    match kind {
        leakscope_gclog::Kind::Scavenge => gc_log::Kind::Scavenge,
        leakscope_gclog::Kind::MinorMarkCompact => gc_log::Kind::MinorMarkCompact,
        leakscope_gclog::Kind::MarkCompact => gc_log::Kind::MarkCompact,
        leakscope_gclog::Kind::MarkSweep => gc_log::Kind::MarkSweep,
    }
}

fn ic_state(state: leakscope_v8log::IcState) -> jit::IcState {
    use leakscope_v8log::IcState as S;
    match state {
        S::NoFeedback => jit::IcState::NoFeedback,
        S::Uninitialized => jit::IcState::Uninitialized,
        S::Premonomorphic => jit::IcState::Premonomorphic,
        S::Monomorphic => jit::IcState::Monomorphic,
        S::RecomputeHandler => jit::IcState::RecomputeHandler,
        S::Polymorphic => jit::IcState::Polymorphic,
        S::Megadom => jit::IcState::Megadom,
        S::Megamorphic => jit::IcState::Megamorphic,
        S::Generic => jit::IcState::Generic,
    }
}

fn deopt(d: &leakscope_jit::DeoptSite) -> jit::DeoptSite {
    jit::DeoptSite {
        position: d.position.clone(),
        generated: d.generated.clone(),
        reason: d.reason.clone(),
        kind: d.kind.clone(),
        count: d.count,
        url: d.url.clone(),
        line: d.line,
        column: d.column,
        function: function_ref(&d.function),
        inlined_into: d.inlined_into.as_ref().map(function_ref),
        inlined_at: d.inlined_at.clone(),
        optimized_in: d.optimized_in.as_ref().map(function_ref),
        advice: d.advice.clone(),
        sentence: d.sentence(),
        when: d.when.clone(),
        phases: d.phases.map(|p| jit::PhaseCounts {
            start_up: p.start_up,
            warm_up: p.warm_up,
            load: p.load,
        }),
        first_seconds: d.first_seconds,
        last_seconds: d.last_seconds,
    }
}

fn function_ref(f: &leakscope_jit::FunctionRef) -> jit::FunctionRef {
    jit::FunctionRef {
        name: f.name.clone(),
        url: f.url.clone(),
        line: f.line,
        column: f.column,
        generated: f.generated.clone(),
    }
}

fn confidence(c: hunt::Confidence) -> common::Confidence {
    match c {
        hunt::Confidence::High => common::Confidence::High,
        hunt::Confidence::Medium => common::Confidence::Medium,
        hunt::Confidence::Low => common::Confidence::Low,
    }
}

fn memory(m: &hunt::session::Memory) -> leakscope_report::hunt::Memory {
    leakscope_report::hunt::Memory {
        rss: m.rss,
        heap_used: m.heap_used,
        heap_total: m.heap_total,
        external: m.external,
        array_buffers: m.array_buffers,
    }
}

fn round(r: &hunt::Round) -> common::Round {
    common::Round {
        requests: r.requests,
        seconds: r.seconds,
        connections: r.connections,
    }
}

fn step(s: &hunt::Step) -> common::Step {
    common::Step {
        edge: s.edge.clone(),
        node: s.node.clone(),
        id: s.id,
    }
}

fn leaked_class(c: &hunt::LeakedClass) -> common::LeakedClass {
    common::LeakedClass {
        name: c.name.clone(),
        count: c.count,
        bytes: c.bytes,
        per_request: c.per_request,
        per_second: c.per_second,
        example: c.example.clone(),
    }
}

fn finding(f: &hunt::Finding) -> common::Finding {
    common::Finding {
        thread: f.thread.clone(),
        holder: f.holder.clone(),
        holder_id: f.holder_id,
        package: f.package.clone(),
        held_together_with: f.held_together_with.clone(),
        path_to_holder: f.path_to_holder.iter().map(step).collect(),
        path_to_leaked: f.path_to_leaked.iter().map(step).collect(),
        leaked_items: leaked_class(&f.leaked_items),
        chain: f.chain,
        classes: f.classes.iter().map(leaked_class).collect(),
        objects: f.objects,
        bytes: f.bytes,
        external_bytes: f.external_bytes,
        storage_bytes: f.storage_bytes,
        per_round: f
            .per_round
            .iter()
            .map(|r| common::RoundGrowth {
                objects: r.objects,
                bytes: r.bytes,
            })
            .collect(),
        objects_per_request: f.objects_per_request,
        bytes_per_request: f.bytes_per_request,
        objects_per_second: f.objects_per_second,
        bytes_per_second: f.bytes_per_second,
        mb_per_hour: f.mb_per_hour,
        steadiness: f.steadiness,
        confidence: confidence(f.confidence),
        evidence: f.evidence.clone(),
        allocation: f.allocation.as_ref().map(|a| common::AllocationSite {
            stack: a.stack.clone(),
            objects: a.objects,
            source: a.source.clone(),
            code: a.code.clone(),
        }),
        example_id: f.example_id,
        anonymous_functions: f
            .anonymous_functions
            .iter()
            .map(|a| common::AnonymousFunction {
                defined_at: a.defined_at.clone(),
                role: match a.role {
                    hunt::AnonymousRole::LeakedItems => common::AnonymousRole::LeakedItems,
                    hunt::AnonymousRole::RetainingPath => common::AnonymousRole::RetainingPath,
                    hunt::AnonymousRole::Scope => common::AnonymousRole::Scope,
                },
                advice: a.advice.clone(),
                id: a.id,
            })
            .collect(),
    }
}

fn class_growth(c: &hunt::ClassGrowth) -> common::ClassGrowth {
    common::ClassGrowth {
        thread: c.thread.clone(),
        name: c.name.clone(),
        counts: c.counts.clone(),
        bytes: c.bytes.clone(),
        per_request: c.per_request,
        per_second: c.per_second,
    }
}

fn sampled(s: &leakscope_profile::SampledStack) -> common::SampledStack {
    common::SampledStack {
        frames: s.frames.clone(),
        bytes: s.bytes,
    }
}

pub(crate) fn source_maps(m: &leakscope_sourcemap::SourceMapReport) -> common::SourceMaps {
    common::SourceMaps {
        generated_positions: m
            .generated_positions
            .iter()
            .map(|p| common::MappedPosition {
                shown: p.shown.clone(),
                generated: p.generated.clone(),
            })
            .collect(),
        warnings: m.warnings.clone(),
    }
}
