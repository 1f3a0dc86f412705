//! Reading a dump: records one at a time (JSONL lines or CSV records; gzip and zstd
//! detected by their magic bytes, other archive formats refused by name), numbered by the
//! line they start on, and the fields the scorer needs picked out of each.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::BufRead;
use std::rc::Rc;

use super::fields::{top_keys, FieldPath, Fields, Picker, Role, NOTICE_KEYS};
use super::{RejectReason, StreamOptions};
use crate::error::Error;

/// How the records of a dump are written.
///
/// ```
/// use rumor_triage::InputFormat;
/// assert_eq!(InputFormat::from_path("posts.csv.gz"), InputFormat::Csv);
/// assert_eq!(InputFormat::from_path("posts.jsonl"), InputFormat::Jsonl);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InputFormat {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// Comma-separated values with a header row naming the fields (RFC 4180 quoting, so a
    /// quoted field may span lines; a record is numbered by the line it starts on).
    Csv,
}

impl InputFormat {
    /// CSV for a path ending in `.csv` or `.csv.gz` (any case), JSONL otherwise.
    ///
    /// ```
    /// assert_eq!(rumor_triage::InputFormat::from_path("-"), rumor_triage::InputFormat::Jsonl);
    /// ```
    pub fn from_path(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".csv.gz") {
            InputFormat::Csv
        } else {
            InputFormat::Jsonl
        }
    }
}

pub(crate) enum Line {
    /// The line's bytes are `start..end` of its chunk's byte buffer.
    Span {
        start: usize,
        end: usize,
    },
    TooLong(usize),
}

/// Reads one line (without its `\n`, and without a trailing `\r`) onto the end of `buf`,
/// keeping at most `max` bytes; longer lines are consumed to their end and reported as too
/// long. Also returns the bytes consumed, line end included, so byte offsets stay exact with
/// CRLF. The lines of a chunk share `buf`, so reading costs no allocation per line.
fn read_line_bounded(
    reader: &mut impl BufRead,
    max: usize,
    buf: &mut Vec<u8>,
) -> Result<Option<(Line, u64)>, Error> {
    let start = buf.len();
    let mut total = 0usize;
    let mut consumed = 0u64;
    let mut any = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            break;
        }
        any = true;
        let (used, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        let content = if done {
            available.get(..used - 1).unwrap_or_default()
        } else {
            available
        };
        total += content.len();
        consumed += used as u64;
        if total <= max {
            buf.extend_from_slice(content);
        }
        reader.consume(used);
        if done {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if total > max {
        buf.truncate(start);
        return Ok(Some((Line::TooLong(total), consumed)));
    }
    if buf.len() > start && buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let end = buf.len();
    Ok(Some((Line::Span { start, end }, consumed)))
}

/// The records of one chunk, with the bytes of its JSONL lines in one buffer. Two chunks
/// are reused in turn for the whole run: with a fresh buffer of about a megabyte per chunk,
/// peak memory grew with the dump (51 MiB for 1,000,000 posts against 46 MiB for 100,000,
/// two threads), and with the two reused it is 45 and 44 MiB.
#[derive(Default)]
pub(crate) struct Chunk {
    pub(crate) records: Vec<(u64, u64, Raw)>,
    pub(crate) bytes: Vec<u8>,
}

/// One record as read, before parsing.
pub(crate) enum Raw {
    Line(Line),
    Csv(csv::ByteRecord),
}

/// Where the configured fields sit in a CSV header: for each field, the columns of its
/// paths that the header has, in fallback order.
#[derive(Clone)]
pub(crate) struct CsvColumns {
    text: Vec<usize>,
    id: Vec<usize>,
    account: Vec<usize>,
    platform: Vec<usize>,
    time: Vec<usize>,
    kept: Vec<Option<usize>>,
}

impl CsvColumns {
    /// The columns of `fields` and `kept` in `header`; the text must have one.
    fn new(
        name: &str,
        header: &csv::ByteRecord,
        fields: &Fields,
        kept: &[FieldPath],
    ) -> Result<Self, Error> {
        let find = |path: &FieldPath| -> Vec<usize> {
            path.columns()
                .filter_map(|c| header.iter().position(|h| h == c.as_bytes()))
                .collect()
        };
        let text = find(&fields.text);
        if text.is_empty() {
            return Err(missing_column(name, header, "text", fields.text.as_str()));
        }
        Ok(Self {
            text,
            id: find(&fields.id),
            account: find(&fields.account),
            platform: find(&fields.platform),
            time: find(&fields.time),
            kept: kept.iter().map(|k| find(k).first().copied()).collect(),
        })
    }
}

/// The fields of one record that the scorer uses, borrowed from the line where they
/// have no escapes; kept fields as JSON.
pub(crate) struct Extracted<'a> {
    pub(crate) text: Cow<'a, str>,
    pub(crate) id: Option<Cow<'a, str>>,
    pub(crate) account: Option<Cow<'a, str>>,
    pub(crate) platform: Option<Cow<'a, str>>,
    pub(crate) time: Option<Cow<'a, str>>,
    pub(crate) kept: Vec<Option<Cow<'a, str>>>,
}

