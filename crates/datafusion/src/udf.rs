//! The scorer as DataFusion scalar functions: `triage(text)`, `rumor_probability(text)`,
//! `campaign_key(text)` and `post_day(time)`.
//!
//! Each function holds the model (or the time parser) it was made with, and its identity
//! (equality and hash, which DataFusion uses to tell functions apart and to cache plans)
//! is its name plus the model's digest, so that two models never pass for one. Texts may be
//! `Utf8`, `LargeUtf8` or `Utf8View` (Parquet and Polars write views); a null text gives a
//! null result, and so does a text the tokenizer fails on (the counts report those rows).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Float32Builder, StringBuilder, StructArray,
    UInt64Builder,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use datafusion::common::{exec_datafusion_err, exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use rumor_triage::{Model, TimeParser, Workspace};

/// The functions of one model: what [`crate::register`] puts on a session, and what every
/// process of a cluster must hold alike (the same model, by digest).
#[derive(Debug, Clone)]
pub struct TriageFunctions {
    model: Arc<Model>,
    digest: Arc<str>,
}

impl TriageFunctions {
    /// The functions of `model`.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default()?;
    /// let functions = rumor_triage_datafusion::TriageFunctions::new(model)?;
    /// assert_eq!(functions.digest().len(), 64);
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn new(model: Model) -> Result<Self, rumor_triage::Error> {
        let digest = model.digest()?;
        Ok(Self {
            model: Arc::new(model),
            digest: digest.into(),
        })
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The SHA-256 of the model file, in hex ([`Model::digest`]).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The scalar functions:
    ///
    /// - `triage(text)`: a struct of `label`, `probability` (of the flagged labels,
    ///   calibrated), `flagged`, `insufficient_text` and `campaign_key`, as `rumor-triage
    ///   score` gives them;
    /// - `rumor_probability(text)`: the probability alone;
    /// - `campaign_key(text)`: a near-duplicate key for `GROUP BY`
    ///   ([`rumor_triage::Signature::campaign_key`]; `docs/sql.md` says how its groups
    ///   differ from the streaming campaigns);
    /// - `post_day(time [, zone [, format]])`: the day a post counts under (`YYYY-MM-DD`),
    ///   in UTC or the IANA `zone`, read by [`TimeParser`] (with the strftime `format` when
    ///   given); null when the time does not parse. Zone and format are literals, so they
    ///   travel with the query to every executor.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default()?;
    /// let functions = rumor_triage_datafusion::TriageFunctions::new(model)?;
    /// let names: Vec<String> = functions.udfs().iter().map(|f| f.name().to_owned()).collect();
    /// assert_eq!(names, ["triage", "rumor_probability", "campaign_key", "post_day"]);
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn udfs(&self) -> Vec<ScalarUDF> {
        vec![
            TextFunction::udf(TextKind::Triage, self),
            TextFunction::udf(TextKind::Probability, self),
            TextFunction::udf(TextKind::CampaignKey, self),
            ScalarUDF::from(PostDay {
                signature: Signature::one_of(
                    (1..=3).map(TypeSignature::Any).collect(),
                    Volatility::Immutable,
                ),
            }),
        ]
    }
}

/// The fields of `triage(text)`'s struct.
pub fn triage_fields() -> Fields {
    Fields::from(vec![
        Field::new("label", DataType::Utf8, false),
        Field::new("probability", DataType::Float32, false),
        Field::new("flagged", DataType::Boolean, false),
        Field::new("insufficient_text", DataType::Boolean, false),
        Field::new("campaign_key", DataType::UInt64, true),
    ])
}

/// Which of the text functions a [`TextFunction`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TextKind {
    Triage,
    Probability,
    CampaignKey,
}

impl TextKind {
    fn name(self) -> &'static str {
        match self {
            TextKind::Triage => "triage",
            TextKind::Probability => "rumor_probability",
            TextKind::CampaignKey => "campaign_key",
        }
    }

    fn return_type(self) -> DataType {
        match self {
            TextKind::Triage => DataType::Struct(triage_fields()),
            TextKind::Probability => DataType::Float32,
            TextKind::CampaignKey => DataType::UInt64,
        }
    }
}

