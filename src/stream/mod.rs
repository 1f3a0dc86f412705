//! The streaming scorer behind `rumor-triage score`: a dump in (JSONL or CSV, plain or
//! gzip), one output line per record out, in input order, every record scored or rejected
//! with its line number and reason, the cleanup counts built as it goes, and a crash-safe
//! file protocol that a killed run resumes from.
//!
//! Stages: [`input`] reads records and picks out their fields, [`output`] scores a record
//! into its output line and writes chunks in order, [`resume`] keeps files whole across a
//! kill, [`examples`] reads labeled data through the same input layer for training.

mod examples;
mod fields;
mod input;
mod output;
#[cfg(feature = "parquet")]
mod parquet;
mod resume;

use std::io::{BufRead, Write};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::counts::{CleanupCounts, CountsBuilder};
use crate::error::Error;
use crate::model::{Model, Workspace};
use crate::time::TimeParser;
pub use examples::{read_examples, read_keyed_examples, read_timed_examples};
pub use fields::{FieldPath, Fields, Preset};
pub use input::open_reader;
pub use input::InputFormat;
use input::{scoring_picker, Chunk, Line, Raw, Source};
use output::{score_line, Job, Outcome, Sink};
#[cfg(feature = "parquet")]
pub use parquet::{is_parquet, parquet_lines, ParquetLines, ParquetOutput};
use resume::Resume;
pub use resume::{counts_from_scored, OutputFiles};

/// Why a line was not scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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

/// The scorer of a whole dump, configured with a builder; every setter documents its
/// default.
///
/// ```
/// use rumor_triage::{InputFormat, Model, Scorer};
/// let model = Model::load_default()?;
/// let csv = "id,text\n1,\"BREAKING: unconfirmed reports, share now!\"\n2,Lunch was nice\n";
/// let mut out = Vec::new();
/// let mut seen = Vec::new();
/// let summary = Scorer::new(&model)
///     .format(InputFormat::Csv)
///     .chunk_lines(1)
///     .score_to(csv.as_bytes(), &mut out, None, &mut |so_far| seen.push(so_far.read))?;
/// assert_eq!((summary.read, summary.scored), (2, 2));
/// assert_eq!(seen, [1, 2]);
/// # Ok::<(), rumor_triage::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Scorer<'m> {
    model: &'m Model,
    options: StreamOptions,
}

impl<'m> Scorer<'m> {
    /// A scorer with the defaults below.
    pub fn new(model: &'m Model) -> Self {
        Self {
            model,
            options: StreamOptions::default(),
        }
    }

    /// JSONL or CSV with a header row (default JSONL; [`InputFormat::from_path`] picks by
    /// name).
    pub fn format(mut self, format: InputFormat) -> Self {
        self.options.format = format;
        self
    }

    /// Which fields (JSON keys or CSV columns) hold what (default [`Fields::default`]).
    pub fn fields(mut self, fields: Fields) -> Self {
        self.options.fields = fields;
        self
    }

