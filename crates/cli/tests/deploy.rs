//! The fleet-mode files in `deploy/`: promtool accepts the alerting rules,
//! their unit tests pass, the example Prometheus config is valid, and the
//! Grafana dashboard and the rules use only metrics `leakscope watch`
//! exposes. Needs `promtool` (`apt-get install prometheus`).

use std::path::{Path, PathBuf};
use std::process::Command;

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy");

fn deploy(path: &str) -> PathBuf {
    Path::new(DEPLOY).join(path)
}

/// Runs promtool and asserts it succeeded, with its output on failure.
fn promtool(args: &[&str]) {
    let out = match Command::new("promtool").args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "promtool is not installed: `apt-get install prometheus` (CI installs it) to run the deploy/ checks"
        ),
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    assert!(
        out.status.success(),
        "promtool {} failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[test]
fn alerting_rules_pass_promtool_check() {
    promtool(&[
        "check",
        "rules",
        path_str(&deploy("prometheus/leakscope.rules.yml")),
    ]);
}

#[test]
fn alerting_rules_pass_their_unit_tests() {
    promtool(&[
        "test",
        "rules",
        path_str(&deploy("prometheus/leakscope.rules.test.yml")),
    ]);
}

/// `promtool check config` wants the bearer token file to exist: the check
/// runs on a copy whose `credentials_file` is a temporary file.
#[test]
fn example_prometheus_config_is_valid() {
    let config = std::fs::read_to_string(deploy("prometheus/prometheus.yml")).unwrap();
    for needed in [
        "honor_labels: true",
        "credentials_file: /etc/leakscope/metrics-token",
        "leakscope.rules.yml",
    ] {
        assert!(config.contains(needed), "prometheus.yml lacks `{needed}`");
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-prometheus-config");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("metrics-token");
    std::fs::write(&token, "0123456789abcdef0123456789abcdef\n").unwrap();
    std::fs::copy(
        deploy("prometheus/leakscope.rules.yml"),
        dir.join("leakscope.rules.yml"),
    )
    .unwrap();
    let copy = dir.join("prometheus.yml");
    std::fs::write(
        &copy,
        config.replace("/etc/leakscope/metrics-token", path_str(&token)),
    )
    .unwrap();
    promtool(&["check", "config", path_str(&copy)]);
}

/// The metrics `leakscope watch` exposes (deploy/README.md).
const METRICS: &[&str] = &[
    "nodejs_heap_size_used_bytes",
    "nodejs_heap_size_total_bytes",
    "nodejs_external_memory_bytes",
    "nodejs_heap_space_size_used_bytes",
    "nodejs_heap_space_size_total_bytes",
    "nodejs_gc_duration_seconds_bucket",
    "nodejs_gc_duration_seconds_sum",
    "nodejs_gc_duration_seconds_count",
    "nodejs_eventloop_lag_seconds",
    "nodejs_eventloop_lag_min_seconds",
    "nodejs_eventloop_lag_max_seconds",
    "nodejs_eventloop_lag_p50_seconds",
    "nodejs_eventloop_lag_p90_seconds",
    "nodejs_eventloop_lag_p99_seconds",
    "leakscope_heap_after_full_gc_bytes",
    "leakscope_heap_growth_bytes_per_hour",
    "leakscope_gc_time_ratio",
    "leakscope_leak_suspected",
    "leakscope_leak_events",
    "leakscope_snapshots_written",
    "leakscope_watched_processes",
];

/// PromQL words that are not metric names.
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
];

/// Aggregation operators, which may take `by (...)` before their `(`.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];

/// The metric names in a PromQL expression (Grafana variables allowed):
/// identifiers outside strings, label matchers, ranges and `by (...)`
/// lists that are neither functions, aggregations nor keywords.
fn metric_names(expr: &str) -> Vec<String> {
    // Drop strings, `{...}` matchers and `[...]` ranges.
    let mut text = String::new();
    let (mut quote, mut depth) = (None, 0);
    for c in expr.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, c) if depth == 0 => text.push(c),
            _ => {}
        }
    }
    let chars: Vec<char> = text.chars().collect();
    let mut names = Vec::new();
    let mut labels_follow = false;
    let mut in_labels = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '$' || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | ':' | '$' | '.'))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            let is_number = word.starts_with(|c: char| c.is_ascii_digit() || c == '.');
            if word.starts_with('$') || is_number || in_labels {
                // A Grafana variable, a number or a grouping label.
            } else if KEYWORDS.contains(&word.as_str()) {
                labels_follow = matches!(word.as_str(), "by" | "without" | "on" | "ignoring");
            } else if next != Some(&'(') && !AGGREGATIONS.contains(&word.as_str()) {
                names.push(word);
            }
            continue;
        }
        if c == '(' && labels_follow {
            in_labels = true;
        } else if c == ')' && in_labels {
            in_labels = false;
        }
        if !c.is_whitespace() {
            labels_follow = false;
        }
        i += 1;
    }
    names
}

