//! The one-file model format.
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `RUMORTRG` |
//! | 8..12 | format version, u32 little-endian ([`FORMAT_VERSION`]) |
//! | 12..20 | payload length, u64 little-endian |
//! | 20..52 | SHA-256 of the payload |
//! | 52.. | payload: `postcard` encoding of the model |
//!
//! Loading checks the magic, the version (a newer one is refused, an older one is retired),
//! the length (against the bytes actually present, before anything is allocated from it),
//! the checksum, and then every invariant of the decoded payload. The payload holds the
//! `tokenizer.json` of the Hugging Face pipeline, the feature settings, document
//! frequencies, sparse weights, labels, calibration, threshold and the training metadata.

use std::path::Path;

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::calibrate::Calibration;
use super::train::TrainingMetadata;
use super::{scoring_table, sublinear_tf_table, Model};
use crate::error::Error;
use crate::features::{self, FeatureConfig, Idf};
use crate::learn::LogisticRegression;
use crate::text::{self, TokenizerBackend};

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"RUMORTRG";
/// The newest format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 4;
/// The oldest format version this build still reads: version 3 is version 4 without
/// [`FeatureConfig::norm_smoothing`] and [`FeatureConfig::min_content_tokens`], which it
/// reads as 0 (what version 3 did).
const OLDEST_READ_VERSION: u32 = 3;
const HEADER_LEN: usize = 52;

#[derive(Clone, Serialize, Deserialize)]
struct Payload<Features = FeatureConfig, Rates = Option<(f32, f32)>> {
    tokenizer_json: String,
    builtin_tokenizer: bool,
    features: Features,
    n_docs: u64,
    df_indices: Vec<u32>,
    df_values: Vec<u32>,
    labels: Vec<String>,
    positive: Vec<bool>,
    outputs: u32,
    weight_indices: Vec<u32>,
    weight_values: Vec<f32>,
    bias: Vec<f32>,
    calibration: Calibration,
    threshold: f32,
    metadata: TrainingMetadata,
    /// `Option<(tpr, fpr)>`; `()` (no bytes) in format version 3.
    held_out_rates: Rates,
}

/// [`FeatureConfig`] as format version 3 stored it.
#[derive(Clone, Serialize, Deserialize)]
struct FeatureConfigV3 {
    hash_bits: u8,
    seed: u64,
    word_ngrams: u8,
    cjk_ngrams: u8,
    sublinear_tf: bool,
    collapse_repeated_punctuation: bool,
    subword_min: u8,
    subword_max: u8,
}

impl Payload<FeatureConfigV3, ()> {
    fn upgrade(self) -> Payload {
        let f = self.features;
        let mut features = FeatureConfig::default()
            .hash_bits(f.hash_bits)
            .word_ngrams(f.word_ngrams)
            .cjk_ngrams(f.cjk_ngrams)
            .subwords(f.subword_min, f.subword_max)
            .norm_smoothing(0.0)
            .min_content_tokens(0);
        features.seed = f.seed;
        features.sublinear_tf = f.sublinear_tf;
        features.collapse_repeated_punctuation = f.collapse_repeated_punctuation;
        features.unseen_in_norm = true;
        Payload {
            tokenizer_json: self.tokenizer_json,
            builtin_tokenizer: self.builtin_tokenizer,
            features,
            n_docs: self.n_docs,
            df_indices: self.df_indices,
            df_values: self.df_values,
            labels: self.labels,
            positive: self.positive,
            outputs: self.outputs,
            weight_indices: self.weight_indices,
            weight_values: self.weight_values,
            bias: self.bias,
            calibration: self.calibration,
            threshold: self.threshold,
            metadata: self.metadata,
            held_out_rates: None,
        }
    }
}

/// The file's bytes for `payload`: the header, then the payload.
fn encode(payload: &Payload) -> Result<Vec<u8>, Error> {
    let body = postcard::to_stdvec(payload)
        .map_err(|e| Error::Internal(format!("encoding model: {e}")))?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&body));
    out.extend_from_slice(&body);
    Ok(out)
}

/// The buckets with a document frequency, ascending, with it.
pub(super) fn nonzero_document_frequencies(df: &[u32]) -> Vec<(u32, u32)> {
    df.iter()
        .enumerate()
        .filter(|(_, &d)| d > 0)
        .map(|(b, &d)| (b as u32, d))
        .collect()
}

