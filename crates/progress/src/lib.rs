//! The one progress convention of leakscope's libraries: long work takes
//! `&mut dyn Observer` and tells it what it is doing. Faces decide what to
//! show: the CLI a bar or spinner on a terminal (nothing in `--json` mode
//! or CI), the web server a loading state, the MCP server progress
//! notifications. Libraries never print.

/// Told how long work is going.
pub trait Observer {
    /// A line worth keeping: a phase begins, a round's result, a decision,
    /// what a snapshot is about to cost.
    fn note(&mut self, line: &str);
    /// What is happening right now (a spinner's message); replaces the
    /// previous one.
    fn progress(&mut self, what: &str);
    /// How far a long read has come: `done` bytes (of a length the caller
    /// knows, when it does).
    fn advanced(&mut self, done: u64) {
        let _ = done;
    }
}

/// Tells nobody.
pub struct Silent;

impl Observer for Silent {
    fn note(&mut self, _: &str) {}
    fn progress(&mut self, _: &str) {}
}

/// Shows another observer's notes as passing progress: for work whose
/// caller keeps its own lines (a hunt's snapshot announces its cost as a
/// note; the hunt shows it only while it lasts).
pub struct Passing<'a>(pub &'a mut dyn Observer);

impl Observer for Passing<'_> {
    fn note(&mut self, line: &str) {
        self.0.progress(line);
    }
    fn progress(&mut self, what: &str) {
        self.0.progress(what);
    }
    fn advanced(&mut self, done: u64) {
        self.0.advanced(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Seen(Vec<String>);

    impl Observer for Seen {
        fn note(&mut self, line: &str) {
            self.0.push(format!("note {line}"));
        }
        fn progress(&mut self, what: &str) {
            self.0.push(format!("progress {what}"));
        }
        fn advanced(&mut self, done: u64) {
            self.0.push(format!("advanced {done}"));
        }
    }

    #[test]
    fn passing_turns_notes_into_progress() {
        let mut seen = Seen::default();
        let mut passing = Passing(&mut seen);
        passing.note("snapshot: 1 s");
        passing.progress("writing");
        passing.advanced(7);
        assert_eq!(
            seen.0,
            ["progress snapshot: 1 s", "progress writing", "advanced 7"]
        );
    }
}
