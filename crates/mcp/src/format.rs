//! Compact text for agents: sizes in kB/MB, short tables.

/// `1.2 MB`, `340 kB`, `12 B` (units of 1000, as DevTools).
pub fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1e3 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.1} kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

/// A signed size: `+1.2 MB`, `-3 kB`.
pub fn signed_size(bytes: i64) -> String {
    let sign = if bytes > 0 {
        "+"
    } else if bytes < 0 {
        "-"
    } else {
        ""
    };
    format!("{sign}{}", size(bytes.unsigned_abs()))
}

/// `—` for DevTools' "no distance" (unreachable or system only).
pub fn distance(d: i32) -> String {
    if (0..100_000_000).contains(&d) {
        d.to_string()
    } else {
        "—".to_owned()
    }
}

/// Cuts `text` to `max` characters, with an ellipsis.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_devtools() {
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_500), "1.5 kB");
        assert_eq!(size(2_345_678), "2.3 MB");
        assert_eq!(signed_size(-2_000), "-2.0 kB");
        assert_eq!(distance(100_000_003), "—");
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
