//! Node names as DevTools displays them: concatenated strings show their
//! text, plain objects a `{a, b, …, z}` preview of their properties.

use crate::graph::Graph;
use crate::strings::StringTable;

use super::classes::{format_property_name, utf16_len};

const MAX_CONS_STRING_LENGTH: usize = 1024;
const MAX_OBJECT_NAME_LENGTH: usize = 100;

pub fn display_name(g: &Graph, strings: &StringTable, v: u32) -> String {
    let nt = g.node_types();
    let t = g.node_type[v as usize];
    let raw = strings.get(g.node_name[v as usize]);
    if t == nt.cons_string {
        cons_string_text(g, strings, v)
    } else if t == nt.object && raw == "Object" {
        plain_object_name(g, strings, v)
    } else {
        raw.to_owned()
    }
}

/// Whether [`display_name`] of `v` is empty, without building it for the
/// common case of a plain name.
pub fn has_empty_name(g: &Graph, strings: &StringTable, v: u32) -> bool {
    let nt = g.node_types();
    let t = g.node_type[v as usize];
    let raw = strings.get(g.node_name[v as usize]);
    if t == nt.cons_string || (t == nt.object && raw == "Object") {
        display_name(g, strings, v).is_empty()
    } else {
        raw.is_empty()
    }
}

/// The leaves of a concatenated string, `first` before `second`, until the
/// text reaches 1024 UTF-16 units.
fn cons_string_text(g: &Graph, strings: &StringTable, v: u32) -> String {
    let mut out = String::new();
    cons_string_text_into(g, strings, v, &mut out, &mut Vec::new());
    out
}

/// [`cons_string_text`] into `out` (cleared first), with `stack` as its
/// work list: a caller that builds millions of texts reuses both.
pub fn cons_string_text_into(
    g: &Graph,
    strings: &StringTable,
    v: u32,
    out: &mut String,
    stack: &mut Vec<Option<u32>>,
) {
    let nt = g.node_types();
    let et = g.edge_types();
    out.clear();
    stack.clear();
    let mut out_len = 0;
    stack.push(Some(v));
    while let Some(top) = stack.pop() {
        if out_len >= MAX_CONS_STRING_LENGTH {
            break;
        }
        // A missing half reads as node 0, like DevTools.
        let node = top.unwrap_or(0);
        if g.node_type[node as usize] != nt.cons_string {
            let s = strings.get(g.node_name[node as usize]);
            out.push_str(s);
            out_len += utf16_len(s);
            continue;
        }
        let (mut first, mut second) = (None, None);
        for e in g.edges(node) {
            if g.edge_type(e) != et.internal {
                continue;
            }
            match strings.get(g.edge_name[e]) {
                "first" if first.is_none() => first = Some(g.edge_to(e)),
                "second" if second.is_none() => second = Some(g.edge_to(e)),
                _ => {}
            }
            if first.is_some() && second.is_some() {
                break;
            }
        }
        stack.push(second);
        stack.push(first);
    }
}

/// `{a, b, …, y, z}`: properties taken alternately from the front and the
/// back while the name stays within about 100 UTF-16 units.
fn plain_object_name(g: &Graph, strings: &StringTable, v: u32) -> String {
    let et = g.edge_types();
    let range = g.edges(v);
    let (mut front, mut back) = (range.start as i64, range.end as i64 - 1);
    let mut start = String::from("{");
    let mut end = String::from("}");
    let (mut start_len, mut end_len) = (1usize, 1usize);
    let mut from_back = false;
    while front <= back {
        let e = if from_back { back } else { front } as usize;
        let name = strings.get(g.edge_name[e]);
        if g.edge_type(e) != et.property || name == "__proto__" {
            if from_back {
                back -= 1;
            } else {
                front += 1;
            }
            continue;
        }
        let formatted = format_property_name(name);
        let len = utf16_len(&formatted);
        if start_len > 1 && start_len + end_len + len > MAX_OBJECT_NAME_LENGTH {
            break;
        }
        if from_back {
            back -= 1;
            if end_len > 1 {
                end.insert_str(0, ", ");
                end_len += 2;
            }
            end.insert_str(0, &formatted);
            end_len += len;
        } else {
            front += 1;
            if start_len > 1 {
                start.push_str(", ");
                start_len += 2;
            }
            start.push_str(&formatted);
            start_len += len;
        }
        from_back = !from_back;
    }
    if front <= back {
        start.push_str(", …");
    }
    if end_len > 1 {
        start.push_str(", ");
    }
    start + &end
}
