//! The documents leakscope publishes: what `--json` prints and what report
//! files hold. They are made for readers (people's scripts, CI, the npm
//! API, the web explorer reading a saved `hunt.json`), not for the tools
//! that fill them, so a change inside a tool never changes them by accident.
//!
//! Compatibility: a document carries `schema_version`. Within one version,
//! fields are only added (optional ones); renaming, removing or retyping a
//! field bumps it. Readers of version N accept any document of version N.
//! `leakscope <command> --json-schema` prints the JSON Schema.

pub mod cache;
pub mod common;
pub mod diff;
pub mod dominators;
pub mod find_leaks;
pub mod gc_log;
pub mod hunt;
pub mod jit;
pub mod live;
pub mod load;
pub mod retainers;
pub mod sample;
pub mod stats;
pub mod summary;
pub mod timeline;
pub mod watch;

pub use cache::CacheReport;
pub use diff::DiffReport;
pub use dominators::DominatorsReport;
pub use find_leaks::FindLeaksReport;
pub use gc_log::GcLogReport;
pub use hunt::HuntReport;
pub use jit::JitRunReport;
pub use load::LoadReport;
pub use retainers::RetainersReport;
pub use sample::SampleReport;
pub use stats::StatsReport;
pub use summary::SummaryReport;
pub use timeline::TimelineReport;

/// A document that says which version of its schema it follows.
pub trait Document: serde::Serialize + schemars::JsonSchema {
    /// The version this build writes.
    const SCHEMA_VERSION: u32;
}

/// The JSON Schema of a document, pretty-printed.
pub fn schema_of<D: Document>() -> String {
    let schema = schemars::schema_for!(D);
    serde_json::to_string_pretty(&schema).expect("a schema serializes")
}

/// Why a saved report cannot be read.
#[derive(Debug)]
pub enum ReadError {
    /// Not JSON, or not this document.
    Invalid(serde_json::Error),
    /// Written by a leakscope whose schema this one does not read.
    Version { found: u64, supported: u32 },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Invalid(e) => write!(f, "{e}"),
            ReadError::Version { found, supported } => write!(
                f,
                "schema version {found}, and this leakscope reads version {supported}"
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Invalid(e) => Some(e),
            ReadError::Version { .. } => None,
        }
    }
}

/// Reads a saved document: any of this version (a document without
/// `schema_version` is of the first).
pub fn read<D: Document + serde::de::DeserializeOwned>(json: &[u8]) -> Result<D, ReadError> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        #[serde(default = "first_version")]
        schema_version: u64,
    }
    let versioned: Versioned = serde_json::from_slice(json).map_err(ReadError::Invalid)?;
    if versioned.schema_version != u64::from(D::SCHEMA_VERSION) {
        return Err(ReadError::Version {
            found: versioned.schema_version,
            supported: D::SCHEMA_VERSION,
        });
    }
    serde_json::from_slice(json).map_err(ReadError::Invalid)
}

fn first_version() -> u64 {
    1
}

/// Serde's default for a document's `schema_version` when reading one
/// written before versions were written down.
pub(crate) fn version_one() -> u32 {
    1
}
