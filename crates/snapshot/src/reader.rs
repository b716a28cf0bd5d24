//! Streaming `.heapsnapshot` / `.heaptimeline` reader.
//!
//! The file is read once, front to back, through a fixed buffer: the integer
//! arrays (over 90% of the bytes) are decoded by a hand-written loop straight
//! into the graph's columns, so peak memory is the graph itself, not the file.
//! Field layouts are resolved by name from the `snapshot.meta` header, which
//! V8 always writes first. Anything unexpected is an error naming what is
//! wrong; nothing here panics on input.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::compressed::{decompressing, Encoding};
use crate::error::{Result, SnapshotError};
use crate::graph::{pack_edge, Graph, Location, EDGE_TYPE_BITS, MAX_NODES};
use crate::strings::StringTable;

/// Small enough that a buffer's numbers, staged, stay in cache.
const BUFFER_SIZE: usize = 1 << 20;

/// Everything in a snapshot file besides the graph itself.
#[derive(Debug, Default)]
pub struct Extras {
    pub extra_native_bytes: u64,
    /// `samples` as (timestamp µs, last assigned id) pairs.
    pub samples: Vec<(u64, u64)>,
    pub sample_fields: Vec<String>,
    pub trace_function_info_fields: Vec<String>,
    /// Flat `trace_function_infos` numbers.
    pub trace_function_infos: Vec<u32>,
    /// The raw JSON of `trace_tree`, parsed on demand.
    pub trace_tree_json: Vec<u8>,
}

/// A parsed snapshot before analysis.
#[derive(Debug, Default)]
pub struct RawSnapshot {
    pub graph: Graph,
    pub strings: StringTable,
    pub extras: Extras,
}

/// Reads a snapshot file, plain or compressed (gzip or zstd, told by its
/// first bytes; decompressed on another thread as it streams). `observer`
/// is told the file's bytes consumed so far (`advanced`), once per buffer.
pub fn read_file(
    path: &Path,
    observer: &mut dyn leakscope_progress::Observer,
) -> Result<RawSnapshot> {
    use std::io::{Seek, SeekFrom};
    let progress = &mut |done: u64| observer.advanced(done);
    let io_err = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    if std::fs::metadata(path).map_err(io_err)?.is_dir() {
        return Err(io_err(std::io::Error::other("is a directory")));
    }
    let mut head = [0u8; 4];
    let n = file.read(&mut head).map_err(io_err)?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let read = match Encoding::of(&head[..n]) {
        Encoding::Plain => read_from(file, Some(len), progress),
        encoding => {
            let (reader, compressed_read) = decompressing(file, encoding).map_err(io_err)?;
            // The decompressed size is unknown: no preallocation hint.
            read_from(reader, None, &mut |_| {
                progress(compressed_read.load(std::sync::atomic::Ordering::Relaxed));
            })
        }
    };
    read.map_err(|e| match e {
        SnapshotError::Io { source, .. } => io_err(source),
        other => other,
    })
}

/// Reads a snapshot from any byte stream. `size_hint` (the total length, if
/// known) bounds how much the reader preallocates from the header's counts.
pub fn read_from(
    src: impl Read,
    size_hint: Option<u64>,
    progress: &mut dyn FnMut(u64),
) -> Result<RawSnapshot> {
    let mut sc = Scanner {
        src,
        buf: vec![0; BUFFER_SIZE],
        pos: 0,
        end: 0,
        consumed: 0,
        progress,
    };
    Parser {
        sc: &mut sc,
        size_hint,
    }
    .parse()
}

struct Scanner<'p, R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    consumed: u64,
    progress: &'p mut dyn FnMut(u64),
}

