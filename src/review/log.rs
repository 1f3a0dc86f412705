//! The decision log: reviewers' decisions in an append-only JSONL file that is checked on
//! every load. Each record carries the SHA-256 of the record before it, so an edited or
//! reordered record breaks the chain; a head file beside the log (`LOG.head`, replaced
//! atomically after each append) holds the number of records and the last digest, so
//! records cut off the end are detected too. A record is written with one `write` and
//! synced before the head moves: a process killed mid-append leaves at most a torn last
//! line that the head never counted, which loading reports and the next append removes.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// The first line of every decision log.
const HEADER: &str = "{\"rumor_triage_decision_log\":1}\n";

/// One reviewer's decision about one post.
///
/// ```
/// let d: rumor_triage::Decision = serde_json::from_str(r#"{"id":"7","label":"rumor","reviewer":"ana"}"#)?;
/// assert_eq!((d.id.as_str(), d.note), ("7", None));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The post's id, as in the scored output.
    pub id: String,
    /// The label the reviewer gave.
    pub label: String,
    /// Who decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
    /// When (as the reviewer's tool wrote it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Why, in the reviewer's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The post's text, so that the decision can train a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One line of the log after the header.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    seq: u64,
    prev: String,
    decision: Decision,
}

/// What the head file says.
#[derive(Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Head {
    records: u64,
    last: String,
}

/// An append-only, checked log of decisions.
///
/// ```
/// use rumor_triage::{Decision, DecisionLog};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("decisions.log");
/// let mut log = DecisionLog::open(&path)?;
/// log.append(&Decision { id: "1".into(), label: "rumor".into(), reviewer: None, time: None, note: None, text: None })?;
/// assert_eq!(DecisionLog::open(&path)?.decisions().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DecisionLog {
    path: PathBuf,
    decisions: Vec<Decision>,
    /// Digest of the last record's line (of the header for none).
    last: String,
    /// Bytes of complete records, where the next one goes.
    end: u64,
    /// Bytes of a torn last line found on opening (a killed append).
    torn: u64,
}

