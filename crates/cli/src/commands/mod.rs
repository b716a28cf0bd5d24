//! One module per subcommand; each has `Args` (clap) and `run`.

pub mod cache;
pub mod clear;
pub mod diff;
pub mod dominators;
pub mod eval;
pub mod find_leaks;
pub mod gc;
pub mod gc_log;
pub mod hunt;
pub mod jit;
pub mod load;
pub mod mcp;
pub mod record;
pub mod retainers;
pub mod sample;
pub mod serve;
pub mod set_source;
pub mod snapshot;
pub mod stats;
pub mod summary;
pub mod timeline;
pub mod watch;