/// Reads records one at a time, numbering each by the line it starts on.
pub(crate) enum Source<R: BufRead> {
    Jsonl {
        reader: R,
        offset: u64,
        line: u64,
    },
    Csv {
        header: csv::ByteRecord,
        reader: Box<csv::Reader<NewlineTap<R>>>,
        columns: CsvColumns,
        record: csv::ByteRecord,
        newlines: Rc<RefCell<VecDeque<(u64, bool)>>>,
        lines_before: u64,
    },
}

/// Notes the byte offset of every `\r` and `\n` read through it (with whether it is a
/// `\n`), so a CSV record's first line and byte can be told exactly: the csv crate reports
/// a record as starting where the previous one ended, before the blank lines and the `\n`
/// of a CRLF that it skips. Only the line ends the CSV reader has read ahead are held.
pub(crate) struct NewlineTap<R> {
    inner: R,
    position: u64,
    newlines: Rc<RefCell<VecDeque<(u64, bool)>>>,
}

impl<R: BufRead> std::io::Read for NewlineTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut newlines = self.newlines.borrow_mut();
        for (i, &b) in buf.iter().take(n).enumerate() {
            if b == b'\n' || b == b'\r' {
                newlines.push_back((self.position + i as u64, b == b'\n'));
            }
        }
        self.position += n as u64;
        Ok(n)
    }
}

fn csv_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::Stream(io),
        other => Error::input(format!("CSV: {other:?}")),
    }
}

/// The error for a CSV header without a column the run needs.
pub(crate) fn missing_column(
    name: &str,
    header: &csv::ByteRecord,
    role: &str,
    column: &str,
) -> Error {
    Error::MissingColumn {
        path: name.to_owned(),
        role: role.to_owned(),
        column: column.to_owned(),
        columns: header
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect(),
    }
}

impl<R: BufRead> Source<R> {
    /// A reader of `input`; `name` (a path, or `input`) names it in errors.
    pub(crate) fn new(input: R, name: &str, options: &StreamOptions) -> Result<Self, Error> {
        match options.format {
            InputFormat::Jsonl => Ok(Source::Jsonl {
                reader: input,
                offset: 0,
                line: 0,
            }),
            InputFormat::Csv => {
                let newlines = Rc::new(RefCell::new(VecDeque::new()));
                let tap = NewlineTap {
                    inner: input,
                    position: 0,
                    newlines: Rc::clone(&newlines),
                };
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(true)
                    .has_headers(true)
                    .from_reader(tap);
                let header = reader.byte_headers().map_err(csv_error)?.clone();
                let columns = CsvColumns::new(name, &header, &options.fields, &options.keep)?;
                Ok(Source::Csv {
                    header,
                    columns,
                    reader: Box::new(reader),
                    record: csv::ByteRecord::new(),
                    newlines,
                    lines_before: 0,
                })
            }
        }
    }

    /// The CSV header row (`None` for JSONL).
    pub(crate) fn header(&self) -> Option<&csv::ByteRecord> {
        match self {
            Source::Jsonl { .. } => None,
            Source::Csv { header, .. } => Some(header),
        }
    }

    pub(crate) fn columns(&self) -> Option<&CsvColumns> {
        match self {
            Source::Jsonl { .. } => None,
            Source::Csv { columns, .. } => Some(columns),
        }
    }

