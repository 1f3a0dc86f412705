//! Posts, labeled posts, batch labeling and the streaming scorer behind `rumor-triage score`.

use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::time::Instant;

use rayon::prelude::*;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::campaigns::Signature;
use crate::counts::{CleanupCounts, CountsBuilder};
use crate::error::Error;
use crate::io::Fields;
use crate::model::{Model, Score, Workspace};

/// A post to triage.
///
/// ```
/// let post: rumor_triage::Post = serde_json::from_str(r#"{"id":"1","text":"hi","platform":"weibo"}"#).unwrap();
/// assert_eq!(post.platform.as_deref(), Some("weibo"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// The post's id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// The account that posted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The platform it was posted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// When it was posted (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// A post with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labeled<P = Post> {
    /// The post.
    pub post: P,
    /// Its score.
    pub score: Score,
    /// The n-gram sketch of a flagged post, kept by [`Model::label_batch`] so that
    /// [`Model::cleanup_counts`] groups it into campaigns without scoring it again. Not
    /// serialized: a flagged post read back without one is scored again there.
    #[serde(skip)]
    pub sketch: Option<Box<Signature>>,
}

impl Model {
    /// Labels a batch of posts in parallel (rayon), keeping input order.
    ///
    /// ```
    /// use rumor_triage::{Model, Post};
    /// let model = Model::load_default().unwrap();
    /// let posts = vec![
    ///     Post { id: "1".into(), text: "Unconfirmed: shots fired downtown?".into(), ..Default::default() },
    ///     Post { id: "2".into(), text: "今天天气很好".into(), ..Default::default() },
    /// ];
    /// let labeled = model.label_batch(posts).unwrap();
    /// assert_eq!(labeled[1].post.id, "2");
    /// ```
    pub fn label_batch(&self, posts: Vec<Post>) -> Result<Vec<Labeled>, Error> {
        posts
            .into_par_iter()
            .map_init(Workspace::default, |ws, post| {
                let score = self.score_with(&post.text, ws, None)?;
                let sketch = score.flagged.then(|| Box::new(*ws.signature()));
                Ok(Labeled {
                    post,
                    score,
                    sketch,
                })
            })
            .collect()
    }

    /// Aggregates labeled posts into cleanup counts, keeping the `top` busiest accounts and
    /// largest near-duplicate campaigns. A post's campaign id is its 1-based position in
    /// `labeled`. A flagged post is grouped by the sketch [`Model::label_batch`] kept, or,
    /// when it has none (read back from storage), by scoring it again (in parallel).
    ///
    /// ```
    /// use rumor_triage::{Model, Post};
    /// let model = Model::load_default().unwrap();
    /// let text = "BREAKING: unconfirmed reports of a second gunman inside the mall, share!";
    /// let posts: Vec<Post> = (0..3)
    ///     .map(|i| Post { id: i.to_string(), text: format!("{text} {}", "!".repeat(i)), account: Some(format!("a{i}")), ..Default::default() })
    ///     .collect();
    /// let counts = model.cleanup_counts(&model.label_batch(posts).unwrap(), 10);
    /// assert_eq!(counts.total, 3);
    /// assert_eq!(counts.flagged, 3);
    /// assert_eq!((counts.campaigns, counts.top_campaigns[0].accounts), (1, 3));
    /// ```
    pub fn cleanup_counts(&self, labeled: &[Labeled], top: usize) -> CleanupCounts {
        let signatures: Vec<Option<Signature>> = labeled
            .par_iter()
            .map_init(Workspace::default, |ws, l| {
                if !l.score.flagged {
                    return None;
                }
                if let Some(sketch) = &l.sketch {
                    return Some(**sketch);
                }
                self.score_with(&l.post.text, ws, None)
                    .ok()
                    .map(|_| *ws.signature())
            })
            .collect();
        let mut builder = CountsBuilder::new(top);
        for (line, (l, signature)) in (1u64..).zip(labeled.iter().zip(&signatures)) {
            let (account, time) = (l.post.account.as_deref(), l.post.time.as_deref());
            builder.add(
                &l.score.label,
                l.score.flagged,
                account,
                l.post.platform.as_deref(),
                time,
            );
            if let Some(campaign) = signature.and_then(|s| builder.campaign_of(line, &s)) {
                builder.add_to_campaign(campaign, &l.post.id, account, time);
            }
        }
        builder.finish()
    }
}

