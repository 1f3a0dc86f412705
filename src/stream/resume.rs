//! Files that survive a kill: output written as `FILE.partial` and renamed when the run
//! ends, a `FILE.progress` record after every flushed chunk, and a resumed run that cuts
//! the partial files back to the last record, rebuilds the counts from the kept output and
//! goes on to the bytes an uninterrupted run writes.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::Value;

use super::{Scorer, Summary};
use crate::counts::{CleanupCounts, CountsBuilder};
use crate::error::Error;
use crate::model::Model;
use crate::time::TimeParser;

/// Where [`Scorer::score_files`] writes, and whether it continues an interrupted run.
///
/// A regular file (or a path not there yet) is written as `PATH.partial` and renamed to
/// `PATH` at the end, with `PATH.progress` kept beside it while the run lasts; a device
/// (`/dev/null`), a FIFO or a symlink is written straight through instead, since renaming
/// over it would replace it, and such a run cannot be resumed.
///
/// ```
/// use rumor_triage::{Model, OutputFiles, Scorer};
/// let model = Model::load_default()?;
/// let dir = tempfile::tempdir().unwrap();
/// let out = dir.path().join("scored.jsonl");
/// let dump = "{\"text\":\"Is it true?\"}\n{\"text\":\"Lunch\"}\n";
/// let summary = Scorer::new(&model).score_files(dump.as_bytes(), &OutputFiles::new(&out), &mut |_| {})?;
/// assert_eq!(summary.scored, 2);
/// assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 2);
/// // Resuming a finished run is refused: there is nothing left to do.
/// let again = OutputFiles::new(&out).resume(true);
/// assert!(matches!(Scorer::new(&model).score_files(dump.as_bytes(), &again, &mut |_| {}), Err(rumor_triage::Error::Resume(_))));
/// # Ok::<(), rumor_triage::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OutputFiles {
    out: PathBuf,
    rejects: Option<PathBuf>,
    resume: bool,
}

impl OutputFiles {
    /// Scored lines (and rejects, unless [`OutputFiles::rejects`] is given) go to `out`.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            rejects: None,
            resume: false,
        }
    }

    /// Rejected records go to this file instead of inline (default none).
    pub fn rejects(mut self, path: impl Into<PathBuf>) -> Self {
        self.rejects = Some(path.into());
        self
    }

    /// Continue the interrupted run that wrote these files (default false): its records
    /// are read and skipped, and the output goes on from the last flushed chunk.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Whether an interrupted run left its progress record beside these files.
    pub fn interrupted(&self) -> bool {
        self.renamed_into_place() && with_suffix(&self.out, ".progress").exists()
    }

    /// Whether the outputs are regular files (or new paths), written as `.partial` files
    /// and renamed into place.
    fn renamed_into_place(&self) -> bool {
        is_plain_file_target(&self.out) && self.rejects.as_deref().is_none_or(is_plain_file_target)
    }
}

