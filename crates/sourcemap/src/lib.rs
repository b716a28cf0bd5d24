//! Original positions for positions in compiled JavaScript.
//!
//! V8 reports every position (a closure's definition in a heap snapshot, a
//! frame of a sampling or CPU profile, a deopt in its log) in the script it
//! ran: `dist/server.js:9:34`. The developer edits `src/server.ts:17:3`.
//! [`SourceMaps`] finds a script's map the way Node and DevTools do — the
//! last `//# sourceMappingURL=` comment of the script, a file beside it or an
//! inline `data:` URL, or a URL the inspector reported — parses it once
//! (index maps of bundles flattened), and answers lookups; the target needs no
//! `--enable-source-maps`. [`Positions`] is what a report formats positions
//! with: original when a map says so, the compiled one kept beside it.
//!
//! A script without a map is normal (no warning); a map that is named but
//! cannot be read or parsed gives one warning line per script, and that
//! script's positions stay compiled.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

/// Why a script's source map could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceMapError {
    #[error("its source map {path} cannot be read: {source}")]
    ReadMap {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("its source map {url} is not a valid source map: {source}")]
    ParseMap {
        url: String,
        source: sourcemap::Error,
    },
    #[error("its source map {url} is neither a file nor a data: URL")]
    UnsupportedUrl { url: String },
}

/// A position in the source a map leads to. Lines and columns are 0-based,
/// as V8 and source maps count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// The source as resolved: an absolute path, or the map's URL for
    /// sources that are not files (`webpack://app/./src/x.ts`).
    pub source: String,
    /// How to show `source`: relative to the working directory when under
    /// it, else its last two path components (`src/server.ts`).
    pub label: String,
    pub line: u32,
    pub column: u32,
    /// The original name the map gives at this position, if any.
    pub name: Option<String>,
    /// The source line's text, from the map's `sourcesContent` or the file.
    pub text: Option<String>,
}

/// A compiled position shown as an original one: for `--json` reports,
/// which keep what V8 said beside what leakscope printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedPosition {
    /// As printed, e.g. `src/server.ts:17:3`.
    pub shown: String,
    /// As V8 reported it, e.g. `server.js:9:34`.
    pub generated: String,
}

struct LoadedMap {
    map: sourcemap::SourceMap,
    /// Where relative `sources` are resolved from: the map file's
    /// directory, or the script's for an inline map.
    base: PathBuf,
}

/// The source maps of the scripts a process ran, loaded on first use and
/// kept. Thread-safe: a report may be built on any thread.
pub struct SourceMaps {
    cwd: Option<PathBuf>,
    /// Where the target's files are seen from, when not from here (e.g.
    /// `/proc/PID/root` for a process in another mount namespace).
    root: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// By script name as V8 reports it; `None` when it has no usable map.
    maps: HashMap<String, Option<Arc<LoadedMap>>>,
    /// Map URLs the inspector reported for scripts (`Debugger.scriptParsed`).
    reported_urls: HashMap<String, String>,
    /// Source files read for their line text.
    texts: HashMap<PathBuf, Option<Arc<str>>>,
    /// Compiled scripts' code, for original function names.
    views: HashMap<String, Option<Arc<sourcemap::SourceView>>>,
    warnings: Vec<String>,
}

impl Default for SourceMaps {
    fn default() -> Self {
        SourceMaps::new()
    }
}

impl SourceMaps {
    /// Maps read from this machine's files, labels relative to the current
    /// directory.
    pub fn new() -> SourceMaps {
        SourceMaps {
            cwd: std::env::current_dir().ok(),
            root: None,
            state: Mutex::new(State::default()),
        }
    }

    /// Read the target's files under `root` when they are not found as
    /// named (a process in a container: `/proc/PID/root`).
    pub fn with_root(mut self, root: impl Into<PathBuf>) -> SourceMaps {
        self.root = Some(root.into());
        self
    }

