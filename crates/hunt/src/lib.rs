//! Finding memory leaks in a live Node process by driving load at it.
//!
//! [`session::run`] is the hunt: warm-up, a baseline snapshot, then rounds of
//! load each followed by a forced GC and a snapshot, adapted as it goes
//! (rounds end on time and heap growth as well as on requests, small
//! suspects earn more rounds, allocation tracking only where the app can
//! afford it). [`verdict::assess`] turns the snapshots into findings: what
//! every round added, grouped by holder, named as a developer would.
//! Progress goes to an [`session::Observer`] the caller supplies (the CLI
//! draws bars; a web page could stream it).

pub mod digest;
pub mod naming;
pub mod offline;
pub mod report;
pub mod sampled;
pub mod session;
pub mod verdict;
pub mod warning;

use std::collections::HashMap;

use leakscope_snapshot::{AllocationTraces, Frame, HeapSnapshot};

pub use digest::{growing_classes, ClassGrowth, Digest};
pub use naming::{AnonymousFunction, AnonymousRole, Step};
pub use offline::{find_leaks, FindLeaksError, Judgement, SnapshotSummary};
pub use report::Report;
pub use verdict::{
    assess, AllocationSite, Confidence, Evidence, Finding, LeakedClass, Round, RoundGrowth, Rules,
    Scale,
};
pub use warning::Warning;

/// Allocation stacks from a snapshot taken with allocation tracking on,
/// looked up by object id so that a later snapshot's objects find theirs.
pub struct TracedSites {
    traces: AllocationTraces,
    /// Object id → trace node id.
    by_id: HashMap<u32, u32>,
}

impl TracedSites {
    /// `None` when `s` was taken without allocation tracking.
    pub fn of(s: &HeapSnapshot) -> Option<TracedSites> {
        let traces = AllocationTraces::of(s)?;
        let g = &s.graph;
        let by_id = g
            .trace_node_id
            .iter()
            .enumerate()
            .filter(|&(_, &t)| t != 0)
            .map(|(v, &t)| (g.node_id[v], t))
            .collect();
        Some(TracedSites { traces, by_id })
    }

    /// The stack that allocated the object with `id`, innermost first.
    pub fn stack_of(&self, id: u32) -> Vec<&Frame> {
        self.by_id
            .get(&id)
            .map(|&t| self.traces.stack(t))
            .unwrap_or_default()
    }

    /// How many objects have a known stack.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
