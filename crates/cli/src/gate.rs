//! The leak gate for pull requests, shared by `hunt` and `find-leaks`:
//! which findings fail the run (`--allow` lets matching holders pass;
//! `--baseline` lets pass what an earlier report already had, unless it grew
//! more than twofold), and the files a CI job shows (`--junit`, `--markdown`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use leakscope_report::common::Finding;
use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use regex::Regex;

use crate::atomic::AtomicFile;

/// A finding may grow this much over the baseline's rate and still pass.
const GROWTH_ALLOWED: f64 = 2.0;

#[derive(clap::Args, Debug, Default)]
pub struct GateArgs {
    /// Write JUnit XML for CI: a failing testcase per finding that fails
    /// the run, a passing one per allowed or known finding, one passing
    /// testcase when clean
    #[arg(long, value_name = "FILE.xml")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary for a PR comment or $GITHUB_STEP_SUMMARY:
    /// each finding's holder, bytes per request, MB/hour and path
    #[arg(long, value_name = "FILE.md")]
    pub markdown: Option<PathBuf>,
    /// Findings whose holder, package or leaked class matches this regular
    /// expression are reported but do not fail the run
    #[arg(long, value_name = "REGEX")]
    pub allow: Option<String>,
    /// An earlier `--json` report (e.g. of the base branch): a finding with
    /// the same holder passes unless its rate is more than twice the one
    /// there; new and grown findings fail the run
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
}

impl GateArgs {
    fn is_set(&self) -> bool {
        self.junit.is_some()
            || self.markdown.is_some()
            || self.allow.is_some()
            || self.baseline.is_some()
    }
}

/// A finding of the baseline report: its holder and rate.
#[derive(Debug, Clone)]
struct Known {
    holder: String,
    rate: Rate,
}

/// A finding's growth, per request when requests were counted.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rate {
    PerRequest(f64),
    PerSecond(f64),
    Total(f64),
}

impl Rate {
    fn of(f: &Finding) -> Rate {
        match (f.bytes_per_request, f.bytes_per_second) {
            (Some(r), _) => Rate::PerRequest(r),
            (None, Some(s)) => Rate::PerSecond(s),
            _ => Rate::Total(f.bytes as f64),
        }
    }

    fn of_json(f: &serde_json::Value) -> Rate {
        let number = |k: &str| f.get(k).and_then(serde_json::Value::as_f64);
        match (number("bytes_per_request"), number("bytes_per_second")) {
            (Some(r), _) => Rate::PerRequest(r),
            (None, Some(s)) => Rate::PerSecond(s),
            _ => Rate::Total(number("bytes").unwrap_or(0.0)),
        }
    }

    /// How many times `self` is `before`, when both are of one kind.
    fn over(self, before: Rate) -> Option<f64> {
        let ((Rate::PerRequest(now), Rate::PerRequest(then))
        | (Rate::PerSecond(now), Rate::PerSecond(then))
        | (Rate::Total(now), Rate::Total(then))) = (self, before)
        else {
            return None;
        };
        Some(if then > 0.0 {
            now / then
        } else {
            f64::INFINITY
        })
    }
}

/// What the gate made of one finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Status {
    /// Not in the baseline: fails.
    New,
    /// In the baseline, but more than twice its rate there: fails.
    Grown { times: f64 },
    /// In the baseline at no more than twice its rate: passes.
    Known { times: f64 },
    /// Matches `--allow`: passes.
    Allowed,
}

impl Status {
    pub fn fails(self) -> bool {
        matches!(self, Status::New | Status::Grown { .. })
    }

    fn label(self) -> String {
        match self {
            Status::New => "new leak".into(),
            Status::Grown { times } => format!("grew {times:.1}× over the baseline"),
            Status::Known { times } => format!("in the baseline ({times:.1}× its rate)"),
            Status::Allowed => "allowed by --allow".into(),
        }
    }
}

/// The gate, ready before the work starts: its pattern compiled, its
/// baseline read and its output files creatable (bad input fails first).
pub struct Gate {
    enabled: bool,
    allow: Option<Regex>,
    baseline: Option<Vec<Known>>,
    junit: Option<(PathBuf, AtomicFile)>,
    markdown: Option<(PathBuf, AtomicFile)>,
}