/// Why a line was not scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line is not a JSON object.
    BadJson,
    /// The text field is missing or not a string.
    MissingText,
    /// The line is longer than the limit.
    TooLong,
    /// The tokenizer failed on the text.
    Tokenizer,
}

impl RejectReason {
    /// All reasons, in report order.
    pub const ALL: [RejectReason; 5] = [
        RejectReason::InvalidUtf8,
        RejectReason::BadJson,
        RejectReason::MissingText,
        RejectReason::TooLong,
        RejectReason::Tokenizer,
    ];
    fn name(self) -> &'static str {
        match self {
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::BadJson => "bad_json",
            RejectReason::MissingText => "missing_text",
            RejectReason::TooLong => "too_long",
            RejectReason::Tokenizer => "tokenizer",
        }
    }
}

/// How the records of a dump are written.
///
/// ```
/// use rumor_triage::triage::InputFormat;
/// assert_eq!(InputFormat::from_path("posts.csv.gz"), InputFormat::Csv);
/// assert_eq!(InputFormat::from_path("posts.jsonl"), InputFormat::Jsonl);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    /// assert_eq!(rumor_triage::triage::InputFormat::from_path("-"), rumor_triage::triage::InputFormat::Jsonl);
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

/// Settings of the streaming scorer.
///
/// ```
/// let options = rumor_triage::triage::StreamOptions { only_flagged: true, ..Default::default() };
/// assert_eq!(options.max_line_bytes, 1 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// JSONL or CSV with a header.
    pub format: InputFormat,
    /// Field names (JSON keys, or CSV header names).
    pub fields: Fields,
    /// Lines longer than this many bytes are rejected unread (default 1 MiB).
    pub max_line_bytes: usize,
    /// Lines scored per parallel chunk (default 4096).
    pub chunk_lines: usize,
    /// Threshold override.
    pub threshold: Option<f32>,
    /// Write only flagged posts (rejects are still written).
    pub only_flagged: bool,
    /// Add the top K n-grams to flagged lines (0 = none).
    pub explain: usize,
    /// Accounts kept in the counts (default 20).
    pub top_accounts: usize,
    /// Group flagged posts into near-duplicate campaigns ([`crate::campaigns`]; default
    /// true). The grouping costs about a fifth of one-thread scoring time.
    pub campaigns: bool,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            format: InputFormat::Jsonl,
            fields: Fields::default(),
            max_line_bytes: 1 << 20,
            chunk_lines: 4096,
            threshold: None,
            only_flagged: false,
            explain: 0,
            top_accounts: 20,
            campaigns: true,
        }
    }
}

/// The accounting of one streaming run: `read == scored + rejected`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Lines read.
    pub read: u64,
    /// Lines scored.
    pub scored: u64,
    /// Lines rejected.
    pub rejected: u64,
    /// Rejected lines per reason.
    pub rejected_by_reason: std::collections::BTreeMap<String, u64>,
    /// Flagged posts.
    pub flagged: u64,
    /// Flagged posts per decided label.
    pub flagged_by_label: std::collections::BTreeMap<String, u64>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Records per second, counting only the records this run read itself.
    pub posts_per_second: f64,
    /// The cleanup counts of the scored posts.
    #[serde(skip)]
    pub counts: CleanupCounts,
    /// Records of an interrupted run that this one resumed after (0 for a fresh run);
    /// they are included in the counts above.
    #[serde(default)]
    pub resumed_after: u64,
}

enum Line {
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

/// Appends `s` to `out` as a JSON string.
/// (The same bytes as `serde_json::to_string`, without its allocation: this runs five times
/// per scored line.)
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// Appends `x` as serde_json writes an `f64` (shortest round-trip digits by `zmij`, `null`
/// when not finite), without its allocation.
fn push_json_number(out: &mut String, x: f64) {
    if x.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(x));
    } else {
        out.push_str("null");
    }
}

