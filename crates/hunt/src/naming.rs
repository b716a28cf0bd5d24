//! Holders, paths and allocation sites described the way a developer names
//! them: "Array `pending` (module scope of app.js)", "the 'reload'
//! listeners of EventEmitter `config`", "`hashMap` of Histogram
//! `api_latency_seconds` from package prom-client (held by `histogram`,
//! module scope of metrics.js)".

use std::collections::{HashMap, HashSet};

use leakscope_snapshot::analysis::distances::BASE_UNREACHABLE_DISTANCE;
use leakscope_snapshot::{HeapSnapshot, Retainer, RetainerIndex};
pub use leakscope_sourcemap::script_label;
use leakscope_sourcemap::Positions;
use serde::Serialize;

use crate::TracedSites;

/// Where the leaked objects were allocated.
#[derive(Debug, Clone, Serialize)]
pub struct AllocationSite {
    /// Innermost frame in the application's own code first.
    pub stack: Vec<String>,
    /// Of the leaked objects with a known site, how many were allocated here.
    pub objects: u64,
    /// `closure definition`, `class definition`, `allocation tracking`.
    pub source: String,
    /// The source line of the first frame, when a source map led there
    /// (from the map's `sourcesContent`, or the file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// One step of a retaining path: the edge into `node`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    /// As DevTools prints it: `.name`, `[index]`, `{internal}`; empty for
    /// the first node.
    pub edge: String,
    pub node: String,
    pub id: u32,
}

/// Marks a node the hunt did not see allocated during its rounds.
pub const OLD: u8 = u8::MAX;

/// V8's own containers and bookkeeping (backing stores, contexts, code,
/// hidden and synthetic nodes): never what a developer calls a leaked item
/// or a holder. Strings and numbers are not internal: they are what many
/// leaks are made of.
pub fn is_internal(s: &HeapSnapshot, v: u32) -> bool {
    if is_value(s, v) {
        return false;
    }
    let ty = s.graph.type_name(v);
    let class = s.class_name(v);
    matches!(
        ty,
        "hidden" | "array" | "code" | "synthetic" | "object shape" | "native"
    ) || class.starts_with("system /")
        || class.starts_with('(')
}

/// Strings, numbers, symbols and bigints: leaked items, never holders.
pub(crate) fn is_value(s: &HeapSnapshot, v: u32) -> bool {
    matches!(
        s.graph.type_name(v),
        "string" | "concatenated string" | "sliced string" | "number" | "symbol" | "bigint"
    )
}

/// A synthetic node Node's embedder graph makes for one object's native
/// handle ("Node / MessagePort"), as opposed to a GC root category
/// ("(Global handles)").
pub fn is_native_handle(s: &HeapSnapshot, v: u32) -> bool {
    s.graph.type_name(v) == "synthetic" && !s.display_name(v).starts_with('(')
}

