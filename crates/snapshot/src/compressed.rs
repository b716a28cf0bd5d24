//! Compressed snapshots (`.heapsnapshot.gz`, `.zst`), read as they stream:
//! one thread decompresses into buffers while the caller's thread tokenizes
//! them, so no decompressed copy ever touches the disk and both cores work.
//! The format is told by the first bytes, never by the file name.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// How a file's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    Gzip,
    Zstd,
}

impl Encoding {
    /// Told by the magic number at the start of `head`.
    pub fn of(head: &[u8]) -> Encoding {
        if head.starts_with(&[0x1f, 0x8b]) {
            Encoding::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Encoding::Zstd
        } else {
            Encoding::Plain
        }
    }
}

/// Decompressed bytes handed over per message: big enough that the channel
/// costs nothing, small enough that a few in flight stay in cache.
const CHUNK: usize = 1 << 20;

/// Chunks decompressed ahead of the tokenizer.
const AHEAD: usize = 4;

/// The decompressed stream of `src`, produced on a thread of its own.
/// `compressed_read` counts the compressed bytes consumed so far (progress
/// against the file's size).
pub fn decompressing(
    src: impl Read + Send + 'static,
    encoding: Encoding,
) -> std::io::Result<(ChunkReader, Arc<AtomicU64>)> {
    let compressed_read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: src,
        count: compressed_read.clone(),
    };
    let mut decoder: Box<dyn Read + Send> = match encoding {
        Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::with_capacity(CHUNK, counting),
        )),
        Encoding::Zstd => Box::new(zstd::stream::read::Decoder::new(counting)?),
        Encoding::Plain => Box::new(counting),
    };
    let (send, receive) = sync_channel::<std::io::Result<Vec<u8>>>(AHEAD);
    std::thread::Builder::new()
        .name("decompress".into())
        .spawn(move || loop {
            let mut chunk = vec![0; CHUNK];
            let mut filled = 0;
            let outcome = loop {
                match decoder.read(&mut chunk[filled..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        filled += n;
                        if filled == CHUNK {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            chunk.truncate(filled);
            let done = filled < CHUNK;
            let message = match outcome {
                Ok(()) if filled == 0 => return,
                Ok(()) => Ok(chunk),
                Err(e) => Err(std::io::Error::new(
                    e.kind(),
                    format!("the compressed data is truncated or corrupt ({e})"),
                )),
            };
            let failed = message.is_err();
            // The reader went away (it stopped on an error): stop too.
            if send.send(message).is_err() || failed || done {
                return;
            }
        })?;
    Ok((
        ChunkReader {
            chunks: receive,
            current: Vec::new(),
            pos: 0,
        },
        compressed_read,
    ))
}

/// Reads the chunks the decompressing thread sends, in order.
pub struct ChunkReader {
    chunks: Receiver<std::io::Result<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.current.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    self.current = chunk?;
                    self.pos = 0;
                }
                // The thread finished: end of stream.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(encoding: Encoding, bytes: &[u8]) -> Vec<u8> {
        let compressed = match encoding {
            Encoding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(bytes).unwrap();
                e.finish().unwrap()
            }
            Encoding::Zstd => zstd::encode_all(bytes, 1).unwrap(),
            Encoding::Plain => bytes.to_vec(),
        };
        assert_eq!(Encoding::of(&compressed), encoding);
        let total = compressed.len() as u64;
        let (mut reader, read) = decompressing(std::io::Cursor::new(compressed), encoding).unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(read.load(Ordering::Relaxed), total);
        out
    }

    #[test]
    fn every_encoding_gives_back_the_bytes_across_chunks() {
        // Three and a half chunks of varied bytes.
        let bytes: Vec<u8> = (0..CHUNK * 7 / 2).map(|i| (i * 31 % 251) as u8).collect();
        for encoding in [Encoding::Plain, Encoding::Gzip, Encoding::Zstd] {
            assert_eq!(roundtrip(encoding, &bytes), bytes, "{encoding:?}");
        }
        assert_eq!(roundtrip(Encoding::Gzip, b""), b"");
    }

    #[test]
    fn a_truncated_stream_is_an_error_not_a_shorter_file() {
        let bytes = vec![b'7'; 100_000];
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&bytes).unwrap();
        let mut gz = e.finish().unwrap();
        gz.truncate(gz.len() / 2);
        let (mut reader, _) = decompressing(std::io::Cursor::new(gz), Encoding::Gzip).unwrap();
        let mut out = Vec::new();
        assert!(reader.read_to_end(&mut out).is_err());
    }
}
