//! Scoring one record into its output line (written by hand, byte for byte what serde_json
//! would write), and writing scored chunks in input order while the counts are kept.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use super::fields::Picker;
use super::input::{extract_csv, extract_json, CsvColumns, Line, NotPost, Raw, Rejection};
use super::{RejectReason, StreamOptions, Summary};
use crate::counts::{CountsBuilder, PostDay};
use crate::error::Error;
use crate::features::Signature;
use crate::model::{Model, Workspace};

/// Appends `s` to `out` as a JSON string.
/// (The same bytes as `serde_json::to_string`, without its allocation: this runs five times
/// per scored line.)
pub(crate) fn push_json_string(out: &mut String, s: &str) {
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
pub(crate) fn push_json_number(out: &mut String, x: f64) {
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
pub(crate) enum Outcome {
    Scored {
        /// The output line, then the account, platform, day (or unparsed time) and id that
        /// the counts need, in one string: one allocation per post instead of one per field.
        text: String,
        line_end: usize,
        /// Where the account, platform, day and id are in `text`, when the post has them.
        fields: [Option<(usize, usize)>; 4],
        /// Whether the time (at `fields[2]`) parsed: a day, or the time as given.
        time_parsed: bool,
        /// Which fields the record had: bit 0 id, 1 account, 2 platform, 3 time, then one
        /// per kept field.
        present: u64,
        /// Where in the line a flagged post's `"campaign"` key goes (keys stay sorted).
        campaign_at: usize,
        /// The flag probability, and whether the text was too short to flag.
        probability: f32,
        insufficient_text: bool,
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
    /// Not a post, for the stated kind (`blank`, a stream notice's key).
    Skipped {
        kind: &'static str,
    },
}

pub(crate) fn reject(line_no: u64, offset: u64, reason: RejectReason, detail: &str) -> Outcome {
    let line = serde_json::json!({
        "line": line_no,
        "offset": offset,
        "error": reason.name(),
        "detail": detail,
    })
    .to_string();
    Outcome::Rejected { line, reason }
}

/// What scoring one record needs besides the record.
#[derive(Clone, Copy)]
pub(crate) struct Job<'a> {
    pub(crate) model: &'a Model,
    pub(crate) options: &'a StreamOptions,
    pub(crate) picker: &'a Picker,
    pub(crate) columns: Option<&'a CsvColumns>,
}

pub(crate) fn score_line(
    job: Job<'_>,
    ws: &mut Workspace,
    (line_no, offset, raw): &(u64, u64, Raw),
    bytes: &[u8],
    mut out: String,
) -> Outcome {
    let Job {
        model,
        options,
        picker,
        columns,
    } = job;
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
        (Raw::Line(Line::Span { start, end }), _) => extract_json(
            picker,
            &options.fields,
            bytes.get(*start..*end).unwrap_or_default(),
        ),
        (Raw::Csv(record), Some(columns)) => extract_csv(options, columns, record),
        (Raw::Csv(_), None) => Err(NotPost::Rejected(Rejection(
            RejectReason::BadJson,
            "CSV record without a header".into(),
        ))),
    };
    let fields = match extracted {
        Ok(fields) => fields,
        Err(NotPost::Rejected(Rejection(reason, detail))) => {
            return reject(line_no, offset, reason, &detail)
        }
        Err(NotPost::Skipped(kind)) => return Outcome::Skipped { kind },
    };
    let mut present = u64::from(fields.id.is_some())
        | u64::from(fields.account.is_some()) << 1
        | u64::from(fields.platform.is_some()) << 2
        | u64::from(fields.time.is_some()) << 3;
    for (i, kept) in fields.kept.iter().enumerate().take(60) {
        present |= u64::from(kept.is_some()) << (4 + i);
    }
    let body: &str = &fields.text;
    let id = fields.id.unwrap_or_else(|| Cow::Owned(line_no.to_string()));
    let decided = match model.decide_with(body, ws, options.threshold, options.explain > 0) {
        Ok(decided) => decided,
        Err(e) => return reject(line_no, offset, RejectReason::Tokenizer, &e.to_string()),
    };
    let (label, probability, flagged) = (decided.label, decided.probability, decided.flagged);
    let parsed_time = fields.time.as_deref().and_then(|t| options.times.parse(t));
    // Keys in alphabetical order, as serde_json writes a map: account, campaign, explain,
    // flagged, id, insufficient_text, kept, label, line, platform, probability, time, time_utc.
    // The fields the cleanup counts need, written into the line and again after it.
    let grouped = flagged && options.campaigns;
    let id_field = grouped.then(|| id.clone());
    let counted_bytes: usize = [&fields.account, &fields.platform, &fields.time, &id_field]
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
        if let Ok(why) = model.explain_scored(options.explain, ws, model.score_of(decided)) {
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
    if decided.insufficient_text {
        out.push_str(",\"insufficient_text\":true");
    }
    if !options.keep.is_empty() {
        // Kept values are the record's own JSON, copied as they are.
        out.push_str(",\"kept\":{");
        for (i, (path, value)) in options.keep.iter().zip(&fields.kept).enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(&mut out, path.as_str());
            out.push(':');
            out.push_str(value.as_deref().unwrap_or("null"));
        }
        out.push('}');
    }
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
    if let (Some(parsed), Some(given)) = (&parsed_time, &fields.time) {
        out.push_str(",\"time_utc\":\"");
        parsed.push_utc(given, &mut out);
        out.push('"');
    }
    out.push('}');
    let line_end = out.len();
    let span = |out: &mut String, write: &dyn Fn(&mut String)| {
        let start = out.len();
        write(out);
        Some((start, out.len()))
    };
    let account = fields
        .account
        .as_ref()
        .and_then(|a| span(&mut out, &|o| o.push_str(a)));
    let platform = fields
        .platform
        .as_ref()
        .and_then(|p| span(&mut out, &|o| o.push_str(p)));
    let time = match (&parsed_time, &fields.time) {
        (Some(parsed), Some(given)) => span(&mut out, &|o| parsed.push_day(given, o)),
        (None, Some(given)) => span(&mut out, &|o| o.push_str(given)),
        (_, None) => None,
    };
    let id = id_field
        .as_ref()
        .and_then(|i| span(&mut out, &|o| o.push_str(i)));
    Outcome::Scored {
        text: out,
        line_end,
        fields: [account, platform, time, id],
        time_parsed: parsed_time.is_some(),
        present,
        campaign_at,
        probability,
        insufficient_text: decided.insufficient_text,
        line: line_no,
        label,
        flagged,
        signature: grouped.then(|| *ws.signature()),
    }
}

/// Where scored chunks go, in input order: the output and rejects writers, the running
/// summary and counts, and the progress callback after each flushed chunk.
pub(crate) struct Sink<'a, 'o, 'r, 'p> {
    pub(crate) labels: &'a [String],
    pub(crate) options: &'a StreamOptions,
    /// The top-level fields of the first record, comma-separated, for messages.
    pub(crate) record_fields: String,
    /// The first reject's line, for the message of a run stopped by too many rejects.
    pub(crate) first_reject: Option<String>,
    /// Chunks written so far.
    pub(crate) chunks: u64,
    pub(crate) summary: &'a mut Summary,
    pub(crate) counts: &'a mut CountsBuilder,
    pub(crate) output: &'a mut (dyn Write + 'o),
    pub(crate) rejects: Option<&'a mut (dyn Write + 'r)>,
    pub(crate) only_flagged: bool,
    pub(crate) progress: &'a mut (dyn FnMut(&Summary) + 'p),
    /// The written outcomes' line buffers, for the next chunk to fill.
    pub(crate) spare: Vec<String>,
}

