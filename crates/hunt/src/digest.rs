//! What the hunt keeps of each snapshot once it has read it: enough to date
//! objects by round, count classes and follow a container's own storage,
//! without keeping the snapshot itself.

use std::collections::{BTreeSet, HashMap};

use leakscope_snapshot::HeapSnapshot;
use serde::Serialize;

use crate::verdict::Scale;

/// One snapshot, digested.
#[derive(Debug, Clone, Default)]
pub struct Digest {
    /// The largest id V8's object counter gave a heap object in it.
    pub max_id: u32,
    /// Class name → (live count, shallow bytes).
    pub classes: HashMap<String, (u64, u64)>,
    /// `(id, shallow size, retained size)` of every JS object and function
    /// context, sorted by id. Shallow sizes include the backing stores
    /// DevTools folds into their owner, so a container's entry grows with
    /// its elements or hash table; retained sizes grow with everything it
    /// alone keeps, such as a string a variable holds and keeps replacing.
    objects: Vec<(u32, u32, u64)>,
}

impl Digest {
    pub fn of(s: &HeapSnapshot) -> Digest {
        let g = &s.graph;
        let object = g.node_types().object;
        let counted = counted_ids(s);
        let mut max_id = 0;
        let mut objects = Vec::new();
        for v in 0..s.node_count() as u32 {
            let id = g.node_id[v as usize];
            if counted(v) {
                max_id = max_id.max(id);
            }
            if g.node_type[v as usize] == object {
                let retained = s.retained.get(v).unwrap_or(0);
                objects.push((id, g.self_size[v as usize], retained));
            }
        }
        objects.sort_unstable_by_key(|o| o.0);
        Digest {
            max_id,
            classes: s
                .class_rows()
                .into_iter()
                .map(|r| (r.name, (r.count, r.shallow_size)))
                .collect(),
            objects,
        }
    }

    fn object(&self, id: u32) -> Option<&(u32, u32, u64)> {
        self.objects
            .binary_search_by_key(&id, |o| o.0)
            .ok()
            .map(|k| &self.objects[k])
    }

    /// The shallow size (storage included) of the object with `id`, if it
    /// was alive.
    pub fn size_of(&self, id: u32) -> Option<u32> {
        self.object(id).map(|o| o.1)
    }

    /// The retained size of the object with `id`, if it was alive (and the
    /// snapshot was fully analysed).
    pub fn retained_of(&self, id: u32) -> Option<u64> {
        self.object(id).map(|o| o.2)
    }
}

/// Whether a node's id comes from V8's object counter (odd, rising). Native
/// (embedder) and synthetic nodes get hash-derived ids instead.
pub fn counted_ids(s: &HeapSnapshot) -> impl Fn(u32) -> bool + '_ {
    let g = &s.graph;
    let position = |name: &str| g.node_type_names.iter().position(|t| t == name);
    let (native, synthetic) = (position("native"), position("synthetic"));
    move |v: u32| {
        let ty = Some(g.node_type[v as usize] as usize);
        g.node_id[v as usize] % 2 == 1 && ty != native && ty != synthetic
    }
}

/// A class whose live count rose at every snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct ClassGrowth {
    /// The thread whose heap it is in: `main`, or `worker N (file)`.
    pub thread: String,
    pub name: String,
    /// Live count in the baseline and after each round.
    pub counts: Vec<u64>,
    pub bytes: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_request: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_second: Option<f64>,
}

/// Classes whose live count rose at every snapshot (baseline first), by
/// bytes grown.
pub fn growing_classes(digests: &[Digest], scale: Scale) -> Vec<ClassGrowth> {
    let (Some(first), Some(last)) = (digests.first(), digests.last()) else {
        return Vec::new();
    };
    if digests.len() < 3 {
        return Vec::new();
    }
    let names: BTreeSet<&String> = first.classes.keys().chain(last.classes.keys()).collect();
    let mut out: Vec<ClassGrowth> = names
        .into_iter()
        .filter_map(|name| {
            let at = |d: &Digest| d.classes.get(name).copied().unwrap_or((0, 0));
            let counts: Vec<u64> = digests.iter().map(|d| at(d).0).collect();
            let bytes: Vec<u64> = digests.iter().map(|d| at(d).1).collect();
            counts.windows(2).all(|w| w[1] > w[0]).then(|| ClassGrowth {
                thread: "main".to_owned(),
                name: name.clone(),
                per_request: scale.per_request(counts[counts.len() - 1] - counts[0]),
                per_second: scale.per_second(counts[counts.len() - 1] - counts[0]),
                counts,
                bytes,
            })
        })
        .collect();
    let grown = |c: &ClassGrowth| c.bytes[c.bytes.len() - 1].saturating_sub(c.bytes[0]);
    out.sort_by(|a, b| grown(b).cmp(&grown(a)).then(a.name.cmp(&b.name)));
    out
}
