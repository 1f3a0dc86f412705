"""Training and the evaluation protocols: the same model bytes and reports as the command
line for the same data and seed."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import rumor_triage as rt
from conftest import read_jsonl, run_cli


def columns(path):
    records = read_jsonl(path)
    return records, [r["text"] for r in records], [r["label"] for r in records]


def test_training_gives_the_command_lines_model_bytes(cli, data, tmp_path):
    path = data / "weibo-ced" / "test.jsonl"
    _, texts, labels = columns(path)
    out = tmp_path / "cli.rtm"
    run_cli(cli, "train", "--input", str(path), "--out", str(out), "--threads", "1")
    for threads in (1, 2):
        model = rt.train(texts, labels, notes="trained on test.jsonl", threads=threads)
        assert model.to_bytes() == out.read_bytes(), f"threads={threads}"
    assert any(line.startswith("C ") for line in model.training_log)


def test_options_map_to_the_command_lines(cli, data, tmp_path):
    path = data / "pheme" / "test.jsonl"
    records, texts, labels = columns(path)
    out = tmp_path / "cli.rtm"
    run_cli(
        cli, "train", "--input", str(path), "--out", str(out), "--c", "3", "--word-ngrams", "1",
        "--hash-bits", "18", "--balanced", "--loss", "squared-hinge", "--calibrate-by-group", "event",
        "--min-content-tokens", "2", "--target-precision", "0.8", "--seed", "7",
    )  # fmt: skip
    model = rt.train(
        pa.array(texts), labels, groups=[r["event"] for r in records], notes="trained on test.jsonl",
        c=3, word_ngrams=1, hash_bits=18, balanced=True, loss="squared-hinge", min_content_tokens=2,
        target_precision=0.8, seed=7,
    )  # fmt: skip
    assert model.to_bytes() == out.read_bytes()


def test_models_trained_in_python_load_in_the_command_line(cli, data, tmp_path):
    _, texts, labels = columns(data / "weibo-ced" / "test.jsonl")
    model = rt.train(texts, labels, c=10)
    path = tmp_path / "py.rtm"
    model.save(path)
    assert json.loads(run_cli(cli, "info", str(path))) == model.info()
    dump = tmp_path / "posts.jsonl"
    dump.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts[:200]))
    scored = [json.loads(line) for line in run_cli(cli, "score", str(dump), "--model", str(path)).splitlines()]
    assert [s["probability"] for s in scored] == model.score(texts[:200]).column("probability").to_pylist()


def test_k_fold_report_equals_the_command_lines(cli, data):
    path = data / "weibo-ced" / "test.jsonl"
    _, texts, labels = columns(path)
    expected = json.loads(run_cli(cli, "eval", "--input", str(path), "--kfold", "3", "--c", "10", "--format", "json"))
    report, predictions = rt.evaluate(texts, labels, protocol="kfold", folds=3, c=10)
    assert report == expected
    assert predictions.num_rows == len(texts)
    assert predictions.column("index").to_pylist() == list(range(len(texts)))
    assert predictions.column("label").to_pylist() == labels
    assert set(predictions.column("round").to_pylist()) == {"fold 1", "fold 2", "fold 3"}


def test_leave_one_group_out_and_chronological_equal_the_command_lines(cli, data):
    path = data / "pheme" / "test.jsonl"
    records, texts, labels = columns(path)
    events = [r["event"] for r in records]
    expected = json.loads(run_cli(
        cli, "eval", "--input", str(path), "--group-by", "event", "--groups", "ferguson,sydneysiege",
        "--c", "10", "--format", "json",
    ))  # fmt: skip
    report, predictions = rt.evaluate(
        texts, labels, protocol="group", groups=events, held_out=["ferguson", "sydneysiege"], c=10
    )
    assert report == expected
    held = [i for i, e in enumerate(events) if e in ("ferguson", "sydneysiege")]
    assert predictions.column("index").to_pylist() == held
    assert predictions.column("round").to_pylist() == [events[i] for i in held]

    expected = json.loads(run_cli(cli, "eval", "--input", str(path), "--chrono", "time", "--c", "10", "--format", "json"))
    times = [r["time"] for r in records]
    report, predictions = rt.evaluate(texts, labels, protocol="chrono", times=times, c=10)
    assert report == expected
    assert predictions.num_rows == expected["test_items"]
    latest = sorted(range(len(times)), key=lambda i: (times[i], i))[-predictions.num_rows :]
    assert sorted(predictions.column("index").to_pylist()) == sorted(latest)


def test_a_model_evaluates_as_eval_model_does(cli, data):
    path = data / "pheme" / "test.jsonl"
    _, texts, labels = columns(path)
    expected = json.loads(run_cli(cli, "eval", "--input", str(path), "--format", "json"))
    report, predictions = rt.Model.default().evaluate(texts, labels)
    assert report == expected
    scores = rt.Model.default().score(texts)
    assert predictions.column("probability").to_pylist() == scores.column("probability").to_pylist()


def test_training_input_errors_are_clear():
    texts = [f"rumor says {i}" if i % 2 else f"news today {i}" for i in range(20)]
    labels = ["rumor" if i % 2 else "non-rumor" for i in range(20)]
    with pytest.raises(rt.InvalidInputError, match=r"texts\[3\] is null"):
        rt.train(texts[:3] + [None] + texts[4:], labels)
    with pytest.raises(rt.InvalidInputError, match="labels has 19 values for 20 texts"):
        rt.train(texts, labels[:-1])
    with pytest.raises(rt.InvalidOptionError, match="hash_bit"):
        rt.train(texts, labels, hash_bit=18)
    with pytest.raises(rt.InvalidOptionError, match="hash_bits"):
        rt.train(texts, labels, hash_bits=40)
    with pytest.raises(rt.TooFewExamplesError):
        rt.train(texts, ["rumor"] * 20)
    with pytest.raises(rt.InvalidInputError, match="times"):
        rt.evaluate(texts, labels, protocol="chrono", times=["yesterday"] * 20)
    with pytest.raises(rt.InvalidOptionError, match="protocol"):
        rt.evaluate(texts, labels, protocol="bootstrap")


def test_datetimes_are_times():
    import datetime as dt

    texts = [f"rumor says {i}" if i % 2 else f"news today {i}" for i in range(40)]
    labels = ["rumor" if i % 2 else "non-rumor" for i in range(40)]
    base = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    times = [base + dt.timedelta(hours=i) for i in range(40)]
    report, predictions = rt.evaluate(texts, labels, protocol="chrono", times=times, folds=2, c=1)
    assert report["test_items"] == 8
    assert sorted(predictions.column("index").to_pylist()) == list(range(32, 40))
