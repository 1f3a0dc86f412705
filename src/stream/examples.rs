//! Labeled examples for training and evaluation, read through the same input layer as the
//! scorer: JSONL or CSV (by name), plain or gzip. Any record that lacks a string text or
//! label is an error naming the file and line: training never drops a record silently.

use std::path::Path;

use std::borrow::Cow;

use super::fields::{FieldPath, Picker, Role};
use super::input::{missing_column, open_reader, Line, Raw, Source};
use super::{InputFormat, StreamOptions};
use crate::error::Error;
use crate::model::Example;
use crate::stream::Fields;
use crate::time::{PostTime, TimeParser};

/// Reads labeled examples from a JSONL or CSV file (CSV for a name ending in `.csv` or
/// `.csv.gz`; gzip detected by its magic bytes).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("train.csv");
/// std::fs::write(&path, "text,label\n\"Is it true, the bridge?\",rumor\nLunch,non-rumor\n").unwrap();
/// let examples = rumor_triage::read_examples(&path, &Default::default())?;
/// assert_eq!((examples[0].text.as_str(), examples[1].label.as_str()), ("Is it true, the bridge?", "non-rumor"));
/// # Ok::<(), rumor_triage::Error>(())
/// ```
pub fn read_examples(path: impl AsRef<Path>, fields: &Fields) -> Result<Vec<Example>, Error> {
    Ok(read_file(path.as_ref(), fields, None)?
        .into_iter()
        .map(|(e, _, _)| e)
        .collect())
}

/// [`read_examples`], each example with the value of field `key` too (a string, or a
/// number in its JSON spelling), for grouping or time ordering. A record without it is an
/// error naming the file and line.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("pheme.jsonl");
/// std::fs::write(&path, "{\"text\":\"a\",\"label\":\"rumor\",\"event\":\"x\"}\n{\"text\":\"b\",\"label\":\"rumor\",\"event\":3}\n").unwrap();
/// let rows = rumor_triage::read_keyed_examples(&path, &Default::default(), "event")?;
/// assert_eq!((rows[0].1.as_str(), rows[1].1.as_str()), ("x", "3"));
/// # Ok::<(), rumor_triage::Error>(())
/// ```
pub fn read_keyed_examples(
    path: impl AsRef<Path>,
    fields: &Fields,
    key: &str,
) -> Result<Vec<(Example, String)>, Error> {
    Ok(read_file(path.as_ref(), fields, Some(key))?
        .into_iter()
        .map(|(e, k, _)| (e, k.unwrap_or_default()))
        .collect())
}

/// [`read_examples`], each example with its posting time (the [`Fields::time`] field, read
/// with `times`), for chronological splits. A record whose time is missing or does not
/// parse is an error naming the file and line: ordering by an invented time would choose
/// the wrong test set.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("weibo.jsonl");
/// std::fs::write(&path, "{\"text\":\"a\",\"label\":\"rumor\",\"time\":\"Tue May 31 17:46:55 +0800 2011\"}\n{\"text\":\"b\",\"label\":\"rumor\",\"time\":\"Tue May 31\"}\n").unwrap();
/// let err = rumor_triage::read_timed_examples(&path, &Default::default(), &Default::default()).unwrap_err();
/// assert!(err.to_string().contains(":2: time \"Tue May 31\" is not a time"), "{err}");
/// # Ok::<(), rumor_triage::Error>(())
/// ```
pub fn read_timed_examples(
    path: impl AsRef<Path>,
    fields: &Fields,
    times: &TimeParser,
) -> Result<Vec<(Example, PostTime)>, Error> {
    let path = path.as_ref();
    let name = path.display().to_string();
    read_file(path, fields, Some(fields.time.as_str()))?
        .into_iter()
        .map(|(example, given, line)| {
            let given = given.unwrap_or_default();
            match times.parse(&given) {
                Some(time) => Ok((example, time)),
                None => Err(Error::BadRecord {
                    path: name.clone(),
                    line,
                    reason: format!(
                        "time {given:?} is not a time (forms read: RFC 3339, created_at, epoch seconds or milliseconds; or give --time-format)"
                    ),
                }),
            }
        })
        .collect()
}

