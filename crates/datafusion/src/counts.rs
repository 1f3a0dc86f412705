//! Cleanup counts as SQL: the shipped query (`sql/cleanup_counts.sql`) filled in for a
//! table, run by DataFusion (locally or on a Ballista cluster), and read back into the
//! library's [`CleanupCounts`], so that both paths print the same JSON.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Int64Type, Schema};
use datafusion::common::{exec_datafusion_err, Result};
use datafusion::prelude::SessionContext;
use rumor_triage::{
    AccountCount, CampaignCount, CleanupCounts, FieldPath, Fields, GroupCount, Prevalence,
    ProbabilityHistogram,
};
use serde::Serialize;

use crate::udf::TriageFunctions;

/// The shipped query, with `{{placeholders}}` for the table, the fields and the limits.
pub const CLEANUP_COUNTS_SQL: &str = include_str!("../sql/cleanup_counts.sql");

/// What became of a table's rows: every row is counted or rejected with its reason.
///
/// ```
/// let a = rumor_triage_datafusion::Accounting { rows: 5, counted: 3, missing_text: 1, tokenizer: 1 };
/// assert_eq!(a.counted + a.missing_text + a.tokenizer, a.rows);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Accounting {
    /// Rows in the table.
    pub rows: u64,
    /// Rows scored and counted.
    pub counted: u64,
    /// Rows without a text (null, or no text column of a string type): `missing_text`.
    pub missing_text: u64,
    /// Rows whose text the tokenizer failed on.
    pub tokenizer: u64,
}

/// How a kind of field may be typed in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    /// Text: strings only.
    Text,
    /// Ids, accounts, platforms: strings or numbers, compared as text.
    Name,
    /// Times: strings, numbers or timestamps, as `post_day` reads them.
    Time,
}