    /// The inspector said `script`'s map is at `url` (relative URLs are
    /// relative to the script). Used before the script's own comment.
    pub fn report_map_url(&self, script: &str, url: &str) {
        if url.is_empty() {
            return;
        }
        let mut state = self.lock();
        state
            .reported_urls
            .insert(script.to_owned(), url.to_owned());
        state.maps.remove(script);
    }

    /// The original position of 0-based `line`:`column` in `script` (as V8
    /// names it: a path or a `file://` URL), when the script has a map that
    /// covers that line.
    pub fn original(&self, script: &str, line: u32, column: u32) -> Option<Original> {
        let loaded = self.map_of(script)?;
        let token = loaded.map.lookup_token(line, column)?;
        // A token from an earlier line describes other code (a helper the
        // compiler emitted has no mapping of its own).
        if token.get_dst_line() != line {
            return None;
        }
        let raw_source = token.get_source()?;
        let source = resolve_source(&loaded.base, raw_source);
        let label = source_label(&source, self.cwd.as_deref());
        let (src_line, src_column) = (token.get_src_line(), token.get_src_col());
        let text = loaded
            .map
            .get_source_contents(token.get_src_id())
            .and_then(|contents| contents.lines().nth(src_line as usize).map(str::to_owned))
            .or_else(|| self.file_line(&source, src_line));
        Some(Original {
            source,
            label,
            line: src_line,
            column: src_column,
            name: token.get_name().map(str::to_owned),
            text: text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
        })
    }

    /// The original source that declares `name` in `script`: the first
    /// mapping that carries the name. A bundle puts every module's
    /// top-level variables in one scope; this tells which module a variable
    /// of that scope came from.
    pub fn declared_in(&self, script: &str, name: &str) -> Option<Original> {
        let loaded = self.map_of(script)?;
        if let Some(token) = loaded
            .map
            .tokens()
            .find(|t| t.get_name() == Some(name) && t.get_source().is_some())
        {
            let source = resolve_source(&loaded.base, token.get_source()?);
            return Some(Original {
                label: source_label(&source, self.cwd.as_deref()),
                source,
                line: token.get_src_line(),
                column: token.get_src_col(),
                name: Some(name.to_owned()),
                text: None,
            });
        }
        // Most compilers name nothing they did not rename: find the
        // declaration in the compiled code and map its position.
        let code = self.read(&script_path(script)?).ok()?;
        let (line, column) = declaration(&code, name)?;
        self.original(script, line, column)
    }

    /// The original name of the function called `minified` that starts at
    /// 0-based `line`:`column` in `script` (a minified bundle's `a` is
    /// `recordAudit`), when the map says.
    pub fn original_function_name(
        &self,
        script: &str,
        line: u32,
        column: u32,
        minified: &str,
    ) -> Option<String> {
        let loaded = self.map_of(script)?;
        let known = self.lock().views.get(script).cloned();
        let view = match known {
            Some(view) => view,
            None => {
                let view = script_path(script)
                    .and_then(|p| self.read(&p).ok())
                    .map(|code| {
                        Arc::new(sourcemap::SourceView::from_string(
                            String::from_utf8_lossy(&code).into_owned(),
                        ))
                    });
                self.lock().views.insert(script.to_owned(), view.clone());
                view
            }
        }?;
        // The nearest token at or before the function's start whose
        // compiled text is the minified name and that carries a name: the
        // function's (`function a(`, `a=(…)=>`, `class a`) — within a few
        // tokens back, so a name elsewhere is not taken.
        let map = &loaded.map;
        let count = map.get_token_count() as usize;
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let t = map.get_token(mid)?;
            if (t.get_dst_line(), t.get_dst_col()) <= (line, column) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (0..lo).rev().take(8).find_map(|i| {
            let t = map.get_token(i)?;
            let name = t.get_name()?;
            let text = view.get_line(t.get_dst_line())?;
            let rest = text.get(t.get_dst_col() as usize..)?;
            let ident_len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            (&rest[..ident_len] == minified && name != minified).then(|| name.to_owned())
        })
    }

