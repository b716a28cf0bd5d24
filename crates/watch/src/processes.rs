//! Finding the Node processes of this host from `/proc`.

use leakscope_inspector::is_node_process;
use regex::Regex;

/// A Node process as `ps` would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeProcess {
    pub pid: u32,
    /// The script it runs (`server.js`), or `node` when there is none: the
    /// `command` label of its metrics.
    pub command: String,
    /// The whole command line, arguments joined by spaces.
    pub cmdline: String,
}

impl NodeProcess {
    /// The process `pid`, if it exists and runs Node.
    pub fn of(pid: u32) -> Option<NodeProcess> {
        if !is_node_process(pid) {
            return None;
        }
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        Some(NodeProcess {
            pid,
            command: script_of(&args),
            cmdline: args.join(" "),
        })
    }
}

/// Node's flags that take their value as the next argument.
const FLAGS_WITH_VALUE: [&str; 6] = ["-r", "--require", "--import", "--loader", "-e", "--eval"];

/// The file name of the script in `node [flags] script args…`.
fn script_of(args: &[String]) -> String {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        if FLAGS_WITH_VALUE.contains(&arg.as_str()) {
            rest.next();
        } else if !arg.starts_with('-') {
            return arg.rsplit('/').next().unwrap_or(arg).to_owned();
        }
    }
    args.first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_owned())
        .unwrap_or_else(|| "node".to_owned())
}

/// Every Node process this user owns (the ones SIGUSR1 may be sent to),
/// except this one, whose command line matches `filter`; by PID.
pub fn scan(filter: Option<&Regex>) -> Vec<NodeProcess> {
    let me = std::process::id();
    let uid = own_uid();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<NodeProcess> = dir
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && owner(pid) == Some(uid))
        .filter_map(NodeProcess::of)
        .filter(|p| filter.is_none_or(|f| f.is_match(&p.cmdline)))
        .collect();
    found.sort_by_key(|p| p.pid);
    found
}

fn own_uid() -> u32 {
    owner(std::process::id()).unwrap_or(u32::MAX)
}

/// The real user id of a process, from `/proc/PID/status`.
fn owner(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// This host's name: the default `instance` label.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn the_script_is_the_first_argument_that_is_not_a_flag() {
        assert_eq!(
            script_of(&args("node /srv/api/server.js --port 80")),
            "server.js"
        );
        assert_eq!(
            script_of(&args(
                "/usr/bin/node --max-old-space-size=512 -r dotenv/config app.js"
            )),
            "app.js"
        );
        assert_eq!(script_of(&args("node --inspect=0")), "node");
        assert_eq!(script_of(&args("/opt/node/bin/node")), "node");
    }

    #[test]
    fn a_scan_finds_no_process_for_a_filter_nothing_matches() {
        let nothing = Regex::new("^no such command line$").unwrap();
        assert!(scan(Some(&nothing)).is_empty());
    }
}