#[allow(
    clippy::large_enum_variant,
    reason = "nearly every outcome is `Scored`; boxing it would allocate on one thread and free on another"
)]
enum Outcome {
    Scored {
        /// The output line, then the account, platform and time that the counts need, in
        /// one string: one allocation per post instead of one per field.
        text: String,
        line_end: usize,
        /// Where the account, platform, time and id are in `text`, when the post has them.
        fields: [Option<(usize, usize)>; 4],
        /// Where in the line a flagged post's `"campaign"` key goes (keys stay sorted).
        campaign_at: usize,
        /// The input line.
        line: u64,
        /// Index into the model's labels.
        label: usize,
        flagged: bool,
        /// The n-gram sketch of a flagged post, for its campaign. Inline, not boxed: a box
        /// allocated by a scoring thread and freed by the writing one costs an allocator
        /// lock.
        signature: Option<Signature>,
    },
    Rejected {
        line: String,
        reason: RejectReason,
    },
}

fn reject(line_no: u64, offset: u64, reason: RejectReason, detail: &str) -> Outcome {
    let line = serde_json::json!({
        "line": line_no,
        "offset": offset,
        "error": reason.name(),
        "detail": detail,
    })
    .to_string();
    Outcome::Rejected { line, reason }
}

/// The records of one chunk, with the bytes of its JSONL lines in one buffer. Two chunks
/// are reused in turn for the whole run: with a fresh buffer of about a megabyte per chunk,
/// peak memory grew with the dump (51 MiB for 1,000,000 posts against 46 MiB for 100,000,
/// two threads), and with the two reused it is 45 and 44 MiB.
#[derive(Default)]
struct Chunk {
    records: Vec<(u64, u64, Raw)>,
    bytes: Vec<u8>,
}

/// One record as read, before parsing.
enum Raw {
    Line(Line),
    Csv(csv::ByteRecord),
}

/// Where the configured fields sit in a CSV header.
#[derive(Clone)]
struct CsvColumns {
    text: usize,
    id: Option<usize>,
    account: Option<usize>,
    platform: Option<usize>,
    time: Option<usize>,
}

/// The fields of one record that the scorer uses, borrowed from the line where they
/// have no escapes.
struct Extracted<'a> {
    text: Cow<'a, str>,
    id: Option<Cow<'a, str>>,
    account: Option<Cow<'a, str>>,
    platform: Option<Cow<'a, str>>,
    time: Option<Cow<'a, str>>,
}

/// Reads records one at a time, numbering each by the line it starts on.
enum Source<R: BufRead> {
    Jsonl {
        reader: R,
        offset: u64,
        line: u64,
    },
    Csv {
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
struct NewlineTap<R> {
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
        other => Error::invalid(format!("CSV: {other:?}")),
    }
}

impl<R: BufRead> Source<R> {
    fn new(input: R, options: &StreamOptions) -> Result<Self, Error> {
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
                let text = find(&f.text).ok_or_else(|| {
                    let names: Vec<String> = header
                        .iter()
                        .map(|h| String::from_utf8_lossy(h).into_owned())
                        .collect();
                    Error::invalid(format!(
                        "the CSV header has no text column {:?}; its columns are {names:?}",
                        f.text
                    ))
                })?;
                Ok(Source::Csv {
                    columns: CsvColumns {
                        text,
                        id: find(&f.id),
                        account: find(&f.account),
                        platform: find(&f.platform),
                        time: find(&f.time),
                    },
                    reader: Box::new(reader),
                    record: csv::ByteRecord::new(),
                    newlines,
                    lines_before: 0,
                })
            }
        }
    }

    fn columns(&self) -> Option<&CsvColumns> {
        match self {
            Source::Jsonl { .. } => None,
            Source::Csv { columns, .. } => Some(columns),
        }
    }

    /// The next record with its line number and byte offset, or `None` at the end; a JSONL
    /// line's bytes go onto the end of `bytes`.
    fn next(
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
struct Rejection(RejectReason, String);

fn extract_json<'a>(options: &StreamOptions, bytes: &'a [u8]) -> Result<Extracted<'a>, Rejection> {
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