/// An object a developer could name as holding others.
fn can_hold(s: &HeapSnapshot, v: u32) -> bool {
    !is_internal(s, v) && !is_value(s, v)
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

/// A preview of a leaked string or number: its text, quoted and cut.
pub fn preview(s: &HeapSnapshot, v: u32) -> Option<String> {
    is_value(s, v).then(|| {
        let text = s.display_name(v);
        let short: String = text.chars().take(60).collect();
        if short.len() < text.len() {
            format!("{short:?}…")
        } else {
            format!("{short:?}")
        }
    })
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
pub struct HolderResolver<'a> {
    s: &'a HeapSnapshot,
    index: &'a RetainerIndex,
    /// Round that allocated each node, or [`OLD`].
    age: &'a [u8],
    /// Node → its holder, or `u32::MAX`.
    memo: HashMap<u32, u32>,
    /// Context holder → the variable that leads to its group.
    variables: HashMap<u32, String>,
}

impl<'a> HolderResolver<'a> {
    pub fn new(s: &'a HeapSnapshot, index: &'a RetainerIndex, age: &'a [u8]) -> Self {
        HolderResolver {
            s,
            index,
            age,
            memo: HashMap::new(),
            variables: HashMap::new(),
        }
    }

    /// The holder of `top`: the first old object on its retaining path that
    /// a developer could name, or the old function context whose variable
    /// points into the path; `u32::MAX` if there is none.
    pub fn resolve(&mut self, top: u32) -> u32 {
        let s = self.s;
        let g = &s.graph;
        let mut chain: Vec<u32> = Vec::new();
        let mut seen = HashSet::new();
        let mut v = top;
        // A native node Node made for one object (an open MessagePort's
        // handle) keeps it from outside the JS graph: the holder when the
        // walk finds nothing nameable above.
        let mut native: Option<u32> = None;
        let holder = loop {
            if let Some(&known) = self.memo.get(&v) {
                break known;
            }
            let old = v != top && self.age[v as usize] == OLD;
            // An old object of the same kind as the one it holds is an
            // earlier link of the same list (warm-up's timers, say).
            let same_kind = chain
                .last()
                .is_some_and(|&below| label(s, below) == label(s, v));
            if old && can_hold(s, v) && !same_kind {
                break v;
            }
            let Some(Retainer { edge, from }) = s.retainers(self.index, v).first().copied() else {
                // A GC root category ("(Global handles)"): native code holds
                // the group, and that is worth reporting too.
                break if g.type_name(v) == "synthetic" {
                    v
                } else {
                    u32::MAX
                };
            };
            chain.push(v);
            if native.is_none() && is_native_handle(s, from) {
                native = Some(from);
            }
            if g.edge_type_name(edge) == "context"
                && self.age[from as usize] == OLD
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
                break native.unwrap_or(u32::MAX);
            }
            v = from;
        };
        for node in chain {
            self.memo.insert(node, holder);
        }
        holder
    }

    /// The retainer index the resolver walks.
    pub fn index(&self) -> &'a RetainerIndex {
        self.index
    }

    /// The holder an old object `from` makes when it retains a new object
    /// through `edge`: itself when a developer could name it, the function
    /// context whose variable `edge` is, else whatever holds `from`.
    pub fn holder_through(&mut self, from: u32, edge: usize) -> u32 {
        let s = self.s;
        let g = &s.graph;
        if can_hold(s, from) {
            return from;
        }
        if g.edge_type_name(edge) == "context" && s.class_name(from) == "system / Context" {
            self.variables
                .entry(from)
                .or_insert_with(|| g.edge_name_text(edge, &s.strings));
            return from;
        }
        self.resolve(from)
    }

    /// The variable through which a context holder holds its group.
    pub fn variable(&self, context: u32) -> Option<&str> {
        self.variables.get(&context).map(String::as_str)
    }
}

/// The raw name of the edge into `v` on its retaining path, and the node it
/// comes from.
/// The edge a developer would name `v` by, and its source: the first
/// retainer in DevTools' order that is not one of V8's root categories
/// (`(Strong roots)`, `(Stack roots)`…, whose edges are V8's bookkeeping,
/// e.g. an optimizing compiler's `IdentityMapBase` holding a constant),
/// else the first.
fn incoming(s: &HeapSnapshot, index: &RetainerIndex, v: u32) -> Option<(String, u32)> {
    let retainers = s.retainers(index, v);
    let r = retainers
        .iter()
        .find(|r| s.graph.type_name(r.from) != "synthetic")
        .or(retainers.first())
        .copied()?;
    Some((s.graph.edge_name_text(r.edge, &s.strings), r.from))
}

/// A holder as a developer names it, and the npm package whose code owns it.
#[derive(Debug, Clone)]
pub struct HolderName {
    pub text: String,
    pub package: Option<String>,
}

