//! Reading a dump: records one at a time (JSONL lines or CSV records, gzip detected),
//! numbered by the line they start on, and the fields the scorer needs picked out of each
//! without building a JSON tree.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::BufRead;
use std::rc::Rc;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{RejectReason, StreamOptions};
use crate::error::Error;

/// Which JSON fields hold what.
///
/// ```
/// let fields = rumor_triage::Fields::default().account("user");
/// assert_eq!((fields.text.as_str(), fields.account.as_str()), ("text", "user"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fields {
    /// Post id (default `id`).
    pub id: String,
    /// Post text (default `text`).
    pub text: String,
    /// Label, for training and evaluation (default `label`).
    pub label: String,
    /// Posting account (default `account`).
    pub account: String,
    /// Platform (default `platform`).
    pub platform: String,
    /// Posting time, ISO-8601 (default `time`).
    pub time: String,
}

/// Setters, each naming the field (a JSON key or a CSV column) that holds one thing.
impl Fields {
    /// The post id's field.
    pub fn id(mut self, name: impl Into<String>) -> Self {
        self.id = name.into();
        self
    }

    /// The post text's field.
    pub fn text(mut self, name: impl Into<String>) -> Self {
        self.text = name.into();
        self
    }

    /// The label's field (training and evaluation).
    pub fn label(mut self, name: impl Into<String>) -> Self {
        self.label = name.into();
        self
    }

    /// The posting account's field.
    pub fn account(mut self, name: impl Into<String>) -> Self {
        self.account = name.into();
        self
    }

    /// The platform's field.
    pub fn platform(mut self, name: impl Into<String>) -> Self {
        self.platform = name.into();
        self
    }

    /// The posting time's field.
    pub fn time(mut self, name: impl Into<String>) -> Self {
        self.time = name.into();
        self
    }
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            id: "id".into(),
            text: "text".into(),
            label: "label".into(),
            account: "account".into(),
            platform: "platform".into(),
            time: "time".into(),
        }
    }
}

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

/// A JSON value as the scorer needs it: a string (borrowed from the line when it has no
/// escapes), a number in its JSON spelling, or anything else (skipped).
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Number(String),
    Other,
}

impl<'a> Scalar<'a> {
    fn into_text(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Text(s) => Some(s),
            Scalar::Number(n) => Some(Cow::Owned(n)),
            Scalar::Other => None,
        }
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(
            serde_json::Number::from_f64(v)
                .map_or(Scalar::Other, |n| Scalar::Number(n.to_string())),
        )
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// The configured fields of one JSONL object; the rest of the object is skipped unbuilt.
#[derive(Default)]
struct LineFields<'a> {
    text: Option<Scalar<'a>>,
    id: Option<Scalar<'a>>,
    account: Option<Scalar<'a>>,
    platform: Option<Scalar<'a>>,
    time: Option<Scalar<'a>>,
}

/// Parses a line into [`LineFields`], picking out the fields named in `Fields`.
struct LineSeed<'f>(&'f Fields);

impl<'de> DeserializeSeed<'de> for LineSeed<'_> {
    type Value = LineFields<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LineSeed<'_> {
    type Value = LineFields<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let f = self.0;
        let mut out = LineFields::default();
        while let Some(Scalar::Text(key)) = map.next_key::<Scalar<'de>>()? {
            let slot = if key == f.text.as_str() {
                &mut out.text
            } else if key == f.id.as_str() {
                &mut out.id
            } else if key == f.account.as_str() {
                &mut out.account
            } else if key == f.platform.as_str() {
                &mut out.platform
            } else if key == f.time.as_str() {
                &mut out.time
            } else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            *slot = Some(map.next_value::<Scalar<'de>>()?);
        }
        Ok(out)
    }
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

/// Where the configured fields sit in a CSV header.
#[derive(Clone)]
pub(crate) struct CsvColumns {
    text: usize,
    id: Option<usize>,
    account: Option<usize>,
    platform: Option<usize>,
    time: Option<usize>,
}

