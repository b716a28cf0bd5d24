//! One `--trace-gc` line at a time, on bytes, without allocating: the
//! modern format (Node 12+), `--trace-gc-nvp` key=value lines, and the
//! legacy one (Node ≤ 0.12). Anything else (the app's own output,
//! `--trace-gc-verbose` blocks, fatal-error reports) is not a GC line.

/// What collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Scavenge,
    MinorMarkCompact,
    MarkCompact,
    /// The legacy name of a full collection.
    MarkSweep,
}

impl Kind {
    /// Collects the whole heap: only after these does the heap size say
    /// what is alive.
    pub fn is_full(self) -> bool {
        matches!(self, Kind::MarkCompact | Kind::MarkSweep)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scavenge => "Scavenge",
            Kind::MinorMarkCompact => "Minor Mark-Compact",
            Kind::MarkCompact => "Mark-Compact",
            Kind::MarkSweep => "Mark-sweep",
        }
    }
}

/// One GC line.
#[derive(Debug, Clone, PartialEq)]
pub struct GcLine<'a> {
    pub pid: u32,
    /// The isolate's address; 0 in the legacy format.
    pub isolate: u64,
    /// Milliseconds since the isolate started.
    pub at_ms: f64,
    pub kind: Kind,
    /// `(reduce)`: a memory-reducing GC (forced, or near the limit).
    pub reduce: bool,
    /// Bytes of objects before and after (the first numbers of `A (B) -> C (D) MB`).
    pub before: u64,
    pub after: u64,
    /// Main-thread pause.
    pub pause_ms: f64,
    /// Why V8 collected, e.g. `allocation failure`, `task; ` trimmed.
    pub reason: &'a [u8],
}

/// Parses one line (without its newline).
pub fn parse_line(line: &[u8]) -> Option<GcLine<'_>> {
    let mut c = Cursor { s: line, i: 0 };
    c.skip_spaces();
    c.eat(b"[")?;
    let pid = c.uint()? as u32;
    let isolate = if c.eat(b":").is_some() {
        c.eat(b"0x")?;
        c.hex()?
    } else {
        0
    };
    c.eat(b"]")?;
    c.skip_spaces();
    let at_ms = c.number()?;
    c.eat(b" ms: ")?;
    if c.rest().starts_with(b"pause=") {
        return nvp(c.rest(), pid, isolate, at_ms);
    }
    let (kind, legacy) = if c.eat(b"Scavenge").is_some() {
        (Kind::Scavenge, false)
    } else if c.eat(b"Mark-Compact").is_some() {
        (Kind::MarkCompact, false)
    } else if c.eat(b"Minor Mark-Compact").is_some() {
        (Kind::MinorMarkCompact, false)
    } else if c.eat(b"Mark-sweep").is_some() {
        (Kind::MarkSweep, true)
    } else {
        return None;
    };
    let mut reduce = false;
    while c.eat(b" (").is_some() {
        let word = c.until(b')')?;
        reduce |= word == b"reduce";
        c.eat(b")")?;
    }
    c.eat(b" ")?;
    let before = c.number()?;
    c.eat(b" (")?;
    c.number()?;
    c.eat(b") -> ")?;
    let after = c.number()?;
    c.eat(b" (")?;
    c.number()?;
    c.eat(b") MB, ")?;
    let pause_ms = c.number()?;
    // Modern: `P / E ms`; legacy: `P ms` or `P / E ms`.
    if c.eat(b" / ").is_some() {
        c.number()?;
    }
    c.eat(b" ms")?;
    let reason = if legacy {
        // ` [reason] [collector reason].` — the first bracket; a line cut
        // inside it (a killed process's last line) has no reason.
        let rest = c.rest();
        rest.iter()
            .position(|&b| b == b'[')
            .and_then(|o| {
                let inner = &rest[o + 1..];
                inner
                    .iter()
                    .position(|&b| b == b']')
                    .map(|end| &inner[..end])
            })
            .unwrap_or(b"")
    } else {
        // `… (average mu = …, current mu = …) reason; collector reason`
        let rest = c.rest();
        let after_mu = find(rest, b"current mu = ")
            .and_then(|i| rest[i..].iter().position(|&b| b == b')').map(|j| i + j + 1))
            .unwrap_or(rest.len());
        let tail = trim(&rest[after_mu..]);
        &tail[..tail.iter().position(|&b| b == b';').unwrap_or(tail.len())]
    };
    Some(GcLine {
        pid,
        isolate,
        at_ms,
        kind,
        reduce,
        before: mb_to_bytes(before),
        after: mb_to_bytes(after),
        pause_ms,
        reason,
    })
}

