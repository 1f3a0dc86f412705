"""Score a post dump with Polars: the texts go to rumor_triage as Arrow, without a copy.

    python polars_scoring.py DUMP.jsonl [OUT.parquet]
"""

from __future__ import annotations

import sys

import polars as pl

import rumor_triage as rt


def score_frame(posts: pl.DataFrame, model: rt.Model, threads: int | None = None) -> pl.DataFrame:
    """``posts`` with the score columns beside its own."""
    scores = pl.from_arrow(model.score(posts["text"], threads=threads))
    return pl.concat([posts, scores], how="horizontal")


def probability_expr(model: rt.Model) -> pl.Expr:
    """The probability as a Polars expression, for ``with_columns`` and lazy queries."""
    return pl.col("text").map_batches(
        lambda texts: pl.from_arrow(model.score(texts).column("probability")),
        return_dtype=pl.Float32,
    )


if __name__ == "__main__":
    model = rt.Model.default()
    posts = pl.read_ndjson(sys.argv[1])
    scored = score_frame(posts, model)
    print(scored.group_by("label").len().sort("label"))
    print(posts.lazy().with_columns(probability=probability_expr(model)).filter(pl.col("probability") > 0.9).collect())
    if len(sys.argv) > 2:
        scored.write_parquet(sys.argv[2])
