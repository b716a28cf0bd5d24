//! Class ("Constructor") names, as the Summary view groups objects.
//!
//! Each node gets a class string index. Objects and native nodes keep their
//! raw name (`<div id=x>` shortened to `<div>`); other types get a
//! parenthesised type name. Plain objects (`Object`) are then split into
//! "interfaces" named after their properties, e.g. `{id, username}`: the
//! most common property lists become definitions, and an object takes the
//! definition with the most properties that are all among its own.
//!
//! Strings are compared in UTF-16 code-unit order and lengths are counted in
//! UTF-16 units, as JavaScript does, so names and choices equal DevTools'.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::strings::StringTable;

const MAX_INTERFACE_NAME_LENGTH: usize = 120;
const MIN_OBJECT_COUNT_PER_INTERFACE: f64 = 2.0;
const MIN_OBJECT_PROPORTION_PER_INTERFACE: f64 = 1000.0;

/// A named set of properties; objects having all of them take the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceDefinition {
    pub name: String,
    pub properties: Vec<String>,
}

pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

pub fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// A property name as it appears in an interface or object name: names with
/// `,'"{}` in them are JSON-quoted so the list stays readable.
pub fn format_property_name(name: &str) -> String {
    if name.contains([',', '\'', '"', '{', '}']) {
        serde_json::to_string(name).unwrap_or_else(|_| name.to_owned())
    } else {
        name.to_owned()
    }
}

/// Class string index for every node, before interfaces are applied.
/// New class names (`(system)`, `<div>`, …) get the indexes that follow the
/// table's; they are returned in order for the caller to append, so the
/// table itself can be shared with other threads meanwhile.
pub fn class_indexes(g: &Graph, strings: &StringTable) -> (Vec<u32>, Vec<String>) {
    let nt = g.node_types();
    let mut added: HashMap<String, u32> = HashMap::new();
    let mut appended: Vec<String> = Vec::new();
    let base = strings.len() as u32;
    let mut index_for = |s: &str| -> u32 {
        if let Some(&i) = added.get(s) {
            return i;
        }
        let i = base + appended.len() as u32;
        appended.push(s.to_owned());
        added.insert(s.to_owned(), i);
        i
    };
    let hidden = index_for("(system)");
    let code = index_for("(compiled code)");
    let function = index_for("Function");
    let regexp = index_for("RegExp");
    let mut by_type: Vec<Option<u32>> = vec![None; g.node_type_names.len()];
    let mut out = Vec::with_capacity(g.node_count());
    for v in 0..g.node_count() {
        let t = g.node_type[v];
        let class = if t == nt.hidden {
            hidden
        } else if t == nt.object || t == nt.native {
            let raw = g.node_name[v];
            let name = strings.get(raw);
            if let Some(rest) = name.strip_prefix('<') {
                let short = match rest.find(' ') {
                    Some(i) => format!("<{}>", &rest[..i]),
                    None => name.to_owned(),
                };
                index_for(&short)
            } else if let Some(rest) = name.strip_prefix("Detached <") {
                let short = match rest.find(' ') {
                    Some(i) => format!("Detached <{}>", &rest[..i]),
                    None => name.to_owned(),
                };
                index_for(&short)
            } else {
                raw
            }
        } else if t == nt.code {
            code
        } else if t == nt.closure {
            function
        } else if t == nt.regexp {
            regexp
        } else {
            match by_type[t as usize] {
                Some(i) => i,
                None => {
                    let name = format!("({})", g.node_type_names[t as usize]);
                    let i = index_for(&name);
                    by_type[t as usize] = Some(i);
                    i
                }
            }
        };
        out.push(class);
    }
    (out, appended)
}

fn is_plain_object(g: &Graph, strings: &StringTable, v: usize, object_type: u8) -> bool {
    g.node_type[v] == object_type && strings.get(g.node_name[v]) == "Object"
}