fn extract_csv<'a>(
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

fn score_line(
    model: &Model,
    options: &StreamOptions,
    columns: Option<&CsvColumns>,
    ws: &mut Workspace,
    (line_no, offset, raw): &(u64, u64, Raw),
    bytes: &[u8],
    mut out: String,
) -> Outcome {
    let (line_no, offset) = (*line_no, *offset);
    let extracted = match (raw, columns) {
        (Raw::Line(Line::TooLong(n)), _) => {
            return reject(
                line_no,
                offset,
                RejectReason::TooLong,
                &format!("{n} bytes, limit {}", options.max_line_bytes),
            )
        }
        (Raw::Line(Line::Span { start, end }), _) => {
            extract_json(options, bytes.get(*start..*end).unwrap_or_default())
        }
        (Raw::Csv(record), Some(columns)) => extract_csv(options, columns, record),
        (Raw::Csv(_), None) => Err(Rejection(
            RejectReason::BadJson,
            "CSV record without a header".into(),
        )),
    };
    let fields = match extracted {
        Ok(fields) => fields,
        Err(Rejection(reason, detail)) => return reject(line_no, offset, reason, &detail),
    };
    let body: &str = &fields.text;
    let id = fields.id.unwrap_or_else(|| Cow::Owned(line_no.to_string()));
    let (label, probability, flagged) =
        match model.decide_with(body, ws, options.threshold, options.explain > 0) {
            Ok(decided) => decided,
            Err(e) => return reject(line_no, offset, RejectReason::Tokenizer, &e.to_string()),
        };
    // Keys in alphabetical order, as before: account, explain, flagged, id, label, line,
    // platform, probability, time.
    // The fields the cleanup counts need, written into the line and again after it.
    let grouped = flagged && options.campaigns;
    let id_field = grouped.then(|| id.clone());
    let counted = [&fields.account, &fields.platform, &fields.time, &id_field];
    let counted_bytes: usize = counted
        .iter()
        .filter_map(|f| f.as_ref())
        .map(|f| 2 * f.len())
        .sum();
    out.clear();
    out.reserve(160 + counted_bytes);
    out.push('{');
    if let Some(account) = &fields.account {
        out.push_str("\"account\":");
        push_json_string(&mut out, account);
        out.push(',');
    }
    let campaign_at = out.len();
    let label_name = model.labels().get(label).map_or("", String::as_str);
    if flagged && options.explain > 0 {
        let score = crate::model::Score {
            label: label_name.to_owned(),
            probability,
            flagged,
        };
        if let Ok(why) = model.explain_scored(options.explain, ws, score) {
            // As serde_json writes `[{"contribution": .., "ngram": ..}, ..]`: keys sorted.
            out.push_str("\"explain\":[");
            for (i, c) in why.top.iter().enumerate() {
                out.push_str(if i == 0 { "{" } else { ",{" });
                out.push_str("\"contribution\":");
                push_json_number(&mut out, f64::from(c.contribution));
                out.push_str(",\"ngram\":");
                push_json_string(&mut out, &c.ngram);
                out.push('}');
            }
            out.push_str("],");
        }
    }
    out.push_str(if flagged {
        "\"flagged\":true,\"id\":"
    } else {
        "\"flagged\":false,\"id\":"
    });
    push_json_string(&mut out, &id);
    out.push_str(",\"label\":");
    push_json_string(&mut out, label_name);
    let _ = write!(out, ",\"line\":{line_no}");
    if let Some(platform) = &fields.platform {
        out.push_str(",\"platform\":");
        push_json_string(&mut out, platform);
    }
    out.push_str(",\"probability\":");
    push_json_number(&mut out, f64::from(probability));
    if let Some(time) = &fields.time {
        out.push_str(",\"time\":");
        push_json_string(&mut out, time);
    }
    out.push('}');
    let line_end = out.len();
    let fields = counted.map(|field| {
        field.as_ref().map(|f| {
            let start = out.len();
            out.push_str(f);
            (start, out.len())
        })
    });
    Outcome::Scored {
        text: out,
        line_end,
        fields,
        campaign_at,
        line: line_no,
        label,
        flagged,
        signature: grouped.then(|| *ws.signature()),
    }
}

