//! Parquet dumps (feature `parquet`). A Parquet file is read row group by row group, only
//! the top-level columns the run names, each batch of rows turned into JSON lines by
//! arrow-json, so one picker reads every format (nested struct fields by dotted path,
//! timestamps as RFC 3339, integers as epochs) and a row is numbered like a line. Scored
//! output can be written as Parquet too.

use std::fs::File;
use std::io::{BufRead, Read, Write};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, StringBuilder, TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use serde_json::Value;

use super::fields::{FieldPath, Fields};
use crate::error::Error;

/// Rows decoded per batch, as many as the scorer's chunks hold.
const BATCH_ROWS: usize = 4096;

/// Whether `path` is a regular file that starts with the Parquet magic `PAR1`. A pipe or
/// other special file is never looked into, since reading its first bytes would lose them.
pub fn is_parquet(path: impl AsRef<std::path::Path>) -> bool {
    let path = path.as_ref();
    let mut head = [0u8; 4];
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok()
        && &head == b"PAR1"
}

/// The rows of a Parquet file as JSON lines, one per row, reading only the top-level
/// columns that `fields` and `kept` name (their first path segments), one batch at a time.
/// A file without any of the text field's columns is an [`Error::MissingColumn`] naming the
/// columns it has.
///
/// ```
/// # #[cfg(feature = "parquet")] {
/// use std::io::BufRead;
/// use rumor_triage::{parquet_lines, Fields};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("posts.parquet");
/// # // Two posts with a nested `user` struct and a column no field names.
/// # use std::sync::Arc;
/// # use arrow_array::{ArrayRef, RecordBatch, StringArray, StructArray};
/// # let strings = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
/// # let user = StructArray::from(vec![(
/// #     Arc::new(arrow_schema::Field::new("name", arrow_schema::DataType::Utf8, true)),
/// #     strings(vec!["a", "b"]),
/// # )]);
/// # let batch = RecordBatch::try_from_iter([
/// #     ("id", strings(vec!["p1", "p2"])),
/// #     ("text", strings(vec!["Is it true?", "Lunch"])),
/// #     ("user", Arc::new(user) as ArrayRef),
/// #     ("unused", strings(vec!["x", "y"])),
/// # ]).unwrap();
/// # let mut writer = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path)?, batch.schema(), None).unwrap();
/// # writer.write(&batch).unwrap();
/// # writer.close().unwrap();
/// let fields = Fields::default().account("user.name");
/// let lines: Vec<String> = parquet_lines(std::fs::File::open(&path)?, &fields, &[])?
///     .lines()
///     .collect::<Result<_, _>>()?;
/// assert_eq!(lines[0], r#"{"id":"p1","text":"Is it true?","user":{"name":"a"}}"#);
/// # }
/// # Ok::<(), rumor_triage::Error>(())
/// ```
pub fn parquet_lines(
    file: File,
    fields: &Fields,
    kept: &[FieldPath],
) -> Result<ParquetLines, Error> {
    let parquet = |e: parquet::errors::ParquetError| Error::input(format!("Parquet: {e}"));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet)?;
    let columns: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let paths = [
        &fields.text,
        &fields.id,
        &fields.label,
        &fields.account,
        &fields.platform,
        &fields.time,
    ];
    let roots = |path: &FieldPath| -> Vec<usize> {
        path.paths()
            .iter()
            .filter_map(|segments| segments.first())
            .filter_map(|root| columns.iter().position(|c| c == root))
            .collect()
    };
    if roots(&fields.text).is_empty() {
        return Err(Error::MissingColumn {
            path: "Parquet input".into(),
            role: "text".into(),
            column: fields.text.as_str().to_owned(),
            columns,
        });
    }
    let mut wanted: Vec<usize> = paths.into_iter().chain(kept).flat_map(roots).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
    let batches = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet)?;
    Ok(ParquetLines {
        batches,
        buffer: Vec::new(),
        position: 0,
    })
}

/// JSON lines decoded from Parquet batches on demand (see [`parquet_lines`]).
pub struct ParquetLines {
    batches: ParquetRecordBatchReader,
    buffer: Vec<u8>,
    position: usize,
}

