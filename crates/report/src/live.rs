//! The live commands' documents: `snapshot`, `gc`, `record`, `clear` and
//! `eval` with `--json`.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `leakscope snapshot --json`: a heap snapshot written from a live process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SnapshotTaken {
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    pub path: PathBuf,
    /// The file's size.
    pub bytes: u64,
    /// From the request to the file renamed into place.
    pub seconds: f64,
    /// The heap before the snapshot's GC.
    pub heap_used_before: u64,
    pub pid: u32,
    /// `written-by-target` (the process wrote the file itself) or
    /// `streamed` (over the inspector).
    pub method: String,
}

impl crate::Document for SnapshotTaken {
    const SCHEMA_VERSION: u32 = 1;
}

/// `leakscope gc --json`: a forced full GC and what it freed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GcDone {
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    pub pid: u32,
    pub used_before: u64,
    pub used_after: u64,
    pub total_after: u64,
    /// How long the GC took, as seen from the inspector.
    pub milliseconds: f64,
}

impl crate::Document for GcDone {
    const SCHEMA_VERSION: u32 = 1;
}

/// `leakscope record --json`: an allocation timeline written to a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recorded {
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    pub path: PathBuf,
    pub bytes: u64,
    pub seconds_recorded: f64,
    /// Timeline samples V8 took (one per ~50 ms).
    pub ticks: u64,
    /// The last object id V8 gave during the recording.
    pub last_object_id: u64,
}

impl crate::Document for Recorded {
    const SCHEMA_VERSION: u32 = 1;
}

/// `leakscope clear --json`: a live Array, Map or Set emptied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Cleared {
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// `Array`, `Map`, `Set` or a subclass's name.
    pub kind: String,
    /// Entries removed.
    pub removed: u64,
}

impl crate::Document for Cleared {
    const SCHEMA_VERSION: u32 = 1;
}

/// `leakscope eval --json`: an expression's value in a live process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evaluated {
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// The value as a string (objects as the inspector describes them).
    pub result: String,
}

impl crate::Document for Evaluated {
    const SCHEMA_VERSION: u32 = 1;
}
