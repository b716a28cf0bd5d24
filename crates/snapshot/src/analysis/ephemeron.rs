//! Recognises V8's WeakMap ephemeron edges. V8 reports a WeakMap value as
//! retained twice, by internal edges named
//! `N / part of key (K @id) -> value (V @id) pair in WeakMap (table @T)`:
//! once from the key and once from the table. Distances and dominators treat
//! the pair specially, so names are parsed once per string and cached.

use std::collections::HashMap;

use regex::Regex;

use crate::strings::StringTable;

/// What an ephemeron edge name says.
#[derive(Debug, Clone, Copy)]
pub struct EphemeronName {
    /// Byte offset where the part shared by both edges of a pair starts.
    pub shared_from: usize,
    /// Id of the WeakMap's table.
    pub table_id: u64,
}

pub struct EphemeronNames {
    pattern: Regex,
    /// Per string index: 0 not parsed yet, 1 not an ephemeron name, 2 parsed.
    state: Vec<u8>,
    parsed: HashMap<u32, EphemeronName>,
}

impl EphemeronNames {
    pub fn new(string_count: usize) -> Self {
        // `.` in JavaScript excludes line terminators; `\d` is ASCII.
        let any = r"[^\n\r\u{2028}\u{2029}]";
        let pattern = format!(
            r"^[0-9]+( / part of key \({any}*? @[0-9]+\) -> value \({any}*? @[0-9]+\) pair in WeakMap \(table @([0-9]+)\))$"
        );
        EphemeronNames {
            pattern: Regex::new(&pattern).expect("static pattern"),
            state: vec![0; string_count],
            parsed: HashMap::new(),
        }
    }

    pub fn parse(&mut self, name: u32, strings: &StringTable) -> Option<EphemeronName> {
        let i = name as usize;
        match self.state.get(i).copied() {
            Some(1) | None => return None,
            Some(2) => return self.parsed.get(&name).copied(),
            _ => {}
        }
        let text = strings.get(name);
        let first = text.as_bytes().first().copied().unwrap_or(b' ');
        let found = if first.is_ascii_digit() {
            self.pattern.captures(text).map(|c| EphemeronName {
                shared_from: c.get(1).map_or(0, |m| m.start()),
                table_id: c[2].parse().unwrap_or(u64::MAX),
            })
        } else {
            None
        };
        match found {
            Some(p) => {
                self.state[i] = 2;
                self.parsed.insert(name, p);
            }
            None => self.state[i] = 1,
        }
        found
    }
}
