//! `leakscope mcp`: leakscope's snapshot engine and hunt as Model Context
//! Protocol tools, for AI coding agents, over stdio.
//!
//! Every tool answers in two forms: a short text an agent reads (top rows,
//! sizes in kB/MB) and structured content with the exact numbers. Bad
//! input is a tool error (`isError`), never a crashed server. Snapshots stay
//! analysed between calls (in memory, and in leakscope's analysis cache on
//! disk), so only the first question about a file pays for reading it.
//!
//! Safety: the server speaks only on stdio; it reads only the paths a tool
//! call names, launches only the command a `hunt` call gives, and closes
//! what it opened in a target (the inspector it opened, the GC observer, a
//! launched app). Answers contain heap contents — the app's strings.

mod format;
mod loaded;
mod tools;

use std::sync::Arc;

use leakscope_snapshot::Cache;
use leakscope_sourcemap::Positions;
use rmcp::ServiceExt;

pub use tools::Leakscope;

/// How the server reads snapshots and prints positions.
pub struct Options {
    /// The analysis cache (`None`: analyse every file afresh).
    pub cache: Option<Cache>,
    /// Positions through source maps, or as V8 gives them.
    pub positions: Arc<Positions>,
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("the MCP session could not start")]
    Start(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the MCP session ended with an error")]
    Session(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Serves the tools on stdin/stdout until the client closes the session.
pub async fn serve_stdio(options: Options) -> Result<(), McpError> {
    let server = Leakscope::new(options);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| McpError::Start(Box::new(e)))?;
    running
        .waiting()
        .await
        .map_err(|e| McpError::Session(Box::new(e)))?;
    Ok(())
}
