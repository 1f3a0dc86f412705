"""The examples under examples/ run and give what they say."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa

import rumor_triage as rt

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_polars_example_scores_in_a_frame_and_in_a_lazy_query(repo):
    polars_scoring = example("polars_scoring")
    model = rt.Model.default()
    posts = pl.read_ndjson(repo / "seeds" / "posts.jsonl")
    scored = polars_scoring.score_frame(posts, model, threads=2)
    expected = model.score(posts["text"].to_list())
    assert scored.height == posts.height
    assert scored["probability"].to_list() == expected.column("probability").to_pylist()
    lazy = posts.lazy().with_columns(probability=polars_scoring.probability_expr(model)).collect()
    assert lazy["probability"].to_list() == expected.column("probability").to_pylist()


def test_pandas_example_scores_and_counts(repo):
    pandas_scoring = example("pandas_scoring")
    model = rt.Model.default()
    posts = pd.read_json(repo / "seeds" / "posts.jsonl", lines=True, dtype={"id": str})
    scored = pandas_scoring.score_frame(posts, model)
    assert list(scored["flagged"]) == model.score(list(posts["text"])).column("flagged").to_pylist()
    counts = rt.cleanup_counts(scored, model=model)
    assert counts["total"] == len(posts)
    assert counts["flagged"] == int(scored["flagged"].sum())


def test_spark_example_function_scores_arrow_batches(repo):
    """The function Spark's mapInArrow calls, on Arrow batches as Spark passes them (the
    Spark run itself is documented in docs/python.md)."""
    spark = example("spark_map_in_arrow")
    table = pa.Table.from_pylist([{"id": str(i), "text": t} for i, t in enumerate(["Unconfirmed: gunman inside?", None, "Lunch"] * 3)])
    batches = list(spark.score_batches(iter(table.to_batches(max_chunksize=4))))
    out = pa.Table.from_batches(batches)
    assert out.column_names == ["id", "label", "probability", "flagged", "insufficient_text"]
    assert out.num_rows == 9 and out.column("probability").null_count == 3
    assert spark.load_model(None) is rt.load_cached()


def test_leave_one_event_out_notebook_runs(data, tmp_path):
    png = tmp_path / "reliability.png"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "leave_one_event_out.py"), str(data), str(png)],
        capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "pooled macro-F1" in done.stdout and "sydneysiege" in done.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_readme_python_example_runs(repo, data, tmp_path):
    readme = (repo / "README.md").read_text(encoding="utf-8")
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace('"../shared/data/', f'"{data}/')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "insufficient_text" in done.stdout
    assert 0.5 < float(done.stdout.strip().splitlines()[-1]) < 1.0
