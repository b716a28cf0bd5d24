//! The analysis cache: a snapshot's analysed columns, kept on disk so that a
//! second command on the same unchanged file maps them instead of reading
//! and analysing the file again.
//!
//! Invariants:
//! - An entry is answered only for the file it was made from: the file's
//!   canonical path, size, modification time, inode and hashes of its first
//!   and last 64 KiB must all match, and the engine version too.
//! - An entry is never trusted when corrupt: its trailer, its header's hash
//!   and a checksum of all its data are checked before anything is mapped,
//!   and every column's length against the graph's. A bad entry is removed
//!   and the file analysed afresh.
//! - An entry is never changed in place: it is written to a temporary file
//!   and renamed, so a mapping (or another process) only ever sees a whole
//!   entry, and an interrupted write leaves no entry.
//! - The cache keeps to its size: least recently used entries go first, and
//!   an analysis bigger than the whole cache is not kept.
//!
//! Layout of an entry: the columns, each 64-byte aligned; then the header
//! (JSON: the key, the sections' offsets, the small tables); then a 32-byte
//! trailer (header offset, header length, header hash, magic).
#![allow(
    unsafe_code,
    reason = "cache entries are memory-mapped; each map states its SAFETY"
)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytemuck::Pod;
use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::analysis::{
    HeapSnapshot, InterfaceDefinition, RetainedSizes, RetainerIndex, RetainerStore, Statistics,
};
use crate::column::Column;
use crate::graph::Graph;
use crate::reader::Extras;
use crate::strings::StringTable;

/// Bumped whenever the layout or the meaning of a cached column changes.
const FORMAT: u32 = 2;
const MAGIC: &[u8; 8] = b"LSCACHE1";
const TRAILER: usize = 32;
const ALIGN: u64 = 64;
/// The unit of an entry's checksum (see [`checksum`]).
const BLOCK: usize = 16 << 20;
/// Bytes of the snapshot's head and tail hashed into its key.
const SAMPLE: u64 = 64 * 1024;
/// The default size cap: room for a few multi-GB analyses.
const DEFAULT_MAX_BYTES: u64 = 16 << 30;

