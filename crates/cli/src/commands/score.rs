//! `rumor-triage score`: a dump in, one line per record out, crash-safe and resumable.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rumor_triage::triage::{
    counts_builder_from_scored, score_stream_resumed, InputFormat, Resume, StreamOptions, Summary,
};
use rumor_triage::Error;

use crate::args::{load_model, set_threads, FieldArgs};
use crate::output::{open_input, progress_bar, write_json};

/// Score a JSONL or CSV dump: one output line per input record.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Input JSONL or CSV (plain or gzip), or - for stdin.
    #[arg(default_value = "-")]
    pub(crate) input: String,
    /// Input format; auto means CSV for a name ending in .csv or .csv.gz, else JSONL.
    #[arg(long, default_value = "auto", value_parser = ["auto", "jsonl", "csv"])]
    pub(crate) format: String,
    /// Model file (default: the shipped model).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// Output file, or - for stdout.
    #[arg(long, default_value = "-")]
    pub(crate) out: String,
    #[command(flatten)]
    pub(crate) fields: FieldArgs,
    /// Write rejected lines here instead of inline.
    #[arg(long)]
    pub(crate) rejects: Option<PathBuf>,
    /// Write the run's cleanup counts here as JSON.
    #[arg(long)]
    pub(crate) counts: Option<PathBuf>,
    /// Write the run's summary here as JSON.
    #[arg(long)]
    pub(crate) summary: Option<PathBuf>,
    /// Override the model's threshold.
    #[arg(long)]
    pub(crate) threshold: Option<f32>,
    /// Only write flagged posts.
    #[arg(long)]
    pub(crate) only_flagged: bool,
    /// Do not group flagged posts into near-duplicate campaigns (no `campaign` field, no
    /// campaigns in the counts; about a fifth faster).
    #[arg(long)]
    pub(crate) no_campaigns: bool,
    /// Add the top K n-grams to each flagged line.
    #[arg(long, default_value_t = 0)]
    pub(crate) explain: usize,
    /// Reject lines longer than this many bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub(crate) max_line_bytes: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// No summary or progress bar on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Continue an interrupted run with the same arguments: skip the records its output
    /// already holds and append the rest (needs --out FILE).
    #[arg(long)]
    pub(crate) resume: bool,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, Error> {
    let Args {
        input,
        format,
        model,
        out,
        fields,
        rejects,
        counts,
        summary,
        threshold,
        only_flagged,
        no_campaigns,
        explain,
        max_line_bytes,
        threads,
        quiet,
        resume,
    } = args;
    set_threads(threads)?;
    let model = load_model(&model)?;
    let (reader, size, bytes_read) = open_input(&input)?;
    let options = StreamOptions {
        format: match format.as_str() {
            "csv" => InputFormat::Csv,
            "jsonl" => InputFormat::Jsonl,
            _ => InputFormat::from_path(&input),
        },
        fields: fields.fields(),
        max_line_bytes,
        threshold,
        only_flagged,
        campaigns: !no_campaigns,
        explain,
        ..StreamOptions::default()
    };
    // Only regular files (or paths not there yet) are written as FILE.partial and
    // renamed: renaming over /dev/null, a FIFO or a symlink would replace it.
    let out_path = (out != "-").then(|| PathBuf::from(&out));
    let rejects_plain = rejects.as_deref().is_none_or(is_plain_file_target);
    let target = out_path
        .clone()
        .filter(|p| is_plain_file_target(p) && rejects_plain);
    if resume && target.is_none() {
        return Err(Error::invalid(
            "--resume needs --out (and --rejects, if given) to be regular files",
        ));
    }
    let progress_path = target.as_ref().map(|t| with_suffix(t, ".progress"));
    let previous: Option<Progress> = match (&progress_path, resume) {
        (Some(path), true) => {
            if target.as_ref().is_some_and(|t| t.exists()) && !path.exists() {
                return Err(Error::invalid(format!(
                    "{out} is complete: there is nothing to resume (remove it to score again)"
                )));
            }
            read_progress(path)?
        }
        _ => None,
    };
    if let (Some(path), None) = (&progress_path, &previous) {
        // A fresh run: a stale progress file must not describe the new output.
        if path.exists() {
            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        }
    }
    if let Some(p) = &previous {
        if p.rejects_bytes.is_some() != rejects.is_some() {
            return Err(Error::invalid(
                "--resume must be given the same --rejects as the interrupted run",
            ));
        }
        if only_flagged && counts.is_some() {
            return Err(Error::invalid(
                "--resume cannot rebuild --counts from --only-flagged output",
            ));
        }
    }
    let (mut writer, out_bytes): (Box<dyn Write>, _) = match (&target, &out_path) {
        (None, None) => (
            Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout().lock())),
            None,
        ),
        (None, Some(path)) => (
            Box::new(BufWriter::with_capacity(
                1 << 16,
                File::create(path).map_err(|e| Error::io(path, e))?,
            )),
            None,
        ),
        (Some(path), _) => {
            let file = PartialFile::open(path, previous.as_ref().map(|p| p.out_bytes))?;
            let bytes = Rc::clone(&file.bytes);
            (Box::new(file), Some(bytes))
        }
    };
    let mut reject_writer = match &rejects {
        Some(p) if target.is_some() => Some(RejectsFile::Partial(PartialFile::open(
            p,
            previous.as_ref().and_then(|p| p.rejects_bytes),
        )?)),
        Some(p) => Some(RejectsFile::Direct(BufWriter::new(
            File::create(p).map_err(|e| Error::io(p, e))?,
        ))),
        None => None,
    };
    let rejects_bytes = match &reject_writer {
        Some(RejectsFile::Partial(w)) => Some(Rc::clone(&w.bytes)),
        _ => None,
    };
    let resumed = match (previous, &target) {
        (Some(p), Some(path)) => {
            let kept = File::open(with_suffix(path, ".partial"))
                .map_err(|e| Error::io(path, e))?
                .take(p.out_bytes);
            let (builder, _) =
                counts_builder_from_scored(BufReader::new(kept), options.top_accounts)?;
            Some(Resume {
                summary: p.summary,
                counts: builder,
            })
        }
        _ => None,
    };
    let bar = progress_bar(quiet, size);
    let started = Instant::now();
    let mut progress_error = None;
    let mut on_chunk = |so_far: &Summary| {
        if let Some(bar) = &bar {
            bar.set_position(bytes_read.load(Ordering::Relaxed));
            let rate = so_far.read as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{} posts, {rate:.0} posts/s", so_far.read));
        }
        if let (Some(path), Some(out_bytes)) = (&progress_path, &out_bytes) {
            let progress = Progress {
                summary: so_far.clone(),
                out_bytes: out_bytes.get(),
                rejects_bytes: rejects_bytes.as_ref().map(|b| b.get()),
            };
            if let Err(e) = write_progress(path, &progress) {
                progress_error.get_or_insert(e);
            }
        }
    };
    let result = score_stream_resumed(
        &model,
        reader,
        &mut writer,
        reject_writer.as_mut().map(|w| w as &mut dyn Write),
        &options,
        resumed,
        &mut on_chunk,
    )?;
    if let Some(e) = progress_error {
        return Err(e);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    writer.flush()?;
    drop(writer);
    if let Some(w) = reject_writer {
        w.finish()?;
    }
    if let Some(path) = &target {
        finish_partial(path)?;
    }
    if let Some(path) = &progress_path {
        if path.exists() {
            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        }
    }
    if let Some(path) = &counts {
        write_json(path, &result.counts)?;
    }
    if let Some(path) = &summary {
        write_json(path, &result)?;
    }
    if !quiet {
        eprintln!(
            "read {} scored {} rejected {} flagged {} in {:.3} s ({:.0} posts/s)",
            result.read,
            result.scored,
            result.rejected,
            result.flagged,
            result.seconds,
            result.posts_per_second
        );
    }
    Ok(if result.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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

/// The rejects output: renamed into place like `--out`, or written straight to a device or
/// FIFO.
enum RejectsFile {
    Partial(PartialFile),
    Direct(BufWriter<File>),
}

impl RejectsFile {
    fn finish(self) -> Result<(), Error> {
        match self {
            RejectsFile::Partial(file) => file.finish(),
            RejectsFile::Direct(mut writer) => Ok(writer.flush()?),
        }
    }
}

impl Write for RejectsFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            RejectsFile::Partial(file) => file.write(buf),
            RejectsFile::Direct(writer) => writer.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            RejectsFile::Partial(file) => file.flush(),
            RejectsFile::Direct(writer) => writer.flush(),
        }
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
            Error::invalid(format!("{}: not a progress file: {e}", path.display()))
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