    /// The next record with its line number and byte offset, or `None` at the end; a JSONL
    /// line's bytes go onto the end of `bytes`.
    pub(crate) fn next(
        &mut self,
        max_bytes: usize,
        bytes: &mut Vec<u8>,
    ) -> Result<Option<(u64, u64, Raw)>, Error> {
        match self {
            Source::Jsonl {
                reader,
                offset,
                line,
            } => {
                let Some((mut read, consumed)) = read_line_bounded(reader, max_bytes, bytes)?
                else {
                    return Ok(None);
                };
                let mut start = *offset;
                *offset += consumed;
                *line += 1;
                // A UTF-8 byte-order mark opens many exported files; it is not part of the
                // first record.
                if let (1, Line::Span { start: first, end }) = (*line, &mut read) {
                    if bytes
                        .get(*first..*end)
                        .is_some_and(|b| b.starts_with(b"\xef\xbb\xbf"))
                    {
                        *first += 3;
                        start += 3;
                    }
                }
                Ok(Some((*line, start, Raw::Line(read))))
            }
            Source::Csv {
                reader,
                record,
                newlines,
                lines_before,
                ..
            } => {
                if !reader.read_byte_record(record).map_err(csv_error)? {
                    return Ok(None);
                }
                let mut offset = record.position().map_or(0, csv::Position::byte);
                let mut newlines = newlines.borrow_mut();
                while let Some(&(at, is_newline)) = newlines.front() {
                    if at > offset {
                        break;
                    }
                    if at == offset {
                        offset += 1;
                    }
                    newlines.pop_front();
                    *lines_before += u64::from(is_newline);
                }
                let line = *lines_before + 1;
                let len = record.as_slice().len() + record.len().saturating_sub(1);
                let raw = if len > max_bytes {
                    Raw::Line(Line::TooLong(len))
                } else {
                    Raw::Csv(record.clone())
                };
                Ok(Some((line, offset, raw)))
            }
        }
    }
}

/// Why a record is not scored, with the detail for its reject line.
pub(crate) struct Rejection(pub(crate) RejectReason, pub(crate) String);

/// A record that is not a post to score.
pub(crate) enum NotPost {
    /// Rejected: an error in the record.
    Rejected(Rejection),
    /// Skipped for the stated kind: `blank`, or a stream notice's key (`delete`, `limit`).
    Skipped(&'static str),
}

impl From<Rejection> for NotPost {
    fn from(r: Rejection) -> Self {
        NotPost::Rejected(r)
    }
}

/// The picker of the scorer's fields and kept paths.
pub(crate) fn scoring_picker(fields: &Fields, kept: &[FieldPath]) -> Picker {
    Picker::new(
        &[
            (Role::Text, &fields.text),
            (Role::Id, &fields.id),
            (Role::Account, &fields.account),
            (Role::Platform, &fields.platform),
            (Role::Time, &fields.time),
        ],
        kept,
    )
}

pub(crate) fn extract_json<'a>(
    picker: &Picker,
    fields: &Fields,
    bytes: &'a [u8],
) -> Result<Extracted<'a>, NotPost> {
    // Every line is validated whole before parsing; the SIMD validator costs about a seventh
    // of the instructions of `std::str::from_utf8` on the mixed Chinese and English dump.
    let Ok(line) = simdutf8::basic::from_utf8(bytes) else {
        return Err(Rejection(RejectReason::InvalidUtf8, "line is not valid UTF-8".into()).into());
    };
    let mut picks = match picker.pick(line) {
        Ok(picks) => picks,
        Err(_) if line.trim().is_empty() => return Err(NotPost::Skipped("blank")),
        Err(e) if e.is_data() && e.to_string().starts_with("invalid type") => {
            return Err(Rejection(RejectReason::BadJson, "line is not a JSON object".into()).into())
        }
        Err(e) => return Err(Rejection(RejectReason::BadJson, e.to_string()).into()),
    };
    let Some(text) = picks.text(Role::Text) else {
        let keys = top_keys(line);
        if let Some(notice) = NOTICE_KEYS
            .iter()
            .find(|k| keys.iter().any(|key| key == *k))
        {
            return Err(NotPost::Skipped(notice));
        }
        return Err(Rejection(
            RejectReason::MissingText,
            format!(
                "no string at {:?}; the record has the fields {}",
                fields.text.as_str(),
                keys.join(", ")
            ),
        )
        .into());
    };
    Ok(Extracted {
        text,
        id: picks.value(Role::Id),
        account: picks.value(Role::Account),
        platform: picks.value(Role::Platform),
        time: picks.value(Role::Time),
        kept: picks.kept(),
    })
}