/// The most common property lists of plain objects, most popular first.
pub fn infer_interfaces(g: &Graph, strings: &StringTable) -> Vec<InterfaceDefinition> {
    let nt = g.node_types();
    let et = g.edge_types();
    struct Candidate {
        name: String,
        properties: Vec<u32>,
        count: u64,
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut total = 0u64;
    let mut name = String::new();
    let mut properties: Vec<u32> = Vec::new();
    for v in 0..g.node_count() {
        if !is_plain_object(g, strings, v, nt.object) {
            continue;
        }
        total += 1;
        name.clear();
        name.push('{');
        let mut name_len = 1; // in UTF-16 units
        properties.clear();
        for e in g.edges(v as u32) {
            if g.edge_type(e) != et.property {
                continue;
            }
            let prop = strings.get(g.edge_name[e]);
            if prop == "__proto__" {
                continue;
            }
            let formatted = format_property_name(prop);
            let formatted_len = utf16_len(&formatted);
            if name_len > 1 && name_len + formatted_len > MAX_INTERFACE_NAME_LENGTH {
                break;
            }
            if name_len != 1 {
                name.push_str(", ");
                name_len += 2;
            }
            name.push_str(&formatted);
            name_len += formatted_len;
            properties.push(g.edge_name[e]);
        }
        if properties.is_empty() {
            continue;
        }
        name.push('}');
        match index.get(name.as_str()) {
            Some(&i) => candidates[i].count += 1,
            None => {
                index.insert(name.clone(), candidates.len());
                candidates.push(Candidate {
                    name: name.clone(),
                    properties: properties.clone(),
                    count: 1,
                });
            }
        }
    }
    // Stable: equally popular candidates keep their first-seen order.
    candidates.sort_by_key(|c| std::cmp::Reverse(c.count));
    let min_count =
        MIN_OBJECT_COUNT_PER_INTERFACE.max(total as f64 / MIN_OBJECT_PROPORTION_PER_INTERFACE);
    candidates
        .into_iter()
        .take_while(|c| c.count as f64 >= min_count)
        .map(|c| InterfaceDefinition {
            name: c.name,
            properties: c
                .properties
                .iter()
                .map(|&p| strings.get(p).to_owned())
                .collect(),
        })
        .collect()
}

/// A trie over sorted property ranks; a path from the root spells the
/// sorted property set of one or more definitions.
struct PropertyTrie {
    /// Per trie node: sorted (property rank, child) pairs.
    children: Vec<Vec<(u32, u32)>>,
    /// Per trie node: the first definition with exactly this property set.
    matched: Vec<Option<Match>>,
}

#[derive(Clone, Copy)]
struct Match {
    property_count: usize,
    index: usize,
}

fn better(current: Option<Match>, candidate: Option<Match>) -> Option<Match> {
    match (current, candidate) {
        (None, c) => c,
        (c, None) => c,
        (Some(a), Some(b)) => {
            if b.property_count > a.property_count
                || (b.property_count == a.property_count && b.index < a.index)
            {
                Some(b)
            } else {
                Some(a)
            }
        }
    }
}

/// Re-classifies plain objects by the given interface definitions (this
/// snapshot's own, or another's when comparing). `interface_names` keeps the
/// string index of each interface name across calls.
pub fn apply_interfaces(
    g: &Graph,
    strings: &mut StringTable,
    classes: &mut [u32],
    definitions: &[InterfaceDefinition],
    interface_names: &mut HashMap<String, u32>,
) {
    let nt = g.node_types();
    let et = g.edge_types();
    // Rank every property name used by a definition in UTF-16 order.
    let mut texts: Vec<&str> = definitions
        .iter()
        .flat_map(|d| d.properties.iter().map(String::as_str))
        .collect();
    texts.sort_by(|a, b| utf16_cmp(a, b));
    texts.dedup();
    let rank_of: HashMap<&str, u32> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, i as u32))
        .collect();

    let mut trie = PropertyTrie {
        children: vec![Vec::new()],
        matched: vec![None],
    };
    for (index, d) in definitions.iter().enumerate() {
        let mut ranks: Vec<u32> = d.properties.iter().map(|p| rank_of[p.as_str()]).collect();
        ranks.sort_unstable();
        let mut node = 0usize;
        for r in ranks {
            node = match trie.children[node].binary_search_by_key(&r, |c| c.0) {
                Ok(i) => trie.children[node][i].1 as usize,
                Err(i) => {
                    let child = trie.children.len();
                    trie.children.push(Vec::new());
                    trie.matched.push(None);
                    trie.children[node].insert(i, (r, child as u32));
                    child
                }
            };
        }
        if trie.matched[node].is_none() {
            trie.matched[node] = Some(Match {
                property_count: d.properties.len(),
                index,
            });
        }
    }

    // Name string index per definition, created on first use.
    let mut def_name: Vec<Option<u32>> = vec![None; definitions.len()];
    let mut props: Vec<u32> = Vec::new();
    let mut states: Vec<u32> = Vec::new();
    let mut next_states: Vec<u32> = Vec::new();
    let mut in_states = vec![u32::MAX; trie.children.len()];
    let mut generation = 0u32;
    for v in 0..g.node_count() {
        if !is_plain_object(g, strings, v, nt.object) {
            continue;
        }
        props.clear();
        for e in g.edges(v as u32) {
            if g.edge_type(e) == et.property {
                if let Some(&r) = rank_of.get(strings.get(g.edge_name[e])) {
                    props.push(r);
                }
            }
        }
        props.sort_unstable();
        states.clear();
        states.push(0);
        let mut best = trie.matched[0];
        for &p in &props {
            generation = generation.wrapping_add(1);
            next_states.clear();
            for &s in &states {
                // A state with no way further can be dropped; its match is counted.
                let alive = trie.children[s as usize].last().is_some_and(|c| c.0 > p);
                if alive && in_states[s as usize] != generation {
                    in_states[s as usize] = generation;
                    next_states.push(s);
                }
            }
            for &s in &states {
                let kids = &trie.children[s as usize];
                if let Ok(i) = kids.binary_search_by_key(&p, |c| c.0) {
                    let child = kids[i].1;
                    if in_states[child as usize] != generation {
                        in_states[child as usize] = generation;
                        next_states.push(child);
                    }
                    best = better(best, trie.matched[child as usize]);
                }
            }
            std::mem::swap(&mut states, &mut next_states);
        }
        classes[v] = match best {
            None => g.node_name[v],
            Some(m) => *def_name[m.index].get_or_insert_with(|| {
                let name = &definitions[m.index].name;
                *interface_names
                    .entry(name.clone())
                    .or_insert_with(|| strings.push(name))
            }),
        };
    }
}
