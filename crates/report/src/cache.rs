//! `leakscope cache --json`: the analysis cache's entries, or what
//! `--clear` removed.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What `cache --json` prints: the entries, or with `--clear` the bytes
/// freed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CacheReport {
    /// Without `--clear`: the cached analyses.
    Entries(CacheEntries),
    /// With `--clear`: what was removed.
    Cleared(CacheCleared),
}

impl crate::Document for CacheReport {
    const SCHEMA_VERSION: u32 = 1;
}

/// The cached analyses and the room they take.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CacheEntries {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(rename = "schema_version", default = "crate::version_one")]
    pub schema_version: u32,
    /// Where the cache lives.
    pub directory: PathBuf,
    /// The most it takes before evicting the least recently used.
    pub max_bytes: u64,
    /// What it takes now.
    pub bytes: u64,
    pub entries: Vec<CachedFile>,
}

/// One snapshot's cached analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CachedFile {
    /// The snapshot it was made from; null for an entry of another
    /// leakscope version (it will be replaced or evicted).
    pub snapshot: Option<PathBuf>,
    /// On disk, with its retainer index.
    pub bytes: u64,
    /// When a command last read it, seconds since the Unix epoch.
    pub last_used: u64,
    /// Whether it holds the retainer index (made by `retainers`).
    pub has_retainers: bool,
}

/// What `cache --clear` removed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CacheCleared {
    /// This document's schema version (see the crate's compatibility rule).
    #[serde(rename = "schema_version", default = "crate::version_one")]
    pub schema_version: u32,
    pub directory: PathBuf,
    /// Bytes freed.
    pub freed_bytes: u64,
}
