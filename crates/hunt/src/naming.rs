//! Holders, paths and allocation sites described the way a developer names
//! them: "Array `pending` (module scope of app.js)", "the 'reload'
//! listeners of EventEmitter `config`".

use std::collections::{HashMap, HashSet};

use leakscope_snapshot::analysis::distances::BASE_UNREACHABLE_DISTANCE;
use leakscope_snapshot::{AllocationTraces, HeapSnapshot, Retainer, RetainerIndex};
use serde::Serialize;

use crate::AllocationSite;

/// One step of a retaining path: the edge into `node`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    /// As DevTools prints it: `.name`, `[index]`, `{internal}`; empty for
    /// the first node.
    pub edge: String,
    pub node: String,
    pub id: u32,
}

/// V8's own containers (backing stores, contexts, hidden and synthetic
/// nodes): never the holder a developer would name.
pub fn is_internal(s: &HeapSnapshot, v: u32) -> bool {
    let ty = s.graph.type_name(v);
    let class = s.class_name(v);
    matches!(
        ty,
        "hidden" | "array" | "code" | "synthetic" | "object shape" | "number"
    ) || class.starts_with("system /")
        || class.starts_with('(')
}

/// A short label for an object's kind: the class, or `closure name`.
pub fn label(s: &HeapSnapshot, v: u32) -> String {
    if s.graph.type_name(v) == "closure" {
        let name = s.display_name(v);
        if name.is_empty() {
            "closure (anonymous)".to_owned()
        } else {
            format!("closure {name}")
        }
    } else {
        s.class_name(v).to_owned()
    }
}

fn describe(s: &HeapSnapshot, v: u32) -> String {
    let class = s.class_name(v);
    let name = s.display_name(v);
    if name.is_empty() || name == class || s.graph.type_name(v) == "string" {
        class.to_owned()
    } else {
        let name: String = name.chars().take(40).collect();
        format!("{class} {name}")
    }
}

/// An edge label with indexes and the keys of big dictionaries blurred, so
/// that paths through different elements of one container look alike.
fn blurred_label(s: &HeapSnapshot, edge: usize) -> String {
    let g = &s.graph;
    let from = g.edge_source(edge);
    match g.edge_type_name(edge) {
        "element" | "hidden" => "[]".to_owned(),
        _ if g.edges(from).len() > 64 => "[…]".to_owned(),
        _ => s.edge_label(edge),
    }
}

/// Finds each top's holder, sharing the work between tops held through the
/// same nodes.
pub struct HolderResolver<'a, F: Fn(u32) -> Option<usize>> {
    s: &'a HeapSnapshot,
    index: &'a RetainerIndex,
    round_of: &'a F,
    /// Node → its holder, or `u32::MAX`.
    memo: HashMap<u32, u32>,
    /// Context holder → the variable that leads to its group.
    variables: HashMap<u32, String>,
}

impl<'a, F: Fn(u32) -> Option<usize>> HolderResolver<'a, F> {
    pub fn new(s: &'a HeapSnapshot, index: &'a RetainerIndex, round_of: &'a F) -> Self {
        HolderResolver {
            s,
            index,
            round_of,
            memo: HashMap::new(),
            variables: HashMap::new(),
        }
    }

    /// The holder of `top`: the first old, non-internal object on its
    /// retaining path, or the old function context whose variable points
    /// into the path; `u32::MAX` if there is none.
    pub fn resolve(&mut self, top: u32) -> u32 {
        let s = self.s;
        let g = &s.graph;
        let mut chain: Vec<u32> = Vec::new();
        let mut seen = HashSet::new();
        let mut v = top;
        let holder = loop {
            if let Some(&known) = self.memo.get(&v) {
                break known;
            }
            let old = v != top && (self.round_of)(v).is_none();
            // An old object of the same kind as the one it holds is an
            // earlier link of the same list (warm-up's timers, say).
            let same_kind = chain
                .last()
                .is_some_and(|&below| label(s, below) == label(s, v));
            if old && !is_internal(s, v) && !same_kind {
                break v;
            }
            let Some(Retainer { edge, from }) = s.retainers(self.index, v).first().copied() else {
                break u32::MAX;
            };
            chain.push(v);
            if g.edge_type_name(edge) == "context"
                && (self.round_of)(from).is_none()
                && s.class_name(from) == "system / Context"
            {
                self.variables
                    .entry(from)
                    .or_insert_with(|| g.edge_name_text(edge, &s.strings));
                break from;
            }
            let d = s.distances[from as usize];
            // Linked lists of new objects make long paths; `seen` ends cycles.
            if d >= BASE_UNREACHABLE_DISTANCE || !seen.insert(from) {
                break u32::MAX;
            }
            v = from;
        };
        for node in chain {
            self.memo.insert(node, holder);
        }
        holder
    }