impl Model {
    /// The model file's bytes (what [`Model::save`] writes and [`Model::from_bytes`] reads).
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let bytes = model.to_bytes().unwrap();
    /// assert_eq!(&bytes[..8], rumor_triage::MAGIC);
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("copy.rtm");
    /// model.save(&path).unwrap();
    /// assert_eq!(rumor_triage::Model::load(&path).unwrap().to_bytes().unwrap(), bytes);
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let (df_indices, df_values): (Vec<u32>, Vec<u32>) = self.df.iter().copied().unzip();
        let outputs = self.linear.outputs();
        let mut weight_indices = Vec::new();
        let mut weight_values = Vec::new();
        for (j, row) in self.linear.weights.rows().into_iter().enumerate() {
            if row.iter().any(|&w| w != 0.0) {
                weight_indices.push(j as u32);
                weight_values.extend(row.iter().copied());
            }
        }
        let payload = Payload {
            tokenizer_json: self.tokenizer_json.clone(),
            builtin_tokenizer: self.uses_builtin_tokenizer(),
            features: self.features.clone(),
            n_docs: self.n_docs,
            df_indices: delta_encode(&df_indices),
            df_values,
            labels: self.labels.clone(),
            positive: self.positive.clone(),
            outputs: outputs as u32,
            weight_indices: delta_encode(&weight_indices),
            weight_values,
            bias: self.linear.bias.to_vec(),
            calibration: self.calibration,
            threshold: self.threshold,
            metadata: self.metadata.clone(),
            held_out_rates: self.held_out_rates,
        };
        encode(&payload)
    }

    /// The model's identity: the SHA-256 of its file bytes ([`Model::to_bytes`]) in hex,
    /// what `sha256sum` prints for the saved file. Processes that must score alike (the
    /// executors of a cluster) compare it.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let digest = model.digest().unwrap();
    /// assert_eq!(digest.len(), 64);
    /// assert_eq!(rumor_triage::Model::from_bytes(&model.to_bytes().unwrap()).unwrap().digest().unwrap(), digest);
    /// ```
    pub fn digest(&self) -> Result<String, Error> {
        Ok(super::train::hex(&Sha256::digest(self.to_bytes()?)))
    }

    /// Writes the model file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        std::fs::write(path, self.to_bytes()?).map_err(|e| Error::io(path, e))
    }

    /// Reads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes)
    }

    /// The shipped default model (`models/default.rtm`, compiled into the library), for
    /// Chinese and English posts alike.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// assert!(model.labels().contains(&"rumor".to_string()));
    /// ```
    pub fn load_default() -> Result<Self, Error> {
        Self::from_bytes(DEFAULT_MODEL)
    }

    /// Parses and verifies a model file's bytes.
    ///
    /// ```
    /// use rumor_triage::{Error, Model};
    /// assert!(matches!(Model::from_bytes(b"not a model"), Err(Error::NotAModel)));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err(Error::NotAModel);
        }
        let version_bytes: [u8; 4] =
            bytes
                .get(8..12)
                .and_then(|b| b.try_into().ok())
                .ok_or(Error::Truncated {
                    expected: HEADER_LEN as u64,
                    found: bytes.len() as u64,
                })?;
        let version = u32::from_le_bytes(version_bytes);
        if version > FORMAT_VERSION || version == 0 {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version < OLDEST_READ_VERSION {
            return Err(Error::RetiredVersion {
                found: version,
                supported: OLDEST_READ_VERSION,
            });
        }
        let header = bytes.get(..HEADER_LEN).ok_or(Error::Truncated {
            expected: HEADER_LEN as u64,
            found: bytes.len() as u64,
        })?;
        let (fixed, checksum) = header.split_at(20);
        let (_, len_bytes) = fixed.split_at(12);
        let mut length = [0u8; 8];
        length.copy_from_slice(len_bytes);
        let expected = u64::from_le_bytes(length);
        let (_, body) = bytes.split_at(HEADER_LEN);
        if body.len() as u64 != expected {
            return Err(Error::Truncated {
                expected,
                found: body.len() as u64,
            });
        }
        if Sha256::digest(body).as_slice() != checksum {
            return Err(Error::ChecksumMismatch);
        }
        let undecodable =
            |e: postcard::Error| Error::CorruptModel(format!("payload does not decode: {e}"));
        let payload: Payload = if version == 3 {
            postcard::from_bytes::<Payload<FeatureConfigV3, ()>>(body)
                .map_err(undecodable)?
                .upgrade()
        } else {
            postcard::from_bytes(body).map_err(undecodable)?
        };
        Self::from_payload(payload)
    }

    fn from_payload(p: Payload) -> Result<Self, Error> {
        let bad = |m: &str| Error::CorruptModel(m.to_owned());
        p.features
            .validate()
            .map_err(|e| Error::CorruptModel(e.to_string()))?;
        let buckets = p.features.buckets();
        if p.labels.len() < 2 || p.positive.len() != p.labels.len() {
            return Err(bad("labels and flagged labels do not match"));
        }
        if !p.labels.is_sorted_by(|a, b| a < b) {
            return Err(bad("labels are not sorted and unique"));
        }
        if !p.positive.iter().any(|&x| x) || p.positive.iter().all(|&x| x) {
            return Err(bad("flagged labels must be a proper, non-empty subset"));
        }
        let outputs = if p.labels.len() == 2 {
            1
        } else {
            p.labels.len()
        };
        if p.outputs as usize != outputs || p.bias.len() != outputs {
            return Err(bad("output count does not match the labels"));
        }
        let df_indices = delta_decode(&p.df_indices, buckets)
            .ok_or_else(|| bad("document-frequency indices out of range"))?;
        if df_indices.len() != p.df_values.len() {
            return Err(bad("document-frequency table lengths differ"));
        }
        let weight_indices = delta_decode(&p.weight_indices, buckets)
            .ok_or_else(|| bad("weight indices out of range"))?;
        if weight_indices.len().checked_mul(outputs) != Some(p.weight_values.len()) {
            return Err(bad("weight table lengths differ"));
        }
        if !p.weight_values.iter().chain(&p.bias).all(|w| w.is_finite()) {
            return Err(bad("non-finite weight"));
        }
        match p.calibration {
            Calibration::Platt { a, b } if a.is_finite() && b.is_finite() && outputs == 1 => {}
            Calibration::Temperature { t } if t.is_finite() && t > 0.0 && outputs > 1 => {}
            _ => return Err(bad("calibration does not fit the model")),
        }
        if let Some((tpr, fpr)) = p.held_out_rates {
            if !((0.0..=1.0).contains(&tpr) && (0.0..=1.0).contains(&fpr)) {
                return Err(bad("held-out rates outside [0, 1]"));
            }
        }
        if !(0.0..=1.0).contains(&p.threshold) {
            return Err(bad("threshold outside [0, 1]"));
        }
        let df: Vec<(u32, u32)> = df_indices.into_iter().zip(p.df_values).collect();
        if df.iter().any(|&(_, d)| u64::from(d) > p.n_docs) {
            return Err(bad("document frequency above the document count"));
        }
        let mut weights = Array2::<f32>::zeros((buckets, outputs));
        for (&j, values) in weight_indices
            .iter()
            .zip(p.weight_values.chunks_exact(outputs))
        {
            for (o, &value) in values.iter().enumerate() {
                let slot = weights
                    .get_mut((j as usize, o))
                    .ok_or_else(|| bad("weight index out of range"))?;
                *slot = value;
            }
        }
        let tokenizer = text::parse_tokenizer_json(p.tokenizer_json.as_bytes())
            .map_err(|e| Error::CorruptModel(format!("tokenizer.json does not load: {e}")))?;
        let backend = if p.builtin_tokenizer {
            let vocab = text::builtin_vocab_of(&tokenizer)?
                .ok_or_else(|| bad("tokenizer marked built-in is not the built-in pipeline"))?;
            TokenizerBackend::Builtin(features::cached_tokenizer(&vocab, &p.features))
        } else {
            TokenizerBackend::Custom(Box::new(tokenizer))
        };
        let linear = LogisticRegression {
            weights,
            bias: Array1::from_vec(p.bias),
            iterations: p.metadata.iterations as usize,
        };
        // Every bucket gets the idf of a never-seen one (0 when unseen n-grams stay out of
        // the norm), then the seen ones theirs; the values
        // are those of `Idf::from_document_frequencies`, bit for bit.
        let never_seen = Idf::from_document_frequencies(&[0], p.n_docs as usize).get(0);
        let unseen_idf = if p.features.unseen_in_norm {
            never_seen
        } else {
            0.0
        };
        let mut scoring_table = scoring_table(&linear.weights, |_| unseen_idf);
        let seen_df: Vec<u32> = df.iter().map(|&(_, d)| d).collect();
        let seen_idf = Idf::from_document_frequencies(&seen_df, p.n_docs as usize);
        let stride = outputs + 1;
        for (&(b, _), &idf) in df.iter().zip(&seen_idf.values) {
            if let Some(slot) = scoring_table.get_mut(b as usize * stride) {
                *slot = idf;
            }
        }
        Ok(Self {
            scoring_table,
            sublinear_tf: sublinear_tf_table(),
            non_content: features::non_content_hashes(p.features.seed),
            held_out_rates: p.held_out_rates,
            tokenizer: backend,
            tokenizer_json: p.tokenizer_json,
            features: p.features,
            n_docs: p.n_docs,
            df,
            labels: p.labels,
            positive: p.positive,
            linear,
            calibration: p.calibration,
            threshold: p.threshold,
            metadata: p.metadata,
        })
    }
}

