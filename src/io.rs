//! Reading labeled training data and post dumps (JSONL).

use std::io::BufRead;
use std::path::Path;

use serde_json::Value;

use crate::error::Error;
use crate::model::Example;

/// Which JSON fields hold what.
///
/// ```
/// let fields = rumor_triage::io::Fields { account: "user".into(), ..Default::default() };
/// assert_eq!((fields.text.as_str(), fields.account.as_str()), ("text", "user"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Reads labeled examples from a JSONL file. Any line that lacks a string text or label is
/// an error naming the file and line: training never drops a line silently. Blank lines are
/// an error too.
///
/// ```no_run
/// let examples = rumor_triage::io::read_examples("train.jsonl", &Default::default()).unwrap();
/// ```
pub fn read_examples(path: impl AsRef<Path>, fields: &Fields) -> Result<Vec<Example>, Error> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_examples_from(
        std::io::BufReader::new(file),
        &path.display().to_string(),
        fields,
    )
}

/// [`read_examples`] over any reader; `name` is used in error messages.
///
/// ```
/// let data = "{\"text\":\"a\",\"label\":\"rumor\"}\n{\"text\":\"b\"}\n";
/// let err = rumor_triage::io::read_examples_from(data.as_bytes(), "mem", &Default::default()).unwrap_err();
/// assert_eq!(err.to_string(), "mem:2: field \"label\" is missing or not a string");
/// ```
pub fn read_examples_from(
    reader: impl BufRead,
    name: &str,
    fields: &Fields,
) -> Result<Vec<Example>, Error> {
    Ok(read_keyed_from(reader, name, fields, None)?
        .into_iter()
        .map(|(e, _)| e)
        .collect())
}

/// [`read_examples`], each example with the value of field `key` too (a string, or a
/// number in its JSON spelling), for grouping or time ordering. With a key, a record
/// without it is an error naming the file and line.
///
/// ```no_run
/// let rows = rumor_triage::io::read_examples_keyed("pheme.jsonl", &Default::default(), Some("event")).unwrap();
/// ```
pub fn read_examples_keyed(
    path: impl AsRef<Path>,
    fields: &Fields,
    key: Option<&str>,
) -> Result<Vec<(Example, Option<String>)>, Error> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_keyed_from(
        std::io::BufReader::new(file),
        &path.display().to_string(),
        fields,
        key,
    )
}

/// [`read_examples_keyed`] over any reader.
///
/// ```
/// let data = "{\"text\":\"a\",\"label\":\"rumor\",\"event\":\"x\"}\n{\"text\":\"b\",\"label\":\"rumor\",\"event\":3}\n";
/// let rows = rumor_triage::io::read_keyed_from(data.as_bytes(), "mem", &Default::default(), Some("event")).unwrap();
/// assert_eq!((rows[0].1.as_deref(), rows[1].1.as_deref()), (Some("x"), Some("3")));
/// ```
pub fn read_keyed_from(
    reader: impl BufRead,
    name: &str,
    fields: &Fields,
    key: Option<&str>,
) -> Result<Vec<(Example, Option<String>)>, Error> {
    let mut out = Vec::new();
    for (n, line) in reader.split(b'\n').enumerate() {
        let line_no = n as u64 + 1;
        let bad = |reason: String| Error::BadRecord {
            path: name.to_owned(),
            line: line_no,
            reason,
        };
        let line = line?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        let value: Value =
            serde_json::from_slice(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let get = |field: &str| -> Result<String, Error> {
            value
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("field {field:?} is missing or not a string")))
        };
        let keyed = match key {
            None => None,
            Some(k) => Some(match value.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    return Err(bad(format!(
                        "field {k:?} is missing or not a string or number"
                    )))
                }
            }),
        };
        out.push((
            Example {
                text: get(&fields.text)?,
                label: get(&fields.label)?,
            },
            keyed,
        ));
    }
    Ok(out)
}