fn accepts(kind: FieldKind, data_type: &DataType) -> bool {
    let string = matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    let integer = data_type.is_integer();
    match kind {
        FieldKind::Text => string,
        FieldKind::Name => string || integer,
        FieldKind::Time => {
            string
                || matches!(
                    data_type,
                    DataType::Int64
                        | DataType::Int32
                        | DataType::UInt64
                        | DataType::Float64
                        | DataType::Timestamp(..)
                )
        }
    }
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The SQL expression reading `path` from a table of `schema`, and its type, if the table
/// has it: a column named by the whole dotted path (flat tables, as CSV readers and
/// `json_normalize` write them), else the path through nested structs.
fn path_expr(schema: &Schema, path: &[String]) -> Option<(String, DataType)> {
    let dotted = path.join(".");
    if let Ok(field) = schema.field_with_name(&dotted) {
        return Some((quote_identifier(&dotted), field.data_type().clone()));
    }
    let (first, rest) = path.split_first()?;
    let mut data_type = schema.field_with_name(first).ok()?.data_type().clone();
    let mut expr = quote_identifier(first);
    for key in rest {
        let DataType::Struct(fields) = &data_type else {
            return None;
        };
        let (_, field) = fields.find(key)?;
        data_type = field.data_type().clone();
        expr = format!("{expr}[{}]", quote_literal(key));
    }
    Some((expr, data_type))
}

/// The expression for a field with fallbacks: the first of its paths the row has a value
/// at, among the paths the table has with a type the field accepts; `NULL` for none.
fn field_expr(schema: &Schema, field: &FieldPath, kind: FieldKind) -> String {
    let found: Vec<(String, DataType)> = field
        .paths()
        .iter()
        .filter_map(|path| path_expr(schema, path))
        .filter(|(_, data_type)| accepts(kind, data_type))
        .collect();
    let same_type = found.windows(2).all(|w| w[0].1 == w[1].1);
    let as_text = |(expr, data_type): &(String, DataType)| match (kind, data_type) {
        (FieldKind::Name, DataType::Utf8) => expr.clone(),
        (FieldKind::Name, _) => format!("CAST({expr} AS VARCHAR)"),
        (FieldKind::Time, _) if !same_type => format!("CAST({expr} AS VARCHAR)"),
        _ => expr.clone(),
    };
    match found.as_slice() {
        [] => "CAST(NULL AS VARCHAR)".to_owned(),
        [one] => as_text(one),
        many => format!(
            "COALESCE({})",
            many.iter().map(as_text).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// What to count: a table, the fields its posts are read with, how days are told, and how
/// many accounts and campaigns to list.
///
/// ```
/// let query = rumor_triage_datafusion::CountsQuery::new("posts").top(5).time_zone("Asia/Shanghai");
/// assert_eq!((query.top, query.time_zone.as_deref()), (5, Some("Asia/Shanghai")));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CountsQuery {
    /// The table.
    pub table: String,
    /// Where id, text, account, platform and time are (as for `rumor-triage score`).
    pub fields: Fields,
    /// Accounts and campaigns to list (default 20).
    pub top: usize,
    /// The IANA zone days are counted in (default UTC).
    pub time_zone: Option<String>,
    /// The strftime format of times (default: every form [`rumor_triage::TimeParser`] reads).
    pub time_format: Option<String>,
}

impl CountsQuery {
    /// Counts of table `table` with the default fields.
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            fields: Fields::default(),
            top: 20,
            time_zone: None,
            time_format: None,
        }
    }

    /// Reads the posts with `fields`.
    pub fn fields(mut self, fields: Fields) -> Self {
        self.fields = fields;
        self
    }

    /// Lists `top` accounts and campaigns.
    pub fn top(mut self, top: usize) -> Self {
        self.top = top;
        self
    }

    /// Counts days in `zone`.
    pub fn time_zone(mut self, zone: impl Into<String>) -> Self {
        self.time_zone = Some(zone.into());
        self
    }

    /// Reads times with the strftime `format`.
    pub fn time_format(mut self, format: impl Into<String>) -> Self {
        self.time_format = Some(format.into());
        self
    }

    /// The time parser the query's `post_day` calls stand for; an unknown zone or a bad
    /// format is an error here, before any row is read.
    fn time_parser(&self) -> Result<rumor_triage::TimeParser> {
        crate::udf::time_parser(self.time_zone.as_deref(), self.time_format.as_deref())
    }

    /// The shipped query filled in for a table of `schema`.
    ///
    /// ```
    /// use datafusion::arrow::datatypes::{DataType, Field, Schema};
    /// let schema = Schema::new(vec![Field::new("text", DataType::Utf8View, true), Field::new("account", DataType::Int64, true)]);
    /// let sql = rumor_triage_datafusion::CountsQuery::new("posts").sql(&schema);
    /// assert!(sql.contains("triage(\"text\")") && sql.contains("CAST(\"account\" AS VARCHAR) AS account"));
    /// assert!(sql.contains("CAST(NULL AS VARCHAR) AS platform")); // the table has no platform column
    /// ```
    pub fn sql(&self, schema: &Schema) -> String {
        let fields = &self.fields;
        let time = field_expr(schema, &fields.time, FieldKind::Time);
        let mut time_options = String::new();
        if self.time_zone.is_some() || self.time_format.is_some() {
            let zone = self.time_zone.as_deref().unwrap_or("UTC");
            time_options = format!(", {}", quote_literal(zone));
        }
        if let Some(format) = &self.time_format {
            time_options += &format!(", {}", quote_literal(format));
        }
        CLEANUP_COUNTS_SQL
            .replace("{{table}}", &quote_identifier(&self.table))
            .replace("{{id}}", &field_expr(schema, &fields.id, FieldKind::Name))
            .replace(
                "{{account}}",
                &field_expr(schema, &fields.account, FieldKind::Name),
            )
            .replace(
                "{{platform}}",
                &field_expr(schema, &fields.platform, FieldKind::Name),
            )
            .replace("{{time_text}}", &format!("CAST({time} AS VARCHAR)"))
            .replace("{{time_options}}", &time_options)
            .replace("{{time}}", &time)
            .replace(
                "{{text}}",
                &field_expr(schema, &fields.text, FieldKind::Text),
            )
            .replace("{{bins}}", &ProbabilityHistogram::BINS.to_string())
            .replace("{{top}}", &self.top.to_string())
    }
}

impl TriageFunctions {
    /// Runs the shipped cleanup-count query of `query` on `ctx` (where [`crate::register`]
    /// put these functions) and returns the counts, equal to what `rumor-triage score
    /// --counts` gives for the same posts except for the campaigns (`docs/sql.md`), with
    /// the accounting of the table's rows.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> datafusion::common::Result<()> {
    /// use datafusion::prelude::{JsonReadOptions, SessionContext};
    /// use rumor_triage_datafusion::{CountsQuery, TriageFunctions};
    /// let functions = TriageFunctions::new(rumor_triage::Model::load_default().unwrap()).unwrap();
    /// let ctx = SessionContext::new();
    /// rumor_triage_datafusion::register(&ctx, &functions);
    /// let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/../../seeds/posts.jsonl");
    /// ctx.register_json("posts", seeds, JsonReadOptions::default().file_extension(".jsonl")).await?;
    /// let (counts, accounting) = functions.cleanup_counts(&ctx, &CountsQuery::new("posts")).await?;
    /// assert_eq!(counts.total, accounting.counted);
    /// assert!(counts.flagged > 0);
    /// # Ok(()) }
    /// ```
    pub async fn cleanup_counts(
        &self,
        ctx: &SessionContext,
        query: &CountsQuery,
    ) -> Result<(CleanupCounts, Accounting)> {
        let times = query.time_parser()?;
        let schema = ctx
            .table(query.table.as_str())
            .await?
            .schema()
            .as_arrow()
            .clone();
        let text = field_expr(&schema, &query.fields.text, FieldKind::Text);
        let rows_sql = format!(
            "SELECT COUNT(*) AS rows, COUNT({text}) AS with_text FROM {}",
            quote_identifier(&query.table)
        );
        let rows = ctx.sql(&rows_sql).await?.collect().await?;
        let (rows, with_text) = (int_at(&rows, 0)?, int_at(&rows, 1)?);
        let batches = ctx.sql(&query.sql(&schema)).await?.collect().await?;
        let mut counts = counts_from_rows(&batches, query.top)?;
        counts.time_zone = times.zone_name().to_owned();
        counts.prevalence = Prevalence::of_model(&histogram_from_rows(&batches)?, self.model());
        let accounting = Accounting {
            rows,
            counted: counts.total,
            missing_text: rows.saturating_sub(with_text),
            tokenizer: with_text.saturating_sub(counts.total),
        };
        Ok((counts, accounting))
    }
}

/// The integer in column `column` of the first row.
fn int_at(batches: &[RecordBatch], column: usize) -> Result<u64> {
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| b.column(column).as_primitive_opt::<Int64Type>())
        .and_then(|values| values.iter().next().flatten())
        .map(|n| n.max(0) as u64)
        .ok_or_else(|| exec_datafusion_err!("the row count query returned no count"))
}

