"""Cleanup counts from Python equal `rumor-triage score --counts` on the same posts."""

from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pytest

import rumor_triage as rt
from conftest import read_jsonl, run_cli


def cli_counts(cli, path, tmp_path, *args: str) -> dict:
    out = tmp_path / "counts.json"
    run_cli(cli, "score", str(path), "--counts", str(out), *args)
    return json.loads(out.read_text())


@pytest.mark.parametrize("tz", [None, "Asia/Shanghai"])
def test_counts_equal_the_command_lines(cli, repo, tmp_path, tz):
    path = repo / "seeds" / "posts.jsonl"
    expected = cli_counts(cli, path, tmp_path, *(["--tz", tz] if tz else []))
    posts = pa.Table.from_pylist(read_jsonl(path))
    model = rt.Model.default()
    counted = rt.cleanup_counts(posts, model=model, tz=tz)
    assert counted.pop("null_texts") == 0
    assert counted == expected
    scores = model.score(posts.column("text"))
    assert model.cleanup_counts(posts, scores=scores, tz=tz) | {"null_texts": 0} == expected | {"null_texts": 0}


def test_counts_from_keyword_columns_and_polars(repo):
    records = read_jsonl(repo / "seeds" / "posts.jsonl")
    by_columns = rt.cleanup_counts(
        texts=[r["text"] for r in records],
        ids=[r["id"] for r in records],
        accounts=[r.get("account") for r in records],
        platforms=[r.get("platform") for r in records],
        times=[r.get("time") for r in records],
    )
    assert by_columns == rt.cleanup_counts(pl.DataFrame(records))


def test_null_texts_are_counted_not_lost():
    counted = rt.cleanup_counts(texts=["Unconfirmed: gunman inside?", None, "Lunch"])
    assert (counted["total"], counted["null_texts"]) == (2, 1)
    with pytest.raises(rt.InvalidInputError, match="text"):
        rt.cleanup_counts(pa.table({"body": ["a"]}))
