use std::process::ExitCode;
use std::time::Duration;

use leakscope_inspector::{BindingCalled, Client};

use crate::live::{block_on, with_target, TargetArgs};

/// Evaluate an expression in a live process: in global scope (with
/// `require`), or with `--at FILE:LINE` inside that module's scope the next
/// time the line runs, which can reassign module-level variables, without
/// pausing the app.
#[derive(clap::Args)]
#[command(
    after_help = "Global scope cannot see a module's `let`/`const`; --at runs the expression \
in the frame of FILE:LINE (a conditional breakpoint that never pauses, removed afterwards), \
so the line must run: send the app a request.\n\n\
Examples:\n  leakscope eval --pid 4242 'process.memoryUsage()'\n  leakscope eval --pid 4242 --at app.js:17 'pending.length = 0'\n  leakscope eval --port 9229 --at server.js:42 'cache = new Map()' --timeout 60"
)]
pub struct Args {
    /// The JavaScript expression
    #[arg(value_name = "EXPR")]
    pub expression: String,
    // After the expression: clap numbers positionals in field order, and
    // the target's optional `-- COMMAND` must come after a required one.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Run in the scope of this source line (1-based) the next time it executes
    #[arg(long, value_name = "FILE:LINE")]
    pub at: Option<String>,
    /// With --at: how long to wait for the line to run, in seconds
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

const BINDING: &str = "__leakscope_at";
const ONCE_KEY: &str = "Symbol.for('leakscope.at')";

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let at = args.at.as_deref().map(parse_at).transpose()?;
    let value = block_on(with_target(
        &args.target.resolve()?,
        async |target| match &at {
            None => Ok(target
                .client
                .evaluate(&args.expression, true)
                .await?
                .display()),
            Some((file, line)) => {
                eval_at(&target.client, file, *line, &args.expression, args.timeout).await
            }
        },
        async |client| {
            if at.is_some() {
                let _ = client.remove_binding(BINDING).await;
                let _ = client
                    .evaluate(
                        &format!("delete globalThis.{BINDING}; delete globalThis[{ONCE_KEY}]"),
                        false,
                    )
                    .await;
                let _ = client.debugger_disable().await;
            }
            let _ = client.release_object_group().await;
        },
    ))?;
    if args.json {
        crate::output::json(&serde_json::json!({ "result": value }))?;
    } else {
        outln!("{value}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_at(at: &str) -> anyhow::Result<(String, u32)> {
    let (file, line) = at
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("--at wants FILE:LINE, e.g. app.js:17"))?;
    let line: u32 = line.parse().ok().filter(|&l| l > 0).ok_or_else(|| {
        anyhow::anyhow!("--at wants a 1-based line number after the colon, got `{line}`")
    })?;
    Ok((file.to_owned(), line))
}

/// Escapes a file name for a URL regex and anchors it at a path boundary.
fn url_regex(file: &str) -> String {
    let mut escaped = String::from("(^|/)");
    for c in file.trim_start_matches("./").chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('$');
    escaped
}

/// The conditional-breakpoint technique: the condition runs the expression
/// in the frame, reports its value or exception through a binding, and
/// returns false so the app never pauses. A global flag makes it run once
/// even if several requests reach the line before the breakpoint is removed.
async fn eval_at(
    client: &Client,
    file: &str,
    line: u32,
    expression: &str,
    timeout: u64,
) -> anyhow::Result<String> {
    client.add_binding(BINDING).await?;
    let scripts = client.debugger_enable().await?;
    // Breakpoint conditions are evaluated like `eval` code in the frame, so
    // statements work; the completion value `false` keeps the app running.
    let condition = format!(
        "try {{ if (!globalThis[{ONCE_KEY}]) {{ globalThis[{ONCE_KEY}] = true; \
         globalThis.{BINDING}(JSON.stringify({{ ok: String(({expression})) }})); }} }} \
         catch (e) {{ globalThis.{BINDING}(JSON.stringify({{ error: String(e) }})); }} false"
    );
    let breakpoint = client
        .set_breakpoint_by_url(&url_regex(file), line - 1, &condition)
        .await?;
    if breakpoint.locations.is_empty() {
        let _ = client.remove_breakpoint(&breakpoint.breakpoint_id).await;
        let known: Vec<&str> = scripts
            .iter()
            .filter(|s| s.url.starts_with("file:") || s.url.starts_with('/'))
            .map(|s| s.url.rsplit('/').next().unwrap_or(&s.url))
            .take(8)
            .collect();
        anyhow::bail!(
            "no loaded script matches `{file}` at line {line} (the app's own scripts: {})",
            known.join(", ")
        );
    }
    eprintln!("waiting for {file}:{line} to run (send the app a request)…");
    let result = tokio::time::timeout(Duration::from_secs(timeout), async {
        while let Some(event) = client.next_event().await {
            if event.method == "Runtime.bindingCalled" {
                let called: BindingCalled = event.parse()?;
                if called.name == BINDING {
                    return Ok(called.payload);
                }
            }
        }
        Err(leakscope_inspector::InspectorError::Closed.into())
    })
    .await;
    let _ = client.remove_breakpoint(&breakpoint.breakpoint_id).await;
    let payload: anyhow::Result<String> = match result {
        Ok(payload) => payload,
        Err(_) => anyhow::bail!(
            "{file}:{line} did not run within {timeout} s (send the app traffic through that line)"
        ),
    };
    #[derive(serde::Deserialize)]
    struct Outcome {
        ok: Option<String>,
        error: Option<String>,
    }
    let outcome: Outcome = serde_json::from_str(&payload?)?;
    match (outcome.ok, outcome.error) {
        (Some(value), _) => Ok(value),
        (None, error) => anyhow::bail!(
            "the expression threw at {file}:{line}: {}",
            error.unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_parses_and_regex_is_anchored() {
        assert_eq!(
            parse_at("src/app.js:17").unwrap(),
            ("src/app.js".to_owned(), 17)
        );
        assert!(parse_at("app.js").is_err() && parse_at("app.js:0").is_err());
        assert_eq!(url_regex("./a.b.js"), r"(^|/)a\.b\.js$");
    }
}
