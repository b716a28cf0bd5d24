//! `--no-source-maps` and `--generated-positions`: how every command that
//! prints a position in the application's code prints it.

use leakscope_sourcemap::{Positions, SourceMaps};

/// How positions in compiled code are printed.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SourceMapArgs {
    /// Print positions as V8 gives them, in the scripts that ran, without
    /// reading their source maps
    #[arg(long)]
    pub no_source_maps: bool,
    /// After each position taken from a source map, print the compiled
    /// position it came from (`--json` always keeps both)
    #[arg(long, conflicts_with = "no_source_maps")]
    pub generated_positions: bool,
}

impl SourceMapArgs {
    pub fn positions(&self) -> Positions {
        self.positions_for(None)
    }

    /// For a target given by `pid`: scripts and maps this machine cannot
    /// see as named (a process in a container) are read through
    /// `/proc/PID/root`.
    pub fn positions_for(&self, pid: Option<u32>) -> Positions {
        if self.no_source_maps {
            return Positions::compiled();
        }
        let maps = match pid {
            Some(pid) => SourceMaps::new().with_root(format!("/proc/{pid}/root")),
            None => SourceMaps::new(),
        };
        Positions::mapped(maps, self.generated_positions)
    }
}

/// The warnings about maps that could not be used, on stderr (text mode).
pub fn print_warnings(positions: &Positions) {
    for line in positions.warnings() {
        eprintln!("warning: {line}");
    }
}