    /// One line per script whose named map could not be used.
    pub fn warnings(&self) -> Vec<String> {
        self.lock().warnings.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn map_of(&self, script: &str) -> Option<Arc<LoadedMap>> {
        if let Some(known) = self.lock().maps.get(script) {
            return known.clone();
        }
        let reported = self.lock().reported_urls.get(script).cloned();
        let loaded = match self.load(script, reported) {
            Ok(loaded) => loaded.map(Arc::new),
            Err(e) => {
                let line = format!(
                    "{}: {e}; its positions are shown as compiled",
                    script_label(script)
                );
                self.lock().warnings.push(line);
                None
            }
        };
        self.lock().maps.insert(script.to_owned(), loaded.clone());
        loaded
    }

    fn load(
        &self,
        script: &str,
        reported: Option<String>,
    ) -> Result<Option<LoadedMap>, SourceMapError> {
        let script_path = script_path(script);
        let url = match reported {
            Some(url) => url,
            None => {
                let Some(path) = &script_path else {
                    return Ok(None);
                };
                // A script we cannot read is one V8 made up or another
                // machine's: no map, and nothing to warn about.
                let Some(code) = self.read(path).ok() else {
                    return Ok(None);
                };
                match source_mapping_url(&code) {
                    Some(url) => url.to_owned(),
                    None => return Ok(None),
                }
            }
        };
        let script_dir = script_path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let (decoded, base) = if url.starts_with("data:") {
            let decoded =
                sourcemap::decode_data_url(&url).map_err(|source| SourceMapError::ParseMap {
                    url: "(inline data: URL)".to_owned(),
                    source,
                })?;
            (decoded, script_dir)
        } else {
            let path = if let Some(rest) = url.strip_prefix("file://") {
                PathBuf::from(percent_decode(rest))
            } else if url.contains("://") {
                return Err(SourceMapError::UnsupportedUrl { url });
            } else {
                normalize(&script_dir.join(percent_decode(&url)))
            };
            let bytes = self.read(&path).map_err(|source| SourceMapError::ReadMap {
                path: path.clone(),
                source,
            })?;
            let decoded =
                sourcemap::decode_slice(&bytes).map_err(|source| SourceMapError::ParseMap {
                    url: path.display().to_string(),
                    source,
                })?;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (decoded, base)
        };
        let map = match decoded {
            sourcemap::DecodedMap::Regular(map) => map,
            sourcemap::DecodedMap::Index(index) => {
                index.flatten().map_err(|source| SourceMapError::ParseMap {
                    url: url.clone(),
                    source,
                })?
            }
            sourcemap::DecodedMap::Hermes(hermes) => (*hermes).clone(),
        };
        Ok(Some(LoadedMap { map, base }))
    }

    /// A file of the target's: as named, else under `root`.
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(bytes),
            Err(e) => match &self.root {
                Some(root) if path.is_absolute() => {
                    std::fs::read(root.join(path.strip_prefix("/").unwrap_or(path)))
                }
                _ => Err(e),
            },
        }
    }

    fn file_line(&self, source: &str, line: u32) -> Option<String> {
        let path = PathBuf::from(source);
        if !path.is_absolute() {
            return None;
        }
        let known = self.lock().texts.get(&path).cloned();
        let text = match known {
            Some(text) => text,
            None => {
                let text: Option<Arc<str>> = self
                    .read(&path)
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).into());
                self.lock().texts.insert(path, text.clone());
                text
            }
        }?;
        text.lines().nth(line as usize).map(str::to_owned)
    }
}

impl std::fmt::Debug for SourceMaps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceMaps")
            .field("scripts", &self.lock().maps.len())
            .finish()
    }
}

/// What a report says of its source maps: each position it printed as an
/// original one with the compiled position V8 gave, and the maps it could
/// not use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceMapReport {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub generated_positions: Vec<MappedPosition>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl SourceMapReport {
    pub fn is_empty(&self) -> bool {
        self.generated_positions.is_empty() && self.warnings.is_empty()
    }
}