/// "Array `pending` (module scope of app.js)", "the 'reload' listeners of
/// EventEmitter `config` (module scope of app.js)", "`hashMap` of Histogram
/// `api_latency_seconds` from package prom-client (held by `histogram`,
/// module scope of metrics.js)", "variable `current` (module scope of
/// app.js)".
pub fn holder_name(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    positions: &Positions,
    holder: u32,
    variable: Option<&str>,
) -> HolderName {
    if let Some(variable) = variable {
        let mut text = format!("variable `{variable}`");
        if let Some(scope) = scope_phrase(s, index, positions, holder, Some(variable)) {
            text.push_str(&format!(" ({scope})"));
        }
        let package = context_script(s, index, positions, holder).and_then(|p| package_of(&p));
        return with_package(text, package);
    }
    let class = label(s, holder);
    if is_native_handle(s, holder) {
        return HolderName {
            text: format!(
                "the native handles `{}` (one per object, kept open from native code until closed)",
                s.display_name(holder)
            ),
            package: None,
        };
    }
    if s.graph.type_name(holder) == "synthetic" {
        return HolderName {
            text: format!(
                "{} (held from native code: an addon, a libuv handle or a V8 global handle)",
                s.display_name(holder)
            ),
            package: None,
        };
    }
    if class == "process" {
        return HolderName {
            text: "process".to_owned(),
            package: None,
        };
    }
    let owner = owner_object(s, index, holder);
    let package = [
        Some(holder),
        owner,
        owner.and_then(|o| owner_object(s, index, o)),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| defining_script(s, positions, v).and_then(|p| package_of(&p)));
    let Some((name, parent)) = incoming(s, index, holder) else {
        return with_package(class, package);
    };
    if class == "TimersList" {
        return HolderName {
            text: format!("the {name} ms timer list (timers never cleared)"),
            package: None,
        };
    }
    // emitter._events[name] is the listener list of event `name`.
    if let Some((_, emitter)) = incoming(s, index, parent).filter(|(e, _)| e == "_events") {
        let mut text = format!(
            "the '{name}' listeners of {}",
            named_object(s, index, emitter)
        );
        let internal = label(s, emitter) == "process";
        if let Some(handle) = handle(s, index, positions, emitter).filter(|_| !internal) {
            text.push_str(&format!(" ({handle})"));
        }
        let package =
            package.or_else(|| defining_script(s, positions, emitter).and_then(|p| package_of(&p)));
        return with_package(text, package);
    }
    let base = named(&name, &class);
    let parent_class = s.class_name(parent);
    if parent_class == "system / Context" {
        let mut text = base;
        if let Some(scope) = scope_phrase(s, index, positions, parent, Some(&name)) {
            text.push_str(&format!(" ({scope})"));
        }
        let package = package
            .or_else(|| context_script(s, index, positions, parent).and_then(|p| package_of(&p)));
        return with_package(text, package);
    }
    if let Some(owner) = owner_object(s, index, holder) {
        // A plain object is named by its key alone: "`hashMap` of Histogram".
        let part = if class == "Object" && name.parse::<u64>().is_err() {
            format!("`{name}`")
        } else {
            base
        };
        let mut text = format!("{part} of {}", owner_name(s, owner));
        let package_text = package.as_deref().map(|p| format!(" from package {p}"));
        text.push_str(package_text.as_deref().unwrap_or(""));
        if let Some(handle) = handle(s, index, positions, owner) {
            text.push_str(&format!(" ({handle})"));
        }
        return HolderName { text, package };
    }
    if is_global(s, parent) {
        return with_package(format!("{base} (a global variable)"), package);
    }
    with_package(base, package)
}

fn with_package(mut text: String, package: Option<String>) -> HolderName {
    if let Some(p) = &package {
        text.push_str(&format!(" from package {p}"));
    }
    HolderName { text, package }
}

/// What makes holders alike: the holder's kind, the property it sits in
/// and its owner's kind (every User's `history` Array); `None` for holders
/// that hang off a scope or a root, which are one of a kind.
pub fn holder_shape(s: &HeapSnapshot, index: &RetainerIndex, holder: u32) -> Option<String> {
    if is_native_handle(s, holder) || !can_hold(s, holder) {
        return None;
    }
    let (name, _) = incoming(s, index, holder)?;
    let owner = owner_object(s, index, holder)?;
    let name = if name.parse::<u64>().is_ok() {
        "[]".to_owned()
    } else {
        name
    };
    Some(format!(
        "{}\u{0}{name}\u{0}{}",
        label(s, holder),
        label(s, owner)
    ))
}

/// "the `history` Arrays of 4998 User objects (each grows a little; e.g.
/// Array `history` of User `user-12` …)": many holders alike, each adding
/// too little to stand out alone.
pub fn alike_holders_name(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    positions: &Positions,
    example: u32,
    count: usize,
) -> HolderName {
    let one = holder_name(s, index, positions, example, None);
    let class = label(s, example);
    let text = match (incoming(s, index, example), owner_object(s, index, example)) {
        (Some((name, _)), Some(owner)) => {
            let where_ = owner_object(s, index, owner)
                .map(|o| format!(" in {}", named_object(s, index, o)))
                .or_else(|| {
                    incoming(s, index, owner)
                        .map(|(n, from)| format!(" in {}", named(&n, &label(s, from))))
                })
                .unwrap_or_default();
            let of = if name.parse::<u64>().is_ok() {
                format!(
                    "the {count} {class}s in the elements of {}",
                    label(s, owner)
                )
            } else {
                format!(
                    "the `{name}` {class}s of {count} {} objects",
                    label(s, owner)
                )
            };
            format!("{of}{where_}, each growing a little (e.g. {})", one.text)
        }
        _ => format!("{count} {class}s like {}, each growing a little", one.text),
    };
    HolderName {
        text,
        package: one.package,
    }
}

