//! Opening an input: a file or standard input, gzip-compressed or not, as a
//! buffered stream that the parsers read a line or an event at a time, so a
//! snapshot of several GB is never held in memory.
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};

use flate2::read::MultiGzDecoder;

/// The name that stands for standard input on the command line.
pub const STDIN: &str = "-";

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An opened input, decompressed when it is gzip.
pub type Input = Box<dyn BufRead + Send>;

/// Opens `path` (`-` for standard input). Gzip is recognised by its first two
/// bytes rather than the name: snapshots are often renamed, and standard input
/// has no name. Concatenated gzip members (as OpenAlex's `.gz` parts may be)
/// are read through to the end.
pub fn open(path: &str) -> io::Result<Input> {
    if path == STDIN {
        detect_gzip(io::stdin())
    } else {
        detect_gzip(File::open(path)?)
    }
}

/// Reads the first bytes of `source` to choose a decoder, then hands them
/// back in front of the rest, so nothing is lost and nothing is seeked
/// (standard input cannot seek).
pub fn detect_gzip<R: Read + Send + 'static>(mut source: R) -> io::Result<Input> {
    let mut head = Vec::with_capacity(GZIP_MAGIC.len());
    (&mut source).take(GZIP_MAGIC.len() as u64).read_to_end(&mut head)?;
    let is_gzip = head == GZIP_MAGIC;
    let whole = Cursor::new(head).chain(source);
    Ok(if is_gzip { Box::new(BufReader::new(MultiGzDecoder::new(whole))) } else { Box::new(BufReader::new(whole)) })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        let written = encoder.write_all(text.as_bytes());
        assert!(written.is_ok());
        encoder.finish().unwrap_or_default()
    }

    fn read_all(mut input: Input) -> String {
        let mut text = String::new();
        let read = input.read_to_string(&mut text);
        assert!(read.is_ok(), "{read:?}");
        text
    }

    #[test]
    fn gzip_is_detected_by_its_magic_bytes_not_the_file_name() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let misleading = dir.path().join("works.jsonl");
        std::fs::write(&misleading, gzip("{\"id\":\"W1\"}\n{\"id\":\"W2\"}\n"))?;
        let plain_named_gz = dir.path().join("works.jsonl.gz");
        std::fs::write(&plain_named_gz, "{\"id\":\"W3\"}\n")?;

        assert_eq!(read_all(open(&misleading.to_string_lossy())?), "{\"id\":\"W1\"}\n{\"id\":\"W2\"}\n");
        assert_eq!(read_all(open(&plain_named_gz.to_string_lossy())?), "{\"id\":\"W3\"}\n");
        Ok(())
    }

    #[test]
    fn concatenated_gzip_members_are_read_to_the_end() -> io::Result<()> {
        let mut bytes = gzip("first\n");
        bytes.extend(gzip("second\n"));
        assert_eq!(read_all(detect_gzip(Cursor::new(bytes))?), "first\nsecond\n");
        Ok(())
    }

    #[test]
    fn inputs_shorter_than_the_magic_are_read_as_they_are() -> io::Result<()> {
        assert_eq!(read_all(detect_gzip(Cursor::new(Vec::new()))?), "");
        assert_eq!(read_all(detect_gzip(Cursor::new(vec![0x1f]))?), "\u{1f}");
        Ok(())
    }

    #[test]
    fn a_missing_file_is_an_error_to_report() {
        assert!(open("/nonexistent/scholargraph/works.jsonl").is_err());
    }
}