/// How positions are printed in a report: original when a map says so
/// (`src/server.ts:17:3`), optionally followed by the compiled one; every
/// position it mapped is remembered for the report's `--json`.
pub struct Positions {
    maps: Option<SourceMaps>,
    show_generated: bool,
    mapped: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Positions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Positions")
            .field("maps", &self.maps)
            .field("show_generated", &self.show_generated)
            .finish()
    }
}

impl Default for Positions {
    fn default() -> Self {
        Positions::compiled()
    }
}

impl Positions {
    /// Positions as V8 reports them (`--no-source-maps`).
    pub fn compiled() -> Positions {
        Positions {
            maps: None,
            show_generated: false,
            mapped: Mutex::new(BTreeMap::new()),
        }
    }

    /// Original positions from `maps`; with `show_generated`, each followed
    /// by the compiled one in parentheses.
    pub fn mapped(maps: SourceMaps, show_generated: bool) -> Positions {
        Positions {
            maps: Some(maps),
            show_generated,
            mapped: Mutex::new(BTreeMap::new()),
        }
    }

    /// The maps in use, if any (to report map URLs the inspector gives).
    pub fn maps(&self) -> Option<&SourceMaps> {
        self.maps.as_ref()
    }

    /// The original position, when positions are mapped and a map covers it.
    pub fn original(&self, script: &str, line: u32, column: u32) -> Option<Original> {
        self.maps.as_ref()?.original(script, line, column)
    }

    /// See [`SourceMaps::original_function_name`].
    pub fn original_function_name(
        &self,
        script: &str,
        line: u32,
        column: u32,
        minified: &str,
    ) -> Option<String> {
        self.maps
            .as_ref()?
            .original_function_name(script, line, column, minified)
    }

    /// The original source declaring `name` in `script` (see
    /// [`SourceMaps::declared_in`]).
    pub fn declared_in(&self, script: &str, name: &str) -> Option<Original> {
        self.maps.as_ref()?.declared_in(script, name)
    }

    /// `label:line:column` (1-based) of 0-based `line`:`column` in `script`.
    pub fn at(&self, script: &str, line: u32, column: u32) -> String {
        let generated = format!("{}:{}:{}", script_label(script), line + 1, column + 1);
        match self.original(script, line, column) {
            Some(original) => self.shown(&original, generated),
            None => generated,
        }
    }

    /// `original` as printed, remembered with its compiled `generated` form.
    pub fn shown(&self, original: &Original, generated: String) -> String {
        let shown = format!(
            "{}:{}:{}",
            original.label,
            original.line + 1,
            original.column + 1
        );
        let text = if self.show_generated {
            format!("{shown} ({generated})")
        } else {
            shown.clone()
        };
        self.mapped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(shown, generated);
        text
    }

    /// Every position printed as an original one, with its compiled form.
    pub fn generated_positions(&self) -> Vec<MappedPosition> {
        self.mapped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(shown, generated)| MappedPosition {
                shown: shown.clone(),
                generated: generated.clone(),
            })
            .collect()
    }

    /// For a report's `--json`.
    pub fn report(&self) -> SourceMapReport {
        SourceMapReport {
            generated_positions: self.generated_positions(),
            warnings: self.warnings(),
        }
    }

    /// Warning lines about maps that could not be used.
    pub fn warnings(&self) -> Vec<String> {
        self.maps
            .as_ref()
            .map(SourceMaps::warnings)
            .unwrap_or_default()
    }
}

/// How a compiled script is shown: `/home/me/app/server.js` → `server.js`;
/// `file:///…/x.mjs` → `x.mjs`; inside a package, the package's own path
/// (`express-session/index.js`); `node:` scripts as they are.
pub fn script_label(name: &str) -> String {
    if name.starts_with("node:") {
        return name.to_owned();
    }
    if let Some((_, rest)) = name.rsplit_once("node_modules/") {
        return rest.to_owned();
    }
    name.rsplit('/').next().unwrap_or(name).to_owned()
}

/// The file a script name stands for: a path, or a `file://` URL.
fn script_path(script: &str) -> Option<PathBuf> {
    if let Some(rest) = script.strip_prefix("file://") {
        return Some(PathBuf::from(percent_decode(rest)));
    }
    let path = Path::new(script);
    path.is_absolute().then(|| path.to_path_buf())
}