/// Where analyses are kept, and how much room they may take.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Cache {
            dir: dir.into(),
            max_bytes,
        }
    }

    /// The user's cache: `$LEAKSCOPE_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/leakscope`, else `~/.cache/leakscope`; at most
    /// `$LEAKSCOPE_CACHE_SIZE` bytes (suffixes K, M, G; default 16G).
    /// `None` when there is no such directory to use.
    pub fn user() -> Option<Self> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let dir = var("LEAKSCOPE_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("leakscope")))
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache/leakscope")))?;
        let max_bytes = std::env::var("LEAKSCOPE_CACHE_SIZE")
            .ok()
            .and_then(|s| parse_size(&s))
            .unwrap_or(DEFAULT_MAX_BYTES);
        Some(Cache::new(dir, max_bytes))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cached analysis of `path`, if there is a sound one at least as
    /// deep as `depth`. A corrupt or mismatched entry is removed.
    pub(crate) fn open(&self, key: &FileKey, depth_full: bool) -> Option<HeapSnapshot> {
        let path = self.entry_path(key, "analysis");
        let entry = Entry::open(&path, key)?;
        match entry.snapshot(depth_full) {
            Ok(Some(snapshot)) => {
                touch(&path);
                Some(snapshot.with_slot(Arc::new(Slot {
                    cache: self.clone(),
                    key: key.clone(),
                    checksum: entry.header.checksum,
                })))
            }
            Ok(None) => None,
            Err(()) => {
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Keeps `snapshot`'s analysis of the file `key` names. Returns the
    /// slot for its retainer index, or `None` when it was not kept (no room,
    /// or the directory cannot be written — the cache is an optimisation,
    /// never a reason to fail).
    pub(crate) fn store(&self, key: &FileKey, snapshot: &HeapSnapshot) -> Option<Slot> {
        let size = analysis_bytes(snapshot);
        if size > self.max_bytes {
            return None;
        }
        self.make_room(size);
        let checksum = write_analysis(&self.entry_path(key, "analysis"), &self.dir, key, snapshot)?;
        Some(Slot {
            cache: self.clone(),
            key: key.clone(),
            checksum,
        })
    }

    /// What the cache holds, most recently used first (headers only: the
    /// entries' data is not read). Entries of another engine version or
    /// damaged ones are listed with no snapshot.
    pub fn entries(&self) -> Vec<CachedFile> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut entries: Vec<CachedFile> = dir
            .flatten()
            .map(|item| item.path())
            .filter(|path| path.extension().is_some_and(|e| e == "analysis"))
            .filter_map(|path| {
                let meta = std::fs::metadata(&path).ok()?;
                let sidecar = path.with_extension("retainers");
                let sidecar_bytes = std::fs::metadata(&sidecar).map_or(0, |m| m.len());
                let header = File::open(&path)
                    .ok()
                    // SAFETY: as in `Entry::open`; only the trailer and
                    // header pages are read.
                    .and_then(|file| unsafe { Mmap::map(&file) }.ok())
                    .and_then(|map| header_of(&map).ok().map(|(h, _)| h));
                Some(CachedFile {
                    snapshot: header.map(|h| PathBuf::from(h.meta.key.path)),
                    bytes: meta.len() + sidecar_bytes,
                    last_used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    has_retainers: sidecar_bytes > 0,
                })
            })
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.last_used));
        entries
    }

    /// Removes every entry (and temporary file); returns the bytes freed.
    pub fn clear(&self) -> std::io::Result<u64> {
        let dir = match std::fs::read_dir(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            other => other?,
        };
        let mut freed = 0;
        for item in dir.flatten() {
            let name = item.file_name();
            let name = name.to_string_lossy();
            if [".analysis", ".retainers", ".tmp"]
                .iter()
                .any(|x| name.ends_with(x))
            {
                let len = item.metadata().map_or(0, |m| m.len());
                std::fs::remove_file(item.path())?;
                freed += len;
            }
        }
        Ok(freed)
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    fn entry_path(&self, key: &FileKey, kind: &str) -> PathBuf {
        let stem = xxh3_64(key.path.as_bytes());
        self.dir.join(format!("{stem:016x}.{kind}"))
    }

    /// Removes least recently used entries until `incoming` more bytes fit,
    /// and temporary files an interrupted writer left over an hour ago.
    fn make_room(&self, incoming: u64) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries = Vec::new();
        let now = SystemTime::now();
        for item in dir.flatten() {
            let (Ok(meta), name) = (item.metadata(), item.file_name()) else {
                continue;
            };
            let name = name.to_string_lossy();
            let modified = meta.modified().unwrap_or(now);
            if name.ends_with(".tmp") {
                if now.duration_since(modified).unwrap_or_default() > Duration::from_secs(3600) {
                    let _ = std::fs::remove_file(item.path());
                }
            } else if name.ends_with(".analysis") || name.ends_with(".retainers") {
                entries.push((modified, meta.len(), item.path()));
            }
        }
        let mut total: u64 = entries.iter().map(|e| e.1).sum::<u64>() + incoming;
        entries.sort_by_key(|e| e.0);
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(path).is_ok() {
                total -= len;
            }
        }
    }
}

/// One snapshot's cached analysis, as [`Cache::entries`] lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedFile {
    /// The snapshot it was made from; `None` for an entry this version
    /// cannot use (it will be replaced or evicted).
    pub snapshot: Option<PathBuf>,
    /// On disk, with its retainer index.
    pub bytes: u64,
    #[serde(with = "unix_seconds")]
    pub last_used: SystemTime,
    pub has_retainers: bool,
}

mod unix_seconds {
    use std::time::SystemTime;

    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let secs = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        s.serialize_u64(secs)
    }
}

/// What identifies a snapshot file's content without reading all of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileKey {
    path: String,
    size: u64,
    modified_ns: u128,
    inode: u64,
    head: u64,
    tail: u64,
}

impl FileKey {
    pub(crate) fn of(path: &Path) -> std::io::Result<Self> {
        use std::io::{Read, Seek, SeekFrom};
        let path = std::fs::canonicalize(path)?;
        let mut file = File::open(&path)?;
        let meta = file.metadata()?;
        let size = meta.len();
        let modified_ns = meta
            .modified()?
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        let mut sample = Vec::with_capacity(SAMPLE as usize);
        (&mut file).take(SAMPLE).read_to_end(&mut sample)?;
        let head = xxh3_64(&sample);
        sample.clear();
        file.seek(SeekFrom::Start(size.saturating_sub(SAMPLE)))?;
        file.take(SAMPLE).read_to_end(&mut sample)?;
        let tail = xxh3_64(&sample);
        Ok(FileKey {
            path: path.to_string_lossy().into_owned(),
            size,
            modified_ns,
            inode,
            head,
            tail,
        })
    }
}