    /// Flag at this probability instead of the model's threshold; it must lie in [0, 1]
    /// (checked when scoring starts).
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.options.threshold = Some(threshold);
        self
    }

    /// Write only flagged posts (rejects are still written; default false).
    pub fn only_flagged(mut self, only_flagged: bool) -> Self {
        self.options.only_flagged = only_flagged;
        self
    }

    /// Add the top `k` n-grams to each flagged line (default 0: none).
    pub fn explain(mut self, k: usize) -> Self {
        self.options.explain = k;
        self
    }

    /// Group flagged posts into near-duplicate campaigns (default true; about a fifth of
    /// one-thread scoring time).
    pub fn campaigns(mut self, campaigns: bool) -> Self {
        self.options.campaigns = campaigns;
        self
    }

    /// Reject records longer than this many bytes unread (default 1 MiB).
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.options.max_line_bytes = bytes;
        self
    }

    /// Records scored per parallel chunk; output is flushed after each (default 4096).
    pub fn chunk_lines(mut self, lines: usize) -> Self {
        self.options.chunk_lines = lines;
        self
    }

    /// Accounts and campaigns listed in the counts (default 20).
    pub fn top(mut self, top: usize) -> Self {
        self.options.top_accounts = top;
        self
    }

    /// Copy these fields of each record (dotted paths; in JSONL the value as the record
    /// has it, any JSON) into its output line under `kept`, so a reviewer sees the post
    /// without a join (default none).
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default()?;
    /// let mut out = Vec::new();
    /// rumor_triage::Scorer::new(&model)
    ///     .keep(["text", "user.url"])
    ///     .score(&br#"{"text":"Is it true?","user":{"url":"https://example.org/u"}}"#[..], &mut out)?;
    /// let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
    /// assert_eq!(line["kept"]["user.url"], "https://example.org/u");
    /// assert_eq!(line["kept"]["text"], "Is it true?");
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn keep<P: Into<FieldPath>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.options.keep = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Parse posting times with `parser`: its zone decides the day each post counts under,
    /// its format (if any) the only form read (default UTC, every form [`TimeParser`] reads).
    pub fn times(mut self, parser: TimeParser) -> Self {
        self.options.times = parser;
        self
    }

    /// Stop with [`Error::TooManyRejects`] when more than this share of the records read
    /// are rejected, checked after the first chunk and at the end (default: never). A
    /// misnamed field then stops a batch job at once.
    ///
    /// ```
    /// use rumor_triage::{Error, Fields, Model, Scorer, TimeParser};
    /// let model = Model::load_default()?;
    /// let dump = r#"{"data":{"text":"Is it true?","created_at":"2022-03-09T23:30:00Z"}}"#;
    /// let misnamed = Scorer::new(&model).max_reject_rate(0.05).score(dump.as_bytes(), &mut Vec::new());
    /// assert!(matches!(misnamed, Err(Error::TooManyRejects { rejected: 1, .. })));
    /// let shanghai = TimeParser::default().zone("Asia/Shanghai")?;
    /// let fields = Fields::default().text("data.text").time("data.created_at");
    /// let summary = Scorer::new(&model).fields(fields).times(shanghai).score(dump.as_bytes(), &mut Vec::new())?;
    /// assert!(summary.counts.days.contains_key("2022-03-10"));
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn max_reject_rate(mut self, share: f64) -> Self {
        self.options.max_reject_rate = Some(share);
        self
    }

    /// Scores `input` into `output`, rejects inline, and returns the run's accounting.
    pub fn score(&self, input: impl BufRead, output: &mut dyn Write) -> Result<Summary, Error> {
        self.score_to(input, output, None, &mut |_| {})
    }

    /// [`Scorer::score`] with rejects written to `rejects` when given, and `progress`
    /// called with the running summary after each chunk has been written and flushed.
    pub fn score_to(
        &self,
        input: impl BufRead,
        output: &mut dyn Write,
        rejects: Option<&mut dyn Write>,
        progress: &mut dyn FnMut(&Summary),
    ) -> Result<Summary, Error> {
        self.run(input, output, rejects, None, progress)
    }

    /// Scores `input` into files with the crash-safe protocol of [`OutputFiles`]: a run
    /// killed at any point continues with the same call and [`OutputFiles::resume`], and
    /// ends with the bytes an uninterrupted run writes.
    pub fn score_files(
        &self,
        input: impl BufRead,
        files: &OutputFiles,
        progress: &mut dyn FnMut(&Summary),
    ) -> Result<Summary, Error> {
        resume::score_files(self, input, files, progress)
    }

    fn run(
        &self,
        input: impl BufRead,
        output: &mut dyn Write,
        rejects: Option<&mut dyn Write>,
        resume: Option<Resume>,
        progress: &mut dyn FnMut(&Summary),
    ) -> Result<Summary, Error> {
        let (model, options) = (self.model, &self.options);
        crate::model::check_threshold(options.threshold)?;
        if let Some(share) = options.max_reject_rate {
            if !(0.0..=1.0).contains(&share) {
                return Err(Error::invalid_option(
                    "max-reject-rate",
                    format!("{share} is not a share in [0, 1]"),
                ));
            }
        }
        let picker = scoring_picker(&options.fields, &options.keep);
        let start = Instant::now();
        let (mut summary, mut counts) = match resume {
            Some(r) => (
                Summary {
                    resumed_after: r.summary.read,
                    ..r.summary
                },
                r.counts,
            ),
            None => (
                Summary::default(),
                CountsBuilder::new(options.top_accounts)
                    .time_parser(options.times.clone())
                    .prevalence_of(model),
            ),
        };
        let chunk_lines = options.chunk_lines.max(1);
        let mut source = Source::new(input, "input", options)?;
        let columns = source.columns().cloned();
        let job = Job {
            model,
            options,
            picker: &picker,
            columns: columns.as_ref(),
        };
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
                return Err(Error::Resume(format!(
                    "the input ends before record {}, where the interrupted run stopped",
                    summary.resumed_after
                )));
            };
            if unsketched.contains(&record.0) {
                if let Outcome::Scored {
                    line,
                    signature: Some(signature),
                    ..
                } = score_line(job, &mut ws, &record, &skipped, String::new())
                {
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
                    score_line(job, ws, record, &chunk.bytes, out)
                })
                .collect()
        };
        let (mut chunk, mut next) = (Chunk::default(), Chunk::default());
        read_chunk(&mut source, &mut chunk)?;
        let record_fields = match source.header() {
            Some(header) => header
                .iter()
                .map(String::from_utf8_lossy)
                .collect::<Vec<_>>()
                .join(", "),
            None => first_record_fields(&chunk),
        };
        let mut sink = Sink {
            labels: model.labels(),
            options,
            record_fields,
            first_reject: None,
            chunks: 0,
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
        sink.check_reject_rate()?;
        if summary.read != summary.scored + summary.rejected + summary.skipped {
            return Err(Error::Internal(format!(
                "accounting broken: read {} != scored {} + rejected {} + skipped {}",
                summary.read, summary.scored, summary.rejected, summary.skipped
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
}

/// The top-level fields of the first JSON object in `chunk`, comma-separated.
fn first_record_fields(chunk: &Chunk) -> String {
    chunk
        .records
        .iter()
        .filter_map(|(_, _, raw)| match raw {
            Raw::Line(Line::Span { start, end }) => chunk.bytes.get(*start..*end),
            _ => None,
        })
        .filter_map(|bytes| std::str::from_utf8(bytes).ok())
        .map(fields::top_keys)
        .find(|keys| !keys.is_empty())
        .map(|keys| keys.join(", "))
        .unwrap_or_else(|| "(no JSON object among the first records)".into())
}

/// The settings a [`Scorer`] was built with.
#[derive(Debug, Clone)]
pub(crate) struct StreamOptions {
    /// JSONL or CSV with a header.
    pub(crate) format: InputFormat,
    /// Field names (JSON keys, or CSV header names).
    pub(crate) fields: Fields,
    /// Lines longer than this many bytes are rejected unread (default 1 MiB).
    pub(crate) max_line_bytes: usize,
    /// Lines scored per parallel chunk (default 4096).
    pub(crate) chunk_lines: usize,
    /// Threshold override.
    pub(crate) threshold: Option<f32>,
    /// Write only flagged posts (rejects are still written).
    pub(crate) only_flagged: bool,
    /// Add the top K n-grams to flagged lines (0 = none).
    pub(crate) explain: usize,
    /// Accounts kept in the counts (default 20).
    pub(crate) top_accounts: usize,
    /// Group flagged posts into near-duplicate campaigns (`counts::campaigns`; default
    /// true). The grouping costs about a fifth of one-thread scoring time.
    pub(crate) campaigns: bool,
    /// Fields copied into each output line.
    pub(crate) keep: Vec<FieldPath>,
    /// How times are read and which zone days are in.
    pub(crate) times: TimeParser,
    /// Stop when more than this share of the records read are rejected.
    pub(crate) max_reject_rate: Option<f64>,
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
            keep: Vec::new(),
            times: TimeParser::default(),
            max_reject_rate: None,
        }
    }
}

/// The accounting of one streaming run: `read == scored + rejected + skipped`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// Lines read.
    pub read: u64,
    /// Lines scored.
    pub scored: u64,
    /// Lines rejected.
    pub rejected: u64,
    /// Rejected lines per reason.
    pub rejected_by_reason: std::collections::BTreeMap<String, u64>,
    /// Lines that are not posts: blank lines, and records without text that are stream
    /// notices (a top-level `delete`, `limit`, `status_withheld`, …).
    #[serde(default)]
    pub skipped: u64,
    /// Skipped lines per kind (`blank`, or the notice's key).
    #[serde(default)]
    pub skipped_by_kind: std::collections::BTreeMap<String, u64>,
    /// Fields the run reads that none of the first chunk's scored records had (likely
    /// misnamed), each with the fields the records do have.
    #[serde(default)]
    pub warnings: Vec<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = concat!(
        "{\"id\":\"a\",\"text\":\"BREAKING: unconfirmed reports of a second gunman, share now!\"}\n",
        "not json\n",
        "{\"id\":\"b\",\"text\":\"Lunch with the team was great today\"}\n",
        "\n",
        "{\"id\":\"c\",\"body\":\"no text\"}\n",
        "[1]\n",
        "{\"id\":\"d\",\"text\":\"网传明天本市将发生七级地震，请大家转发\"}\n",
        "{\"limit\":{\"track\":3}}\n",
    );

    fn run(scorer: &Scorer<'_>) -> (Summary, Vec<serde_json::Value>, Vec<u64>) {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let summary = scorer
            .score_to(DUMP.as_bytes(), &mut out, None, &mut |s| seen.push(s.read))
            .unwrap();
        let lines = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (summary, lines, seen)
    }

    #[test]
    fn the_summary_tallies_every_outcome_by_reason_kind_and_label() {
        let model = Model::load_default().unwrap();
        let (summary, lines, _) = run(&Scorer::new(&model));
        assert_eq!(
            (
                summary.read,
                summary.scored,
                summary.rejected,
                summary.skipped
            ),
            (8, 3, 3, 2)
        );
        let reasons: Vec<(&str, u64)> = summary
            .rejected_by_reason
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(reasons, [("bad_json", 2), ("missing_text", 1)]);
        let kinds: Vec<(&str, u64)> = summary
            .skipped_by_kind
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(kinds, [("blank", 1), ("limit", 1)]);
        let flagged = lines.iter().filter(|l| l["flagged"] == true).count() as u64;
        assert_eq!(summary.flagged, flagged);
        assert_eq!(summary.flagged_by_label.get("rumor"), Some(&flagged));
        assert_eq!(flagged, 2, "{lines:?}");
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn explanations_go_on_flagged_lines_only_with_k_entries() {
        let model = Model::load_default().unwrap();
        let (_, lines, _) = run(&Scorer::new(&model).explain(3));
        for line in lines.iter().filter(|l| l.get("error").is_none()) {
            let explain = line.get("explain").and_then(|e| e.as_array());
            if line["flagged"] == true {
                let explain = explain.unwrap();
                assert_eq!(explain.len(), 3, "{line}");
                assert!(explain[0]["contribution"].as_f64().unwrap() > 0.0);
            } else {
                assert!(explain.is_none(), "{line}");
            }
        }
        let (_, plain, _) = run(&Scorer::new(&model));
        assert!(plain.iter().all(|l| l.get("explain").is_none()));
    }

    #[test]
    fn the_first_chunk_warns_of_absent_fields_and_stops_on_too_many_rejects() {
        let model = Model::load_default().unwrap();
        let (summary, _, _) = run(&Scorer::new(&model).chunk_lines(2));
        let named: Vec<&str> = summary
            .warnings
            .iter()
            .filter_map(|w| w.split('"').nth(1))
            .collect();
        assert_eq!(
            named,
            ["account", "platform", "time"],
            "{:?}",
            summary.warnings
        );
        assert!(summary.warnings[0].ends_with("they have the fields: id, text"));
        // Half of the first chunk is rejected: the run stops before its progress is reported.
        let mut seen = Vec::new();
        let stopped = Scorer::new(&model)
            .chunk_lines(2)
            .max_reject_rate(0.4)
            .score_to(DUMP.as_bytes(), &mut Vec::new(), None, &mut |s| {
                seen.push(s.read)
            });
        assert!(
            matches!(
                stopped,
                Err(Error::TooManyRejects {
                    rejected: 1,
                    read: 2,
                    ..
                })
            ),
            "{stopped:?}"
        );
        assert!(seen.is_empty());
    }

    #[test]
    fn progress_comes_after_each_chunk_of_the_chosen_size() {
        let model = Model::load_default().unwrap();
        let (summary, _, seen) = run(&Scorer::new(&model).chunk_lines(3));
        assert_eq!(seen, [3, 6, 8]);
        let expected = summary.read as f64 / summary.seconds;
        assert!(
            (summary.posts_per_second - expected).abs() <= 1e-6 * expected,
            "{summary:?}"
        );
    }
}
