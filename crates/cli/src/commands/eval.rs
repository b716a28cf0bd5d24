use std::process::ExitCode;
use std::time::Duration;

use leakscope_report::live::Evaluated;
use leakscope_report::Document;
use leakscope_usecase::live;

use crate::live::{block_on, with_target, TargetArgs};
use crate::progress::Terminal;

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
    #[arg(value_name = "EXPR", required_unless_present = "json_schema")]
    pub expression: Option<String>,
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
    /// Print the JSON Schema of --json's output and exit
    #[arg(long, exclusive = true)]
    pub json_schema: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json_schema {
        return crate::output::schema::<Evaluated>();
    }
    let expression = crate::output::given(&args.expression, "EXPR")?;
    let at = args.at.as_deref().map(parse_at).transpose()?;
    let mut terminal = Terminal::new(args.json);
    let value = block_on(with_target(
        &args.target.resolve()?,
        async |target| match &at {
            None => Ok(target.client.evaluate(expression, true).await?.display()),
            Some((file, line)) => Ok(live::eval_at(
                &target.client,
                file,
                *line,
                expression,
                Duration::from_secs(args.timeout),
                &mut terminal,
            )
            .await?),
        },
        async |client| {
            if at.is_some() {
                live::eval_at_cleanup(client).await;
            } else {
                let _ = client.release_object_group().await;
            }
        },
    ));
    terminal.bar.finish_and_clear();
    let value = value?;
    if args.json {
        crate::output::json(&Evaluated {
            schema_version: <Evaluated as Document>::SCHEMA_VERSION,
            result: value,
        })?;
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
    }
}
