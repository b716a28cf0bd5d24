//! `leakscope mcp`: the engine and the hunt as Model Context Protocol tools
//! over stdio (see `leakscope-mcp`).

use std::process::ExitCode;
use std::sync::Arc;

/// Serve leakscope's tools to an AI coding agent over the Model Context
/// Protocol (stdio): summary, compare, retainers, dominators, statistics,
/// duplicated strings, find-leaks, hunt, snapshot and timeline.
#[derive(clap::Args)]
#[command(
    after_help = "Started by an MCP client, which talks to it on stdin/stdout; \
nothing else is served. Tool answers contain the app's heap contents (its strings): they \
go to the agent and the model behind it.\n\n\
Examples (client configuration):\n  \
claude mcp add leakscope -- npx -y leakscope mcp\n  \
{\"mcpServers\": {\"leakscope\": {\"command\": \"leakscope\", \"args\": [\"mcp\"]}}}"
)]
pub struct Args {
    #[command(flatten)]
    pub cache: crate::progress::CacheArgs,
    #[command(flatten)]
    pub source_maps: crate::positions::SourceMapArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = leakscope_mcp::Options {
        cache: args.cache.cache(),
        positions: Arc::new(args.source_maps.positions()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(leakscope_mcp::serve_stdio(options))?;
    Ok(ExitCode::SUCCESS)
}
