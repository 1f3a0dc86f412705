//! Opening inputs and writing results: stdin or files (gzip and zstd detected, Parquet read
//! as JSON lines), stdout that ends quietly on a closed pipe, JSON files, the progress bar.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rumor_triage::{is_parquet, open_reader, parquet_lines, Error, FieldPath, Fields};

/// Counts the bytes read through it, for the progress bar.
struct Counting<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened input: the reader, the size when known, and a counter of raw bytes read.
pub(crate) type Input = (Box<dyn BufRead>, Option<u64>, Arc<AtomicU64>);

/// Opens a file or stdin (`-`), decompressed when it starts with the gzip or zstd magic.
pub(crate) fn open_input(input: &str) -> Result<Input, Error> {
    open_dump(input, None)
}

/// [`open_input`] for a dump of posts: a Parquet file becomes JSON lines of the columns
/// `fields` and `kept` name.
pub(crate) fn open_dump(
    input: &str,
    columns: Option<(&Fields, &[FieldPath])>,
) -> Result<Input, Error> {
    let bytes = Arc::new(AtomicU64::new(0));
    if let (Some((fields, kept)), false) = (columns, input == "-") {
        if is_parquet(input) {
            let file = File::open(input).map_err(|e| Error::io(input, e))?;
            let size = file.metadata().ok().map(|m| m.len());
            let lines = parquet_lines(file, fields, kept)?;
            return Ok((Box::new(lines), size, bytes));
        }
    }
    let (raw, size): (Box<dyn Read>, Option<u64>) = if input == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = File::open(input).map_err(|e| Error::io(input, e))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let counting = Counting {
        inner: raw,
        bytes: Arc::clone(&bytes),
    };
    let reader = open_reader(BufReader::with_capacity(1 << 16, counting))?;
    Ok((reader, size, bytes))
}

/// A progress bar on stderr, only when stderr is a terminal and `--quiet` is not given.
pub(crate) fn progress_bar(quiet: bool, size: Option<u64>) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(total) => indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {percent:>3}% {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        ),
        None => indicatif::ProgressBar::new_spinner(),
    };
    Some(bar)
}

/// Writes `text` to stdout. A closed pipe comes back as an error that `main` turns into a
/// quiet exit, where `print!` would panic.
pub(crate) fn print(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Writes `value` as pretty JSON with a final newline to `path`.
pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}