/// One of the functions of a text, scored with one model.
#[derive(Debug)]
struct TextFunction {
    kind: TextKind,
    model: Arc<Model>,
    digest: Arc<str>,
    signature: Signature,
}

impl PartialEq for TextFunction {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.digest == other.digest
    }
}

impl Eq for TextFunction {}

impl Hash for TextFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.digest.hash(state);
    }
}

impl TextFunction {
    fn udf(kind: TextKind, functions: &TriageFunctions) -> ScalarUDF {
        ScalarUDF::from(TextFunction {
            kind,
            model: functions.model.clone(),
            digest: functions.digest.clone(),
            signature: Signature::string(1, Volatility::Immutable),
        })
    }
}

/// Calls `each` with every row of a string column (`None` for null).
fn for_each_text(array: &dyn Array, mut each: impl FnMut(Option<&str>)) -> Result<()> {
    if let Some(texts) = array.as_string_opt::<i32>() {
        texts.iter().for_each(each);
    } else if let Some(texts) = array.as_string_opt::<i64>() {
        texts.iter().for_each(each);
    } else if let Some(texts) = array.as_string_view_opt() {
        texts.iter().for_each(each);
    } else if *array.data_type() == DataType::Null {
        (0..array.len()).for_each(|_| each(None));
    } else {
        return exec_err!("expected a string column, got {}", array.data_type());
    }
    Ok(())
}

/// The single argument of a one-argument call, as an array of the call's length.
fn single_argument(name: &str, args: &ScalarFunctionArgs) -> Result<ArrayRef> {
    match args.args.as_slice() {
        [value] => value.to_array(args.number_rows),
        other => exec_err!("{name} takes one argument, got {}", other.len()),
    }
}

impl ScalarUDFImpl for TextFunction {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.kind.return_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let texts = single_argument(self.name(), &args)?;
        let model = &self.model;
        let rows = texts.len();
        let mut workspace = Workspace::default();
        let mut valid = Vec::with_capacity(rows);
        let mut labels = StringBuilder::with_capacity(rows, rows * 8);
        let mut probabilities = Float32Builder::with_capacity(rows);
        let mut flagged = BooleanBuilder::with_capacity(rows);
        let mut insufficient = BooleanBuilder::with_capacity(rows);
        let mut keys = UInt64Builder::with_capacity(rows);
        for_each_text(&texts, |text| {
            let scored = text.and_then(|t| model.score_with(t, &mut workspace, None).ok());
            valid.push(scored.is_some());
            match scored {
                Some(score) => {
                    labels.append_value(&score.label);
                    probabilities.append_value(score.probability);
                    flagged.append_value(score.flagged);
                    insufficient.append_value(score.insufficient_text);
                    keys.append_option(workspace.signature().campaign_key());
                }
                None => {
                    // Under a null parent, the children's values are never read.
                    labels.append_value("");
                    probabilities.append_null();
                    flagged.append_value(false);
                    insufficient.append_value(false);
                    keys.append_null();
                }
            }
        })?;
        let array: ArrayRef = match self.kind {
            TextKind::Probability => Arc::new(probabilities.finish()),
            TextKind::CampaignKey => Arc::new(keys.finish()),
            TextKind::Triage => {
                let nulls = NullBuffer::from(valid);
                Arc::new(StructArray::try_new(
                    triage_fields(),
                    vec![
                        Arc::new(labels.finish()),
                        Arc::new(probabilities.finish()),
                        Arc::new(flagged.finish()),
                        Arc::new(insufficient.finish()),
                        Arc::new(keys.finish()),
                    ],
                    (nulls.null_count() > 0).then_some(nulls),
                )?)
            }
        };
        Ok(ColumnarValue::Array(array))
    }
}

/// `post_day(time [, zone [, format]])` (see [`TriageFunctions::udfs`]).
#[derive(Debug, PartialEq, Eq, Hash)]
struct PostDay {
    signature: Signature,
}