impl DecisionLog {
    /// Opens the log at `path`, creating it if it does not exist, and checks every record
    /// against the chain and the head file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            let mut file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            file.write_all(HEADER.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| Error::io(&path, e))?;
            let log = Self {
                last: digest(HEADER.as_bytes()),
                path,
                decisions: Vec::new(),
                end: HEADER.len() as u64,
                torn: 0,
            };
            log.write_head()?;
            return Ok(log);
        }
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Error::io(&path, e))?;
        Self::check(path, &bytes)
    }

    fn check(path: PathBuf, bytes: &[u8]) -> Result<Self, Error> {
        let tampered = |reason: String| Error::TamperedLog {
            path: path.clone(),
            reason,
        };
        let Some(rest) = bytes.strip_prefix(HEADER.as_bytes()) else {
            return Err(tampered(
                "it does not start with the decision-log header".into(),
            ));
        };
        let mut last = digest(HEADER.as_bytes());
        let mut end = HEADER.len();
        let mut decisions = Vec::new();
        let mut torn = 0;
        for line in rest.split_inclusive(|&b| b == b'\n') {
            let number = decisions.len() + 2;
            if !line.ends_with(b"\n") {
                // Only the last line can lack its newline: an append that was killed.
                torn = line.len();
                break;
            }
            let record: Record = serde_json::from_slice(line)
                .map_err(|e| tampered(format!("line {number} is not a decision record ({e})")))?;
            if record.prev != last || record.seq != decisions.len() as u64 + 1 {
                return Err(tampered(format!(
                    "line {number} does not follow line {}: a record was edited, removed or reordered",
                    number - 1
                )));
            }
            last = digest(line);
            end += line.len();
            decisions.push(record.decision);
        }
        let log = Self {
            path,
            decisions,
            last,
            end: end as u64,
            torn: torn as u64,
        };
        log.check_head()?;
        Ok(log)
    }

    /// The head file must name the last record, or the one before it (a kill between a
    /// record's sync and the head's replacement).
    fn check_head(&self) -> Result<(), Error> {
        let head_path = self.head_path();
        let text = std::fs::read_to_string(&head_path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::TamperedLog {
                path: self.path.clone(),
                reason: format!(
                    "its head file {} is missing, so records cut off its end could not be detected",
                    head_path.display()
                ),
            },
            _ => Error::io(&head_path, e),
        })?;
        let head: Head = serde_json::from_str(&text).map_err(|e| Error::TamperedLog {
            path: head_path.clone(),
            reason: format!("the head file is not valid ({e})"),
        })?;
        let records = self.decisions.len() as u64;
        if head.records == records && head.last == self.last {
            return Ok(());
        }
        if head.records == records {
            return Err(Error::TamperedLog {
                path: self.path.clone(),
                reason: "its last record is not the one its head file names: the record was edited"
                    .into(),
            });
        }
        if head.records + 1 == records {
            // The last record was synced but the head not yet replaced: it is complete
            // and chained, so it stands, and the head catches up.
            return self.write_head();
        }
        Err(Error::TamperedLog {
            path: self.path.clone(),
            reason: format!(
                "it holds {records} records but its head file says {}: records were cut off or the log replaced",
                head.records
            ),
        })
    }

    /// Appends one decision: written with one `write`, synced, then the head replaced.
    pub fn append(&mut self, decision: &Decision) -> Result<(), Error> {
        let record = Record {
            seq: self.decisions.len() as u64 + 1,
            prev: self.last.clone(),
            decision: decision.clone(),
        };
        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        if self.torn > 0 {
            file.set_len(self.end)
                .map_err(|e| Error::io(&self.path, e))?;
            self.torn = 0;
        }
        file.seek(SeekFrom::Start(self.end))
            .and_then(|_| file.write_all(&line))
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io(&self.path, e))?;
        self.last = digest(&line);
        self.end += line.len() as u64;
        self.decisions.push(decision.clone());
        self.write_head()
    }

    /// The decisions, oldest first.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// Bytes of a torn last line found on opening: an append that a killed process did not
    /// finish (0 for none). The next append removes them.
    pub fn torn_bytes(&self) -> u64 {
        self.torn
    }

    /// SHA-256 (hex) of the last record: names this log's state in a model trained on it.
    pub fn digest(&self) -> &str {
        &self.last
    }

    fn head_path(&self) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".head");
        PathBuf::from(name)
    }

    /// Replaces the head file atomically (a synced temporary file renamed over it).
    fn write_head(&self) -> Result<(), Error> {
        let head = Head {
            records: self.decisions.len() as u64,
            last: self.last.clone(),
        };
        let path = self.head_path();
        let mut temporary = path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let mut file = File::create(&temporary).map_err(|e| Error::io(&temporary, e))?;
        file.write_all(&serde_json::to_vec(&head)?)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&temporary, e))?;
        std::fs::rename(&temporary, &path).map_err(|e| Error::io(&path, e))
    }
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(id: &str, label: &str) -> Decision {
        Decision {
            id: id.into(),
            label: label.into(),
            reviewer: Some("ana".into()),
            time: None,
            note: None,
            text: Some(format!("text of {id}")),
        }
    }

    fn log_of(labels: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.log");
        let mut log = DecisionLog::open(&path).unwrap();
        for (i, label) in labels.iter().enumerate() {
            log.append(&decision(&i.to_string(), label)).unwrap();
        }
        (dir, path)
    }

    fn refusal(path: &Path) -> String {
        match DecisionLog::open(path) {
            Err(e @ Error::TamperedLog { .. }) => e.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn decisions_come_back_in_order_with_the_same_digest() {
        let (_dir, path) = log_of(&["rumor", "non-rumor", "rumor"]);
        let first = DecisionLog::open(&path).unwrap();
        let labels: Vec<&str> = first.decisions().iter().map(|d| d.label.as_str()).collect();
        assert_eq!(labels, ["rumor", "non-rumor", "rumor"]);
        assert_eq!(first.decisions()[1], decision("1", "non-rumor"));
        assert_eq!(DecisionLog::open(&path).unwrap().digest(), first.digest());
        assert_eq!(first.torn_bytes(), 0);
    }

    #[test]
    fn an_edited_record_is_refused_with_its_line() {
        let (_dir, path) = log_of(&["rumor", "non-rumor", "rumor"]);
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen("\"label\":\"non-rumor\"", "\"label\":\"rumor\"", 1);
        assert_ne!(edited, text);
        std::fs::write(&path, edited).unwrap();
        assert!(refusal(&path).contains("line 4 does not follow line 3"));
    }

    #[test]
    fn an_edited_last_record_and_cut_records_are_refused() {
        let (_dir, path) = log_of(&["rumor", "non-rumor"]);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("text of 1", "text of 9")).unwrap();
        assert!(refusal(&path).contains("edited"));
        std::fs::write(&path, &text).unwrap();
        DecisionLog::open(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.pop();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        assert!(refusal(&path).contains("holds 1 records but its head file says 2"));
        std::fs::write(&path, &text[HEADER.len()..]).unwrap();
        assert!(refusal(&path).contains("header"));
        std::fs::write(&path, &text).unwrap();
        std::fs::remove_file(DecisionLog::open(&path).unwrap().head_path()).unwrap();
        assert!(refusal(&path).contains("head file"));
    }

    #[test]
    fn a_torn_append_is_reported_and_removed_by_the_next_append() {
        let (_dir, path) = log_of(&["rumor"]);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        let torn = b"{\"seq\":2,\"prev\":\"ab";
        file.write_all(torn).unwrap();
        let mut log = DecisionLog::open(&path).unwrap();
        assert_eq!(
            (log.decisions().len(), log.torn_bytes()),
            (1, torn.len() as u64)
        );
        log.append(&decision("2", "non-rumor")).unwrap();
        let again = DecisionLog::open(&path).unwrap();
        assert_eq!((again.decisions().len(), again.torn_bytes()), (2, 0));
    }

    #[test]
    fn a_record_synced_before_its_head_stands() {
        let (_dir, path) = log_of(&["rumor"]);
        let head = DecisionLog::open(&path).unwrap().head_path();
        let before = std::fs::read(&head).unwrap();
        DecisionLog::open(&path)
            .unwrap()
            .append(&decision("1", "non-rumor"))
            .unwrap();
        std::fs::write(&head, before).unwrap();
        let log = DecisionLog::open(&path).unwrap();
        assert_eq!(log.decisions().len(), 2);
        let caught_up: Head = serde_json::from_slice(&std::fs::read(&head).unwrap()).unwrap();
        assert_eq!(caught_up.records, 2);
    }
}
