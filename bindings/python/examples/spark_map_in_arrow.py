"""Score a dump on a Spark cluster with ``mapInArrow`` (Spark 3.3+).

Each Python worker loads the model once (``rumor_triage.load_cached`` keeps it per
process; a cache defined in this script would not survive, as Spark ships the script's
functions to the workers by value) and scores
the Arrow batches Spark hands it on ``THREADS_PER_TASK`` threads: Spark already runs one
task per core, so letting every task use all cores would oversubscribe them. Ship the
model file to the workers with ``--files model.rtm`` (it is then found by
``SparkFiles.get``), or leave it out to use the model in the package.

    spark-submit --master local[2] spark_map_in_arrow.py DUMP.jsonl OUT_DIR [model.rtm]
"""

from __future__ import annotations

import os
import sys
from typing import Iterator

import pyarrow as pa

import rumor_triage as rt

THREADS_PER_TASK = int(os.environ.get("RUMOR_TRIAGE_THREADS_PER_TASK", "1"))
SCHEMA = "id string, label string, probability float, flagged boolean, insufficient_text boolean"


def load_model(name: str | None) -> rt.Model:
    """The model shipped with ``--files`` (or the package's), loaded once per worker."""
    if name is None:
        return rt.load_cached()
    from pyspark import SparkFiles

    return rt.load_cached(SparkFiles.get(name))


def score_batches(batches: Iterator[pa.RecordBatch], model_name: str | None = None) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``'s function: each batch's ids with their scores."""
    model = load_model(model_name)
    for batch in batches:
        scores = model.score(batch.column("text"), threads=THREADS_PER_TASK)
        yield pa.RecordBatch.from_arrays(
            [batch.column("id"), *scores.columns], names=["id", *scores.schema.names]
        )


def main(dump: str, out: str, model_path: str | None = None) -> None:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("rumor-triage").getOrCreate()
    model_name = None
    if model_path:
        spark.sparkContext.addFile(model_path)
        model_name = os.path.basename(model_path)
    posts = spark.read.json(dump).selectExpr("CAST(id AS STRING) AS id", "text")
    scored = posts.mapInArrow(lambda batches: score_batches(batches, model_name), SCHEMA)
    scored.write.mode("overwrite").parquet(out)
    flagged = spark.read.parquet(out).groupBy("flagged").count().collect()
    print({row["flagged"]: row["count"] for row in flagged})
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