impl Read for ParquetLines {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        if let (Some(to), Some(from)) = (out.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ParquetLines {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.position >= self.buffer.len() {
            let Some(batch) = self.batches.next() else {
                return Ok(&[]);
            };
            let batch = utc_as_offset(batch.map_err(std::io::Error::other)?)
                .map_err(std::io::Error::other)?;
            self.buffer.clear();
            self.position = 0;
            let mut writer = arrow_json::LineDelimitedWriter::new(&mut self.buffer);
            writer.write(&batch).map_err(std::io::Error::other)?;
            writer.finish().map_err(std::io::Error::other)?;
        }
        Ok(self.buffer.get(self.position..).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.buffer.len());
    }
}

/// Relabels top-level timestamp columns whose zone is a name (`UTC`, as pandas writes them)
/// with the offset `+00:00`: Arrow stores instants in UTC whatever the label, so the values
/// keep their meaning, and arrow-json writes them with an offset without a zone database.
fn utc_as_offset(batch: RecordBatch) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let named_zone =
        |t: &DataType| matches!(t, DataType::Timestamp(_, Some(tz)) if !tz.starts_with(['+', '-']));
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| named_zone(f.data_type())) {
        return Ok(batch);
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        match field.data_type() {
            DataType::Timestamp(unit, _) if named_zone(field.data_type()) => {
                let relabeled = DataType::Timestamp(*unit, Some("+00:00".into()));
                let data = column
                    .to_data()
                    .into_builder()
                    .data_type(relabeled.clone())
                    .build()?;
                columns.push(arrow_array::make_array(data));
                fields.push(field.as_ref().clone().with_data_type(relabeled));
            }
            _ => {
                columns.push(Arc::clone(column));
                fields.push(field.as_ref().clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// Writes `score` output lines as a Parquet file: one row per scored post with typed
/// columns (`time_utc` a UTC timestamp), `explain` as JSON text, and one column per kept
/// field (`kept.<path>`: a string as itself, any other value as JSON). Rejects must go
/// elsewhere: a reject line here is an error.
///
/// ```
/// # #[cfg(feature = "parquet")] {
/// use std::io::Write;
/// let dir = tempfile::tempdir().unwrap();
/// let file = std::fs::File::create(dir.path().join("scored.parquet")).unwrap();
/// let mut out = rumor_triage::ParquetOutput::new(file, &["user.url".into()])?;
/// out.write_all(br#"{"flagged":true,"id":"a","kept":{"user.url":"https://x"},"label":"rumor","line":1,"probability":0.9}"#)?;
/// out.write_all(b"\n")?;
/// assert_eq!(out.finish()?, 1);
/// # }
/// # Ok::<(), rumor_triage::Error>(())
/// ```
pub struct ParquetOutput<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: Arc<Schema>,
    kept: Vec<String>,
    pending: Vec<u8>,
    rows: Rows,
    written: u64,
}

#[derive(Default)]
struct Rows {
    line: UInt64Builder,
    id: StringBuilder,
    label: StringBuilder,
    probability: Float64Builder,
    flagged: BooleanBuilder,
    account: StringBuilder,
    platform: StringBuilder,
    time: StringBuilder,
    time_utc: TimestampNanosecondBuilder,
    campaign: UInt64Builder,
    explain: StringBuilder,
    kept: Vec<StringBuilder>,
    count: usize,
}

impl<W: Write + Send> ParquetOutput<W> {
    /// A writer whose rows carry the `kept` fields (as given to [`crate::Scorer::keep`]).
    pub fn new(out: W, kept: &[FieldPath]) -> Result<Self, Error> {
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let mut columns = vec![
            Field::new("line", DataType::UInt64, false),
            text("id"),
            text("label"),
            Field::new("probability", DataType::Float64, false),
            Field::new("flagged", DataType::Boolean, false),
            text("account"),
            text("platform"),
            text("time"),
            Field::new(
                "time_utc",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                true,
            ),
            Field::new("campaign", DataType::UInt64, true),
            text("explain"),
        ];
        let kept: Vec<String> = kept.iter().map(|k| k.as_str().to_owned()).collect();
        columns.extend(kept.iter().map(|k| text(&format!("kept.{k}"))));
        let schema = Arc::new(Schema::new(columns));
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
            .build();
        let writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some(props))
            .map_err(|e| Error::input(format!("Parquet: {e}")))?;
        let rows = Rows {
            kept: kept.iter().map(|_| StringBuilder::new()).collect(),
            ..Rows::default()
        };
        Ok(Self {
            writer,
            schema,
            kept,
            pending: Vec::new(),
            rows,
            written: 0,
        })
    }

    fn add(&mut self, line: &[u8]) -> std::io::Result<()> {
        let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
        let value: Value = serde_json::from_slice(line)
            .map_err(|e| invalid(format!("not an output line: {e}")))?;
        if value.get("error").is_some() {
            return Err(invalid(
                "a reject line cannot go into Parquet output: give the rejects their own file"
                    .into(),
            ));
        }
        let r = &mut self.rows;
        let text = |key: &str| value.get(key).and_then(Value::as_str);
        let number = |key: &str| value.get(key).and_then(Value::as_u64);
        r.line.append_value(number("line").unwrap_or(0));
        r.id.append_option(text("id"));
        r.label.append_option(text("label"));
        r.probability.append_value(
            value
                .get("probability")
                .and_then(Value::as_f64)
                .unwrap_or(f64::NAN),
        );
        r.flagged.append_value(
            value
                .get("flagged")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        );
        r.account.append_option(text("account"));
        r.platform.append_option(text("platform"));
        r.time.append_option(text("time"));
        r.time_utc.append_option(
            text("time_utc")
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .and_then(|t| i64::try_from(t.as_nanosecond()).ok()),
        );
        r.campaign.append_option(number("campaign"));
        r.explain
            .append_option(value.get("explain").map(Value::to_string));
        for (builder, path) in r.kept.iter_mut().zip(&self.kept) {
            builder.append_option(match value.get("kept").and_then(|k| k.get(path)) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            });
        }
        r.count += 1;
        if r.count >= BATCH_ROWS {
            self.flush_rows()?;
        }
        Ok(())
    }

    fn flush_rows(&mut self) -> std::io::Result<()> {
        if self.rows.count == 0 {
            return Ok(());
        }
        let r = &mut self.rows;
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(r.line.finish()),
            Arc::new(r.id.finish()),
            Arc::new(r.label.finish()),
            Arc::new(r.probability.finish()),
            Arc::new(r.flagged.finish()),
            Arc::new(r.account.finish()),
            Arc::new(r.platform.finish()),
            Arc::new(r.time.finish()),
            Arc::new(r.time_utc.finish().with_timezone("UTC")),
            Arc::new(r.campaign.finish()),
            Arc::new(r.explain.finish()),
        ];
        arrays.extend(r.kept.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        self.written += r.count as u64;
        r.count = 0;
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .map_err(std::io::Error::other)?;
        self.writer.write(&batch).map_err(std::io::Error::other)
    }

    /// Writes the last rows and the file's footer; returns the rows written.
    pub fn finish(mut self) -> Result<u64, Error> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.add(&line)?;
        }
        self.flush_rows()?;
        self.writer
            .close()
            .map_err(|e| Error::input(format!("Parquet: {e}")))?;
        Ok(self.written)
    }
}