fn assert_known_metrics(what: &str, expr: &str) {
    let names = metric_names(expr);
    assert!(!names.is_empty(), "{what}: `{expr}` uses no metric");
    for name in names {
        assert!(
            METRICS.contains(&name.as_str()),
            "{what}: `{expr}` uses `{name}`, which leakscope watch does not expose"
        );
    }
}

#[test]
fn metric_names_finds_the_metrics_only() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.99, sum by (le, kind) (rate(nodejs_gc_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval]))) / 1e6"#
        ),
        ["nodejs_gc_duration_seconds_bucket"]
    );
    assert_eq!(
        metric_names("sum without (kind) (deriv(a[15m])) * 3600 > 50e6 or on (pid) up"),
        ["a", "up"]
    );
}

#[test]
fn grafana_dashboard_uses_only_exposed_metrics() {
    let path = deploy("grafana/leakscope-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    // Panels, including those inside collapsed rows.
    let mut panels: Vec<&serde_json::Value> = Vec::new();
    let mut todo: Vec<&serde_json::Value> =
        dashboard["panels"].as_array().unwrap().iter().collect();
    while let Some(panel) = todo.pop() {
        if let Some(inner) = panel["panels"].as_array() {
            todo.extend(inner);
        }
        if panel["type"] != "row" {
            panels.push(panel);
        }
    }
    assert!(panels.len() >= 8, "only {} panels", panels.len());
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("untitled panel");
        let targets = panel["targets"].as_array();
        assert!(
            targets.is_some_and(|t| !t.is_empty()),
            "panel {title} has no targets"
        );
        for target in targets.unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("panel {title}: a target without expr"));
            assert_known_metrics(&format!("panel {title}"), expr);
        }
    }
    // Template variables: $datasource, and label_values(metric, label) queries.
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let named = |name: &str| variables.iter().find(|v| v["name"] == name);
    assert_eq!(
        named("datasource").expect("a $datasource variable")["query"],
        "prometheus"
    );
    for name in ["instance", "command"] {
        let query = named(name).unwrap_or_else(|| panic!("no ${name} variable"))["definition"]
            .as_str()
            .unwrap();
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(&format!(", {name})")))
            .unwrap_or_else(|| panic!("${name}: `{query}` is not label_values(metric, {name})"));
        assert_known_metrics(&format!("${name}"), inner);
    }
}

#[test]
fn alerting_rules_use_only_exposed_metrics() {
    let rules = std::fs::read_to_string(deploy("prometheus/leakscope.rules.yml")).unwrap();
    let exprs: Vec<&str> = rules
        .lines()
        .filter_map(|line| line.trim().strip_prefix("expr: "))
        .collect();
    assert_eq!(exprs.len(), 4, "one expr per alert");
    for expr in exprs {
        assert_known_metrics("leakscope.rules.yml", expr);
    }
}