/// Where a cached analysis lives, so its retainer index can be kept beside it.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    cache: Cache,
    key: FileKey,
    /// The analysis entry's checksum: a retainer index belongs to it alone.
    checksum: u64,
}

impl RetainerStore for Slot {
    /// The cached retainer index, or one built now and kept for next time.
    fn retainer_index(&self, graph: &Graph) -> RetainerIndex {
        let path = self.cache.entry_path(&self.key, "retainers");
        if let Some(index) = self.open_retainers(&path, graph) {
            touch(&path);
            return index;
        }
        let index = RetainerIndex::build(graph);
        let (first, edges) = index.columns();
        let size = (first.len() * 4 + edges.len() * 4) as u64;
        if size <= self.cache.max_bytes {
            self.cache.make_room(size);
            let mut parts = Parts::default();
            parts.column("retainers.first", first);
            parts.column("retainers.edges", edges);
            let meta = Meta {
                key: self.key.clone(),
                parent: self.checksum,
                ..Meta::default()
            };
            write_atomically(&self.cache.dir, &path, &parts, meta);
        }
        index
    }
}

impl Slot {
    fn open_retainers(&self, path: &Path, graph: &Graph) -> Option<RetainerIndex> {
        let entry = Entry::open(path, &self.key)?;
        let sound = (|| {
            if entry.header.meta.parent != self.checksum {
                return Err(());
            }
            let first: Column<u32> = entry.column("retainers.first", graph.node_count() + 1)?;
            let edges: Column<u32> = entry.column("retainers.edges", graph.edge_count())?;
            if first.last().copied() != Some(graph.edge_count() as u32) {
                return Err(());
            }
            Ok(RetainerIndex::from_columns(first, edges))
        })();
        if sound.is_err() {
            let _ = std::fs::remove_file(path);
        }
        sound.ok()
    }
}

/// The small tables of an entry, stored as JSON in its header.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Meta {
    key: FileKey,
    /// For a retainer index: the checksum of the analysis it was built from.
    parent: u64,
    full: bool,
    node_type_names: Vec<String>,
    edge_type_names: Vec<String>,
    root: u32,
    interfaces: Vec<InterfaceDefinition>,
    /// Sorted, so that one analysis always writes the same bytes.
    interface_names: BTreeMap<String, u32>,
    statistics: Statistics,
    extra_native_bytes: u64,
    sample_fields: Vec<String>,
    trace_function_info_fields: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    engine: String,
    /// xxh3 of every byte before the header.
    checksum: u64,
    sections: Vec<Section>,
    meta: Meta,
}

#[derive(Debug, Serialize, Deserialize)]
struct Section {
    name: String,
    offset: u64,
    len: u64,
    item_size: u32,
}

/// An entry opened and checked: trailer, header, checksum, key.
struct Entry {
    map: Arc<Mmap>,
    header: Header,
}

