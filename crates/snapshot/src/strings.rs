//! The snapshot's string table: every string's UTF-8 bytes in one buffer, so
//! a million names cost two allocations, not a million.
#![allow(
    unsafe_code,
    reason = "the table stores UTF-8 cut at character boundaries; its one unchecked read states its SAFETY"
)]

use crate::column::Column;

/// Strings indexed like the snapshot's `strings` array. Analyses may append
/// strings (class names such as `(system)`), exactly as DevTools does, so an
/// index is stable once handed out.
#[derive(Default, Debug, Clone)]
pub struct StringTable {
    /// All strings' text. Invariant: valid UTF-8, and every offset in
    /// `ends` is a character boundary — so `get` slices without
    /// re-validating (checked once in [`StringTable::from_columns`] for a
    /// cached table; built that way otherwise).
    text: Column<u8>,
    /// The string under construction, before validation.
    pending: Vec<u8>,
    /// `ends[i]` is the end offset of string `i`; string `i` starts at `ends[i-1]`.
    ends: Column<u64>,
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
        let bytes = &self.text[start..self.ends[i] as usize];
        // SAFETY: the struct's invariant — UTF-8 cut at character boundaries.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    pub fn push(&mut self, s: &str) -> u32 {
        let text = self.text.to_mut();
        text.extend_from_slice(s.as_bytes());
        let end = text.len() as u64;
        self.ends.to_mut().push(end);
        (self.ends.len() - 1) as u32
    }

    /// The table's two columns, for the analysis cache.
    pub(crate) fn columns(&self) -> (&[u8], &[u64]) {
        (&self.text, &self.ends)
    }

    /// A table from cached columns, or `None` unless the text is UTF-8,
    /// the ends rise and each falls on a character boundary.
    pub(crate) fn from_columns(text: Column<u8>, ends: Column<u64>) -> Option<Self> {
        let valid = std::str::from_utf8(&text).ok()?;
        let mut last = 0;
        for &end in &ends {
            if end < last || !valid.is_char_boundary(usize::try_from(end).ok()?) {
                return None;
            }
            last = end;
        }
        Some(StringTable {
            text,
            pending: Vec::new(),
            ends,
        })
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
        let text = self.text.to_mut();
        match std::str::from_utf8(&self.pending) {
            Ok(valid) => text.extend_from_slice(valid.as_bytes()),
            Err(_) => text.extend_from_slice(String::from_utf8_lossy(&self.pending).as_bytes()),
        }
        self.pending.clear();
        let end = text.len() as u64;
        self.ends.to_mut().push(end);
        (self.ends.len() - 1) as u32
    }
}