/// "Map `sessions`", "Array [3]".
fn named(name: &str, class: &str) -> String {
    if name.parse::<u64>().is_ok() {
        format!("{class} [{name}]")
    } else {
        format!("{class} `{name}`")
    }
}

/// The object that owns `holder` through a property: the first object a
/// developer could name above it, past V8's backing stores. `None` when the
/// holder hangs off a scope, the global object or a root.
fn owner_object(s: &HeapSnapshot, index: &RetainerIndex, holder: u32) -> Option<u32> {
    let mut v = holder;
    for _ in 0..6 {
        let r = s.retainers(index, v).first().copied()?;
        let from = r.from;
        if s.class_name(from) == "system / Context" || is_global(s, from) {
            return None;
        }
        if can_hold(s, from) {
            return Some(from);
        }
        v = from;
    }
    None
}

fn is_global(s: &HeapSnapshot, v: u32) -> bool {
    let class = s.class_name(v);
    class == "global" || class == "Window" || class.starts_with("global /")
}

/// "Histogram `api_latency_seconds`": the class and, when the object says
/// its own name in a short string property, that name.
fn owner_name(s: &HeapSnapshot, owner: u32) -> String {
    let g = &s.graph;
    let class = label(s, owner);
    let own_name = ["name", "_name", "label", "key", "id"]
        .iter()
        .find_map(|key| {
            g.edges(owner)
                .find(|&e| {
                    g.edge_type_name(e) == "property" && g.edge_name_text(e, &s.strings) == *key
                })
                .map(|e| g.edge_to(e))
                .filter(|&to| g.type_name(to) == "string")
                .map(|to| s.display_name(to))
                .filter(|text| {
                    text.chars().count() <= 60
                        && text.chars().filter(|c| c.is_alphanumeric()).count() >= 2
                })
        });
    match own_name {
        Some(n) if n != class => format!("{class} `{n}`"),
        _ => class,
    }
}

/// An object named by what holds it: "EventEmitter `config`".
fn named_object(s: &HeapSnapshot, index: &RetainerIndex, v: u32) -> String {
    let class = label(s, v);
    if class == "process" {
        return class;
    }
    match incoming(s, index, v) {
        Some((n, from)) if s.class_name(from) == "system / Context" || is_global(s, from) => {
            named(&n, &class)
        }
        _ => owner_name(s, v),
    }
}

/// Who holds `v`, as a developer would say it: "held by `histogram`,
/// module scope of metrics.js", "held by `store`, captured by session() in
/// express-session/index.js", "held by `registry` of Server". Among all of
/// an object's retainers a named variable wins over a property, and a
/// property over the shortest path's internal steps (a server is held by
/// its module's `server` variable, not by the timer that points at it).
fn handle(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    positions: &Positions,
    v: u32,
) -> Option<String> {
    let g = &s.graph;
    let mut at = v;
    for _ in 0..6 {
        let retainers = s.retainers(index, at);
        let named = |r: &Retainer| {
            let name = g.edge_name_text(r.edge, &s.strings);
            // `this` captured by an arrow function names nothing.
            let plain = matches!(g.edge_type_name(r.edge), "property" | "context")
                && name.parse::<u64>().is_err()
                && !name.starts_with('<')
                && name != "this";
            plain.then_some(name)
        };
        let variable = retainers.iter().find_map(|r| {
            let name = named(r)?;
            if s.class_name(r.from) == "system / Context" {
                let scope = scope_phrase(s, index, positions, r.from, Some(&name))
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default();
                Some(format!("held by `{name}`{scope}"))
            } else if is_global(s, r.from) {
                Some(format!("held by the global `{name}`"))
            } else {
                None
            }
        });
        if variable.is_some() {
            return variable;
        }
        let property = retainers.iter().find_map(|r| {
            let name = named(r)?;
            can_hold(s, r.from).then(|| format!("held by `{name}` of {}", label(s, r.from)))
        });
        if property.is_some() {
            return property;
        }
        at = retainers.first()?.from;
    }
    None
}

