//! Reads a V8 log and prints what it holds and how fast it was read:
//! `cargo run --release -p leakscope-v8log --example read -- v8.log`
//! (the parser benchmark in `bench/v8log.sh`).
#![allow(clippy::print_stdout, reason = "an example prints its results")]

use std::time::Instant;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: read V8_LOG");
    let started = Instant::now();
    let file = std::fs::File::open(&path)?;
    let bytes = file.metadata()?.len();
    let report = leakscope_v8log::read(file)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} lines ({} unreadable), {} functions, {} deopt sites, {} IC sites ({} megamorphic): \
         {:.0} MB in {seconds:.2} s = {:.0} MB/s",
        report.lines,
        report.unreadable_lines,
        report.functions.len(),
        report.deopts.len(),
        report.ic_sites.len(),
        report
            .ic_sites
            .iter()
            .filter(|s| s.worst.is_megamorphic())
            .count(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / seconds,
    );
    Ok(())
}
