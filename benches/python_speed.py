#!/usr/bin/env python3
"""The Python package against the command line, run by run interleaved so that each ratio
pairs runs made under the same machine load:

- scoring: `rumor-triage score DUMP --threads T` (reads and parses the JSONL, writes the
  scored lines) against `Model.score` on the same texts already in a pyarrow array, and
  against the scikit-learn estimator's `predict_proba` on that array;
- training: `rumor-triage train --input FILE --threads T` against `rumor_triage.train` on
  the same records (read from JSON in Python first; only the call is timed).

Each Python measurement runs in a fresh interpreter, as each command does. Prints medians
and the median of paired ratios (Python / command line) per thread count.

    python3 benches/python_speed.py --dump target/peers/dump.jsonl \
        --bin target/release/rumor-triage --train ../shared/data/weibo-ced/train.jsonl \
        --threads 1,2 --runs 5

The Python used must have a release build of the package installed
(`pip install ./bindings/python`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCORE = """
import sys, time, pyarrow as pa, pyarrow.ipc as ipc
import rumor_triage as rt
texts = ipc.open_file(sys.argv[1]).read_all().column("text").combine_chunks()
model = rt.Model.default()
how, threads = sys.argv[2], int(sys.argv[3])
if how == "predict_proba":
    import numpy as np
    from rumor_triage.sklearn import RumorTriageClassifier
    clf = RumorTriageClassifier(threads=threads)
    clf.model_, clf.classes_, clf.pos_index_ = model, np.array(["non-rumor", "rumor"]), 1
    start = time.perf_counter(); out = clf.predict_proba(texts); n = len(out)
else:
    start = time.perf_counter(); out = model.score(texts, threads=threads); n = out.num_rows
print(time.perf_counter() - start, n)
"""

TRAIN = """
import json, sys, time
import rumor_triage as rt
records = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
texts, labels = [r["text"] for r in records], [r["label"] for r in records]
start = time.perf_counter()
rt.train(texts, labels, threads=int(sys.argv[2]))
print(time.perf_counter() - start, len(texts))
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def python_seconds(script: str, *args: str) -> float:
    out = subprocess.run([sys.executable, "-c", script, *args], check=True, capture_output=True, text=True)
    return float(out.stdout.split()[0])


def texts_file(dump: Path, work: Path) -> Path:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    texts = []
    with open(dump, encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
    path = work / "texts.arrow"
    table = pa.table({"text": pa.array(texts, type=pa.large_string())})
    with ipc.new_file(path, table.schema) as writer:
        writer.write_table(table)
    return path


def report(name: str, base: list[float], other: list[float], items: int) -> str:
    ratios = [o / b for o, b in zip(other, base)]
    return (
        f"| {name} | {statistics.median(base):.3f} | {statistics.median(other):.3f} | "
        f"{items / statistics.median(other):,.0f} | {statistics.median(ratios):.3f} | "
        f"{min(ratios):.3f}–{max(ratios):.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", type=Path, required=True)
    parser.add_argument("--bin", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        arrow = texts_file(args.dump, work)
        items = sum(1 for _ in open(args.dump, "rb"))
        train_items = sum(1 for _ in open(args.train, "rb"))
        rows = []
        for t in threads:
            cli, score, proba, cli_train, py_train = [], [], [], [], []
            for _ in range(args.runs):
                cli.append(timed([str(args.bin), "score", str(args.dump), "--quiet", "--threads", str(t), "--out", str(work / "out.jsonl")]))
                score.append(python_seconds(SCORE, str(arrow), "score", str(t)))
                proba.append(python_seconds(SCORE, str(arrow), "predict_proba", str(t)))
                cli_train.append(timed([str(args.bin), "train", "--input", str(args.train), "--out", str(work / "m.rtm"), "--threads", str(t)]))
                py_train.append(python_seconds(TRAIN, str(args.train), str(t)))
            rows.append(report(f"`Model.score` (pyarrow), {t} thread(s)", cli, score, items))
            rows.append(report(f"`predict_proba` (pyarrow), {t} thread(s)", cli, proba, items))
            rows.append(report(f"`train`, {t} thread(s)", cli_train, py_train, train_items))
    print(f"{items:,} texts scored; {train_items:,} trained on; {args.runs} runs, interleaved\n")
    print("| what | command line s (median) | Python s (median) | items/s (Python) | paired ratio Python/CLI (median) | range |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
