//! Attached/detached state of embedder (DOM) nodes. Native nodes with a
//! known state pass it on through non-hidden, non-weak edges to native
//! children: attached first, then detached to those not attached. Detached
//! nodes are renamed `Detached <name>`, which is the class DevTools shows.

use std::collections::HashMap;

use crate::graph::Graph;
use crate::strings::StringTable;

const ATTACHED: u8 = 1;
const DETACHED: u8 = 2;

/// Returns the per-node state (0 unknown, 1 attached, 2 detached).
pub fn propagate(g: &mut Graph, strings: &mut StringTable) -> Vec<u8> {
    let nt = g.node_types();
    let et = g.edge_types();
    let n = g.node_count();
    if g.detachedness.is_empty() {
        // Old layouts: native nodes named "Detached …" are detached.
        return (0..n)
            .map(|v| {
                let detached = g.node_type[v] == nt.native
                    && strings.get(g.node_name[v]).starts_with("Detached ");
                if detached {
                    DETACHED
                } else {
                    0
                }
            })
            .collect();
    }
    let mut state: Vec<u8> = g.detachedness.iter().map(|&d| d & 3).collect();
    let mut visited = vec![false; n];
    let mut attached: Vec<u32> = Vec::new();
    let mut detached: Vec<u32> = Vec::new();
    let mut renamed: HashMap<u32, u32> = HashMap::new();

    let mut process = |v: u32,
                       new_state: u8,
                       g: &mut Graph,
                       strings: &mut StringTable,
                       state: &mut [u8],
                       attached: &mut Vec<u32>,
                       detached: &mut Vec<u32>| {
        let i = v as usize;
        if visited[i] {
            return;
        }
        visited[i] = true;
        if g.node_type[i] != nt.native {
            return;
        }
        state[i] = new_state;
        if new_state == ATTACHED {
            attached.push(v);
        } else if new_state == DETACHED {
            let old = g.node_name[i];
            let name = *renamed.entry(old).or_insert_with(|| {
                let text = format!("Detached {}", strings.get(old));
                strings.push(&text)
            });
            g.node_name[i] = name;
            detached.push(v);
        }
    };

    for v in 0..n as u32 {
        let s = state[v as usize];
        if s != 0 {
            process(v, s, g, strings, &mut state, &mut attached, &mut detached);
        }
    }
    let follows = |t: u8| t != et.hidden && t != et.weak;
    let children = |g: &Graph, v: u32| -> Vec<u32> {
        g.edges(v)
            .filter(|&e| follows(g.edge_type(e)))
            .map(|e| g.edge_to(e))
            .collect()
    };
    while let Some(v) = attached.pop() {
        for to in children(g, v) {
            process(
                to,
                ATTACHED,
                g,
                strings,
                &mut state,
                &mut attached,
                &mut detached,
            );
        }
    }
    while let Some(v) = detached.pop() {
        if state[v as usize] == ATTACHED {
            continue;
        }
        for to in children(g, v) {
            process(
                to,
                DETACHED,
                g,
                strings,
                &mut state,
                &mut attached,
                &mut detached,
            );
        }
    }
    state
}