/// `--trace-gc-nvp`: `pause=1.3 mutator=… gc=s reduce_memory=0 …
/// total_size_before=N total_size_after=N …`.
fn nvp(rest: &[u8], pid: u32, isolate: u64, at_ms: f64) -> Option<GcLine<'_>> {
    let mut pause_ms = None;
    let mut kind = None;
    let mut reduce = false;
    let mut before = None;
    let mut after = None;
    for pair in rest.split(|&b| b == b' ') {
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (key, value) = (&pair[..eq], &pair[eq + 1..]);
        match key {
            b"pause" => pause_ms = Cursor::whole_number(value),
            b"gc" => {
                kind = match value {
                    b"s" => Some(Kind::Scavenge),
                    b"mc" => Some(Kind::MarkCompact),
                    b"mmc" => Some(Kind::MinorMarkCompact),
                    _ => None,
                }
            }
            b"reduce_memory" => reduce = value == b"1",
            b"total_size_before" => before = Cursor::whole_number(value),
            b"total_size_after" => after = Cursor::whole_number(value),
            _ => {}
        }
    }
    Some(GcLine {
        pid,
        isolate,
        at_ms,
        kind: kind?,
        reduce,
        before: before? as u64,
        after: after? as u64,
        pause_ms: pause_ms?,
        reason: b"",
    })
}