/// One output row of the shipped query.
struct Row<'a> {
    kind: &'a str,
    key: Option<&'a str>,
    time_state: Option<&'a str>,
    total: u64,
    flagged: u64,
    insufficient_text: u64,
    accounts: u64,
    first_day: Option<&'a str>,
    last_day: Option<&'a str>,
    first_id: Option<&'a str>,
    unparsed_example: Option<&'a str>,
    groups_counted: u64,
    posts_counted: u64,
}

/// Calls `each` with every row of the shipped query's output.
fn for_each_row(batches: &[RecordBatch], mut each: impl FnMut(Row<'_>)) -> Result<()> {
    for batch in batches {
        let text = |name: &str| -> Result<Vec<Option<&str>>> {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| exec_datafusion_err!("the counts query has no column {name}"))?;
            if let Some(strings) = column.as_string_opt::<i32>() {
                Ok(strings.iter().collect())
            } else if let Some(views) = column.as_string_view_opt() {
                Ok(views.iter().collect())
            } else {
                Ok(vec![None; column.len()])
            }
        };
        let number = |name: &str| -> Result<Vec<u64>> {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| exec_datafusion_err!("the counts query has no column {name}"))?;
            let column = datafusion::arrow::compute::cast(column, &DataType::Int64)?;
            let values = column.as_primitive::<Int64Type>();
            Ok(values
                .iter()
                .map(|v| v.unwrap_or(0).max(0) as u64)
                .collect())
        };
        let (kind, key, time_state) = (text("kind")?, text("key")?, text("time_state")?);
        let (first_day, last_day) = (text("first_day")?, text("last_day")?);
        let (first_id, example) = (text("first_id")?, text("unparsed_example")?);
        let (total, flagged, insufficient) = (
            number("total")?,
            number("flagged")?,
            number("insufficient_text")?,
        );
        let (accounts, groups, posts) = (
            number("accounts")?,
            number("groups_counted")?,
            number("posts_counted")?,
        );
        for i in 0..batch.num_rows() {
            each(Row {
                kind: kind[i].unwrap_or_default(),
                key: key[i],
                time_state: time_state[i],
                total: total[i],
                flagged: flagged[i],
                insufficient_text: insufficient[i],
                accounts: accounts[i],
                first_day: first_day[i],
                last_day: last_day[i],
                first_id: first_id[i],
                unparsed_example: example[i],
                groups_counted: groups[i],
                posts_counted: posts[i],
            });
        }
    }
    Ok(())
}

