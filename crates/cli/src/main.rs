//! `leakscope`: find memory leaks in Node.js applications.
//! A thin layer over the library crates: argument parsing, progress and output.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the CLI is the face that owns the terminal: its tables, --json and messages"
)]

#[macro_use]
mod output;
mod atomic;
mod capture;
mod commands;
mod finding_view;
mod gate;
mod gc_report;
mod hints;
mod jit_view;
mod live;
mod plot;
mod positions;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Find memory leaks in Node.js (and any V8) applications.
#[derive(Parser)]
#[command(name = "leakscope", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  leakscope hunt\n  leakscope hunt -- node server.js\n  leakscope summary app.heapsnapshot --top 20\n  leakscope diff before.heapsnapshot after.heapsnapshot"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Hunt(commands::hunt::Args),
    FindLeaks(commands::find_leaks::Args),
    Jit(commands::jit::Args),
    Summary(commands::summary::Args),
    Dominators(commands::dominators::Args),
    Retainers(commands::retainers::Args),
    Diff(commands::diff::Args),
    Stats(commands::stats::Args),
    Snapshot(commands::snapshot::Args),
    Gc(commands::gc::Args),
    Eval(commands::eval::Args),
    Clear(commands::clear::Args),
    Watch(commands::watch::Args),
    Record(commands::record::Args),
    Timeline(commands::timeline::Args),
    Sample(commands::sample::Args),
    SetSource(commands::set_source::Args),
    Load(commands::load::Args),
    GcLog(commands::gc_log::Args),
    Serve(commands::serve::Args),
    Mcp(commands::mcp::Args),
    Cache(commands::cache::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Summary(a) => commands::summary::run(a),
        Command::Dominators(a) => commands::dominators::run(a),
        Command::Retainers(a) => commands::retainers::run(a),
        Command::Diff(a) => commands::diff::run(a),
        Command::Stats(a) => commands::stats::run(a),
        Command::Snapshot(a) => commands::snapshot::run(a),
        Command::Gc(a) => commands::gc::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::Clear(a) => commands::clear::run(a),
        Command::Watch(a) => commands::watch::run(a),
        Command::Record(a) => commands::record::run(a),
        Command::Timeline(a) => commands::timeline::run(a),
        Command::Sample(a) => commands::sample::run(a),
        Command::SetSource(a) => commands::set_source::run(a),
        Command::Load(a) => commands::load::run(a),
        Command::GcLog(a) => commands::gc_log::run(a),
        Command::Hunt(a) => commands::hunt::run(a),
        Command::FindLeaks(a) => commands::find_leaks::run(a),
        Command::Jit(a) => commands::jit::run(a),
        Command::Serve(a) => commands::serve::run(a),
        Command::Mcp(a) => commands::mcp::run(a),
        Command::Cache(a) => commands::cache::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.is::<live::Interrupted>() => {
            eprintln!("leakscope: interrupted; the target was left as it was found");
            ExitCode::from(130)
        }
        Err(e) => {
            let message = hints::error(&e, output::error_text(&e));
            eprintln!("leakscope: error: {message}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// clap checks this only in debug builds, and the tests run in release:
    /// two options sharing an id or a flag silently share one value.
    #[test]
    fn every_subcommand_has_distinct_options() {
        let mut cli = Cli::command();
        cli.build();
        for command in cli.get_subcommands() {
            let name = command.get_name();
            let mut ids = std::collections::HashSet::new();
            let mut flags = std::collections::HashSet::new();
            for arg in command.get_arguments() {
                assert!(
                    ids.insert(arg.get_id().clone()),
                    "{name}: id {}",
                    arg.get_id()
                );
                if let Some(long) = arg.get_long() {
                    assert!(flags.insert(format!("--{long}")), "{name}: --{long}");
                }
                if let Some(short) = arg.get_short() {
                    assert!(flags.insert(format!("-{short}")), "{name}: -{short}");
                }
            }
        }
    }
}