/// The URL of the script's last `sourceMappingURL` comment, as Node and
/// DevTools take it (`//# …`, the legacy `//@ …`, or `/*# … */`).
pub fn source_mapping_url(code: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"sourceMappingURL=";
    let mut end = code.len();
    while let Some(at) = rfind(&code[..end], KEY) {
        end = at;
        let before = &code[..at];
        let marker = before.trim_ascii_end();
        let is_comment = marker.len() < before.len()
            && (marker.ends_with(b"//#") || marker.ends_with(b"//@") || marker.ends_with(b"/*#"));
        if !is_comment {
            continue;
        }
        let value = &code[at + KEY.len()..];
        let len = value
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'*')
            .unwrap_or(value.len());
        return std::str::from_utf8(&value[..len])
            .ok()
            .filter(|url| !url.is_empty());
    }
    None
}

/// Where `var|let|const|function|class NAME` first declares `name` in
/// `code`: 0-based line and column of the name.
fn declaration(code: &[u8], name: &str) -> Option<(u32, u32)> {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let name = name.as_bytes();
    let mut from = 0;
    while let Some(found) = code[from..].windows(name.len()).position(|w| w == name) {
        let at = from + found;
        from = at + 1;
        let after = code.get(at + name.len()).copied();
        if at == 0 || is_ident(code[at - 1]) || after.is_some_and(is_ident) {
            continue;
        }
        let before = code[..at].trim_ascii_end();
        if before.len() == at {
            continue;
        }
        let keyword_start = before
            .iter()
            .rposition(|&b| !is_ident(b))
            .map_or(0, |i| i + 1);
        let keyword = &before[keyword_start..];
        if matches!(keyword, b"var" | b"let" | b"const" | b"function" | b"class") {
            let line_start = code[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let line = code[..at].iter().filter(|&&b| b == b'\n').count();
            return Some((line as u32, (at - line_start) as u32));
        }
    }
    None
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// A map's `sources` entry (already prefixed with its `sourceRoot`) as an
/// absolute path when it names a file, else the URL as given.
fn resolve_source(base: &Path, source: &str) -> String {
    if let Some(rest) = source.strip_prefix("file://") {
        return percent_decode(rest);
    }
    if source.contains("://") {
        return source.to_owned();
    }
    normalize(&base.join(percent_decode(source)))
        .display()
        .to_string()
}

/// How a source is shown: relative to `cwd` when under it; a package's own
/// path inside `node_modules`; a bundler URL's path (`webpack://app/./src/x.ts`
/// → `src/x.ts`); else the last two components (`src/server.ts`).
fn source_label(source: &str, cwd: Option<&Path>) -> String {
    if let Some((_, rest)) = source.split_once("://") {
        let rest = match rest.split_once("/./") {
            Some((_, path)) => path,
            None => rest.trim_start_matches('/'),
        };
        return rest.to_owned();
    }
    if let Some((_, rest)) = source.rsplit_once("node_modules/") {
        return rest.to_owned();
    }
    let path = Path::new(source);
    if let Some(relative) = cwd.and_then(|cwd| path.strip_prefix(cwd).ok()) {
        if !relative.as_os_str().is_empty() {
            return relative.display().to_string();
        }
    }
    let parts: Vec<_> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy()),
            _ => None,
        })
        .collect();
    parts[parts.len().saturating_sub(2)..].join("/")
}