/// The parser `post_day(time, zone, format)` reads with.
pub(crate) fn time_parser(zone: Option<&str>, format: Option<&str>) -> Result<TimeParser> {
    let mut parser = TimeParser::default();
    if let Some(zone) = zone {
        parser = parser.zone(zone).map_err(|e| exec_datafusion_err!("{e}"))?;
    }
    if let Some(format) = format {
        parser = parser
            .format(format)
            .map_err(|e| exec_datafusion_err!("{e}"))?;
    }
    Ok(parser)
}

/// The text of a literal string argument.
fn literal_text<'a>(name: &str, value: &'a ColumnarValue) -> Result<&'a str> {
    match value {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(text))
            | ScalarValue::LargeUtf8(Some(text))
            | ScalarValue::Utf8View(Some(text)),
        ) => Ok(text),
        _ => exec_err!("post_day's {name} must be a string literal"),
    }
}

/// Calls `each` with every row of a time column as the text [`TimeParser`] reads: strings
/// as they are, integers and floats in decimal (epoch seconds or milliseconds), timestamps
/// in RFC 3339.
fn for_each_time(array: &dyn Array, mut each: impl FnMut(Option<&str>)) -> Result<()> {
    use datafusion::arrow::datatypes as t;
    let mut text = String::new();
    let mut spelled = |value: Option<String>, each: &mut dyn FnMut(Option<&str>)| match value {
        Some(v) => {
            text = v;
            each(Some(&text));
        }
        None => each(None),
    };
    match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            return for_each_text(array, each)
        }
        DataType::Int64 => array
            .as_primitive::<t::Int64Type>()
            .iter()
            .for_each(|v| spelled(v.map(|v| v.to_string()), &mut each)),
        DataType::Int32 => array
            .as_primitive::<t::Int32Type>()
            .iter()
            .for_each(|v| spelled(v.map(|v| v.to_string()), &mut each)),
        DataType::UInt64 => array
            .as_primitive::<t::UInt64Type>()
            .iter()
            .for_each(|v| spelled(v.map(|v| v.to_string()), &mut each)),
        DataType::Float64 => array
            .as_primitive::<t::Float64Type>()
            .iter()
            .for_each(|v| spelled(v.map(|v| v.to_string()), &mut each)),
        DataType::Timestamp(unit, _) => {
            let nanos_per = match unit {
                TimeUnit::Second => 1_000_000_000,
                TimeUnit::Millisecond => 1_000_000,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1,
            };
            let values = datafusion::arrow::compute::cast(array, &DataType::Int64)?;
            values.as_primitive::<t::Int64Type>().iter().for_each(|v| {
                let rfc3339 = v.and_then(|v| {
                    jiff::Timestamp::from_nanosecond(i128::from(v) * nanos_per)
                        .ok()
                        .map(|t| t.to_string())
                });
                spelled(rfc3339, &mut each)
            })
        }
        other => {
            return exec_err!("post_day reads strings, integers, floats or timestamps, not {other}")
        }
    }
    Ok(())
}

impl ScalarUDFImpl for PostDay {
    fn name(&self) -> &str {
        "post_day"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (times, zone, format) = match args.args.as_slice() {
            [times] => (times, None, None),
            [times, zone] => (times, Some(literal_text("zone", zone)?), None),
            [times, zone, format] => (
                times,
                Some(literal_text("zone", zone)?),
                Some(literal_text("format", format)?),
            ),
            other => {
                return exec_err!("post_day takes one to three arguments, got {}", other.len())
            }
        };
        let parser = time_parser(zone, format)?;
        let times = times.to_array(args.number_rows)?;
        let mut days = StringBuilder::with_capacity(times.len(), times.len() * 10);
        for_each_time(&times, |time| {
            days.append_option(time.and_then(|t| parser.parse(t)).map(|t| t.day()))
        })?;
        Ok(ColumnarValue::Array(Arc::new(days.finish())))
    }
}