/// The fields of one record that the scorer uses, borrowed from the line where they
/// have no escapes.
pub(crate) struct Extracted<'a> {
    pub(crate) text: Cow<'a, str>,
    pub(crate) id: Option<Cow<'a, str>>,
    pub(crate) account: Option<Cow<'a, str>>,
    pub(crate) platform: Option<Cow<'a, str>>,
    pub(crate) time: Option<Cow<'a, str>>,
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
                let f = &options.fields;
                let find = |name: &str| header.iter().position(|h| h == name.as_bytes());
                let text =
                    find(&f.text).ok_or_else(|| missing_column(name, &header, "text", &f.text))?;
                let columns = CsvColumns {
                    text,
                    id: find(&f.id),
                    account: find(&f.account),
                    platform: find(&f.platform),
                    time: find(&f.time),
                };
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

pub(crate) fn extract_json<'a>(
    options: &StreamOptions,
    bytes: &'a [u8],
) -> Result<Extracted<'a>, Rejection> {
    // Every line is validated whole before parsing; the SIMD validator costs about a seventh
    // of the instructions of `std::str::from_utf8` on the mixed Chinese and English dump.
    let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
        return Err(Rejection(
            RejectReason::InvalidUtf8,
            "line is not valid UTF-8".into(),
        ));
    };
    let mut parser = serde_json::Deserializer::from_str(text);
    let parsed = LineSeed(&options.fields)
        .deserialize(&mut parser)
        .and_then(|fields| parser.end().map(|()| fields));
    let fields = match parsed {
        Ok(fields) => fields,
        Err(e) if e.is_data() && e.to_string().starts_with("invalid type") => {
            return Err(Rejection(
                RejectReason::BadJson,
                "line is not a JSON object".into(),
            ))
        }
        Err(e) => return Err(Rejection(RejectReason::BadJson, e.to_string())),
    };
    let Some(Scalar::Text(body)) = fields.text else {
        return Err(Rejection(
            RejectReason::MissingText,
            format!("field {:?} is missing or not a string", options.fields.text),
        ));
    };
    Ok(Extracted {
        text: body,
        id: fields.id.and_then(Scalar::into_text),
        account: fields.account.and_then(Scalar::into_text),
        platform: fields.platform.and_then(Scalar::into_text),
        time: fields.time.and_then(Scalar::into_text),
    })
}

pub(crate) fn extract_csv<'a>(
    options: &StreamOptions,
    columns: &CsvColumns,
    record: &'a csv::ByteRecord,
) -> Result<Extracted<'a>, Rejection> {
    let field = |column: Option<usize>, name: &str| -> Result<Option<&'a str>, Rejection> {
        match column.and_then(|c| record.get(c)) {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes).map(Some).map_err(|_| {
                Rejection(
                    RejectReason::InvalidUtf8,
                    format!("column {name:?} is not valid UTF-8"),
                )
            }),
        }
    };
    let f = &options.fields;
    let Some(text) = field(Some(columns.text), &f.text)? else {
        return Err(Rejection(
            RejectReason::MissingText,
            format!(
                "record has {} fields, so no text column {:?}",
                record.len(),
                f.text
            ),
        ));
    };
    let owned = |v: Option<&'a str>| v.filter(|s| !s.is_empty()).map(Cow::Borrowed);
    Ok(Extracted {
        text: Cow::Borrowed(text),
        id: owned(field(columns.id, &f.id)?),
        account: owned(field(columns.account, &f.account)?),
        platform: owned(field(columns.platform, &f.platform)?),
        time: owned(field(columns.time, &f.time)?),
    })
}

/// Wraps `reader` in a gzip decoder when its first bytes are the gzip magic (`1f 8b`), so
/// compressed and plain dumps are read alike (concatenated gzip members included).
///
/// ```
/// use std::io::{Read, Write};
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(b"{\"text\":\"hi\"}\n").unwrap();
/// let compressed = gz.finish().unwrap();
/// let mut plain = String::new();
/// rumor_triage::open_reader(std::io::Cursor::new(compressed)).unwrap().read_to_string(&mut plain).unwrap();
/// assert_eq!(plain, "{\"text\":\"hi\"}\n");
/// ```
pub fn open_reader<'a>(mut reader: impl BufRead + 'a) -> Result<Box<dyn BufRead + 'a>, Error> {
    let head = reader.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}
