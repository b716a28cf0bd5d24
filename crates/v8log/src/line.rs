//! One log line: comma-separated fields, with V8's escapes inside strings
//! (`\x2C` for a comma, `\n`, `\\`, `\uXXXX`).

use std::borrow::Cow;

/// The fields of a line, split on commas (escaped commas are not commas).
pub fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b',')
}

/// A field's text with V8's escapes undone; invalid UTF-8 is replaced.
pub fn text(field: &[u8]) -> Cow<'_, str> {
    if memchr::memchr(b'\\', field).is_none() {
        return String::from_utf8_lossy(field);
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        if b != b'\\' || i + 1 == field.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let hex = |from: usize, len: usize| {
            field
                .get(from..from + len)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u32::from_str_radix(h, 16).ok())
        };
        let (decoded, used) = match field[i + 1] {
            b'n' => (Some('\n'), 2),
            b'r' => (Some('\r'), 2),
            b't' => (Some('\t'), 2),
            b'\\' => (Some('\\'), 2),
            b'x' => (hex(i + 2, 2).and_then(char::from_u32), 4),
            b'u' => (hex(i + 2, 4).and_then(char::from_u32), 6),
            _ => (None, 1),
        };
        match decoded {
            Some(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += used;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// A decimal number field.
pub fn number(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 19 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        field
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')),
    )
}

/// A hexadecimal address field (`0x…`).
pub fn address(field: &[u8]) -> Option<u64> {
    let digits = field.strip_prefix(b"0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_undone() {
        assert_eq!(text(br"a\x2Cb\nc\\d\u00e9"), "a,b\nc\\d\u{e9}");
        assert_eq!(text(br"bad\x2"), "bad\\x2");
        assert_eq!(text(b"trailing\\"), "trailing\\");
    }

    #[test]
    fn numbers_and_addresses() {
        assert_eq!(number(b"65222"), Some(65222));
        assert_eq!(number(b"-1"), None);
        assert_eq!(number(b""), None);
        assert_eq!(address(b"0x13743a00bd5e"), Some(0x1374_3a00_bd5e));
        assert_eq!(address(b"13743a00bd5e"), None);
        assert_eq!(address(b"0x"), None);
    }
}