impl Entry {
    fn open(path: &Path, key: &FileKey) -> Option<Self> {
        let file = File::open(path).ok()?;
        // SAFETY: entries are never written in place (see the module's
        // invariants); a file truncated by someone else would fault on
        // access, which no cooperating writer does.
        let map = unsafe { Mmap::map(&file) }.ok()?;
        match Entry::check(map, key) {
            Ok(entry) => Some(entry),
            Err(Mismatch::Stale) => None,
            Err(Mismatch::Corrupt) => {
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }

    fn check(map: Mmap, key: &FileKey) -> Result<Self, Mismatch> {
        let (header, at) = header_of(&map)?;
        if &header.meta.key != key {
            return Err(Mismatch::Stale);
        }
        if checksum(&map[..at]) != header.checksum {
            return Err(Mismatch::Corrupt);
        }
        Ok(Entry {
            map: Arc::new(map),
            header,
        })
    }

    /// The section `name` as a column of exactly `len` items.
    fn column<T: Pod>(&self, name: &str, len: usize) -> Result<Column<T>, ()> {
        let s = self.section(name)?;
        if s.item_size as usize != size_of::<T>() || s.len != len as u64 {
            return Err(());
        }
        Column::mapped(&self.map, s.offset as usize, len).ok_or(())
    }

    /// The section `name` as a column of whatever length it has.
    fn any_column<T: Pod>(&self, name: &str) -> Result<Column<T>, ()> {
        let len = usize::try_from(self.section(name)?.len).map_err(|_| ())?;
        self.column(name, len)
    }

    fn section(&self, name: &str) -> Result<&Section, ()> {
        self.header
            .sections
            .iter()
            .find(|s| s.name == name)
            .ok_or(())
    }

    /// The analysis, `Ok(None)` if it is shallower than wanted, `Err` if
    /// its columns do not fit together.
    fn snapshot(&self, want_full: bool) -> Result<Option<HeapSnapshot>, ()> {
        let meta = &self.header.meta;
        if want_full && !meta.full {
            return Ok(None);
        }
        // The checksum vouches for the values (checked when the snapshot
        // was read); here only that the columns fit together. The strings
        // are checked again: `StringTable::get` relies on them being UTF-8.
        let node_type: Column<u8> = self.any_column("node_type")?;
        let n = node_type.len();
        let first_edge: Column<u32> = self.column("first_edge", n + 1)?;
        let m = *first_edge.last().ok_or(())? as usize;
        let trace_node_id: Column<u32> = self.any_column("trace_node_id")?;
        if meta.root as usize >= n || !(trace_node_id.is_empty() || trace_node_id.len() == n) {
            return Err(());
        }
        let mut graph = Graph {
            node_type,
            node_name: self.column("node_name", n)?,
            node_id: self.column("node_id", n)?,
            self_size: self.column("self_size", n)?,
            first_edge,
            trace_node_id,

            edge_name: self.column("edge_name", m)?,
            edge_target: self.column("edge_target", m)?,
            root: meta.root,
            locations: self.any_column("locations")?,
            ..Graph::default()
        };
        graph.set_type_names(meta.node_type_names.clone(), meta.edge_type_names.clone());
        let strings = StringTable::from_columns(
            self.any_column("strings.text")?,
            self.any_column("strings.ends")?,
        )
        .ok_or(())?;
        let deep = if meta.full { n } else { 0 };
        let samples: Column<u64> = self.any_column("samples")?;
        let extras = Extras {
            extra_native_bytes: meta.extra_native_bytes,
            samples: samples.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
            sample_fields: meta.sample_fields.clone(),
            trace_function_info_fields: meta.trace_function_info_fields.clone(),
            trace_function_infos: self.any_column::<u32>("trace_function_infos")?.into_vec(),
            trace_tree_json: self.any_column::<u8>("trace_tree_json")?.into_vec(),
        };
        Ok(Some(HeapSnapshot {
            graph,
            strings,
            extras,
            class_index: self.column("class_index", n)?,
            interfaces: meta.interfaces.clone(),
            interface_names: meta.interface_names.clone().into_iter().collect(),
            distances: self.column("distances", deep)?,
            idom: self.column("idom", deep)?,
            retained: RetainedSizes::from_columns(
                self.column("retained", deep)?,
                self.any_column("retained.large")?,
            )
            .ok_or(())?,
            first_dominated: self.column("first_dominated", if meta.full { n + 1 } else { 0 })?,
            dominated: self.column("dominated", deep.saturating_sub(1))?,
            statistics: meta.statistics.clone(),
            slot: None,
        }))
    }
}

/// An entry's header and where its data ends, checked by the trailer, the
/// header's hash and the format; the data itself is not read.
fn header_of(bytes: &[u8]) -> Result<(Header, usize), Mismatch> {
    let len = bytes.len();
    let trailer = bytes.get(len.checked_sub(TRAILER).ok_or(Mismatch::Corrupt)?..);
    let trailer = trailer.ok_or(Mismatch::Corrupt)?;
    let word = |i: usize| u64::from_le_bytes(trailer[i * 8..i * 8 + 8].try_into().unwrap());
    if &trailer[24..32] != MAGIC {
        return Err(Mismatch::Corrupt);
    }
    let (at, header_len, header_hash) = (word(0) as usize, word(1) as usize, word(2));
    let end = at.checked_add(header_len).ok_or(Mismatch::Corrupt)?;
    if end != len - TRAILER {
        return Err(Mismatch::Corrupt);
    }
    let header_bytes = &bytes[at..end];
    if xxh3_64(header_bytes) != header_hash {
        return Err(Mismatch::Corrupt);
    }
    let header: Header = serde_json::from_slice(header_bytes).map_err(|_| Mismatch::Corrupt)?;
    if header.format != FORMAT || header.engine != env!("CARGO_PKG_VERSION") {
        return Err(Mismatch::Corrupt);
    }
    Ok((header, at))
}

enum Mismatch {
    /// Sound, but made from another version of the file.
    Stale,
    Corrupt,
}

/// The bytes an entry of this analysis takes, near enough to decide room.
fn analysis_bytes(s: &HeapSnapshot) -> u64 {
    let g = &s.graph;
    let (text, ends) = s.strings.columns();
    let per_node = 1 + 4 * 5 + 4 * 3 + 4 + 4 + 4;
    (g.node_count() * per_node + g.edge_count() * 8 + text.len() + ends.len() * 8) as u64
        + (g.locations.len() * 16) as u64
}

fn write_analysis(path: &Path, dir: &Path, key: &FileKey, s: &HeapSnapshot) -> Option<u64> {
    let g = &s.graph;
    let (text, ends) = s.strings.columns();
    let samples: Vec<u64> = s
        .extras
        .samples
        .iter()
        .flat_map(|&(t, id)| [t, id])
        .collect();
    let mut parts = Parts::default();
    parts.column("node_type", &g.node_type);
    parts.column("node_name", &g.node_name);
    parts.column("node_id", &g.node_id);
    parts.column("self_size", &g.self_size);
    parts.column("first_edge", &g.first_edge);
    parts.column("trace_node_id", &g.trace_node_id);
    parts.column("edge_name", &g.edge_name);
    parts.column("edge_target", &g.edge_target);
    parts.column("locations", &g.locations);
    parts.column("strings.text", text);
    parts.column("strings.ends", ends);
    parts.column("class_index", &s.class_index);
    parts.column("distances", &s.distances);
    parts.column("idom", &s.idom);
    parts.column("retained", &s.retained.small);
    parts.column("retained.large", &s.retained.large);
    parts.column("first_dominated", &s.first_dominated);
    parts.column("dominated", &s.dominated);
    parts.column("samples", &samples);
    parts.column("trace_function_infos", &s.extras.trace_function_infos);
    parts.column("trace_tree_json", &s.extras.trace_tree_json);
    let meta = Meta {
        key: key.clone(),
        parent: 0,
        full: s.is_full(),
        node_type_names: g.node_type_names.clone(),
        edge_type_names: g.edge_type_names.clone(),
        root: g.root,
        interfaces: s.interfaces.clone(),
        interface_names: s.interface_names.clone().into_iter().collect(),
        statistics: s.statistics.clone(),
        extra_native_bytes: s.extras.extra_native_bytes,
        sample_fields: s.extras.sample_fields.clone(),
        trace_function_info_fields: s.extras.trace_function_info_fields.clone(),
    };
    write_atomically(dir, path, &parts, meta)
}

/// The columns of an entry to be written, in order: (name, item size,
/// items, bytes).
#[derive(Default)]
struct Parts<'a> {
    columns: Vec<(&'static str, u32, u64, &'a [u8])>,
}

impl<'a> Parts<'a> {
    fn column<T: Pod>(&mut self, name: &'static str, items: &'a [T]) {
        let bytes = bytemuck::cast_slice(items);
        self.columns
            .push((name, size_of::<T>() as u32, items.len() as u64, bytes));
    }