/// "module scope of app.js" or "captured by session() in
/// express-session/index.js": where a function context's variables live.
fn scope_phrase(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    positions: &Positions,
    context: u32,
    variable: Option<&str>,
) -> Option<String> {
    let (closure, defined) = context_closure(s, index, positions, context)?;
    let script = &defined.label;
    if is_module_scope(s, context) {
        // A bundle's one top-level scope holds every module's variables:
        // the map says which module declared this one.
        let declared = variable.and_then(|v| positions.declared_in(&defined.script, v));
        let script = declared.map_or_else(|| script.clone(), |d| d.label);
        return Some(format!("module scope of {script}"));
    }
    let name = s.display_name(closure);
    if name.is_empty() {
        // Nothing else tells a developer which unnamed function it is.
        if let Some(at) = &defined.at {
            return Some(format!("captured by (anonymous) at {at}"));
        }
        return Some(format!("captured by (anonymous)() in {script}"));
    }
    Some(format!("captured by {name}() in {script}"))
}

/// Whether a function context is a module's (or script's) top-level scope,
/// the one every function of the module captures.
fn is_module_scope(s: &HeapSnapshot, context: u32) -> bool {
    let g = &s.graph;
    let previous = g
        .edges(context)
        .find(|&e| g.edge_name_text(e, &s.strings) == "previous")
        .map(|e| g.edge_to(e));
    previous.is_none_or(|p| s.strings.get(g.node_name[p as usize]) == "system / NativeContext")
}

/// The script of a function context, through one of its closures.
fn context_script(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    positions: &Positions,
    context: u32,
) -> Option<String> {
    let g = &s.graph;
    index.of(context).iter().find_map(|&e| {
        let e = e as usize;
        let closure = g.edge_source(e);
        (g.type_name(closure) == "closure" && g.edge_name_text(e, &s.strings) == "context")
            .then(|| defined(s, positions, closure).map(|d| d.path))
            .flatten()
    })
}

/// A closure of `context` and where it was defined.
fn context_closure(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    positions: &Positions,
    context: u32,
) -> Option<(u32, Defined)> {
    let g = &s.graph;
    index.of(context).iter().find_map(|&e| {
        let e = e as usize;
        let closure = g.edge_source(e);
        if g.type_name(closure) != "closure" || g.edge_name_text(e, &s.strings) != "context" {
            return None;
        }
        defined(s, positions, closure).map(|d| (closure, d))
    })
}

/// Where a function was defined, in the source the developer edits when a
/// source map leads there.
struct Defined {
    /// The script V8 ran.
    script: String,
    /// The original source's path (or bundler URL), else the script's:
    /// what tells the npm package, even inside a bundle.
    path: String,
    /// How the file is shown: `src/server.ts`, `server.js`.
    label: String,
    /// `label:line:column` as printed, when V8 recorded the position.
    at: Option<String>,
    /// The source line there, when a map led to it.
    code: Option<String>,
    /// The function's name: V8's, or the original one a map gives back
    /// for a minified name; empty when anonymous.
    name: String,
}

fn defined(s: &HeapSnapshot, positions: &Positions, closure: u32) -> Option<Defined> {
    let script = script_path_of_closure(s, closure)?;
    let location = location_of(s, closure);
    let name = s.display_name(closure);
    if let Some(l) = location {
        if let Some(original) = positions.original(&script, l.line, l.column) {
            let generated = format!("{}:{}:{}", script_label(&script), l.line + 1, l.column + 1);
            let name = if name.is_empty() {
                name
            } else {
                positions
                    .original_function_name(&script, l.line, l.column, &name)
                    .unwrap_or(name)
            };
            return Some(Defined {
                name,
                at: Some(positions.shown(&original, generated)),
                path: original.source,
                label: original.label,
                code: original.text,
                script,
            });
        }
    }
    let label = script_label(&script);
    Some(Defined {
        name,
        at: location.map(|l| format!("{label}:{}:{}", l.line + 1, l.column + 1)),
        path: script.clone(),
        label,
        code: None,
        script,
    })
}

fn child(s: &HeapSnapshot, v: u32, name: &str) -> Option<u32> {
    let g = &s.graph;
    g.edges(v)
        .find(|&e| g.edge_name_text(e, &s.strings) == name)
        .map(|e| g.edge_to(e))
}

