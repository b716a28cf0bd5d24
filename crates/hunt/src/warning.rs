//! Reasons to doubt a verdict, as values: each says in the library's terms
//! what went wrong, so a face can add its own advice (the CLI names its
//! flags). Reports serialize them as their text.

use std::collections::BTreeMap;
use std::fmt;

use leakscope_load::CommandRun;
use serde::{Serialize, Serializer};

/// One reason to doubt a clean verdict, or to read a finding with care.
#[derive(Debug, Clone)]
pub enum Warning {
    /// Most responses were errors (e.g. 404 on `/`): the load missed the app.
    RefusedLoad {
        refused: u64,
        sent: u64,
        /// Error responses by status.
        statuses: BTreeMap<u16, u64>,
    },
    /// Many requests got no response at all.
    Unanswered { errors: u64, sent: u64 },
    /// The user's load command failed in some rounds (1-based).
    LoadCommandFailed {
        rounds: Vec<usize>,
        last: CommandRun,
    },
    /// The main thread ran no scavenge during rounds without HTTP load: it
    /// allocated too little for a slow leak to show in rounds this long.
    LittleGarbage,
    /// Some findings have low confidence after `rounds` rounds.
    SmallFindings { rounds: usize },
    /// The same, over snapshot files: `intervals` between them, and how
    /// many snapshots would make them sure.
    SmallFindingsOffline { intervals: usize, sure_at: usize },
    /// `what` rose at every snapshot, mostly unexplained by the findings.
    UnexplainedGrowth {
        what: &'static str,
        values: Vec<u64>,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::RefusedLoad { .. } => {
                write!(f, "{}; {}", self.refused_text(), Warning::REFUSED_ADVICE)
            }
            Warning::Unanswered { errors, sent } => write!(
                f,
                "{errors} of {sent} requests got no response: the rounds measured less than they say"
            ),
            Warning::LoadCommandFailed { rounds, last } => {
                let which: Vec<String> = rounds.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "the load command failed in round{} {} ({}){}: those rounds drove less load than the others",
                    if rounds.len() == 1 { "" } else { "s" },
                    which.join(", "),
                    last.status,
                    crate::session::tail_text(&last.tail)
                )
            }
            Warning::LittleGarbage => write!(
                f,
                "{}{}",
                Warning::LITTLE_GARBAGE,
                Warning::LITTLE_GARBAGE_ADVICE
            ),
            Warning::SmallFindings { rounds } => write!(
                f,
                "some findings are small and were seen in only {rounds} rounds (beside a far bigger leak, or with no budget left for more): read them as suspects"
            ),
            Warning::SmallFindingsOffline { intervals, sure_at } => write!(
                f,
                "some findings are small and were seen in only {intervals} intervals: read them as suspects, or take more snapshots ({sure_at} or more make them sure)"
            ),
            Warning::UnexplainedGrowth { what, values } => {
                let mb: Vec<String> = values
                    .iter()
                    .map(|&v| format!("{:.1}", v as f64 / 1e6))
                    .collect();
                write!(
                    f,
                    "{what} grew at every snapshot ({} MB) and the findings explain less than half of it",
                    mb.join(" → ")
                )
            }
        }
    }
}

impl Warning {
    /// What [`Warning::RefusedLoad`] found, without advice.
    pub fn refused_text(&self) -> String {
        match self {
            Warning::RefusedLoad {
                refused,
                sent,
                statuses,
            } => {
                let statuses: Vec<String> =
                    statuses.iter().map(|(s, n)| format!("{n} × {s}")).collect();
                format!(
                    "{refused} of {sent} responses were errors ({}): the load may not reach the code that leaks",
                    statuses.join(", ")
                )
            }
            other => other.to_string(),
        }
    }

    /// What [`Warning::RefusedLoad`] advises, after its findings.
    pub const REFUSED_ADVICE: &'static str = "give the load a URL or requests the app answers";

    /// What [`Warning::LittleGarbage`] found, up to the longer rounds it
    /// asks for.
    pub const LITTLE_GARBAGE: &'static str = "the main thread collected no garbage during the rounds: it allocated little (a few MB at most), so a slow leak needs longer rounds";

    /// The rest of [`Warning::LittleGarbage`]'s advice.
    pub const LITTLE_GARBAGE_ADVICE: &'static str = ", or a larger time budget";
}

impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