/// [`Scorer::score_files`].
pub(super) fn score_files(
    scorer: &Scorer<'_>,
    input: impl BufRead,
    files: &OutputFiles,
    progress: &mut dyn FnMut(&Summary),
) -> Result<Summary, Error> {
    if !files.renamed_into_place() {
        if files.resume {
            return Err(Error::Resume(
                "the output (and the rejects file, if any) must be regular files".into(),
            ));
        }
        let create = |path: &Path| File::create(path).map_err(|e| Error::io(path, e));
        let mut writer = BufWriter::with_capacity(1 << 16, create(&files.out)?);
        let mut rejects = match &files.rejects {
            Some(path) => Some(BufWriter::new(create(path)?)),
            None => None,
        };
        let summary = scorer.run(
            input,
            &mut writer,
            rejects.as_mut().map(|w| w as &mut dyn Write),
            None,
            progress,
        )?;
        writer.flush()?;
        if let Some(mut w) = rejects {
            w.flush()?;
        }
        return Ok(summary);
    }
    let target = &files.out;
    let progress_path = with_suffix(target, ".progress");
    let previous = if files.resume {
        if target.exists() && !progress_path.exists() {
            return Err(Error::Resume(format!(
                "{} is complete: there is nothing to resume (remove it to score again)",
                target.display()
            )));
        }
        read_progress(&progress_path)?
    } else {
        None
    };
    if previous.is_none() && progress_path.exists() {
        // A fresh run: a stale progress file must not describe the new output.
        std::fs::remove_file(&progress_path).map_err(|e| Error::io(&progress_path, e))?;
    }
    if let Some(p) = &previous {
        if p.rejects_bytes.is_some() != files.rejects.is_some() {
            return Err(Error::Resume(
                "it must be given the same rejects file as the interrupted run".into(),
            ));
        }
    }
    let mut writer = PartialFile::open(target, previous.as_ref().map(|p| p.out_bytes))?;
    let out_bytes = Rc::clone(&writer.bytes);
    let mut rejects = match &files.rejects {
        Some(path) => Some(PartialFile::open(
            path,
            previous.as_ref().and_then(|p| p.rejects_bytes),
        )?),
        None => None,
    };
    let rejects_bytes = rejects.as_ref().map(|w| Rc::clone(&w.bytes));
    let resumed = match previous {
        Some(p) => {
            let kept = File::open(with_suffix(target, ".partial"))
                .map_err(|e| Error::io(target, e))?
                .take(p.out_bytes);
            let (counts, _) = counts_builder_from_scored(
                BufReader::new(kept),
                scorer.options.top_accounts,
                &scorer.options.times,
            )?;
            let counts = counts.prevalence_of(scorer.model);
            Some(Resume {
                summary: p.summary,
                counts,
            })
        }
        None => None,
    };
    let mut progress_error = None;
    let mut on_chunk = |so_far: &Summary| {
        let record = Progress {
            summary: so_far.clone(),
            out_bytes: out_bytes.get(),
            rejects_bytes: rejects_bytes.as_ref().map(|b| b.get()),
        };
        if let Err(e) = write_progress(&progress_path, &record) {
            progress_error.get_or_insert(e);
        }
        progress(so_far);
    };
    let summary = scorer.run(
        input,
        &mut writer,
        rejects.as_mut().map(|w| w as &mut dyn Write),
        resumed,
        &mut on_chunk,
    )?;
    if let Some(e) = progress_error {
        return Err(e);
    }
    writer.flush()?;
    if let Some(w) = rejects {
        w.finish()?;
    }
    writer.finish()?;
    if progress_path.exists() {
        std::fs::remove_file(&progress_path).map_err(|e| Error::io(&progress_path, e))?;
    }
    Ok(summary)
}

/// Where an interrupted run stopped: its summary at the last chunk it flushed (the
/// `progress` callback's argument), and the counts of the output it had written.
#[derive(Debug, Clone)]
pub(crate) struct Resume {
    /// The summary the interrupted run had reached.
    pub(crate) summary: Summary,
    /// Counts rebuilt from its output (see [`counts_builder_from_scored`]).
    pub(crate) counts: CountsBuilder,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An output file written as `PATH.partial` and renamed to `PATH` when the run ends, so
/// no reader ever takes a half-written file for a finished one. `bytes` counts what has
/// been handed to it (all of it is in the file after a flush).
struct PartialFile {
    path: PathBuf,
    writer: BufWriter<File>,
    bytes: Rc<Cell<u64>>,
}

impl PartialFile {
    /// A fresh `PATH.partial`, or with `keep`, the existing one cut to its first `keep`
    /// bytes and appended to.
    fn open(path: &Path, keep: Option<u64>) -> Result<Self, Error> {
        let partial = with_suffix(path, ".partial");
        let file = match keep {
            None => File::create(&partial),
            Some(len) => std::fs::OpenOptions::new()
                .write(true)
                .open(&partial)
                .and_then(|f| {
                    let found = f.metadata()?.len();
                    if found < len {
                        return Err(std::io::Error::other(format!(
                            "holds {found} bytes, fewer than the {len} its progress file records"
                        )));
                    }
                    f.set_len(len)?;
                    Ok(f)
                }),
        }
        .map_err(|e| Error::io(&partial, e))?;
        let mut writer = BufWriter::with_capacity(1 << 16, file);
        std::io::Seek::seek(&mut writer, std::io::SeekFrom::End(0))
            .map_err(|e| Error::io(&partial, e))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            bytes: Rc::new(Cell::new(keep.unwrap_or(0))),
        })
    }

    fn finish(mut self) -> Result<(), Error> {
        self.writer.flush()?;
        finish_partial(&self.path)
    }
}