/// A line buffer larger than this is freed after writing instead of kept for reuse, so
/// that one huge line does not hold its memory for the rest of the run.
const SPARE_BYTES: usize = 4096;

impl Sink<'_, '_, '_, '_> {
    /// Writes one chunk's outcomes, flushes, counts them read, and reports progress: the
    /// summary the callback sees never counts a record whose line is not yet written.
    pub(crate) fn write(&mut self, outcomes: Vec<Outcome>) -> Result<(), Error> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let summary = &mut *self.summary;
        summary.read += outcomes.len() as u64;
        let mut present = 0u64;
        let scored_before = summary.scored;
        for outcome in outcomes {
            match outcome {
                Outcome::Scored {
                    text,
                    line_end,
                    fields,
                    time_parsed,
                    present: has,
                    campaign_at,
                    probability,
                    insufficient_text,
                    line: line_no,
                    label,
                    flagged,
                    signature,
                } => {
                    present |= has;
                    let [account, platform, time, id] =
                        fields.map(|span| span.and_then(|(start, end)| text.get(start..end)));
                    let day = match (time, time_parsed) {
                        (None, _) => PostDay::Missing,
                        (Some(day), true) => PostDay::Day(day),
                        (Some(given), false) => PostDay::Unparsed(given),
                    };
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
                    self.counts.add_post(label, flagged, account, platform, day);
                    self.counts
                        .add_probability(probability, flagged, insufficient_text);
                    // Only a flagged post scored with campaigns on carries a sketch.
                    let campaign = signature.and_then(|s| self.counts.campaign_of(line_no, &s));
                    if let Some(campaign) = campaign {
                        let id = id.unwrap_or_default();
                        let day = match day {
                            PostDay::Day(day) => day,
                            PostDay::Missing | PostDay::Unparsed(_) => "",
                        };
                        self.counts.add_to_campaign_on(campaign, id, account, day);
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
                    if self.first_reject.is_none() {
                        self.first_reject = Some(line);
                    }
                }
                Outcome::Skipped { kind } => {
                    summary.skipped += 1;
                    match summary.skipped_by_kind.get_mut(kind) {
                        Some(n) => *n += 1,
                        None => {
                            summary.skipped_by_kind.insert(kind.to_owned(), 1);
                        }
                    }
                }
            }
        }
        self.output.flush()?;
        if let Some(r) = self.rejects.as_mut() {
            r.flush()?;
        }
        self.chunks += 1;
        if self.chunks == 1 {
            let scored = summary.scored - scored_before;
            self.warn_of_missing_fields(present, scored);
            self.check_reject_rate()?;
        }
        (self.progress)(&*self.summary);
        Ok(())
    }