/// Where scored chunks go, in input order: the output and rejects writers, the running
/// summary and counts, and the progress callback after each flushed chunk.
struct Sink<'a, 'o, 'r, 'p> {
    labels: &'a [String],
    summary: &'a mut Summary,
    counts: &'a mut CountsBuilder,
    output: &'a mut (dyn Write + 'o),
    rejects: Option<&'a mut (dyn Write + 'r)>,
    only_flagged: bool,
    progress: &'a mut (dyn FnMut(&Summary) + 'p),
    /// The written outcomes' line buffers, for the next chunk to fill.
    spare: Vec<String>,
}

/// A line buffer larger than this is freed after writing instead of kept for reuse, so
/// that one huge line does not hold its memory for the rest of the run.
const SPARE_BYTES: usize = 4096;

impl Sink<'_, '_, '_, '_> {
    /// Writes one chunk's outcomes, flushes, counts them read, and reports progress: the
    /// summary the callback sees never counts a record whose line is not yet written.
    fn write(&mut self, outcomes: Vec<Outcome>) -> Result<(), Error> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let summary = &mut *self.summary;
        summary.read += outcomes.len() as u64;
        for outcome in outcomes {
            match outcome {
                Outcome::Scored {
                    text,
                    line_end,
                    fields,
                    campaign_at,
                    line: line_no,
                    label,
                    flagged,
                    signature,
                } => {
                    let [account, platform, time, id] =
                        fields.map(|span| span.and_then(|(start, end)| text.get(start..end)));
                    let line = text.get(..line_end).unwrap_or_default();
                    summary.scored += 1;
                    let label = self.labels.get(label).map_or("", String::as_str);
                    if flagged {
                        summary.flagged += 1;
                        match summary.flagged_by_label.get_mut(label) {
                            Some(n) => *n += 1,
                            None => {
                                summary.flagged_by_label.insert(label.to_owned(), 1);
                            }
                        }
                    }
                    self.counts.add(label, flagged, account, platform, time);
                    // Only a flagged post scored with campaigns on carries a sketch.
                    let campaign = signature.and_then(|s| self.counts.campaign_of(line_no, &s));
                    if let Some(campaign) = campaign {
                        let id = id.unwrap_or_default();
                        self.counts.add_to_campaign(campaign, id, account, time);
                        let (head, tail) = line.split_at_checked(campaign_at).unwrap_or((line, ""));
                        self.output.write_all(head.as_bytes())?;
                        write!(self.output, "\"campaign\":{campaign},")?;
                        self.output.write_all(tail.as_bytes())?;
                        self.output.write_all(b"\n")?;
                    } else if flagged || !self.only_flagged {
                        self.output.write_all(line.as_bytes())?;
                        self.output.write_all(b"\n")?;
                    }
                    if text.capacity() <= SPARE_BYTES {
                        self.spare.push(text);
                    }
                }
                Outcome::Rejected { line, reason } => {
                    summary.rejected += 1;
                    *summary
                        .rejected_by_reason
                        .entry(reason.name().to_owned())
                        .or_default() += 1;
                    let sink: &mut dyn Write = match self.rejects.as_mut() {
                        Some(r) => &mut **r,
                        None => &mut *self.output,
                    };
                    sink.write_all(line.as_bytes())?;
                    sink.write_all(b"\n")?;
                }
            }
        }
        self.output.flush()?;
        if let Some(r) = self.rejects.as_mut() {
            r.flush()?;
        }
        (self.progress)(summary);
        Ok(())
    }
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
/// rumor_triage::triage::decompress_if_gzip(std::io::Cursor::new(compressed)).unwrap().read_to_string(&mut plain).unwrap();
/// assert_eq!(plain, "{\"text\":\"hi\"}\n");
/// ```
pub fn decompress_if_gzip<'a>(
    mut reader: impl BufRead + 'a,
) -> Result<Box<dyn BufRead + 'a>, Error> {
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

