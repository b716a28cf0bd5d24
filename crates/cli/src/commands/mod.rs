//! One module per subcommand; each has `Args` (clap) and `run`.

pub mod demo;
pub mod diff;
pub mod dominators;
pub mod retainers;
pub mod stats;
pub mod summary;
