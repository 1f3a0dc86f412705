"""Loading, scoring and explaining: the same as the command line, bit for bit, from every
kind of string column people hold."""

from __future__ import annotations

import json
import pickle
import threading
import time

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import rumor_triage as rt
from conftest import read_jsonl, run_cli


@pytest.fixture(scope="module")
def model() -> rt.Model:
    return rt.Model.default()


def seed_texts(repo) -> list[str]:
    posts = read_jsonl(repo / "seeds" / "posts.jsonl") + read_jsonl(repo / "seeds" / "short-benign.jsonl")
    return [p["text"] for p in posts]


def cli_scores(cli, path, *args: str) -> list[dict]:
    return [json.loads(line) for line in run_cli(cli, "score", str(path), *args).splitlines()]


def test_scores_equal_the_command_lines_bit_for_bit(cli, repo, model, tmp_path):
    texts = seed_texts(repo)
    dump = tmp_path / "posts.jsonl"
    dump.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    expected = cli_scores(cli, dump)
    got = model.score(texts).to_pylist()
    assert len(got) == len(expected) == len(texts)
    for g, e in zip(got, expected):
        # The command line prints the f32 probability widened to f64; so is it read here.
        assert g["probability"] == e["probability"], (g, e)
        assert (g["label"], g["flagged"], g["insufficient_text"]) == (
            e["label"],
            e["flagged"],
            e.get("insufficient_text", False),
        )


def test_the_data_scores_equal_the_command_lines(cli, data, model, tmp_path):
    test = data / "pheme" / "test.jsonl"
    texts = [r["text"] for r in read_jsonl(test)]
    expected = [e["probability"] for e in cli_scores(cli, test)]
    got = model.score(pa.array(texts), threads=2).column("probability").to_pylist()
    assert got == expected


def test_every_arrow_string_type_and_chunking_gives_the_same_scores(model):
    texts = ["Unconfirmed: is the gunman still inside?", None, "网传明天有地震，请转发", "", "Lunch was great"]
    reference = model.score(texts).to_pylist()
    inputs = {
        "string": pa.array(texts, type=pa.string()),
        "large_string": pa.array(texts, type=pa.large_string()),
        "string_view": pa.array(texts, type=pa.string_view()),
        "dictionary": pa.array(texts).dictionary_encode(),
        "chunked": pa.chunked_array([texts[:2], texts[2:]]),
        "polars": pl.Series(texts),
        "pandas object": pd.Series(texts, dtype=object),
        "pandas string": pd.Series(texts, dtype="string"),
        "tuple": tuple(texts),
    }
    for name, column in inputs.items():
        assert model.score(column).to_pylist() == reference, name


def test_nulls_in_give_nulls_out(model):
    batch = model.score(pa.array([None, "Is it true the bridge collapsed?", None]))
    assert batch.num_rows == 3
    for name in batch.column_names:
        assert batch.column(name).null_count == 2, name
    assert batch.column("probability")[1].is_valid
    assert model.score(pa.nulls(4)).column("label").null_count == 4
    assert model.score([]).num_rows == 0


def test_a_column_of_numbers_is_refused_with_a_clear_error(model):
    with pytest.raises(rt.InvalidOptionError, match="expected strings") as raised:
        model.score(pa.array([1, 2, 3]))
    assert raised.value.kind == "invalid_option"
    assert isinstance(raised.value, ValueError)
    with pytest.raises(rt.InvalidOptionError, match="single str"):
        model.score("one text is not a column")


def test_pandas_output_and_threshold_override(model):
    texts = ["Unconfirmed: is the gunman still inside?", "Lunch was great"]
    frame = model.score(texts, output="pandas")
    assert list(frame.columns) == ["label", "probability", "flagged", "insufficient_text"]
    strict = model.score(texts, threshold=1.0).column("flagged").to_pylist()
    assert strict == [False, False]
    with pytest.raises(rt.InvalidOptionError):
        model.score(texts, threads=0)


def test_explain_and_info_equal_the_command_lines(cli, model):
    text = "网传明天有地震，请转发"
    assert model.explain(text, 5) == json.loads(run_cli(cli, "explain", "--json", "-k", "5", text))
    assert model.info() == json.loads(run_cli(cli, "info"))
    why = model.explain(text, 3)
    assert len(why["top"]) == 3 and why["score"]["flagged"]


def test_model_files_round_trip_and_bad_files_raise_model_file_errors(model, tmp_path):
    path = tmp_path / "m.rtm"
    model.save(path)
    again = rt.Model.load(path)
    assert again.to_bytes() == model.to_bytes() == path.read_bytes()
    assert pickle.loads(pickle.dumps(model)).to_bytes() == model.to_bytes()
    corrupt = bytearray(path.read_bytes())
    corrupt[-1] ^= 0xFF
    with pytest.raises(rt.ModelFileError) as raised:
        rt.Model.from_bytes(bytes(corrupt))
    assert raised.value.kind == "checksum_mismatch"
    with pytest.raises(rt.ModelFileError, match="bad magic") as raised:
        rt.Model.from_bytes(b"not a model at all")
    assert raised.value.kind == "not_a_model"
    with pytest.raises(rt.RumorTriageIOError) as raised:
        rt.Model.load(tmp_path / "missing.rtm")
    assert isinstance(raised.value, OSError) and raised.value.kind == "io"
    assert pickle.loads(pickle.dumps(raised.value)).kind == "io"


def test_scoring_releases_the_gil(model):
    texts = pa.array(["Unconfirmed reports say the bridge on Route 9 has collapsed, share now"] * 200_000)
    ticks = 0
    done = threading.Event()

    def score():
        model.score(texts, threads=1)
        done.set()

    worker = threading.Thread(target=score)
    started = time.perf_counter()
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    elapsed = time.perf_counter() - started
    # With the GIL held for the whole call this thread could not tick until it returned.
    assert elapsed > 0.05
    assert ticks > 10, (ticks, elapsed)


def test_a_large_array_is_read_in_place(model):
    """100,000 texts of 1,000 bytes (100 MB): scoring allocates about the result and the
    threads' workspaces, not a copy of each text."""
    resource = pytest.importorskip("resource")
    text = ("Unconfirmed reports say the bridge has collapsed " * 21)[:1000]
    column = pa.array([text] * 100_000, type=pa.large_string())
    model.score(column.slice(0, 1000), threads=2)  # threads and workspaces set up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    batch = model.score(column, threads=2)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert batch.num_rows == 100_000
    assert column.nbytes > 100_000_000
    assert grown_mib < 30, f"peak memory grew by {grown_mib:.1f} MiB scoring a {column.nbytes / 2**20:.0f} MiB column"


def test_numpy_string_arrays_and_generators_work(model):
    texts = np.array(["Is it true the bridge collapsed?", "Lunch was great"])
    assert model.score(texts).num_rows == 2
    assert model.score(t for t in texts).num_rows == 2


def test_load_cached_loads_once_and_again_after_a_change(model, tmp_path):
    path = tmp_path / "m.rtm"
    model.save(path)
    first = rt.load_cached(path)
    assert rt.load_cached(str(path)) is first
    other = rt.train(["rumor says a b c"] * 10 + ["news today d e f"] * 10, ["rumor"] * 10 + ["non-rumor"] * 10, c=1, folds=2)
    other.save(path)
    assert rt.load_cached(path).to_bytes() == other.to_bytes()
    assert rt.load_cached() is rt.load_cached()
