//! Shared output helpers: sizes, tables, JSON, errors.

/// `println!` that returns the write error instead of panicking, so a
/// closed stdout (`leakscope … | head`) ends the command quietly.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

use comfy_table::{presets::UTF8_BORDERS_ONLY, ContentArrangement, Table};

pub fn size(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().si().to_string()
}

/// The Summary view shows "−" for distances of system-only or unreachable nodes.
pub fn distance(d: i32) -> String {
    if (0..100_000_000).contains(&d) {
        d.to_string()
    } else {
        "-".to_owned()
    }
}

pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    t
}

/// Text safe inside HTML elements and attribute values.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

pub use leakscope_usecase::report::ellipsize;

/// Whether the error is stdout having been closed by the reader.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A printer's error for a library's sink, an I/O error kept as itself so
/// that [`is_broken_pipe`] still finds it.
pub fn sink_error(e: anyhow::Error) -> Box<dyn std::error::Error + Send + Sync> {
    match e.downcast::<std::io::Error>() {
        Ok(io) => Box::new(io),
        Err(e) => e.into(),
    }
}

/// The error as one line: its message, and its first cause unless the
/// message says it already.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    if let Some(cause) = e.chain().nth(1) {
        let cause = cause.to_string();
        if !msg.contains(&cause) {
            msg = format!("{msg}: {cause}");
        }
    }
    msg.replace('\n', " ")
}

/// Parses `30s`, `5m`, `1h30m` or plain seconds, for `--duration` flags.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(std::time::Duration::from_secs_f64(seconds));
        }
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration like 30s or 5m ({e})"))
}

/// `count x  inner <- caller <- …`, one line.
pub fn stack_line(stack: &leakscope_explore::timeline::StackCount) -> String {
    let frames: Vec<String> = stack
        .frames
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    let frames = if frames.is_empty() {
        "(allocated before tracking started or by the runtime)".to_owned()
    } else {
        frames.join(" <- ")
    };
    format!("{:>8} x  {}", stack.count, ellipsize(&frames, 150))
}

/// `--json-schema`: prints the JSON Schema of a command's `--json`.
pub fn schema<D: leakscope_report::Document>() -> anyhow::Result<std::process::ExitCode> {
    outln!("{}", leakscope_report::schema_of::<D>())?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// An argument clap requires unless `--json-schema` is given.
pub fn given<'a, T>(value: &'a Option<T>, what: &str) -> anyhow::Result<&'a T> {
    value
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("{what} is required"))
}