/// Reads the shipped query's rows (ordered by kind, then rank) into [`CleanupCounts`].
fn counts_from_rows(batches: &[RecordBatch], top: usize) -> Result<CleanupCounts> {
    let mut counts = CleanupCounts::default();
    let group = |row: &Row<'_>| GroupCount {
        total: row.total,
        flagged: row.flagged,
    };
    for_each_row(batches, |row| match (row.kind, row.key) {
        ("all", _) => {
            counts.total = row.total;
            counts.flagged = row.flagged;
            counts.insufficient_text = row.insufficient_text;
        }
        ("label", Some(label)) => {
            counts.labels.insert(label.to_owned(), row.total);
            if row.flagged > 0 {
                counts.flagged_labels.insert(label.to_owned(), row.flagged);
            }
        }
        ("account", key) => {
            counts.accounts_flagged = row.groups_counted;
            if let Some(account) = key.filter(|_| row.flagged > 0) {
                if counts.top_accounts.len() < top {
                    counts.top_accounts.push(AccountCount {
                        account: account.to_owned(),
                        flagged: row.flagged,
                        total: row.total,
                    });
                }
            }
        }
        ("platform", Some(platform)) => {
            counts.platforms.insert(platform.to_owned(), group(&row));
        }
        ("platform", None) => counts.no_platform = group(&row),
        ("time", day) => match (row.time_state, day) {
            (Some("day"), Some(day)) => {
                counts.days.insert(day.to_owned(), group(&row));
            }
            (Some("unparsed"), _) => {
                counts.time_unparsed = group(&row);
                counts.time_unparsed_example = row.unparsed_example.map(str::to_owned);
            }
            _ => counts.no_time = group(&row),
        },
        ("campaign", key) => {
            counts.campaigns = row.groups_counted;
            counts.campaign_posts = row.posts_counted;
            match key.and_then(|k| k.parse::<u64>().ok()) {
                // Flagged posts without n-grams have no key: in no campaign.
                None => counts.ungrouped_posts = row.flagged,
                Some(campaign) if row.total >= 2 && counts.top_campaigns.len() < top => {
                    counts.top_campaigns.push(CampaignCount {
                        campaign,
                        first_id: row.first_id.unwrap_or_default().to_owned(),
                        posts: row.total,
                        accounts: row.accounts,
                        accounts_estimated: false,
                        first_day: row.first_day.unwrap_or_default().to_owned(),
                        last_day: row.last_day.unwrap_or_default().to_owned(),
                    });
                }
                Some(_) => {}
            }
        }
        _ => {}
    })?;
    Ok(counts)
}

/// The histogram of probabilities in the shipped query's `bin` rows.
fn histogram_from_rows(batches: &[RecordBatch]) -> Result<ProbabilityHistogram> {
    let mut histogram = ProbabilityHistogram::default();
    for_each_row(batches, |row| {
        if let ("bin", Some(Ok(bin))) = (row.kind, row.key.map(str::parse::<usize>)) {
            histogram.add_bin(bin, row.total, row.flagged);
        }
    })?;
    Ok(histogram)
}