    /// The variable through which a context holder holds its group.
    pub fn variable(&self, context: u32) -> Option<&str> {
        self.variables.get(&context).map(String::as_str)
    }
}

/// The raw name of the edge into `v` on its retaining path, and the node it
/// comes from.
fn incoming(s: &HeapSnapshot, index: &RetainerIndex, v: u32) -> Option<(String, u32)> {
    let r = s.retainers(index, v).first().copied()?;
    Some((s.graph.edge_name_text(r.edge, &s.strings), r.from))
}

/// "Array `pending` (module scope of app.js)", "the 'reload' listeners of
/// EventEmitter `config` (module scope of app.js)", "Map `renderCache`".
pub fn holder_name(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    holder: u32,
    variable: Option<&str>,
) -> String {
    if let Some(variable) = variable {
        let mut text = format!("variable `{variable}`");
        if let Some(script) = context_script(s, index, holder) {
            text.push_str(&format!(" (scope of {script})"));
        }
        return text;
    }
    let class = label(s, holder);
    let Some((name, parent)) = incoming(s, index, holder) else {
        return class;
    };
    let named = |name: &str, class: &str| {
        if name.parse::<u64>().is_ok() {
            format!("{class} [{name}]")
        } else {
            format!("{class} `{name}`")
        }
    };
    let mut text = named(&name, &class);
    if class == "TimersList" {
        text = format!("the {name} ms timer list (timers never cleared)");
    }
    // emitter._events[name] is the listener list of event `name`.
    if let Some((events, emitter)) = incoming(s, index, parent).filter(|(e, _)| e == "_events") {
        let _ = events;
        let emitter_name = incoming(s, index, emitter)
            .map(|(n, _)| named(&n, &label(s, emitter)))
            .unwrap_or_else(|| label(s, emitter));
        text = format!("the '{name}' listeners of {emitter_name}");
    }
    if let Some(script) = enclosing_script(s, index, holder) {
        text.push_str(&format!(" (module scope of {script})"));
    }
    text
}

/// The script whose scope (context) holds `v`, if the path to `v` passes
/// through a function context: found through a closure of that context.
fn enclosing_script(s: &HeapSnapshot, index: &RetainerIndex, v: u32) -> Option<String> {
    let path = s.retaining_path(index, v, 100);
    let context = path
        .iter()
        .take(4)
        .map(|r| r.from)
        .find(|&u| s.class_name(u) == "system / Context")?;
    context_script(s, index, context)
}

/// The script of a function context, through one of its closures.
fn context_script(s: &HeapSnapshot, index: &RetainerIndex, context: u32) -> Option<String> {
    let g = &s.graph;
    index.of(context).iter().find_map(|&e| {
        let e = e as usize;
        let closure = g.edge_source(e);
        if g.type_name(closure) != "closure" || g.edge_name_text(e, &s.strings) != "context" {
            return None;
        }
        script_of_closure(s, closure)
    })
}

/// The script a closure was defined in (closure → shared → script).
fn script_of_closure(s: &HeapSnapshot, closure: u32) -> Option<String> {
    let child = |v: u32, name: &str| {
        let g = &s.graph;
        g.edges(v)
            .find(|&e| g.edge_name_text(e, &s.strings) == name)
            .map(|e| g.edge_to[e])
    };
    let shared = child(closure, "shared")?;
    let script = child(shared, "script_or_debug_info")?;
    let name = s.display_name(script);
    (!name.is_empty() && !name.starts_with("system /")).then(|| short_script(&name))
}