pub(crate) fn extract_csv<'a>(
    options: &StreamOptions,
    columns: &CsvColumns,
    record: &'a csv::ByteRecord,
) -> Result<Extracted<'a>, NotPost> {
    let cell = |column: usize| -> Result<Option<&'a str>, Rejection> {
        match record.get(column) {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes).map(Some).map_err(|_| {
                Rejection(
                    RejectReason::InvalidUtf8,
                    format!("column {} is not valid UTF-8", column + 1),
                )
            }),
        }
    };
    // The first non-empty cell among the field's columns.
    let first = |candidates: &[usize]| -> Result<Option<Cow<'a, str>>, Rejection> {
        for &c in candidates {
            if let Some(v) = cell(c)?.filter(|v| !v.is_empty()) {
                return Ok(Some(Cow::Borrowed(v)));
            }
        }
        Ok(None)
    };
    let text = match first(&columns.text)? {
        Some(text) => text,
        None => match columns
            .text
            .iter()
            .map(|&c| cell(c))
            .find_map(Result::transpose)
        {
            Some(empty) => Cow::Borrowed(empty?),
            None => {
                return Err(Rejection(
                    RejectReason::MissingText,
                    format!(
                        "record has {} fields, so no text column {:?}",
                        record.len(),
                        options.fields.text.as_str()
                    ),
                )
                .into())
            }
        },
    };
    let kept = columns
        .kept
        .iter()
        .map(|c| {
            Ok(match c {
                Some(c) => cell(*c)?.map(|v| Cow::Owned(serde_json::Value::from(v).to_string())),
                None => None,
            })
        })
        .collect::<Result<_, Rejection>>()?;
    Ok(Extracted {
        text,
        id: first(&columns.id)?,
        account: first(&columns.account)?,
        platform: first(&columns.platform)?,
        time: first(&columns.time)?,
        kept,
    })
}

/// Formats recognised by their first bytes that this build does not read, with what to do.
const UNREADABLE: [(&[u8], &str, &str); 6] = [
    (
        b"BZh",
        "bzip2",
        "decompress it first (bzip2 -dc FILE | rumor-triage score -)",
    ),
    (
        b"\xfd7zXZ\x00",
        "xz",
        "decompress it first (xz -dc FILE | rumor-triage score -)",
    ),
    (
        b"PK\x03\x04",
        "a ZIP archive",
        "extract the dump from it first",
    ),
    (
        b"7z\xbc\xaf\x27\x1c",
        "a 7-Zip archive",
        "extract the dump from it first",
    ),
    (
        b"\x04\x22\x4d\x18",
        "lz4",
        "decompress it first (lz4 -dc FILE)",
    ),
    (
        b"PAR1",
        "Parquet",
        "pass it by path to a build with the `parquet` feature (the command line has it)",
    ),
];

/// zstd frames (`28 b5 2f fd`) and skippable frames (`5? 2a 4d 18`, as pzstd writes first).
fn is_zstd(head: &[u8]) -> bool {
    head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || matches!(head, [first, 0x2a, 0x4d, 0x18, ..] if first & 0xf0 == 0x50)
}

/// Wraps `reader` in a decoder when its first bytes are gzip (`1f 8b`; concatenated members
/// included) or zstd (windows up to 2 GiB, as Pushshift's dumps need), so compressed and plain
/// dumps are read alike. An archive format it does not read (bzip2, xz, ZIP, 7-Zip, lz4,
/// Parquet) is an [`Error::UnreadableFormat`] naming it.
///
/// ```
/// use std::io::{Read, Write};
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(b"{\"text\":\"hi\"}\n").unwrap();
/// let compressed = gz.finish().unwrap();
/// let mut plain = String::new();
/// rumor_triage::open_reader(std::io::Cursor::new(compressed)).unwrap().read_to_string(&mut plain).unwrap();
/// assert_eq!(plain, "{\"text\":\"hi\"}\n");
/// let xz = rumor_triage::open_reader(&b"\xfd7zXZ\x00\x00"[..]).err().unwrap();
/// assert!(xz.to_string().contains("xz"));
/// ```
pub fn open_reader<'a>(mut reader: impl BufRead + 'a) -> Result<Box<dyn BufRead + 'a>, Error> {
    let head = reader.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(reader),
        )));
    }
    if is_zstd(head) {
        let mut decoder = zstd::stream::read::Decoder::with_buffer(reader)?;
        decoder.window_log_max(31)?;
        return Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            decoder,
        )));
    }
    if let Some((_, format, hint)) = UNREADABLE
        .iter()
        .find(|(magic, _, _)| head.starts_with(magic))
    {
        return Err(Error::UnreadableFormat {
            format: (*format).to_owned(),
            hint: (*hint).to_owned(),
        });
    }
    Ok(Box::new(reader))
}