/// The full path of the script a closure was defined in (closure → shared
/// → script).
fn script_path_of_closure(s: &HeapSnapshot, closure: u32) -> Option<String> {
    let shared = child(s, closure, "shared")?;
    let script = child(s, shared, "script_or_debug_info")?;
    let name = s.display_name(script);
    (!name.is_empty() && !name.starts_with("system /")).then_some(name)
}

/// The constructor of a class instance (through its map's prototype).
fn constructor_of(s: &HeapSnapshot, object: u32) -> Option<u32> {
    let prototype = child(s, child(s, object, "map")?, "prototype")?;
    let constructor = child(s, prototype, "constructor")?;
    (s.graph.type_name(constructor) == "closure").then_some(constructor)
}

/// The source that defines `v`'s class (or `v` itself, for a closure).
fn constructor_script(s: &HeapSnapshot, positions: &Positions, v: u32) -> Option<String> {
    let function = if s.graph.type_name(v) == "closure" {
        v
    } else {
        constructor_of(s, v)?
    };
    defined(s, positions, function).map(|d| d.path)
}

/// The script whose code made `v`: its class's, or for a plain object
/// built by a factory (`mitt()` returns `{all, on, off, emit}`), that of its
/// methods.
fn defining_script(s: &HeapSnapshot, positions: &Positions, v: u32) -> Option<String> {
    constructor_script(s, positions, v).or_else(|| {
        let g = &s.graph;
        g.edges(v)
            .filter(|&e| g.edge_type_name(e) == "property")
            .map(|e| g.edge_to(e))
            .filter(|&to| g.type_name(to) == "closure")
            .find_map(|f| defined(s, positions, f).map(|d| d.path))
    })
}

/// The npm package a script belongs to: the folder after its last
/// `node_modules/` (`@scope/name` for scoped packages).
pub fn package_of(script: &str) -> Option<String> {
    let (_, rest) = script.rsplit_once("node_modules/")?;
    let mut parts = rest.split('/');
    let first = parts.next().filter(|p| !p.is_empty())?;
    if first.starts_with('@') {
        let second = parts.next().filter(|p| !p.is_empty())?;
        Some(format!("{first}/{second}"))
    } else {
        Some(first.to_owned())
    }
}

/// "new UserSession (defined at app.js:4:1)": the constructor of an object.
fn constructor_site(
    s: &HeapSnapshot,
    positions: &Positions,
    object: u32,
) -> Option<(String, Option<String>)> {
    let constructor = constructor_of(s, object)?;
    let defined = defined(s, positions, constructor)?;
    let site = format!("new {} (defined at {})", defined.name, defined.at?);
    Some((site, defined.code))
}

/// "callback pollStatus created at app.js:22:3": the first function `v`
/// holds that the application (not Node, not a package) defined.
fn app_callback(s: &HeapSnapshot, positions: &Positions, v: u32) -> Option<String> {
    let g = &s.graph;
    g.edges(v)
        .filter(|&e| g.edge_type_name(e) == "property")
        .map(|e| g.edge_to(e))
        .filter(|&f| g.type_name(f) == "closure")
        .find_map(|f| {
            let defined = defined(s, positions, f)?;
            if defined.path.starts_with("node:") || package_of(&defined.path).is_some() {
                return None;
            }
            let name = s.display_name(f);
            let name = if name.is_empty() {
                "(anonymous)"
            } else {
                &name
            };
            Some(format!("callback {name} created at {}", defined.at?))
        })
}

/// A retaining path as printed, and the nodes it goes through (in the same
/// order), for what else the report says about them.
#[derive(Default)]
pub struct PathTaken {
    pub steps: Vec<Step>,
    pub nodes: Vec<u32>,
}

impl PathTaken {
    fn push(&mut self, s: &HeapSnapshot, edge: String, v: u32) {
        self.steps.push(Step {
            edge,
            node: describe(s, v),
            id: s.graph.node_id[v as usize],
        });
        self.nodes.push(v);
    }

    fn reverse(&mut self) {
        self.steps.reverse();
        self.nodes.reverse();
    }

