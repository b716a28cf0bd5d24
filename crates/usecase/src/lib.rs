//! leakscope's use cases: what a face (the CLI, the web server, the MCP
//! server) asks for, from plain specs, with no terminal, HTTP or flags in
//! them. Each face resolves its own input into these specs, calls the use
//! case and renders what comes back.

pub mod find_leaks;
pub mod hunt;
pub mod live;
pub mod report;
pub mod target;

pub use target::{block_on, with_shared_target, with_target, Failure, Interrupted, Target};