impl Gate {
    pub fn new(args: &GateArgs) -> anyhow::Result<Gate> {
        let allow = args
            .allow
            .as_deref()
            .map(|pattern| {
                Regex::new(pattern).map_err(|e| {
                    let why = e.to_string();
                    let why = why
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .trim_start_matches("error: ");
                    anyhow::anyhow!("--allow {pattern:?} is not a valid regular expression: {why}")
                })
            })
            .transpose()?;
        let baseline = args.baseline.as_deref().map(read_baseline).transpose()?;
        let create = |path: &Option<PathBuf>| {
            path.as_ref()
                .map(|p| AtomicFile::create(p).map(|f| (p.clone(), f)))
                .transpose()
        };
        Ok(Gate {
            enabled: args.is_set(),
            allow,
            baseline,
            junit: create(&args.junit)?,
            markdown: create(&args.markdown)?,
        })
    }

    /// The status of each finding, in order.
    pub fn judge(&self, findings: &[Finding]) -> Vec<Status> {
        findings.iter().map(|f| self.status(f)).collect()
    }

    fn status(&self, f: &Finding) -> Status {
        let names = [
            Some(f.holder.as_str()),
            f.package.as_deref(),
            Some(f.leaked_items.name.as_str()),
        ];
        if let Some(allow) = &self.allow {
            if names.into_iter().flatten().any(|n| allow.is_match(n)) {
                return Status::Allowed;
            }
        }
        let Some(baseline) = &self.baseline else {
            return Status::New;
        };
        let rate = Rate::of(f);
        match baseline
            .iter()
            .filter(|k| k.holder == f.holder)
            .find_map(|k| rate.over(k.rate))
        {
            Some(times) if times <= GROWTH_ALLOWED => Status::Known { times },
            Some(times) => Status::Grown { times },
            None => Status::New,
        }
    }

    /// Writes the JUnit and Markdown files and returns the exit status: 1
    /// if a finding fails the run, else 0. Without gate flags, any finding
    /// fails it (the commands' plain behaviour).
    pub fn finish(self, command: &str, findings: &[Finding], seconds: f64) -> anyhow::Result<u8> {
        let statuses = self.judge(findings);
        if let Some((path, mut file)) = self.junit {
            file.write_all(&junit(command, findings, &statuses, seconds)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
            file.commit()?;
        }
        if let Some((path, mut file)) = self.markdown {
            file.write_all(markdown(command, findings, &statuses).as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            file.commit()?;
        }
        let failing = statuses.iter().filter(|s| s.fails()).count();
        if self.enabled && failing < findings.len() {
            eprintln!(
                "leakscope: gate: {failing} of {} finding(s) fail the run; {}",
                findings.len(),
                statuses
                    .iter()
                    .zip(findings)
                    .filter(|(s, _)| !s.fails())
                    .map(|(s, f)| format!("{} ({})", f.holder, s.label()))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        Ok(u8::from(failing > 0))
    }
}

fn read_baseline(path: &Path) -> anyhow::Result<Vec<Known>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--baseline {}: {e}", path.display()))?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("--baseline {}: not JSON ({e}); give a `leakscope hunt --json` or `find-leaks --json` report", path.display())
    })?;
    let findings = report
        .get("findings")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--baseline {}: not a leakscope --json report (it has no \"findings\" list)",
                path.display()
            )
        })?;
    findings
        .iter()
        .map(|f| {
            let holder = f
                .get("holder")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--baseline {}: a finding without a \"holder\"",
                        path.display()
                    )
                })?;
            Ok(Known {
                holder: holder.to_owned(),
                rate: Rate::of_json(f),
            })
        })
        .collect()
}

/// "865 B/request", "1.2 kB/s", or the total.
fn rate_text(f: &Finding) -> String {
    match Rate::of(f) {
        Rate::PerRequest(r) => format!("{}/request", crate::output::size(r.round() as u64)),
        Rate::PerSecond(s) => format!("{}/s", crate::output::size(s.round() as u64)),
        Rate::Total(t) => format!("{} in all", crate::output::size(t as u64)),
    }
}

