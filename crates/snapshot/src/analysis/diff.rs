//! The Comparison view: per class, the objects new in the current snapshot
//! and those gone since the base, matched by snapshot id (ids follow an
//! object across GCs within one process). The base is classified with the
//! current snapshot's interface definitions so plain-object classes line up.

use std::collections::HashMap;

use serde::Serialize;

use super::summary::ClassRow;
use super::HeapSnapshot;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassDiff {
    pub key: String,
    pub name: String,
    pub added_count: u64,
    pub removed_count: u64,
    pub count_delta: i64,
    pub added_size: u64,
    pub removed_size: u64,
    pub size_delta: i64,
    /// The new objects: ordinals in the current snapshot, in id order.
    #[serde(skip)]
    pub added: Vec<u32>,
    /// The deleted objects: ordinals in the base snapshot, in id order.
    #[serde(skip)]
    pub removed: Vec<u32>,
}

/// Classes that changed between `base` and `current`, largest size delta first.
pub fn compare(base: &mut HeapSnapshot, current: &HeapSnapshot) -> Vec<ClassDiff> {
    let own = base.interfaces.clone();
    base.apply_interfaces(&current.interfaces);
    let mut base_rows = base.class_rows();
    base.apply_interfaces(&own);
    let mut current_rows = current.class_rows();
    for r in &mut base_rows {
        base.sort_by_id(&mut r.instances);
    }
    for r in &mut current_rows {
        current.sort_by_id(&mut r.instances);
    }
    let current_by_key: HashMap<&str, &ClassRow> =
        current_rows.iter().map(|r| (r.key.as_str(), r)).collect();

    let mut out = Vec::new();
    for b in &base_rows {
        let c = current_by_key.get(b.key.as_str()).copied();
        // DevTools names a class gone from the current snapshot after the
        // last instance's class under the base's own definitions.
        let name = match c {
            Some(c) => c.name.clone(),
            None => b
                .instances
                .last()
                .map_or_else(|| b.name.clone(), |&v| base.class_name(v).to_owned()),
        };
        out.extend(class_diff(base, b, current, c, name));
    }
    let base_keys: std::collections::HashSet<&str> =
        base_rows.iter().map(|r| r.key.as_str()).collect();
    for c in &current_rows {
        if !base_keys.contains(c.key.as_str()) {
            out.extend(class_diff(
                base,
                &empty_row(c),
                current,
                Some(c),
                c.name.clone(),
            ));
        }
    }
    out.sort_by(|a, b| {
        b.size_delta
            .cmp(&a.size_delta)
            .then_with(|| a.key.cmp(&b.key))
    });
    out
}

fn empty_row(like: &ClassRow) -> ClassRow {
    ClassRow {
        key: like.key.clone(),
        name: like.name.clone(),
        count: 0,
        shallow_size: 0,
        retained_size: 0,
        distance: 0,
        instances: Vec::new(),
    }
}

fn class_diff(
    base: &HeapSnapshot,
    b: &ClassRow,
    current: &HeapSnapshot,
    c: Option<&ClassRow>,
    name: String,
) -> Option<ClassDiff> {
    let base_ids = &base.graph.node_id;
    let cur_ids = &current.graph.node_id;
    let empty = Vec::new();
    let cur = c.map_or(&empty, |c| &c.instances);
    let (mut i, mut j) = (0, 0);
    let mut d = ClassDiff {
        key: b.key.clone(),
        name,
        added_count: 0,
        removed_count: 0,
        count_delta: 0,
        added_size: 0,
        removed_size: 0,
        size_delta: 0,
        added: Vec::new(),
        removed: Vec::new(),
    };
    let removed = |v: u32, d: &mut ClassDiff| {
        d.removed.push(v);
        d.removed_size += base.graph.self_size[v as usize] as u64;
    };
    let added = |v: u32, d: &mut ClassDiff| {
        d.added.push(v);
        d.added_size += current.graph.self_size[v as usize] as u64;
    };
    while i < b.instances.len() && j < cur.len() {
        let (bv, cv) = (b.instances[i], cur[j]);
        let (bid, cid) = (base_ids[bv as usize], cur_ids[cv as usize]);
        if bid < cid {
            removed(bv, &mut d);
            i += 1;
        } else if bid > cid {
            added(cv, &mut d);
            j += 1;
        } else {
            i += 1;
            j += 1;
        }
    }
    for &bv in &b.instances[i..] {
        removed(bv, &mut d);
    }
    for &cv in &cur[j..] {
        added(cv, &mut d);
    }
    if d.added.is_empty() && d.removed.is_empty() {
        return None;
    }
    d.added_count = d.added.len() as u64;
    d.removed_count = d.removed.len() as u64;
    d.count_delta = d.added_count as i64 - d.removed_count as i64;
    d.size_delta = d.added_size as i64 - d.removed_size as i64;
    Some(d)
}