/// Scores a JSONL or CSV stream ([`StreamOptions::format`]): one output line per input record, in input order, each chunk scored
/// in parallel and flushed; rejects go to `rejects` when given, else inline.
///
/// ```
/// use rumor_triage::{triage::{score_stream, StreamOptions}, Model};
/// let model = Model::load_default().unwrap();
/// let input = "{\"id\":\"a\",\"text\":\"Is it true?\"}\nnot json\n";
/// let mut out = Vec::new();
/// let summary = score_stream(&model, input.as_bytes(), &mut out, None, &StreamOptions::default()).unwrap();
/// assert_eq!((summary.read, summary.scored, summary.rejected), (2, 1, 1));
/// assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
/// ```
pub fn score_stream(
    model: &Model,
    input: impl BufRead,
    output: &mut dyn Write,
    rejects: Option<&mut dyn Write>,
    options: &StreamOptions,
) -> Result<Summary, Error> {
    score_stream_with_progress(model, input, output, rejects, options, &mut |_| {})
}

/// [`score_stream`], calling `progress` with the running summary after each chunk has been
/// written and flushed.
///
/// ```
/// use rumor_triage::{triage::{score_stream_with_progress, StreamOptions}, Model};
/// let model = Model::load_default().unwrap();
/// let mut seen = Vec::new();
/// let options = StreamOptions { chunk_lines: 1, ..Default::default() };
/// score_stream_with_progress(&model, "{\"text\":\"a\"}\n{\"text\":\"b\"}\n".as_bytes(), &mut Vec::new(), None, &options, &mut |s| seen.push(s.read)).unwrap();
/// assert_eq!(seen, [1, 2]);
/// ```
pub fn score_stream_with_progress(
    model: &Model,
    input: impl BufRead,
    output: &mut dyn Write,
    rejects: Option<&mut dyn Write>,
    options: &StreamOptions,
    progress: &mut dyn FnMut(&Summary),
) -> Result<Summary, Error> {
    score_stream_resumed(model, input, output, rejects, options, None, progress)
}

/// Where an interrupted run stopped: its summary at the last chunk it flushed (the
/// `progress` callback's argument), and the counts of the output it had written.
#[derive(Debug, Clone)]
pub struct Resume {
    /// The summary the interrupted run had reached.
    pub summary: Summary,
    /// Counts rebuilt from its output (see [`counts_builder_from_scored`]).
    pub counts: CountsBuilder,
}