/// "new UserSession (class at app.js:4:1)": the constructor of an object,
/// found through its map's prototype.
fn constructor_site(s: &HeapSnapshot, object: u32) -> Option<String> {
    let g = &s.graph;
    let child = |v: u32, name: &str| {
        g.edges(v)
            .find(|&e| g.edge_name_text(e, &s.strings) == name)
            .map(|e| g.edge_to[e])
    };
    let prototype = child(child(object, "map")?, "prototype")?;
    let constructor = child(prototype, "constructor")?;
    if g.type_name(constructor) != "closure" {
        return None;
    }
    let location = g.locations.iter().find(|l| l.node == constructor)?;
    let script = script_of_closure(s, constructor)?;
    Some(format!(
        "new {} (defined at {script}:{}:{})",
        s.display_name(constructor),
        location.line + 1,
        location.column + 1
    ))
}

/// `/home/me/app/server.js` → `server.js`; `file:///…/x.mjs` → `x.mjs`.
fn short_script(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_owned()
}

/// The retaining path from the GC roots down to `v`.
pub fn path_from_root(s: &HeapSnapshot, index: &RetainerIndex, v: u32) -> Vec<Step> {
    let path = s.retaining_path(index, v, 100);
    let start = path.last().map_or(v, |r| r.from);
    let mut steps = vec![Step {
        edge: String::new(),
        node: describe(s, start),
        id: s.graph.node_id[start as usize],
    }];
    for r in path.iter().rev() {
        let to = s.graph.edge_to[r.edge];
        steps.push(Step {
            edge: s.edge_label(r.edge),
            node: describe(s, to),
            id: s.graph.node_id[to as usize],
        });
    }
    steps
}

/// The path from `holder` down to `item` (through `top`), indexes blurred.
pub fn path_between(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    holder: u32,
    top: u32,
    item: u32,
) -> Vec<Step> {
    let up = |from: u32| {
        let mut steps = Vec::new();
        let mut v = from;
        let mut seen = HashSet::from([v]);
        while v != holder && steps.len() < 30 {
            let r = s.retainers(index, v).first().copied()?;
            steps.push(Step {
                edge: blurred_label(s, r.edge),
                node: describe(s, v),
                id: s.graph.node_id[v as usize],
            });
            if !seen.insert(r.from) {
                return None;
            }
            v = r.from;
        }
        (v == holder).then_some(steps)
    };
    let mut steps = up(item).or_else(|| up(top)).unwrap_or_default();
    steps.reverse();
    steps
}

/// Where `items` were allocated: the definition of leaked closures (where
/// V8 created them) and, when the snapshot has allocation stacks, the
/// application's innermost frames (a frame is a function and the position
/// where it is defined).
pub fn allocation_site(
    s: &HeapSnapshot,
    traces: Option<&AllocationTraces>,
    items: &[u32],
) -> Option<AllocationSite> {
    let mut stack = Vec::new();
    let mut objects = 0;
    let mut sources = Vec::new();
    if let Some(&first) = items
        .first()
        .filter(|&&v| s.graph.type_name(v) == "closure")
    {
        if let Some(location) = s.graph.locations.iter().find(|l| l.node == first) {
            let script = script_of_closure(s, first).unwrap_or_default();
            let name = s.display_name(first);
            let name = if name.is_empty() {
                "(anonymous)"
            } else {
                &name
            };
            stack.push(format!(
                "closure {name} created at {script}:{}:{}",
                location.line + 1,
                location.column + 1
            ));
            objects = items.len() as u64;
            sources.push("closure definition");
        }
    }
    if let Some(&first) = items.first().filter(|&&v| s.graph.type_name(v) == "object") {
        if let Some(site) = constructor_site(s, first) {
            stack.push(site);
            objects = items.len() as u64;
            sources.push("class definition");
        }
    }
    if let Some(traces) = traces {
        let mut counts: HashMap<Vec<String>, u64> = HashMap::new();
        for &v in items {
            let trace = s.graph.trace_node_id.get(v as usize).copied().unwrap_or(0);
            if trace == 0 {
                continue;
            }
            let user: Vec<String> = traces
                .stack(trace)
                .into_iter()
                .filter(|f| !f.script.is_empty() && !f.script.starts_with("node:"))
                .take(4)
                .map(|f| {
                    let mut f = f.clone();
                    f.script = short_script(&f.script);
                    format!("in {f}")
                })
                .collect();
            if !user.is_empty() {
                *counts.entry(user).or_default() += 1;
            }
        }
        if let Some((frames, count)) = counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        {
            stack.extend(frames);
            objects = count;
            sources.push("allocation tracking");
        }
    }
    (!stack.is_empty()).then(|| AllocationSite {
        stack,
        objects,
        source: sources.join(" + "),
    })
}
