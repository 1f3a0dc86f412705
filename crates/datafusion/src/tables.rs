//! Tables of posts from files: Parquet, or NDJSON (plain, gzip or zstd), one file, a
//! directory of them, or a glob, as DataFusion's listing tables read them.

use std::path::Path;

use datafusion::common::{plan_err, Result};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::prelude::{JsonReadOptions, ParquetReadOptions, SessionContext};

/// The format of a table's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON with this file extension and compression.
    NdJson(&'static str, FileCompressionType),
}

impl TableFormat {
    /// The format a path's name says: `.parquet`, or `.jsonl`, `.ndjson` or `.json`, each
    /// optionally followed by `.gz` or `.zst`. For a directory, the first file in it
    /// that has one of these names.
    ///
    /// ```
    /// use rumor_triage_datafusion::TableFormat;
    /// assert_eq!(TableFormat::of("dump/part-0.parquet").unwrap(), TableFormat::Parquet);
    /// assert!(matches!(TableFormat::of("posts.jsonl.zst").unwrap(), TableFormat::NdJson(".jsonl.zst", _)));
    /// assert!(TableFormat::of("posts.csv").is_err());
    /// ```
    pub fn of(path: &str) -> Result<Self> {
        let dir = Path::new(path);
        if dir.is_dir() {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .map_err(datafusion::common::DataFusionError::IoError)?
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            return match names.iter().find_map(|name| Self::of_name(name)) {
                Some(format) => Ok(format),
                None => plan_err!("{path} holds no .parquet, .jsonl, .ndjson or .json files"),
            };
        }
        match Self::of_name(path) {
            Some(format) => Ok(format),
            None => plan_err!(
                "{path}: name a .parquet file, or NDJSON as .jsonl, .ndjson or .json (optionally .gz or .zst)"
            ),
        }
    }

    fn of_name(name: &str) -> Option<Self> {
        if name.ends_with(".parquet") {
            return Some(TableFormat::Parquet);
        }
        const NDJSON: [(&str, FileCompressionType); 9] = [
            (".jsonl", FileCompressionType::UNCOMPRESSED),
            (".ndjson", FileCompressionType::UNCOMPRESSED),
            (".json", FileCompressionType::UNCOMPRESSED),
            (".jsonl.gz", FileCompressionType::GZIP),
            (".ndjson.gz", FileCompressionType::GZIP),
            (".json.gz", FileCompressionType::GZIP),
            (".jsonl.zst", FileCompressionType::ZSTD),
            (".ndjson.zst", FileCompressionType::ZSTD),
            (".json.zst", FileCompressionType::ZSTD),
        ];
        NDJSON
            .iter()
            .find(|(extension, _)| name.ends_with(extension))
            .map(|&(extension, compression)| TableFormat::NdJson(extension, compression))
    }
}

/// Registers the files at `path` as table `name` of `ctx`, in the format their names say
/// ([`TableFormat::of`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> datafusion::common::Result<()> {
/// let ctx = datafusion::prelude::SessionContext::new();
/// let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/../../seeds/posts.parquet");
/// rumor_triage_datafusion::register_table(&ctx, "posts", seeds).await?;
/// let rows = ctx.sql("SELECT COUNT(*) FROM posts").await?.collect().await?;
/// assert_eq!(rows[0].num_rows(), 1);
/// # Ok(()) }
/// ```
pub async fn register_table(ctx: &SessionContext, name: &str, path: &str) -> Result<()> {
    match TableFormat::of(path)? {
        TableFormat::Parquet => {
            ctx.register_parquet(name, path, ParquetReadOptions::default())
                .await
        }
        TableFormat::NdJson(extension, compression) => {
            let options = JsonReadOptions::default()
                .file_extension(extension)
                .file_compression_type(compression);
            ctx.register_json(name, path, options).await
        }
    }
}