/// Whether `path` may be written as `PATH.partial` and renamed over: it is a regular file
/// or does not exist yet (not a device such as /dev/null, a FIFO or a symlink).
fn is_plain_file_target(path: impl AsRef<Path>) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => meta.file_type().is_file(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

fn finish_partial(path: &Path) -> Result<(), Error> {
    std::fs::rename(with_suffix(path, ".partial"), path).map_err(|e| Error::io(path, e))
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.writer.write(buf)?;
        self.bytes.set(self.bytes.get() + n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// What `--resume` needs from an interrupted run, written as `OUT.progress` after every
/// flushed chunk.
#[derive(serde::Serialize, serde::Deserialize)]
struct Progress {
    summary: Summary,
    out_bytes: u64,
    rejects_bytes: Option<u64>,
}

fn read_progress(path: &Path) -> Result<Option<Progress>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(|e| {
            Error::Resume(format!("{}: not a progress file: {e}", path.display()))
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes the progress file by rename, so a kill leaves the old one or the new one whole.
fn write_progress(path: &Path, progress: &Progress) -> Result<(), Error> {
    let temporary = with_suffix(path, ".tmp");
    std::fs::write(&temporary, serde_json::to_vec(progress)?)
        .map_err(|e| Error::io(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| Error::io(path, e))
}

/// A counts builder fed with the scored lines of `score` output (rejects and other lines
/// are skipped and counted), to go on counting where that output stopped.
pub(crate) fn counts_builder_from_scored(
    input: impl BufRead,
    top: usize,
    times: &TimeParser,
) -> Result<(CountsBuilder, u64), Error> {
    let mut builder = CountsBuilder::new(top).time_parser(times.clone());
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
        if let Some(probability) = value.get("probability").and_then(Value::as_f64) {
            let insufficient = value.get("insufficient_text").and_then(Value::as_bool);
            builder.add_probability(probability as f32, flagged, insufficient == Some(true));
        }
        if let (true, Some(campaign)) = (flagged, value.get("campaign").and_then(Value::as_u64)) {
            let id = value.get("id").and_then(Value::as_str).unwrap_or_default();
            builder.add_to_campaign(campaign, id, account, time);
        }
    }
    Ok((builder, skipped))
}

/// Rebuilds cleanup counts from `score` output lines (rejects are skipped and counted),
/// reading each post's `time` (as given) with `times`, as the scoring run did; with the
/// `model` that scored them, the prevalence too.
///
/// ```
/// let scored = "{\"line\":1,\"id\":\"a\",\"label\":\"rumor\",\"probability\":0.9,\"flagged\":true,\"account\":\"x\",\"time\":\"1539202764\"}\n";
/// let utc = rumor_triage::TimeParser::default();
/// let (counts, skipped) = rumor_triage::counts_from_scored(scored.as_bytes(), 10, &utc, None).unwrap();
/// assert_eq!((counts.flagged, skipped, counts.days["2018-10-10"].flagged), (1, 0, 1));
/// ```
pub fn counts_from_scored(
    input: impl BufRead,
    top: usize,
    times: &TimeParser,
    model: Option<&Model>,
) -> Result<(CleanupCounts, u64), Error> {
    let (builder, skipped) = counts_builder_from_scored(input, top, times)?;
    let builder = match model {
        Some(model) => builder.prevalence_of(model),
        None => builder,
    };
    Ok((builder.finish(), skipped))
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::*;
    use crate::{Error, Model};

    /// Posts, some flagged and some repeated (campaigns), and two lines that are rejected.
    fn dump() -> String {
        let texts = [
            "BREAKING: unconfirmed reports of a second gunman inside the mall, share now!",
            "Lunch with the team was great today",
            "网传明天本市将发生七级地震，请大家转发",
            "Police confirmed the road will reopen at noon.",
        ];
        let mut lines = Vec::new();
        for i in 0..40 {
            let text = texts[i % texts.len()];
            lines.push(format!(
                "{{\"id\":\"p{i}\",\"text\":\"{text} {}\",\"account\":\"a{}\"}}",
                "!".repeat(i % 3),
                i % 5
            ));
            if i % 17 == 0 {
                lines.push("not json".into());
            }
        }
        lines.join("\n") + "\n"
    }

    fn scorer(model: &Model) -> Scorer<'_> {
        Scorer::new(model).chunk_lines(4)
    }

    /// A run killed after `chunks` flushed chunks, with `junk` appended to each partial file
    /// as if the kill came halfway through writing the next chunk.
    fn killed_run(model: &Model, files: &OutputFiles, chunks: usize, junk: &[u8]) {
        let mut seen = 0;
        let killed = catch_unwind(AssertUnwindSafe(|| {
            scorer(model).score_files(dump().as_bytes(), files, &mut |_| {
                seen += 1;
                if seen == chunks {
                    panic!("simulated kill after chunk {chunks}");
                }
            })
        }));
        assert!(killed.is_err(), "the run was to be killed");
        for path in [Some(&files.out), files.rejects.as_ref()]
            .into_iter()
            .flatten()
        {
            let partial = with_suffix(path, ".partial");
            let mut bytes = std::fs::read(&partial).unwrap();
            bytes.extend_from_slice(junk);
            std::fs::write(&partial, bytes).unwrap();
        }
        assert!(files.interrupted());
    }

    #[test]
    fn a_killed_run_resumes_to_the_bytes_and_counts_of_an_uninterrupted_one() {
        for threads in [1, 2] {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(killed_and_resumed_runs);
        }
    }

    fn killed_and_resumed_runs() {
        let model = Model::load_default().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let whole = OutputFiles::new(dir.path().join("whole.jsonl"));
        let expected = scorer(&model)
            .score_files(dump().as_bytes(), &whole, &mut |_| {})
            .unwrap();
        let expected_bytes = std::fs::read(&whole.out).unwrap();
        assert!(expected.counts.campaigns > 0 && expected.rejected == 3);
        for (chunks, junk) in [
            (1, &b""[..]),
            (3, b"{\"line\":13,\"id\":\"p1"),
            (9, b"\n\n"),
        ] {
            let out = dir.path().join(format!("killed-{chunks}.jsonl"));
            let files = OutputFiles::new(&out);
            killed_run(&model, &files, chunks, junk);
            assert!(
                !out.exists(),
                "a killed run leaves no finished-looking file"
            );
            let resumed = scorer(&model)
                .score_files(dump().as_bytes(), &files.clone().resume(true), &mut |_| {})
                .unwrap();
            assert_eq!(
                std::fs::read(&out).unwrap(),
                expected_bytes,
                "killed after {chunks}"
            );
            assert_eq!(resumed.counts, expected.counts);
            assert_eq!(
                (
                    resumed.read,
                    resumed.scored,
                    resumed.rejected,
                    resumed.flagged
                ),
                (
                    expected.read,
                    expected.scored,
                    expected.rejected,
                    expected.flagged
                )
            );
            assert!(resumed.resumed_after > 0);
            assert!(!files.interrupted());
            assert!(!with_suffix(&out, ".partial").exists());
        }
    }

    #[test]
    fn rejects_files_are_cut_back_and_resumed_too() {
        let model = Model::load_default().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let whole = OutputFiles::new(dir.path().join("whole.jsonl"))
            .rejects(dir.path().join("whole.rejects"));
        scorer(&model)
            .score_files(dump().as_bytes(), &whole, &mut |_| {})
            .unwrap();
        let files =
            OutputFiles::new(dir.path().join("out.jsonl")).rejects(dir.path().join("out.rejects"));
        killed_run(&model, &files, 5, b"{\"line\":");
        // Resuming without the rejects file the interrupted run had is refused.
        let without = OutputFiles::new(dir.path().join("out.jsonl")).resume(true);
        assert!(matches!(
            scorer(&model).score_files(dump().as_bytes(), &without, &mut |_| {}),
            Err(Error::Resume(_))
        ));
        scorer(&model)
            .score_files(dump().as_bytes(), &files.clone().resume(true), &mut |_| {})
            .unwrap();
        for (got, want) in [
            ("out.jsonl", "whole.jsonl"),
            ("out.rejects", "whole.rejects"),
        ] {
            assert_eq!(
                std::fs::read(dir.path().join(got)).unwrap(),
                std::fs::read(dir.path().join(want)).unwrap(),
                "{got}"
            );
        }
    }

    #[test]
    fn a_partial_file_shorter_than_its_progress_record_is_an_error_not_a_guess() {
        let model = Model::load_default().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = OutputFiles::new(dir.path().join("out.jsonl"));
        killed_run(&model, &files, 3, b"");
        let partial = with_suffix(&files.out, ".partial");
        let bytes = std::fs::read(&partial).unwrap();
        std::fs::write(&partial, &bytes[..bytes.len() / 2]).unwrap();
        let err = scorer(&model)
            .score_files(dump().as_bytes(), &files.clone().resume(true), &mut |_| {})
            .unwrap_err();
        assert!(err.to_string().contains("fewer than"), "{err}");
    }

    #[test]
    fn nothing_to_resume_and_stale_progress_are_handled() {
        let model = Model::load_default().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = OutputFiles::new(dir.path().join("out.jsonl"));
        scorer(&model)
            .score_files(dump().as_bytes(), &files, &mut |_| {})
            .unwrap();
        let again =
            scorer(&model).score_files(dump().as_bytes(), &files.clone().resume(true), &mut |_| {});
        assert!(matches!(again, Err(Error::Resume(_))));
        // A fresh run over a stale progress record starts from scratch and removes it.
        let stale = with_suffix(&files.out, ".progress");
        std::fs::write(&stale, b"{\"not\":\"a progress record\"}").unwrap();
        let fresh = scorer(&model)
            .score_files(dump().as_bytes(), &files, &mut |_| {})
            .unwrap();
        assert_eq!(fresh.resumed_after, 0);
        assert!(!stale.exists());
        // A resume whose progress record is not one is refused with the file named.
        killed_run(&model, &files, 2, b"");
        std::fs::write(&stale, b"garbage").unwrap();
        let err = scorer(&model)
            .score_files(dump().as_bytes(), &files.clone().resume(true), &mut |_| {})
            .unwrap_err();
        assert!(
            matches!(&err, Error::Resume(m) if m.contains("progress")),
            "{err}"
        );
    }

    #[test]
    fn a_device_is_written_through_and_cannot_be_resumed() {
        let model = Model::load_default().unwrap();
        let devnull = OutputFiles::new("/dev/null");
        let summary = scorer(&model)
            .score_files(dump().as_bytes(), &devnull, &mut |_| {})
            .unwrap();
        assert_eq!(summary.read, summary.scored + summary.rejected);
        use std::os::unix::fs::FileTypeExt;
        let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
        assert!(kind.is_char_device(), "/dev/null is still the device");
        assert!(matches!(
            scorer(&model).score_files(dump().as_bytes(), &devnull.resume(true), &mut |_| {}),
            Err(Error::Resume(_))
        ));
    }
}
