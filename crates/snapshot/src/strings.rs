//! The snapshot's string table: every string's UTF-8 bytes in one buffer, so
//! a million names cost two allocations, not a million.

/// Strings indexed like the snapshot's `strings` array. Analyses may append
/// strings (class names such as `(system)`), exactly as DevTools does, so an
/// index is stable once handed out.
#[derive(Default, Debug, Clone)]
pub struct StringTable {
    /// All strings' text; finished strings are valid UTF-8, so `get` slices
    /// without re-validating.
    text: String,
    /// The string under construction, before validation.
    pending: Vec<u8>,
    /// `ends[i]` is the end offset of string `i`; string `i` starts at `ends[i-1]`.
    ends: Vec<u64>,
}

impl StringTable {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The string at `index`, or "" for an index the table does not have
    /// (snapshots from buggy producers may reference past the end).
    pub fn get(&self, index: u32) -> &str {
        let i = index as usize;
        if i >= self.ends.len() {
            return "";
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    pub fn push(&mut self, s: &str) -> u32 {
        self.text.push_str(s);
        self.ends.push(self.text.len() as u64);
        (self.ends.len() - 1) as u32
    }

    /// Appends raw bytes to the string under construction.
    pub(crate) fn extend_current(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    pub(crate) fn push_char_current(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.pending
            .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    /// Ends the string under construction, repairing invalid UTF-8 if the
    /// producer wrote raw non-UTF-8 bytes.
    pub(crate) fn finish_string(&mut self) -> u32 {
        match std::str::from_utf8(&self.pending) {
            Ok(valid) => self.text.push_str(valid),
            Err(_) => self.text.push_str(&String::from_utf8_lossy(&self.pending)),
        }
        self.pending.clear();
        self.ends.push(self.text.len() as u64);
        (self.ends.len() - 1) as u32
    }
}