fn io(source: std::io::Error) -> SnapshotError {
    SnapshotError::Io {
        path: Default::default(),
        source,
    }
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

impl<R: Read> Scanner<'_, R> {
    /// Refills the buffer; false at end of input.
    fn fill(&mut self) -> Result<bool> {
        debug_assert!(self.pos >= self.end);
        self.consumed += self.end as u64;
        self.pos = 0;
        self.end = 0;
        loop {
            match self.src.read(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end = n;
                    (self.progress)(self.consumed + n as u64);
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io(e)),
            }
        }
    }

    fn offset(&self) -> u64 {
        self.consumed + self.pos as u64
    }

    /// Next non-whitespace byte, not consumed; None at end of input.
    fn peek_token(&mut self) -> Result<Option<u8>> {
        loop {
            while self.pos < self.end {
                let b = self.buf[self.pos];
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn token(&mut self, ctx: &'static str) -> Result<u8> {
        self.peek_token()?.ok_or(SnapshotError::Truncated(ctx))
    }

    fn expect(&mut self, want: u8, ctx: &'static str) -> Result<()> {
        let b = self.token(ctx)?;
        if b != want {
            return Err(SnapshotError::malformed(format!(
                "expected '{}' in {ctx} at byte {}, found {}",
                want as char,
                self.offset(),
                describe_byte(b)
            )));
        }
        self.pos += 1;
        Ok(())
    }

    /// Next raw byte (inside strings, where whitespace is significant).
    fn byte(&mut self, ctx: &'static str) -> Result<u8> {
        if self.pos >= self.end && !self.fill()? {
            return Err(SnapshotError::Truncated(ctx));
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// Decodes one JSON string into `out`, leniently: lone surrogates become
    /// U+FFFD (serde_json would reject them; V8 writes them for astral chars).
    fn string_into(&mut self, out: &mut StringTable, ctx: &'static str) -> Result<()> {
        self.expect(b'"', ctx)?;
        loop {
            if self.pos >= self.end && !self.fill()? {
                return Err(SnapshotError::Truncated(ctx));
            }
            let chunk = &self.buf[self.pos..self.end];
            match memchr::memchr2(b'"', b'\\', chunk) {
                None => {
                    out.extend_current(chunk);
                    self.pos = self.end;
                }
                Some(i) => {
                    out.extend_current(&chunk[..i]);
                    let quote = chunk[i] == b'"';
                    self.pos += i + 1;
                    if quote {
                        return Ok(());
                    }
                    self.escape_into(out, ctx)?;
                }
            }
        }
    }

    fn hex4(&mut self, ctx: &'static str) -> Result<u16> {
        let mut v = 0u16;
        for _ in 0..4 {
            let b = self.byte(ctx)?;
            let d = (b as char).to_digit(16).ok_or_else(|| {
                SnapshotError::malformed(format!(
                    "bad \\u escape in {ctx} at byte {}",
                    self.offset()
                ))
            })?;
            v = v << 4 | d as u16;
        }
        Ok(v)
    }

    fn escape_into(&mut self, out: &mut StringTable, ctx: &'static str) -> Result<()> {
        let c = match self.byte(ctx)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4(ctx)?;
                if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate: combine with a following low one if present.
                    if self.end - self.pos < 6 {
                        // Make sure the lookahead is in the buffer.
                        self.compact_and_fill()?;
                    }
                    if self.end - self.pos >= 6
                        && self.buf[self.pos] == b'\\'
                        && self.buf[self.pos + 1] == b'u'
                    {
                        let save = self.pos;
                        self.pos += 2;
                        let low = self.hex4(ctx)?;
                        if (0xDC00..0xE000).contains(&low) {
                            let cp = 0x10000
                                + (((unit as u32) - 0xD800) << 10)
                                + ((low as u32) - 0xDC00);
                            out.push_char_current(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                            return Ok(());
                        }
                        self.pos = save;
                    }
                    '\u{FFFD}'
                } else {
                    char::from_u32(unit as u32).unwrap_or('\u{FFFD}')
                }
            }
            other => {
                return Err(SnapshotError::malformed(format!(
                    "bad escape \\{} in {ctx} at byte {}",
                    other as char,
                    self.offset()
                )))
            }
        };
        out.push_char_current(c);
        Ok(())
    }

    /// Moves the unread tail to the front and reads more behind it, so a
    /// short lookahead never straddles a buffer boundary.
    fn compact_and_fill(&mut self) -> Result<()> {
        let tail = self.end - self.pos;
        self.buf.copy_within(self.pos..self.end, 0);
        self.consumed += self.pos as u64;
        self.pos = 0;
        self.end = tail;
        while self.end < 16 {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => break,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }

    fn key(&mut self) -> Result<String> {
        let mut t = StringTable::default();
        self.string_into(&mut t, "a section name")?;
        t.finish_string();
        Ok(t.get(0).to_owned())
    }

    /// Decodes a JSON array of unsigned integers, handing them to `sink` a
    /// buffer's worth at a time. This is the hot loop of the whole reader:
    /// each buffer is cut after its last comma (so no number is split) and,
    /// when large, tokenized in two halves on two threads.
    fn uint_array<T: Staged>(
        &mut self,
        ctx: &'static str,
        mut sink: impl FnMut(&[T]) -> Result<()>,
    ) -> Result<u64> {
        self.expect(b'[', ctx)?;
        let mut need_number = true;
        let mut count = 0u64;
        let (mut first_half, mut second_half) = (Vec::new(), Vec::new());
        loop {
            if self.pos >= self.end && !self.fill()? {
                return Err(SnapshotError::Truncated(ctx));
            }
            let chunk = &self.buf[self.pos..self.end];
            let close = memchr::memchr(b']', chunk);
            let region_end = match close {
                Some(c) => c,
                None => match memchr::memrchr(b',', chunk) {
                    Some(c) => c + 1,
                    None => {
                        // A number (or whitespace) runs past the buffer: read more.
                        if chunk.len() == self.buf.len() {
                            return Err(self.bad_number(ctx, 0));
                        }
                        if !self.compact_and_read()? {
                            return Err(SnapshotError::Truncated(ctx));
                        }
                        continue;
                    }
                },
            };
            let region = &chunk[..region_end];
            first_half.clear();
            second_half.clear();
            let split = if region.len() >= PARALLEL_MIN_BYTES {
                memchr::memchr(b',', &region[region.len() / 2..]).map(|j| region.len() / 2 + j + 1)
            } else {
                None
            };
            let tokenized = match split {
                None => tokenize(region, &mut first_half, need_number),
                Some(split) => {
                    let (a, b) = region.split_at(split);
                    let (ra, rb) = std::thread::scope(|scope| {
                        let other = scope.spawn(|| tokenize(b, &mut second_half, true));
                        let ra = tokenize(a, &mut first_half, need_number);
                        (ra, other.join().expect("tokenizer thread"))
                    });
                    ra.and(rb.map_err(|at| at + split))
                }
            };
            need_number = match tokenized {
                Ok(state) => state,
                Err(at) => return Err(self.bad_number(ctx, at)),
            };
            sink(&first_half)?;
            sink(&second_half)?;
            count += (first_half.len() + second_half.len()) as u64;
            match close {
                Some(c) => {
                    if need_number && count > 0 {
                        return Err(self.bad_number(ctx, c));
                    }
                    self.pos += c + 1;
                    return Ok(count);
                }
                None => self.pos += region_end,
            }
        }
    }

    /// Moves the unread tail to the front and reads behind it; false at EOF.
    fn compact_and_read(&mut self) -> Result<bool> {
        let tail = self.end - self.pos;
        self.buf.copy_within(self.pos..self.end, 0);
        self.consumed += self.pos as u64;
        self.pos = 0;
        self.end = tail;
        loop {
            match self.src.read(&mut self.buf[tail..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    (self.progress)(self.consumed + self.end as u64);
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io(e)),
            }
        }
    }

    fn bad_number(&self, ctx: &'static str, i: usize) -> SnapshotError {
        let b = self.buf[self.pos + i];
        SnapshotError::malformed(format!(
            "unexpected {} in {ctx} at byte {} (only unsigned integers are allowed)",
            describe_byte(b),
            self.offset() + i as u64
        ))
    }

    /// Copies one JSON value verbatim (objects/arrays balanced, strings honoured).
    fn capture_value(&mut self, ctx: &'static str, out: &mut Vec<u8>) -> Result<()> {
        let first = self.token(ctx)?;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        if !matches!(first, b'{' | b'[' | b'"') {
            // A scalar: copy up to the next delimiter.
            loop {
                let Some(b) = self.peek_raw()? else {
                    return Ok(());
                };
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(());
                }
                out.push(b);
                self.pos += 1;
            }
        }
        loop {
            let b = self.byte(ctx)?;
            out.push(b);
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }

    fn peek_raw(&mut self) -> Result<Option<u8>> {
        if self.pos >= self.end && !self.fill()? {
            return Ok(None);
        }
        Ok(Some(self.buf[self.pos]))
    }
}

/// Regions at least this large are tokenized on two threads.
const PARALLEL_MIN_BYTES: usize = 256 << 10;

/// A staged number: u32 for the graph arrays (DevTools keeps them in
/// Uint32 storage, so larger values wrap), u64 where the format needs it.
pub trait Staged: Copy + Send + Default {
    fn from_u64(v: u64) -> Self;
}

impl Staged for u32 {
    #[inline]
    fn from_u64(v: u64) -> Self {
        v as u32
    }
}

impl Staged for u64 {
    #[inline]
    fn from_u64(v: u64) -> Self {
        v
    }
}

/// The value of 1–8 ASCII digits held in the low `len` bytes of `word`
/// (little-endian, first digit lowest), in a few multiplies instead of a
/// branch per digit.
#[inline]
fn swar_digits(word: u64, len: u32) -> u64 {
    // Digits to 0..9, moved to the high bytes; the zero bytes below become leading zeros.
    let v = (word & 0x0f0f_0f0f_0f0f_0f0f) << (64 - 8 * len);
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let pairs_low = (v & 0x0000_00ff_0000_00ff).wrapping_mul(100 + (1_000_000 << 32));
    let pairs_high = ((v >> 16) & 0x0000_00ff_0000_00ff).wrapping_mul(1 + (10_000 << 32));
    pairs_low.wrapping_add(pairs_high) >> 32
}

/// How many of the 8 bytes of `word`, from the lowest, are ASCII digits.
#[inline]
fn leading_digits(word: u64) -> u32 {
    let x = word ^ 0x3030_3030_3030_3030;
    // A byte's high bit ends up set unless it was a digit (x < 10); masking to 7 bits first avoids carries.
    let non_digit = (((x & 0x7f7f_7f7f_7f7f_7f7f).wrapping_add(0x7676_7676_7676_7676)) | x)
        & 0x8080_8080_8080_8080;
    non_digit.trailing_zeros() / 8
}

/// Appends the unsigned integers in `bytes` (separated by commas and
/// whitespace) to `out`. `need_number` says whether a number must come
/// before the next comma; the state after the last byte is returned.
/// A byte that breaks the grammar is reported by its offset.
fn tokenize<T: Staged>(
    bytes: &[u8],
    out: &mut Vec<T>,
    mut need_number: bool,
) -> Result<bool, usize> {
    // Numbers go into a pre-sized slice through a local index: a `push` per
    // number kept the vector's length in memory and cost 40% of this loop.
    // Every number but the last is followed by a separator, so there are at
    // most len/2 + 1.
    let start = out.len();
    out.resize(start + bytes.len() / 2 + 1, T::default());
    let slots = &mut out[start..];
    let mut k = 0;
    let n = bytes.len();
    let mut i = 0;
    let result = loop {
        if i >= n {
            break Ok(need_number);
        }
        let b = bytes[i];
        if b.is_ascii_digit() {
            if !need_number {
                break Err(i);
            }
            let mut v;
            match bytes.get(i..i + 8) {
                Some(eight) => {
                    let word = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
                    let len = leading_digits(word);
                    v = swar_digits(word, len);
                    i += len as usize;
                }
                None => {
                    v = 0;
                }
            }
            // Numbers of 8+ digits, and the last few bytes, continue digit by digit.
            while i < n && bytes[i].is_ascii_digit() {
                v = v.wrapping_mul(10).wrapping_add((bytes[i] - b'0') as u64);
                i += 1;
            }
            slots[k] = T::from_u64(v);
            k += 1;
            need_number = false;
            continue;
        }
        match b {
            b',' if !need_number => need_number = true,
            b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => break Err(i),
        }
        i += 1;
    };
    out.truncate(start + k);
    result
}

/// Column roles of the node fields, resolved from `meta.node_fields`.
#[derive(Clone, Copy, PartialEq)]
enum NodeField {
    Type,
    Name,
    Id,
    SelfSize,
    EdgeCount,
    TraceNodeId,
    Detachedness,
    Other,
}

#[derive(Clone, Copy, PartialEq)]
enum EdgeField {
    Type,
    Name,
    To,
    Other,
}

/// `x / n` and `x % n` for the node field count, with the layouts V8
/// writes (6 or 7 fields) divided by constants, which compile to multiplies.
#[inline]
fn div_by_field_count(x: u32, n: u32) -> (u32, u32) {
    match n {
        6 => (x / 6, x % 6),
        7 => (x / 7, x % 7),
        _ => (x / n, x % n),
    }
}

/// Column offsets of a node row (for a role named twice, the first wins;
/// unknown fields are skipped).
struct NodeLayout {
    type_: usize,
    name: usize,
    id: usize,
    size: usize,
    edges: usize,
    trace: Option<usize>,
    detachedness: Option<usize>,
}

impl NodeLayout {
    fn of(fields: &[NodeField]) -> Self {
        let at = |f: NodeField| fields.iter().position(|&x| x == f);
        NodeLayout {
            type_: at(NodeField::Type).unwrap_or(0),
            name: at(NodeField::Name).unwrap_or(0),
            id: at(NodeField::Id).unwrap_or(0),
            size: at(NodeField::SelfSize).unwrap_or(0),
            edges: at(NodeField::EdgeCount).unwrap_or(0),
            trace: at(NodeField::TraceNodeId),
            detachedness: at(NodeField::Detachedness),
        }
    }
}

/// Cuts a stream of numbers into rows of `width`, keeping a row that
/// straddles two batches until it is complete, so every row takes one path.
struct RowCarry {
    width: usize,
    partial: Vec<u32>,
}

impl RowCarry {
    fn new(width: usize) -> Self {
        RowCarry {
            width,
            partial: Vec::with_capacity(width),
        }
    }

    fn each(&mut self, mut batch: &[u32], mut row: impl FnMut(&[u32]) -> Result<()>) -> Result<()> {
        if !self.partial.is_empty() {
            let take = (self.width - self.partial.len()).min(batch.len());
            self.partial.extend_from_slice(&batch[..take]);
            batch = &batch[take..];
            if self.partial.len() < self.width {
                return Ok(());
            }
            row(&self.partial)?;
            self.partial.clear();
        }
        let mut rows = batch.chunks_exact(self.width);
        for r in &mut rows {
            row(r)?;
        }
        self.partial.extend_from_slice(rows.remainder());
        Ok(())
    }

    /// A row left incomplete at the end of the array is an error.
    fn finish(&self, array: &str) -> Result<()> {
        if self.partial.is_empty() {
            Ok(())
        } else {
            Err(SnapshotError::malformed(format!(
                "the {array} array is not a multiple of {} fields",
                self.width
            )))
        }
    }
}

struct Header {
    node_fields: Vec<NodeField>,
    edge_fields: Vec<EdgeField>,
    node_types: Vec<String>,
    edge_types: Vec<String>,
    location_fields: Vec<String>,
    node_count: u64,
    edge_count: u64,
    root_index: u64,
}

struct Parser<'s, 'p, R> {
    sc: &'s mut Scanner<'p, R>,
    size_hint: Option<u64>,
}

fn str_list(v: &Value, what: &str) -> Result<Vec<String>> {
    v.as_array()
        .ok_or_else(|| SnapshotError::malformed(format!("meta.{what} is not a list")))?
        .iter()
        .map(|x| {
            x.as_str()
                .map(str::to_owned)
                .ok_or_else(|| SnapshotError::malformed(format!("meta.{what} holds a non-string")))
        })
        .collect()
}

impl<R: Read> Parser<'_, '_, R> {
    fn parse(mut self) -> Result<RawSnapshot> {
        match self.sc.peek_token()? {
            None => return Err(SnapshotError::NotSnapshot("the file is empty".into())),
            Some(b'{') => self.sc.pos += 1,
            Some(b) => {
                return Err(SnapshotError::NotSnapshot(format!(
                    "expected a JSON object, found {} at byte {}",
                    describe_byte(b),
                    self.sc.offset()
                )))
            }
        }
        let mut raw = RawSnapshot::default();
        let mut header: Option<Header> = None;
        let (mut have_nodes, mut have_edges, mut have_strings) = (false, false, false);
        let mut flat_locations: Vec<u32> = Vec::new();
        let mut flat_samples: Vec<u64> = Vec::new();
        loop {
            match self.sc.token("the top-level object")? {
                b'}' => break,
                b',' => {
                    self.sc.pos += 1;
                    continue;
                }
                b'"' => {}
                b => {
                    return Err(SnapshotError::malformed(format!(
                        "unexpected {} at byte {} in the top-level object",
                        describe_byte(b),
                        self.sc.offset()
                    )))
                }
            }
            let key = self.sc.key()?;
            self.sc.expect(b':', "the top-level object")?;
            match key.as_str() {
                "snapshot" => {
                    let mut bytes = Vec::new();
                    self.sc.capture_value("the snapshot header", &mut bytes)?;
                    header = Some(self.header(&bytes, &mut raw)?);
                }
                "nodes" => {
                    let h = header.as_ref().ok_or_else(|| {
                        SnapshotError::NotSnapshot(
                            "`nodes` comes before the `snapshot` header".into(),
                        )
                    })?;
                    self.nodes(h, &mut raw.graph)?;
                    have_nodes = true;
                }
                "edges" => {
                    let h = header.as_ref().ok_or_else(|| {
                        SnapshotError::NotSnapshot(
                            "`edges` comes before the `snapshot` header".into(),
                        )
                    })?;
                    if !have_nodes {
                        return Err(SnapshotError::malformed("`edges` comes before `nodes`"));
                    }
                    self.edges(h, &mut raw.graph)?;
                    have_edges = true;
                }
                "strings" => {
                    self.strings(&mut raw.strings)?;
                    have_strings = true;
                }
                "locations" => {
                    self.sc.uint_array("locations", |vs: &[u32]| {
                        flat_locations.extend_from_slice(vs);
                        Ok(())
                    })?;
                }
                "samples" => {
                    self.sc.uint_array("samples", |vs: &[u64]| {
                        flat_samples.extend_from_slice(vs);
                        Ok(())
                    })?;
                }
                "trace_function_infos" => {
                    let infos = &mut raw.extras.trace_function_infos;
                    self.sc.uint_array("trace_function_infos", |vs: &[u32]| {
                        infos.extend_from_slice(vs);
                        Ok(())
                    })?;
                }
                "trace_tree" => {
                    self.sc
                        .capture_value("trace_tree", &mut raw.extras.trace_tree_json)?;
                }
                _ => {
                    let mut sink = Vec::new();
                    self.sc.capture_value("an unknown section", &mut sink)?;
                }
            }
        }
        let header = header.ok_or_else(|| {
            SnapshotError::NotSnapshot("no `snapshot` header (is this a heap snapshot?)".into())
        })?;
        for (present, name) in [
            (have_nodes, "nodes"),
            (have_edges, "edges"),
            (have_strings, "strings"),
        ] {
            if !present {
                return Err(SnapshotError::malformed(format!("no `{name}` section")));
            }
        }
        let g = &mut raw.graph;
        if g.node_count() as u64 != header.node_count {
            return Err(SnapshotError::malformed(format!(
                "the header says {} nodes, the file has {}",
                header.node_count,
                g.node_count()
            )));
        }
        if g.edge_count() as u64 != header.edge_count {
            return Err(SnapshotError::malformed(format!(
                "the header says {} edges, the file has {}",
                header.edge_count,
                g.edge_count()
            )));
        }
        if g.node_count() == 0 {
            return Err(SnapshotError::malformed("the snapshot has no nodes"));
        }
        let nfc = header.node_fields.len() as u64;
        if header.root_index % nfc != 0 || header.root_index / nfc >= g.node_count() as u64 {
            return Err(SnapshotError::malformed(format!(
                "root_index {} is not a node",
                header.root_index
            )));
        }
        g.root = (header.root_index / nfc) as u32;
        self.check_string_refs(&raw.graph, &raw.strings)?;
        raw.graph.locations = locations(&header, &flat_locations, raw.graph.node_count())?.into();
        raw.extras.samples = flat_samples.chunks_exact(2).map(|c| (c[0], c[1])).collect();
        if raw.extras.sample_fields.first().map(String::as_str) == Some("last_assigned_id") {
            for s in &mut raw.extras.samples {
                *s = (s.1, s.0);
            }
        }
        Ok(raw)
    }

    fn header(&mut self, bytes: &[u8], raw: &mut RawSnapshot) -> Result<Header> {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| SnapshotError::malformed(format!("bad `snapshot` header: {e}")))?;
        let meta = v.get("meta").ok_or_else(|| {
            SnapshotError::NotSnapshot("the `snapshot` header has no `meta`".into())
        })?;
        let field = |name: &str| {
            meta.get(name)
                .ok_or_else(|| SnapshotError::malformed(format!("meta has no `{name}`")))
        };
        let node_field_names = str_list(field("node_fields")?, "node_fields")?;
        let edge_field_names = str_list(field("edge_fields")?, "edge_fields")?;
        let node_fields: Vec<NodeField> = node_field_names
            .iter()
            .map(|n| match n.as_str() {
                "type" => NodeField::Type,
                "name" => NodeField::Name,
                "id" => NodeField::Id,
                "self_size" => NodeField::SelfSize,
                "edge_count" => NodeField::EdgeCount,
                "trace_node_id" => NodeField::TraceNodeId,
                "detachedness" => NodeField::Detachedness,
                _ => NodeField::Other,
            })
            .collect();
        for (need, name) in [
            (NodeField::Type, "type"),
            (NodeField::Name, "name"),
            (NodeField::Id, "id"),
            (NodeField::SelfSize, "self_size"),
            (NodeField::EdgeCount, "edge_count"),
        ] {
            if !node_fields.contains(&need) {
                return Err(SnapshotError::malformed(format!(
                    "meta.node_fields has no `{name}`"
                )));
            }
        }
        let edge_fields: Vec<EdgeField> = edge_field_names
            .iter()
            .map(|n| match n.as_str() {
                "type" => EdgeField::Type,
                "name_or_index" => EdgeField::Name,
                "to_node" => EdgeField::To,
                _ => EdgeField::Other,
            })
            .collect();
        for (need, name) in [
            (EdgeField::Type, "type"),
            (EdgeField::Name, "name_or_index"),
            (EdgeField::To, "to_node"),
        ] {
            if !edge_fields.contains(&need) {
                return Err(SnapshotError::malformed(format!(
                    "meta.edge_fields has no `{name}`"
                )));
            }
        }
        let type_list = |key: &str, pos: usize| -> Result<Vec<String>> {
            let lists = field(key)?
                .as_array()
                .ok_or_else(|| SnapshotError::malformed(format!("meta.{key} is not a list")))?;
            str_list(
                lists
                    .get(pos)
                    .ok_or_else(|| SnapshotError::malformed(format!("meta.{key} is too short")))?,
                key,
            )
        };
        let node_types = type_list(
            "node_types",
            node_fields
                .iter()
                .position(|f| *f == NodeField::Type)
                .unwrap_or(0),
        )?;
        let edge_types = type_list(
            "edge_types",
            edge_fields
                .iter()
                .position(|f| *f == EdgeField::Type)
                .unwrap_or(0),
        )?;
        if node_types.len() >= 255 || edge_types.len() > 1 << EDGE_TYPE_BITS {
            return Err(SnapshotError::malformed("too many node or edge types"));
        }
        let optional_list = |key: &str| -> Result<Vec<String>> {
            meta.get(key).map_or(Ok(Vec::new()), |v| str_list(v, key))
        };
        let count = |key: &str| -> Result<u64> {
            v.get(key).and_then(Value::as_u64).ok_or_else(|| {
                SnapshotError::malformed(format!("the header has no numeric `{key}`"))
            })
        };
        raw.extras.sample_fields = optional_list("sample_fields")?;
        raw.extras.trace_function_info_fields = optional_list("trace_function_info_fields")?;
        raw.extras.extra_native_bytes = v
            .get("extra_native_bytes")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let node_count = count("node_count")?;
        if node_count > MAX_NODES as u64 + 1 {
            return Err(SnapshotError::malformed(format!(
                "{node_count} nodes: leakscope reads snapshots of up to {} nodes (about 20 GB)",
                MAX_NODES as u64 + 1
            )));
        }
        Ok(Header {
            node_types,
            edge_types,
            location_fields: optional_list("location_fields")?,
            node_count,
            edge_count: count("edge_count")?,
            root_index: v.get("root_index").and_then(Value::as_u64).unwrap_or(0),
            node_fields,
            edge_fields,
        })
    }

    /// Preallocation bound: every number takes at least two bytes ("0,").
    fn capacity(&self, count: u64, fields: usize) -> usize {
        let by_file = self
            .size_hint
            .map_or(u64::MAX, |len| len / 2 / fields as u64 + 1);
        count.min(by_file).min(1 << 32) as usize
    }

    fn nodes(&mut self, h: &Header, g: &mut Graph) -> Result<()> {
        let n = self.capacity(h.node_count, h.node_fields.len());
        let layout = NodeLayout::of(&h.node_fields);
        g.set_type_names(h.node_types.clone(), h.edge_types.clone());
        let mut node_type = Vec::with_capacity(n);
        let mut node_name = Vec::with_capacity(n);
        let mut node_id = Vec::with_capacity(n);
        let mut self_size = Vec::with_capacity(n);
        let mut first_edge = Vec::with_capacity(n + 1);
        first_edge.push(0);
        let mut trace_node_id = Vec::with_capacity(if layout.trace.is_some() { n } else { 0 });
        let detachedness = &mut g.detachedness;
        if layout.detachedness.is_some() {
            detachedness.reserve_exact(n);
        }
        let type_count = h.node_types.len() as u32;
        let mut edges_so_far: u64 = 0;
        let mut rows = RowCarry::new(h.node_fields.len());
        self.sc.uint_array("nodes", |batch: &[u32]| {
            rows.each(batch, |row| {
                let t = row[layout.type_];
                if t >= type_count {
                    return Err(SnapshotError::malformed(format!(
                        "node {} has type {t}, but meta defines {type_count} node types",
                        node_type.len()
                    )));
                }
                node_type.push(t as u8);
                node_name.push(row[layout.name]);
                node_id.push(row[layout.id]);
                self_size.push(row[layout.size]);
                edges_so_far += row[layout.edges] as u64;
                first_edge.push(edges_so_far as u32);
                if let Some(tr) = layout.trace {
                    trace_node_id.push(row[tr]);
                }
                if let Some(d) = layout.detachedness {
                    detachedness.push(row[d] as u8);
                }
                Ok(())
            })?;
            if edges_so_far > u32::MAX as u64 {
                return Err(SnapshotError::malformed(
                    "more than 4 billion edges are not supported",
                ));
            }
            Ok(())
        })?;
        rows.finish("nodes")?;
        g.node_type = node_type.into();
        g.node_name = node_name.into();
        g.node_id = node_id.into();
        g.self_size = self_size.into();
        g.first_edge = first_edge.into();
        // Node writes the field even without allocation tracking, all zeros:
        // 4 bytes a node not worth keeping through the analysis' memory peak.
        if trace_node_id.iter().all(|&t| t == 0) {
            trace_node_id = Vec::new();
        }
        g.trace_node_id = trace_node_id.into();
        if g.node_count() as u64 != h.node_count {
            return Err(SnapshotError::malformed(format!(
                "the header says {} nodes, the nodes array holds {}",
                h.node_count,
                g.node_count()
            )));
        }
        if edges_so_far != h.edge_count {
            return Err(SnapshotError::malformed(format!(
                "the nodes' edge counts add up to {edges_so_far}, the header says {} edges",
                h.edge_count
            )));
        }
        Ok(())
    }

    fn edges(&mut self, h: &Header, g: &mut Graph) -> Result<()> {
        let m = self.capacity(h.edge_count, h.edge_fields.len());
        let mut edge_name = Vec::with_capacity(m);
        let mut edge_target = Vec::with_capacity(m);
        let nfc = h.node_fields.len() as u32;
        let node_count = g.node_count() as u64;
        let type_count = h.edge_types.len() as u32;
        let max_edges = h.edge_count;
        let pos = |f: EdgeField| h.edge_fields.iter().position(|&x| x == f).unwrap_or(0);
        let (t_at, name_at, to_at) = (
            pos(EdgeField::Type),
            pos(EdgeField::Name),
            pos(EdgeField::To),
        );
        let mut rows = RowCarry::new(h.edge_fields.len());
        self.sc.uint_array("edges", |batch: &[u32]| {
            rows.each(batch, |row| {
                if edge_target.len() as u64 == max_edges {
                    return Err(SnapshotError::malformed(format!(
                        "the edges array holds more than the {max_edges} edges the header says"
                    )));
                }
                let t = row[t_at];
                if t >= type_count {
                    return Err(SnapshotError::malformed(format!(
                        "edge {} has type {t}, but meta defines {type_count} edge types",
                        edge_target.len()
                    )));
                }
                let (ordinal, rest) = div_by_field_count(row[to_at], nfc);
                if rest != 0 || ordinal as u64 >= node_count || ordinal > MAX_NODES {
                    return Err(SnapshotError::malformed(format!(
                        "edge {} points to {}, which is not a node index",
                        edge_target.len(),
                        row[to_at]
                    )));
                }
                edge_name.push(row[name_at]);
                edge_target.push(pack_edge(ordinal, t as u8));
                Ok(())
            })
        })?;
        rows.finish("edges")?;
        g.edge_name = edge_name.into();
        g.edge_target = edge_target.into();
        if g.edge_count() as u64 != h.edge_count {
            return Err(SnapshotError::malformed(format!(
                "the header says {} edges, the edges array holds {}",
                h.edge_count,
                g.edge_count()
            )));
        }
        Ok(())
    }

    fn strings(&mut self, table: &mut StringTable) -> Result<()> {
        self.sc.expect(b'[', "strings")?;
        if self.sc.token("strings")? == b']' {
            self.sc.pos += 1;
            return Ok(());
        }
        loop {
            self.sc.string_into(table, "strings")?;
            table.finish_string();
            match self.sc.token("strings")? {
                b',' => self.sc.pos += 1,
                b']' => {
                    self.sc.pos += 1;
                    return Ok(());
                }
                b => {
                    return Err(SnapshotError::malformed(format!(
                        "unexpected {} between strings at byte {}",
                        describe_byte(b),
                        self.sc.offset()
                    )))
                }
            }
        }
    }

    fn check_string_refs(&self, g: &Graph, strings: &StringTable) -> Result<()> {
        let count = strings.len() as u32;
        if let Some(i) = g.node_name.iter().position(|&s| s >= count) {
            return Err(SnapshotError::malformed(format!(
                "node {i} is named by string {}, but there are only {count} strings",
                g.node_name[i]
            )));
        }
        let et = g.edge_types();
        for (e, &name) in g.edge_name.iter().enumerate() {
            let t = g.edge_type(e);
            if t != et.element && t != et.hidden && name >= count {
                return Err(SnapshotError::malformed(format!(
                    "edge {e} is named by string {name}, but there are only {count} strings"
                )));
            }
        }
        Ok(())
    }
}

fn locations(h: &Header, flat: &[u32], node_count: usize) -> Result<Vec<Location>> {
    let pos = |name: &str| h.location_fields.iter().position(|f| f == name);
    let (Some(obj), Some(script), Some(line), Some(col)) = (
        pos("object_index"),
        pos("script_id"),
        pos("line"),
        pos("column"),
    ) else {
        return Ok(Vec::new());
    };
    let nfc = h.node_fields.len() as u32;
    let mut out = Vec::with_capacity(flat.len() / h.location_fields.len());
    for (i, rec) in flat.chunks_exact(h.location_fields.len()).enumerate() {
        let index = rec[obj];
        if index % nfc != 0 || (index / nfc) as usize >= node_count {
            return Err(SnapshotError::malformed(format!(
                "location {i} refers to {index}, which is not a node index"
            )));
        }
        out.push(Location {
            node: index / nfc,
            script_id: rec[script],
            line: rec[line],
            column: rec[col],
        });
    }
    // Later entries win, as in a map keyed by node (stable sort keeps file order).
    out.sort_by_key(|l| l.node);
    let mut dedup: Vec<Location> = Vec::with_capacity(out.len());
    for l in out {
        match dedup.last_mut() {
            Some(last) if last.node == l.node => *last = l,
            _ => dedup.push(l),
        }
    }
    Ok(dedup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenize_reads_numbers_of_every_length_and_rejects_bad_bytes() {
        let values = [
            0u64,
            7,
            42,
            123,
            9_999,
            12_345,
            987_654,
            1_234_567,
            12_345_678,
            123_456_789,
            4_294_967_295,
            18_446_744_073_709_551_615,
        ];
        let text = values
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",\n");
        let mut out: Vec<u64> = Vec::new();
        assert_eq!(tokenize(text.as_bytes(), &mut out, true), Ok(false));
        assert_eq!(out, values);
        out.clear();
        assert_eq!(tokenize(b"1,2,", &mut out, true), Ok(true));
        assert_eq!(tokenize(b"1,,2", &mut out, true), Err(2));
        assert_eq!(tokenize(b"12 3", &mut out, true), Err(3));
        assert_eq!(tokenize(b"1,-2", &mut out, true), Err(2));
        assert_eq!(tokenize(b"1.5", &mut out, true), Err(1));
    }
}
