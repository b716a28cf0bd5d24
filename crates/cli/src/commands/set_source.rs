use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use leakscope_inspector::Client;

use crate::live::{block_on, with_target, TargetArgs};

/// Replace a loaded script's source in a live process (live edit, as in
/// DevTools' Sources panel): function bodies change for their next call.
#[derive(clap::Args)]
#[command(
    after_help = "What V8 cannot do, and leakscope says so: top-level code never runs again; \
an edit that makes a function use outer variables it did not use before is accepted but the \
running function keeps its old code; adding top-level bindings to an ES module is refused. \
A function running right now blocks the edit for a moment: leakscope retries.\n\n\
Examples:\n  leakscope set-source --pid 4242 --script app.js --file app.fixed.js\n  \
leakscope set-source --port 9229 --script src/server.mjs --file fixed.mjs --dry-run"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The loaded script to replace: its URL, path or file name
    #[arg(long, value_name = "URL")]
    pub script: String,
    /// The new source text
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// Only check that V8 would accept it
    #[arg(long)]
    pub dry_run: bool,
}

/// Listeners of the app's servers that came from the edited script (their
/// text is in the old source) but whose text is not in the new one: V8 kept
/// them on the old code.
const STALE_HANDLERS: &str = r#"(function (before, source) {
  const stale = [];
  for (const h of process._getActiveHandles()) {
    if (!h || typeof h.listeners !== 'function') continue;
    for (const event of ['request', 'connection', 'upgrade']) {
      for (const fn of h.listeners(event)) {
        const text = Function.prototype.toString.call(fn);
        if (before.includes(text) && !source.includes(text)) stale.push(fn.name || '(anonymous ' + event + ' listener)');
      }
    }
  }
  return stale;
})"#;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = std::fs::read_to_string(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let message = block_on(with_target(
        &args.target.resolve()?,
        async |target| edit(&target.client, &args.script, &source, args.dry_run).await,
        async |client| {
            let _ = client.debugger_disable().await;
        },
    ))?;
    outln!("{message}")?;
    Ok(ExitCode::SUCCESS)
}

async fn edit(
    client: &Client,
    script: &str,
    source: &str,
    dry_run: bool,
) -> anyhow::Result<String> {
    let scripts = client.debugger_enable().await?;
    let wanted = script.trim_start_matches("./");
    // The first script with the URL is the live one; earlier edits leave
    // old versions behind under new ids.
    let found = scripts
        .iter()
        .find(|s| s.url == wanted || s.url.ends_with(&format!("/{wanted}")))
        .ok_or_else(|| anyhow::anyhow!("no loaded script matches `{script}`"))?;
    let before = client.get_script_source(&found.script_id).await?;
    let (status, detail) = client
        .set_script_source(&found.script_id, source, true)
        .await?;
    check_status(&status, detail, &found.url)?;
    if dry_run {
        return Ok(format!("V8 would accept the new source of {}", found.url));
    }
    let mut attempt = 0;
    loop {
        let (status, detail) = client
            .set_script_source(&found.script_id, source, false)
            .await?;
        // A function that just ran can block the edit for a moment.
        if status == "BlockedByActiveFunction" && attempt < 10 {
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        check_status(&status, detail, &found.url)?;
        break;
    }
    let check = format!(
        "{STALE_HANDLERS}({}, {})",
        serde_json::to_string(&before)?,
        serde_json::to_string(source)?
    );
    let stale: Vec<String> = client.eval_value(&check).await.unwrap_or_default();
    if !stale.is_empty() {
        anyhow::bail!(
            "V8 accepted the edit of {} but it cannot take effect: {} still run(s) the old code (the edit changes which outer variables a closure uses). Restart the app to apply it",
            found.url,
            stale.join(", ")
        );
    }
    Ok(format!(
        "replaced the source of {}; functions run the new code from their next call (top-level code does not run again)",
        found.url
    ))
}

fn check_status(status: &str, detail: Option<String>, url: &str) -> anyhow::Result<()> {
    match status {
        "Ok" => Ok(()),
        "CompileError" => anyhow::bail!(
            "the new source of {url} does not compile: {}",
            detail.unwrap_or_default()
        ),
        "BlockedByActiveFunction" => anyhow::bail!(
            "a function of {url} is running (or paused) and blocks the edit; try again when the app is idle"
        ),
        "BlockedByTopLevelEsModuleChange" => anyhow::bail!(
            "V8 refuses edits that change an ES module's top-level bindings ({url}); restart the app to apply it"
        ),
        other => anyhow::bail!("V8 refused the edit of {url}: {other}"),
    }
}