fn mb_to_bytes(mb: f64) -> u64 {
    (mb * 1024.0 * 1024.0).round() as u64
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// Powers of ten up to the 18 digits a number may have, all exact.
const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.s[self.i..]
    }

    fn eat(&mut self, token: &[u8]) -> Option<()> {
        if self.rest().starts_with(token) {
            self.i += token.len();
            Some(())
        } else {
            None
        }
    }

    fn skip_spaces(&mut self) {
        while self.s.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn until(&mut self, stop: u8) -> Option<&'a [u8]> {
        let rest = self.rest();
        let n = rest.iter().position(|&b| b == stop)?;
        self.i += n;
        Some(&rest[..n])
    }

    fn uint(&mut self) -> Option<u64> {
        let rest = self.rest();
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 19 {
            return None;
        }
        self.i += n;
        Some(
            rest[..n]
                .iter()
                .fold(0u64, |v, &d| v * 10 + (d - b'0') as u64),
        )
    }

    fn hex(&mut self) -> Option<u64> {
        let rest = self.rest();
        let n = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if n == 0 || n > 16 {
            return None;
        }
        self.i += n;
        u64::from_str_radix(std::str::from_utf8(&rest[..n]).ok()?, 16).ok()
    }

    /// A non-negative decimal like `12`, `0.72` or `357.3`.
    fn number(&mut self) -> Option<f64> {
        let rest = self.rest();
        let n = rest
            .iter()
            .take_while(|&&b| b.is_ascii_digit() || b == b'.')
            .count();
        let v = Cursor::whole_number(&rest[..n])?;
        self.i += n;
        Some(v)
    }

    /// Parses all of `s` as a non-negative decimal (digits, at most one
    /// dot), to the `f64` nearest its text, so that it prints back as the
    /// log wrote it: `357.3` must not come out as `357.29999999999995`.
    fn whole_number(s: &[u8]) -> Option<f64> {
        let mut mantissa: u64 = 0;
        let mut decimals = 0u32;
        let mut seen_dot = false;
        let mut digits = 0;
        for &b in s {
            match b {
                b'0'..=b'9' if digits < 18 => {
                    digits += 1;
                    mantissa = mantissa * 10 + (b - b'0') as u64;
                    decimals += seen_dot as u32;
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => return None,
            }
        }
        if digits == 0 {
            return None;
        }
        // Clinger's fast path: both operands exact, so the one division
        // rounds correctly. Longer numbers take the standard parser.
        if mantissa < 1 << 53 {
            return Some(mantissa as f64 / POW10[decimals as usize]);
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modern_lines() {
        let l = parse_line(b"[22700:0x3c4a5c00]     1258 ms: Scavenge 4.5 (4.7) -> 4.0 (5.7) MB, 6.51 / 0.00 ms  (average mu = 1.000, current mu = 1.000) task; ").unwrap();
        assert_eq!((l.pid, l.isolate, l.at_ms), (22700, 0x3c4a5c00, 1258.0));
        assert_eq!(l.kind, Kind::Scavenge);
        assert_eq!(l.after, mb_to_bytes(4.0));
        assert_eq!(l.pause_ms, 6.51);
        assert_eq!(l.reason, b"task");
        let l = parse_line(b"[22700:0x3c4a5c00]     3145 ms: Mark-Compact 10.0 (24.2) -> 9.1 (24.5) MB, 2.05 / 0.00 ms  (+ 4.6 ms in 31 steps since start of marking, biggest step 1.4 ms, walltime since start of marking 13 ms) (average mu = 1.000, current mu = 1.000) finalize incremental marking via task; GC in old space requested").unwrap();
        assert_eq!(l.kind, Kind::MarkCompact);
        assert!(!l.reduce);
        assert_eq!(l.reason, b"finalize incremental marking via task");
        let l = parse_line(b"[22521:0x1f398c00]    24256 ms: Mark-Compact (reduce) 357.5 (389.1) -> 352.3 (359.8) MB, 144.31 / 0.00 ms  (average mu = 0.987, current mu = 0.983) low memory notification; GC in old space requested").unwrap();
        assert!(l.reduce);
        assert_eq!(l.before, mb_to_bytes(357.5));
        assert_eq!(l.reason, b"low memory notification");
    }

    #[test]
    fn legacy_and_nvp_lines() {
        let l = parse_line(b"[28093]      7644 ms: Mark-sweep 10.9 (48.5) -> 10.9 (48.5) MB, 25.0 ms [HeapObjectsMap::UpdateHeapObjectsMap] [GC in old space requested].").unwrap();
        assert_eq!((l.pid, l.isolate, l.kind), (28093, 0, Kind::MarkSweep));
        assert_eq!(l.pause_ms, 25.0);
        assert_eq!(l.reason, b"HeapObjectsMap::UpdateHeapObjectsMap");
        // Cut inside the bracket: the numbers count, the half reason does not.
        let cut = parse_line(b"[28093]      7644 ms: Mark-sweep 10.9 (48.5) -> 10.9 (48.5) MB, 25.0 ms [HeapObjectsMap::UpdateHeapO").unwrap();
        assert_eq!((cut.pause_ms, cut.reason), (25.0, &b""[..]));
        let l = parse_line(b"[23085:0x18221c00]     1093 ms: pause=1.3 mutator=1087.6 gc=s reduce_memory=0 scavenge=1.13 total_size_before=4815928 total_size_after=4173800 holes_size_before=288").unwrap();
        assert_eq!(
            (l.kind, l.before, l.after, l.pause_ms),
            (Kind::Scavenge, 4815928, 4173800, 1.3)
        );
    }

    #[test]
    fn numbers_are_the_nearest_double_to_their_text() {
        // The last one is past 2^53 as an integer: the standard parser's.
        for text in [
            "357.3",
            "0.72",
            "6.51",
            "144.31",
            "0.1",
            "24256",
            "4815928",
            "1087.6",
            "0.0000001",
            "123456789012345.67",
        ] {
            let want: f64 = text.parse().unwrap();
            assert_eq!(Cursor::whole_number(text.as_bytes()), Some(want), "{text}");
        }
        assert_eq!(Cursor::whole_number(b"357.3").unwrap().to_string(), "357.3");
        assert_eq!(Cursor::whole_number(b"1.2.3"), None);
        assert_eq!(Cursor::whole_number(b"."), None);
    }

    #[test]
    fn other_lines_are_not_gc_lines() {
        for line in [
            &b"listening on http://127.0.0.1:3000"[..],
            b"[23159:0x11834cb0] Memory allocator,       used:   5864 KB, available: 4237592 KB",
            b"[23159:0x11834cb0] Shrinking page 0x14790a9c0000: end 0x14790aa00000",
            b"[1] 5 ms: Scavenge 4.5 (4.7) -> ",
            b"[",
            b"",
            b"<--- Last few GCs --->",
        ] {
            assert_eq!(parse_line(line), None, "{}", String::from_utf8_lossy(line));
        }
    }
}