fn read_file(
    path: &Path,
    fields: &Fields,
    key: Option<&str>,
) -> Result<Vec<(Example, Option<String>, u64)>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    #[cfg(feature = "parquet")]
    if super::parquet::is_parquet(path) {
        let key_column: Vec<FieldPath> = key.map(FieldPath::from).into_iter().collect();
        let lines = super::parquet::parquet_lines(file, fields, &key_column)?;
        return read_from(lines, &name, InputFormat::Jsonl, fields, key);
    }
    let reader = open_reader(std::io::BufReader::with_capacity(1 << 16, file))?;
    let format = InputFormat::from_path(&name);
    read_from(reader, &name, format, fields, key)
}

/// Reads labeled records from any reader; `name` is used in error messages.
pub(crate) fn read_from(
    reader: impl std::io::BufRead,
    name: &str,
    format: InputFormat,
    fields: &Fields,
    key: Option<&str>,
) -> Result<Vec<(Example, Option<String>, u64)>, Error> {
    let options = StreamOptions {
        format,
        fields: fields.clone(),
        max_line_bytes: usize::MAX,
        ..StreamOptions::default()
    };
    let key = key.map(FieldPath::from);
    let mut roles = vec![(Role::Text, &fields.text), (Role::Label, &fields.label)];
    if let Some(key) = &key {
        roles.push((Role::Key, key));
    }
    let picker = Picker::new(&roles, &[]);
    let mut source = Source::new(reader, name, &options)?;
    let csv_columns = match source.header() {
        None => None,
        Some(header) => {
            let find = |role: &str, path: &FieldPath| -> Result<Vec<usize>, Error> {
                let found: Vec<usize> = path
                    .columns()
                    .filter_map(|c| header.iter().position(|h| h == c.as_bytes()))
                    .collect();
                if found.is_empty() {
                    return Err(missing_column(name, header, role, path.as_str()));
                }
                Ok(found)
            };
            Some((
                find("text", &fields.text)?,
                find("label", &fields.label)?,
                key.as_ref().map(|k| find("key", k)).transpose()?,
            ))
        }
    };
    let mut out = Vec::new();
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        let Some((line, _, raw)) = source.next(usize::MAX, &mut bytes)? else {
            break;
        };
        let bad = |reason: String| Error::BadRecord {
            path: name.to_owned(),
            line,
            reason,
        };
        let missing = |field: &FieldPath| Error::MissingField {
            path: name.to_owned(),
            line,
            field: field.as_str().to_owned(),
        };
        let record = match (raw, &csv_columns) {
            (Raw::Line(Line::Span { start, end }), _) => {
                let text = std::str::from_utf8(bytes.get(start..end).unwrap_or_default())
                    .map_err(|_| bad("line is not valid UTF-8".into()))?;
                let mut picks = picker
                    .pick(text)
                    .map_err(|e| bad(format!("not a JSON object: {e}")))?;
                let keyed = match &key {
                    None => None,
                    Some(k) => {
                        Some(picks.value(Role::Key).map(Cow::into_owned).ok_or_else(|| {
                            bad(format!(
                                "field {:?} is missing or not a string or number",
                                k.as_str()
                            ))
                        })?)
                    }
                };
                let example = Example {
                    text: picks
                        .text(Role::Text)
                        .ok_or_else(|| missing(&fields.text))?
                        .into_owned(),
                    label: picks
                        .text(Role::Label)
                        .ok_or_else(|| missing(&fields.label))?
                        .into_owned(),
                };
                (example, keyed)
            }
            (Raw::Csv(record), Some((text, label, key_columns))) => {
                // The first non-empty cell of the field's columns, else the first cell.
                let get = |columns: &[usize], field: &FieldPath| -> Result<String, Error> {
                    let cells: Vec<&[u8]> = columns.iter().filter_map(|&c| record.get(c)).collect();
                    let cell = cells
                        .iter()
                        .find(|c| !c.is_empty())
                        .or(cells.first())
                        .ok_or_else(|| missing(field))?;
                    String::from_utf8(cell.to_vec())
                        .map_err(|_| bad(format!("column {:?} is not valid UTF-8", field.as_str())))
                };
                let keyed = match (key_columns, &key) {
                    (Some(columns), Some(k)) => Some(get(columns, k)?),
                    _ => None,
                };
                let example = Example {
                    text: get(text, &fields.text)?,
                    label: get(label, &fields.label)?,
                };
                (example, keyed)
            }
            (Raw::Line(Line::TooLong(_)), _) | (Raw::Csv(_), None) => {
                return Err(bad("record is neither a JSONL line nor a CSV record".into()))
            }
        };
        out.push((record.0, record.1, line));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        data: &str,
        format: InputFormat,
        key: Option<&str>,
    ) -> Result<Vec<(Example, Option<String>)>, Error> {
        Ok(
            read_from(data.as_bytes(), "mem", format, &Fields::default(), key)?
                .into_iter()
                .map(|(e, k, _)| (e, k))
                .collect(),
        )
    }

    #[test]
    fn a_record_without_a_label_is_an_error_naming_its_line() {
        let data = "{\"text\":\"a\",\"label\":\"rumor\"}\n{\"text\":\"b\"}\n";
        let err = read(data, InputFormat::Jsonl, None).unwrap_err();
        assert!(matches!(&err, Error::MissingField { line: 2, field, .. } if field == "label"));
        assert_eq!(
            err.to_string(),
            "mem:2: field \"label\" is missing or not a string"
        );
    }

    #[test]
    fn keys_may_be_strings_or_numbers_and_must_be_there() {
        let data = "{\"text\":\"a\",\"label\":\"rumor\",\"event\":\"x\"}\n{\"text\":\"b\",\"label\":\"rumor\",\"event\":3}\n";
        let rows = read(data, InputFormat::Jsonl, Some("event")).unwrap();
        assert_eq!(
            (rows[0].1.as_deref(), rows[1].1.as_deref()),
            (Some("x"), Some("3"))
        );
        let err = read(
            "{\"text\":\"a\",\"label\":\"rumor\"}\n",
            InputFormat::Jsonl,
            Some("event"),
        )
        .unwrap_err();
        assert!(matches!(err, Error::BadRecord { line: 1, .. }));
    }

    #[test]
    fn a_blank_line_is_an_error_not_a_skip() {
        let data = "{\"text\":\"a\",\"label\":\"rumor\"}\n\n{\"text\":\"b\",\"label\":\"x\"}\n";
        assert!(matches!(
            read(data, InputFormat::Jsonl, None),
            Err(Error::BadRecord { line: 2, .. })
        ));
    }

    #[test]
    fn csv_records_give_the_same_examples_as_jsonl() {
        let jsonl = "{\"text\":\"Is it, true?\",\"label\":\"rumor\",\"event\":\"e1\"}\n{\"text\":\"Two\\nlines\",\"label\":\"non-rumor\",\"event\":\"e2\"}\n";
        let csv = "event,label,text\ne1,rumor,\"Is it, true?\"\ne2,non-rumor,\"Two\nlines\"\n";
        assert_eq!(
            read(jsonl, InputFormat::Jsonl, Some("event")).unwrap(),
            read(csv, InputFormat::Csv, Some("event")).unwrap()
        );
        let err = read("text\nhello\n", InputFormat::Csv, None).unwrap_err();
        assert!(
            matches!(err, Error::MissingColumn { ref role, .. } if role == "label"),
            "{err}"
        );
    }

    #[test]
    fn gzip_and_a_byte_order_mark_are_read_like_plain_text() {
        use std::io::Write;
        let data = "\u{feff}{\"text\":\"a\",\"label\":\"rumor\"}\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data.as_bytes()).unwrap();
        let compressed = gz.finish().unwrap();
        let reader = open_reader(std::io::Cursor::new(compressed)).unwrap();
        let rows = read_from(reader, "mem", InputFormat::Jsonl, &Fields::default(), None).unwrap();
        assert_eq!(rows[0].0.text, "a");
    }
}
