//! Output files appear whole or not at all (see
//! [`leakscope_inspector::capture::AtomicFile`]).

use std::io::Write;
use std::path::Path;

pub use leakscope_inspector::capture::AtomicFile;

/// Writes `bytes` to `dest` atomically.
pub fn write(dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = AtomicFile::create(dest)?;
    file.write_all(bytes)?;
    file.commit()?;
    Ok(())
}
