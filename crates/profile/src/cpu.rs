//! CPU profiles as the inspector's `Profiler.stop` returns them (and
//! `.cpuprofile` files): a call tree whose nodes count the samples taken
//! while they were on top of the stack.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{short_url, CallFrame};

/// A function as a profile names it: name, url, 0-based line and column.
type FrameKey<'a> = (&'a str, &'a str, i64, i64);

/// Who a line tick of a function's code belongs to: `(url, line, (start
/// line, start column) of the function whose code ran)` → the name, start
/// line and column (1-based) of the function inlined there, or `None` when
/// the line is the running function's own.
pub type LineOwner<'a> = &'a dyn Fn(&str, u32, (u32, u32)) -> Option<(String, u32, u32)>;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuProfile {
    pub nodes: Vec<CpuNode>,
    /// Microseconds, on the target's monotonic clock.
    pub start_time: f64,
    pub end_time: f64,
    #[serde(default)]
    pub samples: Vec<u64>,
    #[serde(default)]
    pub time_deltas: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuNode {
    pub id: u64,
    pub call_frame: CallFrame,
    #[serde(default)]
    pub hit_count: u64,
    #[serde(default)]
    pub children: Vec<u64>,
    /// Why V8 did not optimize the function, or deoptimized it, when it
    /// says (older V8s fill this; newer ones mostly leave it empty).
    #[serde(default)]
    pub deopt_reason: Option<String>,
    /// Samples per source line (1-based) of the code this node ran, inlined
    /// callees' lines included.
    #[serde(default)]
    pub position_ticks: Vec<PositionTick>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PositionTick {
    pub line: u32,
    pub ticks: u64,
}

/// A function's share of the CPU.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionTime {
    /// Empty for an anonymous function; `(garbage collector)`, `(program)`
    /// for V8's own.
    pub name: String,
    /// Script path or URL (`file://` dropped); empty for V8's own.
    pub url: String,
    /// 1-based, like the V8 log and editors.
    pub line: u32,
    pub column: u32,
    /// Time with this function on top of the stack, and anywhere on it.
    pub self_ms: f64,
    pub total_ms: f64,
    /// Of the busy time (idle excluded), 0–1.
    pub self_share: f64,
    pub total_share: f64,
    pub deopt_reasons: Vec<String>,
    /// Functions whose optimized code had this one inlined (its line ticks
    /// were found there), as `name url:line:column`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inlined_into: Vec<String>,
}

impl FunctionTime {
    /// V8's own entries: `(garbage collector)`, `(program)`, `(root)`.
    pub fn is_engine(&self) -> bool {
        self.url.is_empty() && self.name.starts_with('(')
    }
}

impl CpuProfile {
    pub fn parse(json: &str) -> serde_json::Result<CpuProfile> {
        serde_json::from_str(json)
    }

    /// Every function's self and total time, most self time first. Total
    /// time counts a sample once per function however deep its recursion.
    pub fn functions(&self) -> Vec<FunctionTime> {
        self.functions_with(&|_, _, _| None)
    }

    /// [`CpuProfile::functions`], with the line ticks of optimized code
    /// given to the functions inlined into it: `owner(url, line)` names the
    /// innermost function at a line (name, start line and column, 1-based),
    /// when the caller knows the scripts' functions (V8's log does). V8
    /// charges inlined code to the function it was inlined into; without
    /// this, a small hot function inlined everywhere never shows.
    pub fn functions_with(&self, owner: LineOwner<'_>) -> Vec<FunctionTime> {
        let index: HashMap<u64, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id, i))
            .collect();
        // One key per function: name and start position.
        let mut keys: HashMap<FrameKey<'_>, usize> = HashMap::new();
        let key_of: Vec<usize> = self
            .nodes
            .iter()
            .map(|n| {
                let f = &n.call_frame;
                let k = (
                    f.function_name.as_str(),
                    f.url.as_str(),
                    f.line_number,
                    f.column_number,
                );
                let next = keys.len();
                *keys.entry(k).or_insert(next)
            })
            .collect();
        let mut self_hits = vec![0u64; keys.len()];
        let mut total_hits = vec![0u64; keys.len()];
        let mut reasons: Vec<Vec<String>> = vec![Vec::new(); keys.len()];
        // Subtree hits, children before parents: the nodes reachable from
        // the root in depth-first order, walked backwards.
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut seen = vec![false; self.nodes.len()];
        let roots: Vec<usize> = {
            let mut child = vec![false; self.nodes.len()];
            for n in &self.nodes {
                for c in &n.children {
                    if let Some(&i) = index.get(c) {
                        child[i] = true;
                    }
                }
            }
            (0..self.nodes.len()).filter(|&i| !child[i]).collect()
        };
        // (node, whether it is its function's topmost occurrence on the path)
        let mut on_path = vec![0u32; keys.len()];
        let mut stack: Vec<(usize, bool)> = roots.iter().map(|&r| (r, false)).collect();
        let mut subtree = vec![0u64; self.nodes.len()];
        let mut topmost = vec![false; self.nodes.len()];
        while let Some((i, leaving)) = stack.pop() {
            let k = key_of[i];
            if leaving {
                on_path[k] -= 1;
                continue;
            }
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push(i);
            topmost[i] = on_path[k] == 0;
            on_path[k] += 1;
            stack.push((i, true));
            for c in self.nodes[i].children.iter().rev() {
                if let Some(&ci) = index.get(c) {
                    stack.push((ci, false));
                }
            }
        }
        for &i in order.iter().rev() {
            let node = &self.nodes[i];
            subtree[i] += node.hit_count;
            for c in &node.children {
                if let Some(&ci) = index.get(c) {
                    if ci != i {
                        subtree[i] += subtree[ci];
                    }
                }
            }
        }
        for &i in &order {
            let (k, node) = (key_of[i], &self.nodes[i]);
            self_hits[k] += node.hit_count;
            if topmost[i] {
                total_hits[k] += subtree[i];
            }
            if let Some(r) = node.deopt_reason.as_ref().filter(|r| !r.is_empty()) {
                if !reasons[k].contains(r) {
                    reasons[k].push(r.clone());
                }
            }
        }
        let all: u64 = self.nodes.iter().map(|n| n.hit_count).sum();
        let idle: u64 = self
            .nodes
            .iter()
            .filter(|n| n.call_frame.function_name == "(idle)")
            .map(|n| n.hit_count)
            .sum();
        let ms_per_hit = if all == 0 {
            0.0
        } else {
            (self.end_time - self.start_time).max(0.0) / 1e3 / all as f64
        };
        let busy = (all - idle).max(1) as f64;
        let mut by_key: Vec<(FrameKey<'_>, usize)> = keys.into_iter().collect();
        by_key.sort_by_key(|&(_, k)| k);
        let mut out: Vec<FunctionTime> = by_key
            .into_iter()
            .filter(|((name, ..), _)| !matches!(*name, "(root)" | "(idle)"))
            .map(|((name, url, line, column), k)| FunctionTime {
                name: name.to_owned(),
                url: short_url(url).to_owned(),
                line: (line + 1).max(0) as u32,
                column: (column + 1).max(0) as u32,
                self_ms: self_hits[k] as f64 * ms_per_hit,
                total_ms: total_hits[k] as f64 * ms_per_hit,
                self_share: self_hits[k] as f64 / busy,
                total_share: total_hits[k] as f64 / busy,
                deopt_reasons: std::mem::take(&mut reasons[k]),
                inlined_into: Vec::new(),
            })
            .collect();
        self.give_inlined_ticks(&mut out, owner, ms_per_hit, busy);
        out.sort_by(|a, b| {
            b.self_ms
                .total_cmp(&a.self_ms)
                .then(b.total_ms.total_cmp(&a.total_ms))
        });
        out
    }

    fn give_inlined_ticks(
        &self,
        out: &mut Vec<FunctionTime>,
        owner: LineOwner<'_>,
        ms_per_hit: f64,
        busy: f64,
    ) {
        type Key = (String, String, u32, u32);
        let mut moved: HashMap<(Key, Key), u64> = HashMap::new();
        for node in &self.nodes {
            let f = &node.call_frame;
            let url = short_url(&f.url);
            let own: Key = (
                f.function_name.clone(),
                url.to_owned(),
                (f.line_number + 1).max(0) as u32,
                (f.column_number + 1).max(0) as u32,
            );
            for tick in &node.position_ticks {
                let Some((name, line, column)) = owner(url, tick.line, (own.2, own.3)) else {
                    continue;
                };
                let to: Key = (name, url.to_owned(), line, column);
                if to != own {
                    *moved.entry((own.clone(), to)).or_insert(0) += tick.ticks;
                }
            }
        }
        let mut index: HashMap<Key, usize> = out
            .iter()
            .enumerate()
            .map(|(i, t)| ((t.name.clone(), t.url.clone(), t.line, t.column), i))
            .collect();
        for ((from, to), ticks) in moved {
            let Some(&i) = index.get(&from) else { continue };
            let ms = ticks as f64 * ms_per_hit;
            let share = ticks as f64 / busy;
            out[i].self_ms = (out[i].self_ms - ms).max(0.0);
            out[i].self_share = (out[i].self_share - share).max(0.0);
            let j = *index.entry(to.clone()).or_insert_with(|| {
                out.push(FunctionTime {
                    name: to.0,
                    url: to.1,
                    line: to.2,
                    column: to.3,
                    self_ms: 0.0,
                    total_ms: 0.0,
                    self_share: 0.0,
                    total_share: 0.0,
                    deopt_reasons: Vec::new(),
                    inlined_into: Vec::new(),
                });
                out.len() - 1
            });
            let caller = format!("{} {}:{}:{}", from.0, from.1, from.2, from.3);
            let t = &mut out[j];
            if !t.inlined_into.contains(&caller) {
                t.inlined_into.push(caller);
            }
            t.self_ms += ms;
            t.self_share += share;
            t.total_ms += ms;
            t.total_share += share;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64, name: &str, hits: u64, children: &[u64]) -> CpuNode {
        CpuNode {
            id,
            call_frame: CallFrame {
                function_name: name.to_owned(),
                script_id: serde_json::Value::Null,
                url: if name.starts_with('(') {
                    String::new()
                } else {
                    "file:///a.js".to_owned()
                },
                line_number: id as i64,
                column_number: 0,
                original: None,
            },
            hit_count: hits,
            children: children.to_vec(),
            deopt_reason: None,
            position_ticks: Vec::new(),
        }
    }

    #[test]
    fn self_and_total_time_count_recursion_once() {
        // root → main(1) → fib(5) → fib(2 more, same function)
        //              → (idle) 10
        let mut fib_inner = node(3, "fib", 2, &[]);
        fib_inner.call_frame.line_number = 2;
        let p = CpuProfile {
            nodes: vec![
                node(0, "(root)", 0, &[1, 4]),
                node(1, "main", 1, &[2]),
                {
                    let mut n = node(2, "fib", 5, &[3]);
                    n.call_frame.line_number = 2;
                    n
                },
                fib_inner,
                node(4, "(idle)", 10, &[]),
            ],
            start_time: 0.0,
            end_time: 18_000.0,
            samples: vec![],
            time_deltas: vec![],
        };
        let f = p.functions();
        assert_eq!(f[0].name, "fib");
        assert_eq!((f[0].self_ms, f[0].total_ms), (7.0, 7.0));
        assert_eq!((f[0].url.as_str(), f[0].line), ("/a.js", 3));
        assert_eq!(f[1].name, "main");
        assert_eq!((f[1].self_ms, f[1].total_ms), (1.0, 8.0));
        assert!(
            (f[1].total_share - 1.0).abs() < 1e-9,
            "idle is not busy time"
        );
        assert!(f.iter().all(|t| t.name != "(idle)" && t.name != "(root)"));
    }

    #[test]
    fn line_ticks_of_inlined_code_go_to_the_inlined_function() {
        // handler (line 10) ran 10 samples: 6 on its own line 11, 4 on line
        // 3, which is inside `lineTotal` (lines 2-4), inlined into it.
        let mut handler = node(1, "handler", 10, &[]);
        handler.call_frame.line_number = 9;
        handler.position_ticks = vec![
            PositionTick { line: 11, ticks: 6 },
            PositionTick { line: 3, ticks: 4 },
        ];
        let p = CpuProfile {
            nodes: vec![node(0, "(root)", 0, &[1]), handler],
            start_time: 0.0,
            end_time: 10_000.0,
            samples: vec![],
            time_deltas: vec![],
        };
        let owner = |url: &str, line: u32, _: (u32, u32)| {
            (url == "/a.js" && (2..=4).contains(&line)).then(|| ("lineTotal".to_owned(), 2, 20))
        };
        let f = p.functions_with(&owner);
        assert_eq!((f[0].name.as_str(), f[0].self_ms), ("handler", 6.0));
        assert_eq!(
            (f[1].name.as_str(), f[1].line, f[1].column),
            ("lineTotal", 2, 20)
        );
        assert_eq!((f[1].self_ms, f[1].total_ms), (4.0, 4.0));
        assert!((f[1].self_share - 0.4).abs() < 1e-9);
        assert_eq!(f[1].inlined_into, ["handler /a.js:10:1"]);
    }
}