/// [`score_stream_with_progress`] continuing an interrupted run: the first
/// `resume.summary.read` records of `input` are read and skipped (they were scored
/// before), and the summary and counts go on from the resumed ones. The caller puts
/// `output` and `rejects` where the earlier run's flushed output ended.
///
/// ```
/// use rumor_triage::{counts::CountsBuilder, triage::{score_stream, score_stream_resumed, Resume, StreamOptions}, Model};
/// let model = Model::load_default().unwrap();
/// let input = "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":\"y\"}\n";
/// let options = StreamOptions { chunk_lines: 1, ..Default::default() };
/// let mut first = Vec::new();
/// let mut stopped = None;
/// rumor_triage::triage::score_stream_with_progress(&model, input.as_bytes(), &mut first, None, &options, &mut |s| {
///     stopped.get_or_insert_with(|| s.clone());
/// }).unwrap();
/// let stopped = stopped.unwrap();
/// let mut rest = Vec::new();
/// let resume = Resume { summary: stopped, counts: CountsBuilder::new(20) };
/// let summary = score_stream_resumed(&model, input.as_bytes(), &mut rest, None, &options, Some(resume), &mut |_| {}).unwrap();
/// assert_eq!((summary.read, summary.resumed_after), (2, 1));
/// assert!(String::from_utf8(rest).unwrap().contains("\"id\":\"b\""));
/// ```
pub fn score_stream_resumed(
    model: &Model,
    input: impl BufRead,
    output: &mut dyn Write,
    rejects: Option<&mut dyn Write>,
    options: &StreamOptions,
    resume: Option<Resume>,
    progress: &mut dyn FnMut(&Summary),
) -> Result<Summary, Error> {
    let start = Instant::now();
    let (mut summary, mut counts) = match resume {
        Some(r) => (
            Summary {
                resumed_after: r.summary.read,
                ..r.summary
            },
            r.counts,
        ),
        None => (Summary::default(), CountsBuilder::new(options.top_accounts)),
    };
    let chunk_lines = options.chunk_lines.max(1);
    let mut source = Source::new(input, options)?;
    let columns = source.columns().cloned();
    let columns = columns.as_ref();
    // Campaigns rebuilt from the earlier output lack their first posts' sketches: those
    // posts are scored again as they are skipped, so that later posts join the same
    // campaigns as in an uninterrupted run.
    let unsketched: std::collections::HashSet<u64> =
        counts.unsketched_campaigns().into_iter().collect();
    let mut skipped = Vec::new();
    let mut ws = Workspace::default();
    for _ in 0..summary.resumed_after {
        skipped.clear();
        let Some(record) = source.next(options.max_line_bytes, &mut skipped)? else {
            return Err(Error::invalid(format!(
                "cannot resume after record {}: the input ends before it",
                summary.resumed_after
            )));
        };
        if unsketched.contains(&record.0) {
            if let Outcome::Scored {
                line,
                signature: Some(signature),
                ..
            } = score_line(
                model,
                options,
                columns,
                &mut ws,
                &record,
                &skipped,
                String::new(),
            ) {
                counts.restore_campaign(line, &signature);
            }
        }
    }
    let read_chunk = |source: &mut Source<_>, chunk: &mut Chunk| -> Result<(), Error> {
        chunk.records.clear();
        chunk.bytes.clear();
        while chunk.records.len() < chunk_lines {
            match source.next(options.max_line_bytes, &mut chunk.bytes)? {
                None => break,
                Some(record) => chunk.records.push(record),
            }
        }
        Ok(())
    };
    // Each post's output line goes into a string the sink gave back from an earlier chunk:
    // a string allocated by one thread and freed by another costs a lock on the allocator.
    let score_chunk = |chunk: &Chunk, mut spare: Vec<String>| -> Vec<Outcome> {
        spare.resize_with(chunk.records.len(), String::new);
        chunk
            .records
            .par_iter()
            .zip(spare)
            .map_init(Workspace::default, |ws, (record, out)| {
                score_line(model, options, columns, ws, record, &chunk.bytes, out)
            })
            .collect()
    };
    let mut sink = Sink {
        labels: model.labels(),
        summary: &mut summary,
        counts: &mut counts,
        output,
        rejects,
        only_flagged: options.only_flagged,
        progress,
        spare: Vec::new(),
    };
    // With more than one worker, chunk n is scored while this thread writes chunk n − 1
    // and reads chunk n + 1; with one, everything runs in turn on one thread.
    let overlap = rayon::current_num_threads() > 1;
    let (mut chunk, mut next) = (Chunk::default(), Chunk::default());
    read_chunk(&mut source, &mut chunk)?;
    let mut pending: Vec<Outcome> = Vec::new();
    while !chunk.records.is_empty() {
        if overlap {
            let mut scored = Vec::new();
            let spare = std::mem::take(&mut sink.spare);
            rayon::in_place_scope(|scope| {
                scope.spawn(|_| scored = score_chunk(&chunk, spare));
                sink.write(std::mem::take(&mut pending))?;
                read_chunk(&mut source, &mut next)
            })?;
            pending = scored;
        } else {
            let spare = std::mem::take(&mut sink.spare);
            sink.write(score_chunk(&chunk, spare))?;
            read_chunk(&mut source, &mut next)?;
        }
        std::mem::swap(&mut chunk, &mut next);
    }
    sink.write(pending)?;
    if summary.read != summary.scored + summary.rejected {
        return Err(Error::invalid(format!(
            "accounting broken: read {} != scored {} + rejected {}",
            summary.read, summary.scored, summary.rejected
        )));
    }
    summary.seconds = start.elapsed().as_secs_f64();
    summary.posts_per_second = if summary.seconds > 0.0 {
        (summary.read - summary.resumed_after) as f64 / summary.seconds
    } else {
        0.0
    };
    summary.counts = counts.finish();
    Ok(summary)
}

