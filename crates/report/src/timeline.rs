//! `leakscope timeline --json`: what a window of an allocation recording
//! still holds at its end.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Frame, SourceMaps};

/// Objects allocated between `from_seconds` and `to_seconds` of a
/// `.heaptimeline` and still alive at its end, by class.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TimelineReport {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(default = "crate::version_one")]
    pub schema_version: u32,
    /// The recording read.
    pub file: PathBuf,
    /// The recording's length.
    pub recording_seconds: f64,
    /// The window, from the start of the recording.
    pub from_seconds: f64,
    pub to_seconds: f64,
    /// Objects of the window still alive, in all classes.
    pub objects: u64,
    /// Their own sizes added up, in bytes.
    pub shallow_size: u64,
    /// Most objects first (`--top` of them).
    pub classes: Vec<ClassAllocations>,
    #[serde(default, skip_serializing_if = "SourceMaps::is_empty")]
    pub source_maps: SourceMaps,
}

impl crate::Document for TimelineReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// One class's surviving objects of the window, by allocation stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClassAllocations {
    pub name: String,
    pub count: u64,
    /// In bytes.
    pub shallow_size: u64,
    /// Most objects first.
    pub stacks: Vec<StackCount>,
}

/// The objects one allocation stack made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StackCount {
    pub count: u64,
    /// In bytes.
    pub shallow_size: u64,
    /// Innermost first (`--depth` of them); empty when allocated before
    /// tracking started or by the runtime.
    pub frames: Vec<Frame>,
}