    /// After the first chunk: a field the run reads that none of its scored records had is
    /// likely misnamed, so the summary says so, with the fields the records do have.
    fn warn_of_missing_fields(&mut self, present: u64, scored: u64) {
        if scored == 0 {
            return;
        }
        let f = &self.options.fields;
        let named = [
            ("id", &f.id),
            ("account", &f.account),
            ("platform", &f.platform),
            ("time", &f.time),
        ];
        let kept = self.options.keep.iter().map(|k| ("kept", k));
        for (bit, (role, path)) in named.into_iter().chain(kept).enumerate().take(64) {
            if !path.is_empty() && present & (1 << bit) == 0 {
                self.summary.warnings.push(format!(
                    "no {role} field {:?} in the first {scored} scored records; they have the fields: {}",
                    path.as_str(),
                    self.record_fields
                ));
            }
        }
    }

    /// Stops the run when more than the allowed share of records so far were rejected.
    pub(crate) fn check_reject_rate(&self) -> Result<(), Error> {
        let (Some(limit), summary) = (self.options.max_reject_rate, &*self.summary) else {
            return Ok(());
        };
        let (rejected, read) = (summary.rejected, summary.read);
        if read > 0 && rejected as f64 > limit * read as f64 {
            return Err(Error::TooManyRejects {
                rejected,
                read,
                limit,
                first: self.first_reject.clone().unwrap_or_default(),
                fields: self.record_fields.clone(),
            });
        }
        Ok(())
    }
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
    fn each_character_that_needs_escaping_is_escaped_alone() {
        // One at a time, so that no other character sends the string down the slow path.
        let alone = (0u8..0x20).chain([b'"', b'\\', b' ', b'~']);
        for byte in alone {
            for s in [
                format!("a{}b", char::from(byte)),
                char::from(byte).to_string().repeat(3),
            ] {
                let mut out = String::new();
                push_json_string(&mut out, &s);
                assert_eq!(out, serde_json::to_string(&s).unwrap(), "{byte:#x}");
            }
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