fn delta_encode(sorted: &[u32]) -> Vec<u32> {
    let mut prev = 0;
    sorted
        .iter()
        .map(|&v| {
            let d = v - prev;
            prev = v;
            d
        })
        .collect()
}

/// Undoes [`delta_encode`]; `None` if an index reaches `limit` or the order breaks.
fn delta_decode(deltas: &[u32], limit: usize) -> Option<Vec<u32>> {
    let mut out = Vec::with_capacity(deltas.len().min(limit));
    let mut value: u64 = 0;
    for (n, &d) in deltas.iter().enumerate() {
        if n > 0 && d == 0 {
            return None;
        }
        value += u64::from(d);
        if value >= limit as u64 {
            return None;
        }
        out.push(value as u32);
    }
    Some(out)
}

/// The bytes of `models/default.rtm`.
pub(crate) static DEFAULT_MODEL: &[u8] = include_bytes!("../../models/default.rtm");

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-3 file of the shipped model's payload: what `rumor-triage` 0.1 wrote.
    fn version_3_bytes() -> Vec<u8> {
        let p = shipped_payload();
        let f = &p.features;
        let old = Payload::<FeatureConfigV3, ()> {
            tokenizer_json: p.tokenizer_json.clone(),
            builtin_tokenizer: p.builtin_tokenizer,
            features: FeatureConfigV3 {
                hash_bits: f.hash_bits,
                seed: f.seed,
                word_ngrams: f.word_ngrams,
                cjk_ngrams: f.cjk_ngrams,
                sublinear_tf: f.sublinear_tf,
                collapse_repeated_punctuation: f.collapse_repeated_punctuation,
                subword_min: f.subword_min,
                subword_max: f.subword_max,
            },
            n_docs: p.n_docs,
            df_indices: p.df_indices.clone(),
            df_values: p.df_values.clone(),
            labels: p.labels.clone(),
            positive: p.positive.clone(),
            outputs: p.outputs,
            weight_indices: p.weight_indices.clone(),
            weight_values: p.weight_values.clone(),
            bias: p.bias.clone(),
            calibration: p.calibration,
            threshold: p.threshold,
            metadata: p.metadata.clone(),
            held_out_rates: (),
        };
        let body = postcard::to_stdvec(&old).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&Sha256::digest(&body));
        bytes.extend_from_slice(&body);
        bytes
    }

    #[test]
    fn a_version_3_model_loads_with_the_settings_version_3_had() {
        let model = Model::from_bytes(&version_3_bytes()).unwrap();
        let features = model.feature_config();
        assert_eq!(features.norm_smoothing, 0.0);
        assert_eq!(features.min_content_tokens, 0);
        assert!(features.unseen_in_norm);
        assert_eq!(model.held_out_rates(), None);
        // No content rule: one punctuation mark is scored on its one n-gram.
        let question = model.score("?").unwrap();
        assert!(!question.insufficient_text);
        let shipped = Model::load_default().unwrap();
        assert_ne!(
            question.probability,
            shipped.score("?").unwrap().probability
        );
        // Saving writes the current version, which loads back to the same model.
        let again = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
        assert_eq!(again.to_bytes().unwrap(), model.to_bytes().unwrap());
        assert_eq!(again.score("?").unwrap(), question);
    }

    /// The shipped model's bytes: the SHA-256 the model card gives, a header that describes
    /// them, and the scores the README's examples rely on. A change that alters them is a
    /// change of what the shipped model is (models/README.md says how to regenerate it).
    #[test]
    fn the_shipped_model_is_the_one_its_card_describes() {
        let hex: String = Sha256::digest(DEFAULT_MODEL)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "491900a34e1dd3105277dbe6d8f9fe71868deb7aa214056b224a220d22f70e0a"
        );
        assert_eq!(&DEFAULT_MODEL[..8], MAGIC);
        assert_eq!(DEFAULT_MODEL[8..12], FORMAT_VERSION.to_le_bytes());
        assert_eq!(FORMAT_VERSION, 4);
        let length = u64::from_le_bytes(DEFAULT_MODEL[12..20].try_into().unwrap());
        assert_eq!(length, (DEFAULT_MODEL.len() - HEADER_LEN) as u64);
        assert_eq!(
            &DEFAULT_MODEL[20..HEADER_LEN],
            Sha256::digest(&DEFAULT_MODEL[HEADER_LEN..]).as_slice()
        );
        let model = Model::from_bytes(DEFAULT_MODEL).unwrap();
        assert_eq!(
            model.to_bytes().unwrap(),
            DEFAULT_MODEL,
            "load and save round-trip"
        );
        // The README's explain example, to the four decimals it shows: the weights, the idf
        // and the calibration as loaded into the scoring table.
        let why = model
            .explain(
                "BREAKING: unconfirmed reports say a second gunman is still inside the mall",
                4,
            )
            .unwrap();
        assert_eq!(why.features, 64);
        for (got, want) in [
            (why.margin, 5.9743),
            (why.bias, -1.1184),
            (why.score.probability, 0.9970),
            (why.top[0].contribution, 0.4044),
        ] {
            assert!((got - want).abs() < 5e-5, "{got} against {want}");
        }
        // The model card's threshold, to its four decimals.
        assert!(
            (model.threshold() - 0.4938).abs() < 5e-5,
            "{}",
            model.threshold()
        );
    }

    fn shipped_payload() -> Payload {
        postcard::from_bytes(&DEFAULT_MODEL[HEADER_LEN..]).unwrap()
    }

    /// Loading `payload` after `edit` fails with a corrupt-model error naming `why`.
    fn refused(edit: impl FnOnce(&mut Payload), why: &str) {
        let mut payload = shipped_payload();
        edit(&mut payload);
        match Model::from_bytes(&encode(&payload).unwrap()) {
            Err(Error::CorruptModel(message)) => {
                assert!(message.contains(why), "{message:?} does not say {why:?}")
            }
            Err(other) => panic!("expected CorruptModel({why:?}), got {other}"),
            Ok(_) => panic!("a payload with {why:?} loaded"),
        }
    }

    #[test]
    fn every_payload_invariant_is_checked_on_load() {
        // The unedited payload loads: each case below fails for its own reason only.
        assert!(Model::from_bytes(&encode(&shipped_payload()).unwrap()).is_ok());
        refused(|p| p.features.hash_bits = 30, "hash_bits");
        refused(
            |p| (p.labels, p.positive) = (vec!["rumor".into()], vec![true]),
            "labels and flagged labels",
        );
        refused(|p| p.positive.push(false), "labels and flagged labels");
        refused(|p| p.labels.reverse(), "sorted");
        refused(|p| p.labels[1] = p.labels[0].clone(), "sorted");
        refused(
            |p| p.positive = vec![false, false],
            "proper, non-empty subset",
        );
        refused(
            |p| p.positive = vec![true, true],
            "proper, non-empty subset",
        );
        refused(|p| p.outputs = 2, "output count");
        refused(|p| p.bias.push(0.0), "output count");
        refused(|p| p.df_indices.push(1 << 21), "document-frequency indices");
        refused(|p| p.df_indices.push(0), "document-frequency indices");
        refused(
            |p| {
                p.df_values.pop();
            },
            "document-frequency table lengths",
        );
        refused(|p| p.weight_indices.push(1 << 21), "weight indices");
        refused(
            |p| {
                p.weight_values.pop();
            },
            "weight table lengths",
        );
        refused(|p| p.weight_values[3] = f32::NAN, "non-finite");
        refused(|p| p.bias[0] = f32::INFINITY, "non-finite");
        refused(
            |p| p.calibration = Calibration::Temperature { t: 1.0 },
            "calibration",
        );
        refused(
            |p| {
                p.calibration = Calibration::Platt {
                    a: f64::NAN,
                    b: 0.0,
                }
            },
            "calibration",
        );
        refused(
            |p| {
                p.calibration = Calibration::Platt {
                    a: 0.0,
                    b: f64::INFINITY,
                }
            },
            "calibration",
        );
        refused(|p| p.threshold = 1.5, "threshold");
        refused(|p| p.threshold = -0.1, "threshold");
        refused(|p| p.n_docs = 1, "document frequency above");
        // A bucket found in every document is allowed: the bound is inclusive.
        let mut every = shipped_payload();
        every.n_docs = u64::from(*every.df_values.iter().max().unwrap());
        assert!(Model::from_bytes(&encode(&every).unwrap()).is_ok());
        refused(|p| p.tokenizer_json = "{".into(), "tokenizer.json");
        refused(
            |p| {
                assert!(p.tokenizer_json.contains("\"clean_text\":true"));
                p.tokenizer_json =
                    p.tokenizer_json
                        .replacen("\"clean_text\":true", "\"clean_text\":false", 1)
            },
            "built-in",
        );
    }

    #[test]
    fn a_multi_class_payload_needs_a_positive_temperature() {
        let mut payload = shipped_payload();
        payload.labels.push("z-other".into());
        payload.positive.push(false);
        payload.outputs = 3;
        payload.bias = vec![0.0; 3];
        let rows = payload.weight_values.len();
        payload.weight_values = payload
            .weight_values
            .iter()
            .flat_map(|&w| [w, 0.0, -w])
            .collect();
        assert_eq!(payload.weight_values.len(), rows * 3);
        for (t, ok) in [(1.5, true), (0.0, false), (-1.0, false), (f64::NAN, false)] {
            payload.calibration = Calibration::Temperature { t };
            let loaded = Model::from_bytes(&encode(&payload).unwrap());
            assert_eq!(loaded.is_ok(), ok, "temperature {t}");
        }
        payload.calibration = Calibration::Platt { a: 1.0, b: 0.0 };
        assert!(Model::from_bytes(&encode(&payload).unwrap()).is_err());
    }

    #[test]
    fn the_header_is_checked_field_by_field() {
        let good = DEFAULT_MODEL.to_vec();
        let with = |at: usize, bytes: &[u8]| {
            let mut b = good.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            Model::from_bytes(&b)
        };
        assert!(matches!(with(0, b"RUMORTRX"), Err(Error::NotAModel)));
        assert!(matches!(
            with(8, &0u32.to_le_bytes()),
            Err(Error::UnsupportedVersion { found: 0, .. })
        ));
        assert!(matches!(
            with(8, &5u32.to_le_bytes()),
            Err(Error::UnsupportedVersion {
                found: 5,
                supported: 4
            })
        ));
        assert!(matches!(
            with(8, &2u32.to_le_bytes()),
            Err(Error::RetiredVersion {
                found: 2,
                supported: 3
            })
        ));
        // Version 3 is still read, with its own layout: a version-4 payload labelled 3 does
        // not decode as one.
        assert!(matches!(
            with(8, &3u32.to_le_bytes()),
            Err(Error::CorruptModel(_))
        ));
        let length = (good.len() - HEADER_LEN) as u64;
        assert!(matches!(
            with(12, &(length + 1).to_le_bytes()),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            with(12, &(length - 1).to_le_bytes()),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(with(20, &[0u8; 32]), Err(Error::ChecksumMismatch)));
        assert!(matches!(
            Model::from_bytes(&good[..10]),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            Model::from_bytes(&good[..30]),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            Model::from_bytes(&good[..good.len() - 1]),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn indices_are_delta_coded_and_checked_on_decode() {
        assert_eq!(delta_encode(&[3, 4, 10]), [3, 1, 6]);
        assert_eq!(delta_encode(&[]), Vec::<u32>::new());
        assert_eq!(delta_decode(&[3, 1, 6], 11), Some(vec![3, 4, 10]));
        assert_eq!(delta_decode(&[0, 1], 11), Some(vec![0, 1]));
        assert_eq!(delta_decode(&[3, 0], 11), None, "a repeated index");
        assert_eq!(delta_decode(&[3, 1, 6], 10), None, "an index at the limit");
        assert_eq!(delta_decode(&[], 10), Some(vec![]));
        assert_eq!(
            nonzero_document_frequencies(&[0, 2, 0, 1]),
            [(1, 2), (3, 1)]
        );
    }

    #[test]
    fn saving_and_loading_keep_the_bytes_and_the_scores() {
        let model = Model::load_default().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.rtm");
        model.save(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), DEFAULT_MODEL);
        let loaded = Model::load(&path).unwrap();
        let text = "Unconfirmed: is the bridge closed?";
        assert_eq!(loaded.score(text).unwrap(), model.score(text).unwrap());
        assert!(matches!(
            Model::load(dir.path().join("missing.rtm")),
            Err(Error::Io { .. })
        ));
        assert!(model.score(text).unwrap().probability > 0.0);
    }
}
