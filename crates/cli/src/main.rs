//! `leakscope`: find memory leaks in Node.js applications.
//! A thin layer over the library crates: argument parsing, progress and output.

#[macro_use]
mod output;
mod commands;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Find memory leaks in Node.js (and any V8) applications.
#[derive(Parser)]
#[command(name = "leakscope", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  leakscope demo\n  leakscope summary app.heapsnapshot --top 20\n  leakscope diff before.heapsnapshot after.heapsnapshot"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Summary(commands::summary::Args),
    Dominators(commands::dominators::Args),
    Retainers(commands::retainers::Args),
    Diff(commands::diff::Args),
    Stats(commands::stats::Args),
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Summary(a) => commands::summary::run(a),
        Command::Dominators(a) => commands::dominators::run(a),
        Command::Retainers(a) => commands::retainers::run(a),
        Command::Diff(a) => commands::diff::run(a),
        Command::Stats(a) => commands::stats::run(a),
        Command::Demo(a) => commands::demo::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            output::error_line(&e);
            ExitCode::from(2)
        }
    }
}