    /// Each column's bytes after the zeros that align it.
    fn padded(&self) -> impl Iterator<Item = (&'static [u8], &'a [u8])> + '_ {
        let mut at = 0u64;
        self.columns.iter().map(move |&(_, _, _, bytes)| {
            let pad = (ALIGN - at % ALIGN) % ALIGN;
            at += pad + bytes.len() as u64;
            (&ZEROS[..pad as usize], bytes)
        })
    }

    /// The sections' places, and where the header goes.
    fn sections(&self) -> (Vec<Section>, u64) {
        let mut at = 0u64;
        let sections = self
            .columns
            .iter()
            .map(|&(name, item_size, len, bytes)| {
                at += (ALIGN - at % ALIGN) % ALIGN;
                let offset = at;
                at += bytes.len() as u64;
                Section {
                    name: name.to_owned(),
                    offset,
                    len,
                    item_size,
                }
            })
            .collect();
        (sections, at)
    }
}

static ZEROS: [u8; ALIGN as usize] = [0; ALIGN as usize];

/// Writes `parts` and a header holding `meta` into a temporary file in
/// `dir`, hashing on one thread while writing on another, and renames it to
/// `path`. Returns the entry's checksum, or `None` (and no file) if anything
/// failed.
fn write_atomically(dir: &Path, path: &Path, parts: &Parts, meta: Meta) -> Option<u64> {
    create_private_dir(dir).ok()?;
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let tmp = dir.join(format!(".{}.{nanos}.tmp", std::process::id()));
    let result = std::thread::scope(|scope| {
        let hashing = scope.spawn(|| {
            let mut hash = BlockHash::default();
            for (pad, bytes) in parts.padded() {
                hash.update(pad);
                hash.update(bytes);
            }
            hash.finish()
        });
        let mut out = create_private_file(&tmp)?;
        for (pad, bytes) in parts.padded() {
            out.write_all(pad)?;
            // In 1 MiB writes: one write of a whole 500 MB column copies
            // into the page cache several times slower (measured: 1 GB in
            // 1.4 s against 0.3 s).
            for chunk in bytes.chunks(1 << 20) {
                out.write_all(chunk)?;
            }
        }
        let checksum = hashing.join().expect("hashing thread");
        let (sections, data_len) = parts.sections();
        let header = Header {
            format: FORMAT,
            engine: env!("CARGO_PKG_VERSION").to_owned(),
            checksum,
            sections,
            meta,
        };
        let json = serde_json::to_vec(&header)?;
        let mut tail = json.clone();
        tail.extend_from_slice(&data_len.to_le_bytes());
        tail.extend_from_slice(&(json.len() as u64).to_le_bytes());
        tail.extend_from_slice(&xxh3_64(&json).to_le_bytes());
        tail.extend_from_slice(MAGIC);
        out.write_all(&tail)?;
        // No fsync: an entry a crash left incomplete fails its checksum.
        drop(out);
        std::fs::rename(&tmp, path)?;
        Ok::<_, std::io::Error>(checksum)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.ok()
}

/// [`checksum`], computed as the bytes stream by.
#[derive(Default)]
struct BlockHash {
    at: u64,
    block: Xxh3,
    hashes: Vec<u64>,
}

impl BlockHash {
    fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = BLOCK - (self.at % BLOCK as u64) as usize;
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.block.update(now);
            self.at += now.len() as u64;
            if self.at.is_multiple_of(BLOCK as u64) {
                self.hashes.push(self.block.digest());
                self.block.reset();
            }
            bytes = rest;
        }
    }

    fn finish(mut self) -> u64 {
        if !self.at.is_multiple_of(BLOCK as u64) {
            self.hashes.push(self.block.digest());
        }
        xxh3_64(bytemuck::cast_slice(&self.hashes))
    }
}

/// An entry's checksum: xxh3 of each [`BLOCK`] of its data, then xxh3 of
/// those hashes — so the check on every cache hit runs on all cores.
fn checksum(data: &[u8]) -> u64 {
    let blocks: Vec<&[u8]> = data.chunks(BLOCK).collect();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let per_thread = blocks.len().div_ceil(threads).max(1);
    let hashes: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = blocks
            .chunks(per_thread)
            .map(|group| scope.spawn(move || group.iter().map(|b| xxh3_64(b)).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("checksum thread"))
            .collect()
    });
    xxh3_64(bytemuck::cast_slice(&hashes))
}

fn touch(path: &Path) {
    if let Ok(file) = File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn create_private_file(path: &Path) -> std::io::Result<File> {
    let mut options = File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// `123`, `512M`, `16G` (binary units) → bytes.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, shift) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 10),
        (i, 'm' | 'M') => (&s[..i], 20),
        (i, 'g' | 'G') => (&s[..i], 30),
        _ => (s, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("16g"), Some(16 << 30));
        assert_eq!(parse_size("lots"), None);
    }
}