/// A counts builder fed with the scored lines of `score` output (rejects and other lines
/// are skipped and counted), to go on counting where that output stopped.
///
/// ```
/// let scored = "{\"line\":1,\"id\":\"a\",\"label\":\"rumor\",\"probability\":0.9,\"flagged\":true}\n{\"line\":2,\"error\":\"bad_json\"}\n";
/// let (builder, skipped) = rumor_triage::triage::counts_builder_from_scored(scored.as_bytes(), 10).unwrap();
/// assert_eq!((builder.finish().total, skipped), (1, 1));
/// ```
pub fn counts_builder_from_scored(
    input: impl BufRead,
    top: usize,
) -> Result<(CountsBuilder, u64), Error> {
    let mut builder = CountsBuilder::new(top);
    let mut skipped = 0;
    for line in input.lines() {
        let line = line?;
        let value: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => {
                skipped += 1;
                continue;
            }
        };
        let (Some(label), Some(flagged)) = (
            value.get("label").and_then(Value::as_str),
            value.get("flagged").and_then(Value::as_bool),
        ) else {
            skipped += 1;
            continue;
        };
        let account = value.get("account").and_then(Value::as_str);
        let time = value.get("time").and_then(Value::as_str);
        builder.add(
            label,
            flagged,
            account,
            value.get("platform").and_then(Value::as_str),
            time,
        );
        if let (true, Some(campaign)) = (flagged, value.get("campaign").and_then(Value::as_u64)) {
            let id = value.get("id").and_then(Value::as_str).unwrap_or_default();
            builder.add_to_campaign(campaign, id, account, time);
        }
    }
    Ok((builder, skipped))
}

/// Rebuilds cleanup counts from `score` output lines (rejects are skipped and counted).
///
/// ```
/// let scored = "{\"line\":1,\"id\":\"a\",\"label\":\"rumor\",\"probability\":0.9,\"flagged\":true,\"account\":\"x\"}\n";
/// let (counts, skipped) = rumor_triage::triage::counts_from_scored(scored.as_bytes(), 10).unwrap();
/// assert_eq!((counts.flagged, skipped), (1, 0));
/// ```
pub fn counts_from_scored(input: impl BufRead, top: usize) -> Result<(CleanupCounts, u64), Error> {
    let (builder, skipped) = counts_builder_from_scored(input, top)?;
    Ok((builder.finish(), skipped))
}

#[cfg(test)]
mod tests {
    use super::{push_json_number, push_json_string};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn probabilities_are_written_as_serde_json_writes_them(bits in any::<u32>()) {
            // Every f32 bit pattern, probabilities or not, widened as the scorer widens them.
            let x = f64::from(f32::from_bits(bits));
            let mut out = String::new();
            push_json_number(&mut out, x);
            prop_assert_eq!(out, serde_json::to_string(&x).unwrap());
        }

        #[test]
        fn json_strings_are_written_as_serde_json_writes_them(s in any::<String>()) {
            let mut out = String::new();
            push_json_string(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn small_and_edge_probabilities_are_written_as_serde_json_writes_them() {
        for x in [
            0.0,
            1.0,
            0.5,
            1e-7,
            3.2e-5,
            1e-300,
            0.999_999_9,
            f64::MIN_POSITIVE,
            f64::NAN,
            1e16,
        ] {
            let mut out = String::new();
            push_json_number(&mut out, x);
            assert_eq!(out, serde_json::to_string(&x).unwrap(), "{x}");
        }
    }

    #[test]
    fn every_control_character_and_quote_is_escaped_as_serde_json_does() {
        let all: String = (0u32..0x80)
            .filter_map(char::from_u32)
            .chain(['\u{2028}', 'é'])
            .collect();
        let mut out = String::new();
        push_json_string(&mut out, &all);
        assert_eq!(out, serde_json::to_string(&all).unwrap());
    }
}