    /// Functions on the path by their names in the source, where a map
    /// knows them (a minified bundle's `Function a` is `recordAudit`).
    pub fn with_original_names(mut self, s: &HeapSnapshot, positions: &Positions) -> PathTaken {
        for (step, &v) in self.steps.iter_mut().zip(&self.nodes) {
            if s.graph.type_name(v) != "closure" {
                continue;
            }
            let name = s.display_name(v);
            let (Some(location), Some(script)) = (location_of(s, v), script_path_of_closure(s, v))
            else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            if let Some(original) =
                positions.original_function_name(&script, location.line, location.column, &name)
            {
                step.node = step.node.replacen(&name, &original, 1);
            }
        }
        self
    }
}

/// The retaining path from the GC roots down to `v`.
pub fn path_from_root(s: &HeapSnapshot, index: &RetainerIndex, v: u32) -> PathTaken {
    let path = s.retaining_path(index, v, 100);
    let start = path.last().map_or(v, |r| r.from);
    let mut taken = PathTaken::default();
    taken.push(s, String::new(), start);
    for r in path.iter().rev() {
        taken.push(s, s.edge_label(r.edge), s.graph.edge_to(r.edge));
    }
    taken
}

/// The path from `holder` down to `item` (through `top`), indexes blurred.
pub fn path_between(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    holder: u32,
    top: u32,
    item: u32,
) -> PathTaken {
    let up = |from: u32| {
        let mut taken = PathTaken::default();
        let mut v = from;
        let mut seen = HashSet::from([v]);
        while v != holder && taken.steps.len() < 30 {
            let r = s.retainers(index, v).first().copied()?;
            taken.push(s, blurred_label(s, r.edge), v);
            if !seen.insert(r.from) {
                return None;
            }
            v = r.from;
        }
        (v == holder).then_some(taken)
    };
    let mut taken = up(item).or_else(|| up(top)).unwrap_or_default();
    taken.reverse();
    taken
}

/// Where a function the application defined (not Node, not a package) was
/// defined, `app.js:12:5`, if it has no name: the one kind of function a
/// developer can name, and the only one naming helps them find.
fn unnamed_app_function(s: &HeapSnapshot, positions: &Positions, v: u32) -> Option<String> {
    if s.graph.type_name(v) != "closure" || !s.display_name(v).is_empty() {
        return None;
    }
    let defined = defined(s, positions, v)?;
    if defined.path.starts_with("node:") || package_of(&defined.path).is_some() {
        return None;
    }
    defined.at
}

/// The application's unnamed functions that take part in a leak: on its
/// retaining path (`path`), owning a scope on it (the function whose
/// variables a context on the path holds is named by one of its closures),
/// or being the leaked items themselves. One entry per definition.
pub fn anonymous_functions(
    s: &HeapSnapshot,
    index: &RetainerIndex,
    positions: &Positions,
    path: &[u32],
    item: Option<u32>,
) -> Vec<AnonymousFunction> {
    let mut found: Vec<AnonymousFunction> = Vec::new();
    let mut add = |v: u32, role: AnonymousRole| {
        let Some(defined_at) = unnamed_app_function(s, positions, v) else {
            return;
        };
        if found.iter().any(|f| f.defined_at == defined_at) {
            return;
        }
        found.push(AnonymousFunction {
            advice: role.advice(&defined_at),
            defined_at,
            role,
            id: s.graph.node_id[v as usize],
        });
    };
    if let Some(item) = item {
        add(item, AnonymousRole::LeakedItems);
    }
    // A module's scope is reached through any function of the module: the
    // one on the path says nothing about the leak, so neither it nor that
    // scope's functions are reported.
    let is_context = |v: u32| s.class_name(v) == "system / Context";
    let module_scope = |v: u32| is_context(v) && is_module_scope(s, v);
    for (i, &v) in path.iter().enumerate() {
        if Some(v) == item || module_scope(v) {
            continue;
        }
        if is_context(v) {
            if let Some((closure, _)) = context_closure(s, index, positions, v) {
                add(closure, AnonymousRole::Scope);
            }
        } else if !path.get(i + 1).is_some_and(|&next| module_scope(next)) {
            add(v, AnonymousRole::RetainingPath);
        }
    }
    found
}

/// How an unnamed function takes part in a leak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnonymousRole {
    /// The leaked items are closures of it.
    LeakedItems,
    /// A closure of it is a link of the retaining path.
    RetainingPath,
    /// Its closures capture a scope on the retaining path.
    Scope,
}