/// `a/b/../c/./d` → `a/c/d`, without touching the file system (a map's
/// sources need not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        match hex {
            Some(h) if bytes[i] == b'%' => {
                let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(digit(h[0]) * 16 + digit(h[1]));
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_source_mapping_comment_wins() {
        let code = b"const s = '//# sourceMappingURL=nope.map';\n//# sourceMappingURL=a.js.map\n//# sourceMappingURL=b.js.map\n";
        assert_eq!(source_mapping_url(code), Some("b.js.map"));
        assert_eq!(
            source_mapping_url(b"x()\n/*# sourceMappingURL=c.map */\n"),
            Some("c.map")
        );
        assert_eq!(
            source_mapping_url(b"//@ sourceMappingURL=old.map"),
            Some("old.map")
        );
        assert_eq!(source_mapping_url(b"x = 'sourceMappingURL=z'"), None);
        assert_eq!(source_mapping_url(b"no comment"), None);
    }

    #[test]
    fn declarations_are_found_in_compiled_code() {
        let code =
            b"var x = 1;\nvar auditTrailX = 2;\n  const auditTrail = [];\nauditTrail.push(1);\n";
        assert_eq!(declaration(code, "auditTrail"), Some((2, 8)));
        assert_eq!(
            declaration(b"function f() {}\nclass  Session {}", "Session"),
            Some((1, 7))
        );
        assert_eq!(declaration(b"x.auditTrail = 1", "auditTrail"), None);
    }

    #[test]
    fn sources_are_labelled_as_a_developer_names_them() {
        let cwd = Path::new("/home/me/app");
        assert_eq!(
            source_label("/home/me/app/src/server.ts", Some(cwd)),
            "src/server.ts"
        );
        assert_eq!(
            source_label("/elsewhere/src/server.ts", Some(cwd)),
            "src/server.ts"
        );
        assert_eq!(
            source_label("webpack://app/./src/routes/user.ts", None),
            "src/routes/user.ts"
        );
        assert_eq!(
            source_label("/x/node_modules/lru-cache/src/index.ts", None),
            "lru-cache/src/index.ts"
        );
        assert_eq!(
            resolve_source(Path::new("/p/dist"), "../src/a%20b.ts"),
            "/p/src/a b.ts"
        );
        assert_eq!(
            resolve_source(Path::new("/p/dist"), "file:///q/x.ts"),
            "/q/x.ts"
        );
    }

    #[test]
    fn a_map_beside_the_script_gives_original_positions_and_a_missing_one_warns() {
        let dir = std::env::temp_dir().join(format!("leakscope-sourcemap-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("dist")).unwrap();
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("src/a.ts"),
            "type T = number;\n\nexport const f = (x: T) => x;\n",
        )
        .unwrap();
        // Generated line 0, columns 0 and 10 → a.ts line 2 column 13.
        std::fs::write(
            dir.join("dist/a.js"),
            "const f = (x) => x;\n//# sourceMappingURL=a.js.map\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("dist/a.js.map"),
            r#"{"version":3,"file":"a.js","sources":["../src/a.ts"],"names":["f"],"mappings":"AAEa,UAAA"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("dist/b.js"),
            "x();\n//# sourceMappingURL=b.js.map\n",
        )
        .unwrap();
        let maps = SourceMaps::new();
        let script = dir.join("dist/a.js").display().to_string();
        let original = maps.original(&script, 0, 12).expect("mapped");
        assert_eq!(original.source, dir.join("src/a.ts").display().to_string());
        assert_eq!((original.line, original.column), (2, 13));
        assert_eq!(
            original.text.as_deref(),
            Some("export const f = (x: T) => x;")
        );
        let url = format!("file://{script}");
        assert_eq!(maps.original(&url, 0, 0).map(|o| o.line), Some(2));
        // No mapping on a later line: the compiled position stays.
        assert_eq!(maps.original(&script, 1, 0), None);
        let missing = dir.join("dist/b.js").display().to_string();
        assert_eq!(maps.original(&missing, 0, 0), None);
        assert_eq!(maps.original(&missing, 0, 1), None);
        let warnings = maps.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("b.js.map cannot be read"),
            "{warnings:?}"
        );

        let positions = Positions::mapped(SourceMaps::new(), true);
        let shown = positions.at(&script, 0, 12);
        assert!(shown.ends_with("src/a.ts:3:14 (a.js:1:13)"), "{shown}");
        assert_eq!(positions.generated_positions()[0].generated, "a.js:1:13");
        assert_eq!(Positions::compiled().at(&script, 0, 12), "a.js:1:13");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