impl<W: Write + Send> Write for ParquetOutput<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut rest = bytes;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let (line, after) = rest.split_at(end);
            if self.pending.is_empty() {
                self.add(line)?;
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.add(&whole)?;
            }
            rest = after.get(1..).unwrap_or_default();
        }
        self.pending.extend_from_slice(rest);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::StringArray;

    /// A file of `rows` posts in row groups of 10,000, each text 100 bytes.
    fn write_rows(path: &std::path::Path, rows: usize) {
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(10_000))
            .build();
        let schema = Arc::new(Schema::new(vec![
            Field::new("text", DataType::Utf8, false),
            Field::new("wide", DataType::Utf8, false),
        ]));
        let file = File::create(path).unwrap();
        let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props)).unwrap();
        for start in (0..rows).step_by(5_000) {
            let n = 5_000.min(rows - start);
            let texts: Vec<String> = (start..start + n).map(|i| format!("{i:0>100}")).collect();
            let wide: Vec<String> = (0..n).map(|_| "w".repeat(1_000)).collect();
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(StringArray::from(texts)) as ArrayRef,
                    Arc::new(StringArray::from(wide)) as ArrayRef,
                ],
            )
            .unwrap();
            writer.write(&batch).unwrap();
        }
        writer.close().unwrap();
    }

    #[test]
    fn rows_come_one_batch_at_a_time_with_only_the_named_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.parquet");
        write_rows(&path, 35_000);
        let file = File::open(&path).unwrap();
        let mut lines = parquet_lines(file, &Fields::default(), &[]).unwrap();
        let (mut rows, mut largest) = (0usize, 0usize);
        loop {
            let available = lines.fill_buf().unwrap();
            if available.is_empty() {
                break;
            }
            let n = available.len();
            rows += available.iter().filter(|&&b| b == b'\n').count();
            largest = largest.max(lines.buffer.len());
            lines.consume(n);
        }
        assert_eq!(rows, 35_000);
        // One batch of 4,096 rows of `{"text":"<100 digits>"}`: the 1,000-byte column that
        // no field names is never read, and no more than one batch is held.
        assert_eq!(largest, BATCH_ROWS * (r#"{"text":""}"#.len() + 100 + 1));
    }

    #[test]
    fn a_file_without_the_text_column_names_the_columns_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.parquet");
        write_rows(&path, 10);
        let fields = Fields::default().text("body,title");
        let err = parquet_lines(File::open(&path).unwrap(), &fields, &[])
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::MissingColumn { columns, .. } if columns == &["text", "wide"]),
            "{err}"
        );
    }
}
