#!/usr/bin/env python3
"""Times `rumor-triage score` against fastText, Vowpal Wabbit and scikit-learn on one
generated dump, interleaving the commands run by run so that each ratio pairs runs made
under the same machine load, and prints one markdown table. Called by compare_peers.sh,
which installs the peers, builds the binary and writes the dump and the training files.

Each command runs whole, model loading included; the peers read the same posts
pre-tokenized (benches/make_dump.py), we read raw JSONL. Peak RSS comes from wait4().
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SKLEARN_TRAIN = """
import pickle, sys
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
texts, labels = [], []
for line in open(sys.argv[1], encoding="utf-8"):
    label, _, text = line.rstrip("\\n").partition(" ")
    labels.append(label); texts.append(text)
model = make_pipeline(TfidfVectorizer(token_pattern=r"\\S+", ngram_range=(1, 2), sublinear_tf=True),
                      LogisticRegression(C=10, max_iter=1000))
model.fit(texts, labels)
pickle.dump(model, open(sys.argv[2], "wb"))
"""

SKLEARN_SCORE = """
import itertools, pickle, sys
model = pickle.load(open(sys.argv[1], "rb"))
with open(sys.argv[2], encoding="utf-8") as f, open(sys.argv[3], "w") as out:
    while True:
        batch = [l.rstrip("\\n") for l in itertools.islice(f, 20000)]
        if not batch:
            break
        for p in model.predict_proba(batch)[:, 1]:
            out.write(f"{p:.6f}\\n")
"""


def run(command):
    """Wall seconds and peak RSS (MiB) of one command; stdout discarded."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(command)} failed with {code}: {stderr}")
    return seconds, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="where make_dump.py wrote its files")
    parser.add_argument("--bin", required=True, help="the rumor-triage binary")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, required=True, help="the evaluation data (../shared/data)")
    args = parser.parse_args()
    d = args.dir
    posts = sum(1 for _ in open(d / "dump.jsonl", "rb"))
    jsonl_bytes = (d / "dump.jsonl").stat().st_size
    tokenized_bytes = (d / "dump.ft.txt").stat().st_size

    subprocess.run(["fasttext", "supervised", "-input", d / "train.ft.txt", "-output", d / "ft",
                    "-wordNgrams", "2", "-dim", "10", "-bucket", "1000000", "-epoch", "10",
                    "-thread", "1", "-verbose", "0"], check=True)
    subprocess.run([sys.executable, "-m", "vowpalwabbit", "-d", d / "train.vw", "-f", d / "vw.model",
                    "-b", "20", "--ngram", "2", "--loss_function", "logistic", "--quiet"], check=True)
    subprocess.run([sys.executable, "-c", SKLEARN_TRAIN, d / "train.ft.txt", d / "sklearn.pkl"], check=True)

    # The same pipeline with the fewest features it has (word and character unigrams, no
    # character n-grams inside words) and no campaigns: what the tokenizer, the JSON in and
    # out and the counts cost without the features that issue 2's accuracy needs.
    subprocess.run([args.bin, "train", "--input", args.data / "weibo-ced/train.jsonl",
                    "--input", args.data / "pheme/train.jsonl", "--out", d / "unigram.rtm",
                    "--word-ngrams", "1", "--cjk-ngrams", "1", "--subword-min", "0",
                    "--subword-max", "0"], check=True, stderr=subprocess.DEVNULL)

    ours = [args.bin, "score", str(d / "dump.jsonl"), "--quiet", "--out", "/dev/null"]
    commands = {
        "rumor-triage score, 1 thread (raw JSONL)": ours + ["--threads", "1"],
        "rumor-triage score, 2 threads (raw JSONL)": ours + ["--threads", "2"],
        "rumor-triage score --no-campaigns, 1 thread (raw JSONL)": ours + ["--threads", "1", "--no-campaigns"],
        "rumor-triage score --no-campaigns, unigram model, 1 thread (raw JSONL)":
            ours + ["--threads", "1", "--no-campaigns", "--model", str(d / "unigram.rtm")],
        "fastText predict-prob (pre-tokenized)": ["fasttext", "predict-prob", str(d / "ft.bin"),
                                                  str(d / "dump.ft.txt")],
        "Vowpal Wabbit -t (pre-tokenized)": [sys.executable, "-m", "vowpalwabbit", "-t", "-i",
                                             str(d / "vw.model"), "-d", str(d / "dump.vw"),
                                             "-p", "/dev/null", "--quiet"],
        "scikit-learn TF-IDF + LR predict_proba (pre-tokenized)": [
            sys.executable, "-c", SKLEARN_SCORE, str(d / "sklearn.pkl"), str(d / "dump.ft.txt"),
            "/dev/null"],
    }
    times = {name: [] for name in commands}
    rss = {name: [] for name in commands}
    slow = "scikit-learn TF-IDF + LR predict_proba (pre-tokenized)"
    for r in range(args.runs):
        for name, command in commands.items():
            if name == slow and r > 0:
                continue  # 30x slower than the rest: one run says enough
            seconds, peak = run(command)
            times[name].append(seconds)
            rss[name].append(peak)
        print(f"run {r + 1}/{args.runs} done", file=sys.stderr)

    small = d / "dump-tenth.jsonl"
    with open(d / "dump.jsonl", "rb") as src, open(small, "wb") as dst:
        for i, line in enumerate(src):
            if i >= posts // 10:
                break
            dst.write(line)
    small_rss = [run([args.bin, "score", str(small), "--quiet", "--out", "/dev/null", "--threads", "2"])[1]
                 for _ in range(3)]

    fasttext = "fastText predict-prob (pre-tokenized)"
    one = "rumor-triage score, 1 thread (raw JSONL)"
    two = "rumor-triage score, 2 threads (raw JSONL)"
    def ratio(a, b):
        return statistics.median(x / y for x, y in zip(times[a], times[b]))

    print(f"\n{posts:,} posts; {jsonl_bytes / 1e6:.0f} MB of JSONL, {tokenized_bytes / 1e6:.0f} MB pre-tokenized; "
          f"median of {args.runs} interleaved runs (scikit-learn: 1 run)\n")
    print("| command | median s | posts/s | MB/s of its input | peak RSS MiB | fastText time / this time (paired median) |")
    print("|---|---|---|---|---|---|")
    for name in commands:
        seconds = statistics.median(times[name])
        size = jsonl_bytes if name.startswith("rumor-triage") else tokenized_bytes
        print(f"| {name} | {seconds:.2f} | {posts / seconds:,.0f} | {size / 1e6 / seconds:.0f} | "
              f"{statistics.median(rss[name]):.0f} | {ratio(fasttext, name):.2f}× |")
    print(f"\n2 threads vs 1 thread (paired median): {ratio(one, two):.2f}×")
    print(f"peak RSS, 2 threads: {statistics.median(rss[two]):.0f} MiB on {posts:,} posts, "
          f"{statistics.median(small_rss):.0f} MiB on {posts // 10:,} posts; model file "
          f"{Path(args.bin).resolve().parents[2].joinpath('models/default.rtm').stat().st_size / 2**20:.1f} MiB")
    json.dump({"posts": posts, "times": times, "rss_mib": rss, "tenth_rss_mib": small_rss},
              open(d / "results.json", "w"), indent=1)


if __name__ == "__main__":
    main()