fn junit(
    command: &str,
    findings: &[Finding],
    statuses: &[Status],
    seconds: f64,
) -> anyhow::Result<Vec<u8>> {
    let mut xml = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let failures = statuses.iter().filter(|s| s.fails()).count();
    let tests = findings.len().max(1);
    let suite = format!("leakscope {command}");
    let mut start = BytesStart::new("testsuite");
    start.push_attribute(("name", suite.as_str()));
    start.push_attribute(("tests", tests.to_string().as_str()));
    start.push_attribute(("failures", failures.to_string().as_str()));
    start.push_attribute(("errors", "0"));
    start.push_attribute(("time", format!("{seconds:.1}").as_str()));
    xml.write_event(Event::Start(start))?;
    let case = |name: &str| {
        let mut c = BytesStart::new("testcase");
        c.push_attribute(("classname", "leakscope.leaks"));
        c.push_attribute(("name", name));
        c
    };
    if findings.is_empty() {
        xml.write_event(Event::Empty(case("no memory leak")))?;
    }
    for (f, status) in findings.iter().zip(statuses) {
        let name = format!("{} ({})", f.holder, f.thread);
        xml.write_event(Event::Start(case(&name)))?;
        let detail = format!(
            "{holder} grows by {rate}: {count} × {items} added, {bytes} in all{hourly}\nconfidence {confidence}: {evidence}\npath: {path}",
            holder = f.holder,
            rate = rate_text(f),
            count = f.leaked_items.count,
            items = f.leaked_items.name,
            bytes = crate::output::size(f.bytes),
            hourly = f.mb_per_hour.map(|m| format!(", {m:.1} MB/hour")).unwrap_or_default(),
            confidence = serde_json::to_value(f.confidence)?
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            evidence = f.evidence,
            path = f.path_text(),
        );
        if status.fails() {
            let mut failure = BytesStart::new("failure");
            let message = format!("{}: {} grows by {}", status.label(), f.holder, rate_text(f));
            failure.push_attribute(("message", message.as_str()));
            failure.push_attribute(("type", "MemoryLeak"));
            xml.write_event(Event::Start(failure))?;
            xml.write_event(Event::CData(BytesCData::new(detail.replace("]]>", "]] >"))))?;
            xml.write_event(Event::End(BytesEnd::new("failure")))?;
        } else {
            xml.write_event(Event::Start(BytesStart::new("system-out")))?;
            xml.write_event(Event::Text(BytesText::new(&format!(
                "{}\n{detail}",
                status.label()
            ))))?;
            xml.write_event(Event::End(BytesEnd::new("system-out")))?;
        }
        xml.write_event(Event::End(BytesEnd::new("testcase")))?;
    }
    xml.write_event(Event::End(BytesEnd::new("testsuite")))?;
    let mut out = xml.into_inner();
    out.push(b'\n');
    Ok(out)
}

/// A cell of a Markdown table: no line breaks, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn markdown(command: &str, findings: &[Finding], statuses: &[Status]) -> String {
    let failing = statuses.iter().filter(|s| s.fails()).count();
    let mut md = String::new();
    if findings.is_empty() {
        md.push_str(&format!("### leakscope {command}: no memory leak\n\nNothing grew steadily from snapshot to snapshot.\n"));
        return md;
    }
    md.push_str(&match failing {
        0 => format!(
            "### leakscope {command}: {} leak(s), none fails this run\n\n",
            findings.len()
        ),
        n => format!("### leakscope {command}: {n} memory leak(s) fail this run\n\n"),
    });
    md.push_str("| | Holder | Growth | MB/hour | Retaining path |\n|---|---|---|---|---|\n");
    for (f, status) in findings.iter().zip(statuses) {
        let mark = if status.fails() { "❌" } else { "✅" };
        md.push_str(&format!(
            "| {mark} {} | {}{} | {} | {} | `{}` |\n",
            cell(&status.label()),
            cell(&f.holder),
            f.package
                .as_deref()
                .map(|p| format!(" (package {})", cell(p)))
                .unwrap_or_default(),
            cell(&rate_text(f)),
            f.mb_per_hour
                .map(|m| format!("{m:.1}"))
                .unwrap_or_else(|| "–".into()),
            cell(&f.path_text()).replace('`', "'"),
        ));
    }
    md.push('\n');
    for f in findings {
        md.push_str(&format!(
            "- **{}**: {} × {} added; {}\n",
            cell(&f.holder),
            f.leaked_items.count,
            cell(&f.leaked_items.name),
            cell(&f.evidence)
        ));
    }
    md
}