impl AnonymousRole {
    fn advice(self, defined_at: &str) -> String {
        let what = match self {
            AnonymousRole::LeakedItems => "the leaked closures are instances of",
            AnonymousRole::RetainingPath => "the retaining path goes through",
            AnonymousRole::Scope => "the leak is held in a scope captured by",
        };
        format!(
            "{what} the unnamed function at {defined_at}: give it a name (e.g. \
             `function onRequest(…) {{…}}` or `const onRequest = (…) => …`) so heap \
             snapshots, retaining paths and this report say which function it is"
        )
    }
}

/// An unnamed function of the application that takes part in a finding.
#[derive(Debug, Clone, Serialize)]
pub struct AnonymousFunction {
    /// `app.js:12:5`.
    pub defined_at: String,
    pub role: AnonymousRole,
    /// What to do about it, in one sentence.
    pub advice: String,
    /// Snapshot id of one closure of it.
    pub id: u32,
}

/// The constructor location V8 recorded for `v` (functions: where defined).
fn location_of(s: &HeapSnapshot, v: u32) -> Option<&leakscope_snapshot::graph::Location> {
    let locations = &s.graph.locations[..];
    locations
        .binary_search_by_key(&v, |l| l.node)
        .ok()
        .map(|i| &locations[i])
}

/// Where `items` were allocated: the definition of leaked closures (where
/// V8 created them), a class instance's constructor and, when a snapshot
/// taken with allocation tracking knows the items, the application's
/// innermost frames (a frame is a function and the position where it is
/// defined).
pub fn allocation_site(
    s: &HeapSnapshot,
    positions: &Positions,
    traces: Option<&TracedSites>,
    items: &[u32],
) -> Option<AllocationSite> {
    let mut stack = Vec::new();
    let mut objects = 0;
    let mut sources = Vec::new();
    let mut code = None;
    if let Some(&first) = items
        .first()
        .filter(|&&v| s.graph.type_name(v) == "closure")
    {
        let defined = defined(s, positions, first);
        code = defined.as_ref().and_then(|d| d.code.clone());
        if let Some(Defined {
            at: Some(at), name, ..
        }) = defined
        {
            let name = if name.is_empty() {
                "(anonymous)"
            } else {
                &name
            };
            stack.push(format!("closure {name} created at {at}"));
            objects = items.len() as u64;
            sources.push("closure definition");
        }
    }
    if let Some(&first) = items.first().filter(|&&v| s.graph.type_name(v) == "object") {
        if let Some((site, line)) = constructor_site(s, positions, first) {
            stack.push(site);
            code = code.or(line);
            objects = items.len() as u64;
            sources.push("class definition");
        }
        // An object Node or a package made (a Timeout, a listener record)
        // points at the application's own callback: name where that was made.
        let foreign = constructor_script(s, positions, first)
            .is_some_and(|p| p.starts_with("node:") || package_of(&p).is_some());
        if foreign {
            if let Some(callback) = app_callback(s, positions, first) {
                stack.push(callback);
                sources.push("its callback");
            }
        }
    }
    if let Some(traces) = traces {
        let mut counts: HashMap<Vec<String>, u64> = HashMap::new();
        for &v in items {
            let user: Vec<String> = traces
                .stack_of(s.graph.node_id[v as usize])
                .into_iter()
                .filter(|f| !f.script.is_empty() && !f.script.starts_with("node:"))
                .take(4)
                .map(|f| {
                    let function = if f.function.is_empty() {
                        "(anonymous)"
                    } else {
                        &f.function
                    };
                    // Trace positions are 1-based; 0 when unknown.
                    if f.line == 0 {
                        return format!("in {function} {}", script_label(&f.script));
                    }
                    let at = positions.at(&f.script, f.line - 1, f.column.saturating_sub(1));
                    format!("in {function} {at}")
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
        code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_and_script_labels() {
        let p = "/srv/app/node_modules/express-session/session/memory.js";
        assert_eq!(package_of(p).as_deref(), Some("express-session"));
        assert_eq!(script_label(p), "express-session/session/memory.js");
        let scoped = "/srv/node_modules/a/node_modules/@opentelemetry/api/build/x.js";
        assert_eq!(package_of(scoped).as_deref(), Some("@opentelemetry/api"));
        assert_eq!(package_of("/srv/app/server.js"), None);
        assert_eq!(script_label("file:///srv/app/x.mjs"), "x.mjs");
        assert_eq!(script_label("node:internal/timers"), "node:internal/timers");
    }
}
