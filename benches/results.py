#!/usr/bin/env python3
"""Regenerates the README's results table: every evaluation protocol of `rumor-triage eval`
on ../shared/data, with the peers run on exactly the same splits in the same run.

Peers: scikit-learn TF-IDF + LogisticRegression (C=10) and LinearSVC (C=0.5) with the data
README's features (character 1-3-grams for Chinese, word 1-2-grams for English, min_df=2,
sublinear tf), Vowpal Wabbit (logistic loss or one-against-all, word 1-2-grams, 5 passes)
and the fastText CLI (word 1-2-grams, 10 epochs, one thread) on text pre-tokenized as
benches/make_dump.py does. The splits are rebuilt here the way `rumor-triage eval` makes
them: k-fold uses the same documented SplitMix64 shuffle (src/learn/folds.rs, stratified_folds).
Called by benches/results.sh, which installs the peers.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_dump import pre_tokenize, vw_safe  # noqa: E402

MASK = (1 << 64) - 1
EVENTS = ["ferguson", "germanwings-crash", "gurlitt", "ottawashooting", "putinmissing", "sydneysiege"]
# Every event of pheme train + test: ebola-essien has no non-rumors and prince-toronto 4.
ALL_EVENTS = EVENTS + ["ebola-essien", "prince-toronto"]


def read(paths):
    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f)
    return rows


def splitmix_shuffle(items, seed):
    state = seed & MASK

    def next_value():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    for i in range(len(items) - 1, 0, -1):
        j = next_value() % (i + 1)
        items[i], items[j] = items[j], items[i]


def kfold(labels, folds, seed):
    names = sorted(set(labels))
    targets = [names.index(l) for l in labels]
    fold_of = [0] * len(labels)
    dealt = 0
    for c in range(len(names)):
        rows = [i for i, t in enumerate(targets) if t == c]
        splitmix_shuffle(rows, seed ^ ((c * 0x100000001B3) & MASK))
        for row in rows:
            fold_of[row] = dealt % folds
            dealt += 1
    return [([i for i in range(len(labels)) if fold_of[i] != f], [i for i in range(len(labels)) if fold_of[i] == f])
            for f in range(folds)]


def chrono(times, fraction):
    order = sorted(range(len(times)), key=lambda i: times[i])
    n_test = -(-len(times) * fraction // 1)
    n_test = int(n_test)
    return [(order[:-n_test], order[-n_test:])]


def groups(values, held_out):
    return [([i for i, v in enumerate(values) if v != g], [i for i, v in enumerate(values) if v == g]) for g in held_out]


def macro_f1(truth, predicted):
    from sklearn.metrics import f1_score
    return f1_score(truth, predicted, average="macro")


def accuracy(truth, predicted):
    return sum(t == p for t, p in zip(truth, predicted)) / len(truth)


def ece(probabilities, outcomes, bins=10):
    totals = [[0, 0.0, 0] for _ in range(bins)]
    for p, y in zip(probabilities, outcomes):
        b = min(int(p * bins), bins - 1)
        totals[b][0] += 1
        totals[b][1] += p
        totals[b][2] += y
    n = len(probabilities)
    return sum(c / n * abs(f / c - s / c) for c, s, f in totals if c)


def sklearn_peers(train, test, chinese, multiclass):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC
    if chinese:
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
    else:
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
    x_train = vectorizer.fit_transform([r["text"] for r in train])
    x_test = vectorizer.transform([r["text"] for r in test])
    y_train = [r["label"] for r in train]
    out = {}
    lr = LogisticRegression(C=10, max_iter=2000).fit(x_train, y_train)
    out["scikit-learn LR"] = (list(lr.predict(x_test)), None)
    if not multiclass and "rumor" in lr.classes_:
        column = list(lr.classes_).index("rumor")
        out["scikit-learn LR"] = (out["scikit-learn LR"][0], list(lr.predict_proba(x_test)[:, column]))
    svc = LinearSVC(C=0.5).fit(x_train, y_train)
    out["scikit-learn LinearSVC"] = (list(svc.predict(x_test)), None)
    return out


def fasttext_peer(train, test, work):
    train_file, test_file, model = work / "ft.train", work / "ft.test", work / "ft"
    with open(train_file, "w", encoding="utf-8") as f:
        for r in train:
            f.write(f"__label__{r['label']} {pre_tokenize(r['text'])}\n")
    with open(test_file, "w", encoding="utf-8") as f:
        for r in test:
            f.write(pre_tokenize(r["text"]) + "\n")
    subprocess.run(["fasttext", "supervised", "-input", train_file, "-output", model, "-wordNgrams", "2",
                    "-epoch", "10", "-thread", "1", "-verbose", "0"], check=True)
    result = subprocess.run(["fasttext", "predict", f"{model}.bin", test_file], check=True,
                            capture_output=True, text=True)
    return [line.strip().removeprefix("__label__") for line in result.stdout.splitlines()]


def vw_peer(train, test, work):
    labels = sorted({r["label"] for r in train})
    binary = len(labels) == 2
    code = {l: (1 if l == "rumor" else -1) if binary else labels.index(l) + 1 for l in labels}
    train_file, test_file, model, preds = work / "vw.train", work / "vw.test", work / "vw.model", work / "vw.preds"
    with open(train_file, "w", encoding="utf-8") as f:
        for r in train:
            f.write(f"{code[r['label']]} | {vw_safe(pre_tokenize(r['text']))}\n")
    with open(test_file, "w", encoding="utf-8") as f:
        for r in test:
            f.write(f"| {vw_safe(pre_tokenize(r['text']))}\n")
    options = ["--loss_function", "logistic"] if binary else ["--oaa", str(len(labels))]
    subprocess.run([sys.executable, "-m", "vowpalwabbit", "-d", train_file, "-f", model, "-b", "20", "--ngram", "2",
                    "--passes", "5", "-c", "-k", "--quiet", *options], check=True, cwd=work)
    subprocess.run([sys.executable, "-m", "vowpalwabbit", "-t", "-i", model, "-d", test_file, "-p", preds,
                    "--quiet"], check=True, cwd=work)
    values = [float(line.split()[0]) for line in open(preds)]
    if binary:
        return ["rumor" if v > 0 else next(l for l in labels if l != "rumor") for v in values]
    return [labels[int(v) - 1] for v in values]


def ours(binary, args):
    result = subprocess.run([binary, "eval", "--format", "json", *args], check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    d = args.data
    protocols = [
        # name, files, chinese, multiclass, our eval args, split maker, metric
        ("weibo-ced, given test split", None, True, False,
         ["--train", d / "weibo-ced/train.jsonl", "--input", d / "weibo-ced/test.jsonl"], "holdout:weibo-ced", "macro_f1"),
        ("weibo-ced, 5-fold CV (train+test)", ["weibo-ced/train.jsonl", "weibo-ced/test.jsonl"], True, False,
         ["--kfold", "5"], "kfold", "macro_f1"),
        ("weibo-ced, chronological (latest 20% test)", ["weibo-ced/train.jsonl", "weibo-ced/test.jsonl"], True, False,
         ["--chrono", "time"], "chrono", "macro_f1"),
        ("pheme, hash split", None, False, False,
         ["--train", d / "pheme/train.jsonl", "--input", d / "pheme/test.jsonl"], "holdout:pheme", "macro_f1"),
        ("pheme, leave one event out (6 events, pooled)", ["pheme/train.jsonl", "pheme/test.jsonl"], False, False,
         ["--group-by", "event", "--groups", ",".join(EVENTS)], "events:6", "macro_f1"),
        ("pheme, leave one event out (all 8 events, pooled)", ["pheme/train.jsonl", "pheme/test.jsonl"], False, False,
         ["--group-by", "event", "--groups", ",".join(ALL_EVENTS)], "events:8", "macro_f1"),
        ("pheme, chronological (latest 20% test)", ["pheme/train.jsonl", "pheme/test.jsonl"], False, False,
         ["--chrono", "time"], "chrono", "macro_f1"),
        ("liar 6-way, given test split", None, False, True,
         ["--train", d / "liar/train.jsonl", "--input", d / "liar/test.jsonl", "--positive", "pants-fire",
          "--positive", "false"], "holdout:liar", "accuracy"),
    ]
    peers = ["scikit-learn LR", "scikit-learn LinearSVC", "Vowpal Wabbit", "fastText"]
    print("| protocol | metric | rumor-triage | " + " | ".join(peers) + " | ours ≥ best peer |")
    print("|---|---|---|" + "---|" * len(peers) + "---|")
    calibration = []
    per_event = []
    for name, files, chinese, multiclass, our_args, split_kind, metric in protocols:
        if split_kind.startswith("holdout:"):
            ds = split_kind.split(":")[1]
            train_rows, test_rows = read([d / ds / "train.jsonl"]), read([d / ds / "test.jsonl"])
            rows = train_rows + test_rows
            splits = [(list(range(len(train_rows))), list(range(len(train_rows), len(rows))))]
        else:
            rows = read([d / f for f in files])
            our_args = [a for f in files for a in ("--input", d / f)] + our_args
            if split_kind == "kfold":
                splits = kfold([r["label"] for r in rows], 5, 42)
            elif split_kind == "chrono":
                splits = chrono([r["time"] for r in rows], 0.2)
            else:
                splits = groups([r["event"] for r in rows], EVENTS if split_kind == "events:6" else ALL_EVENTS)
        report = ours(args.bin, [str(a) for a in our_args])
        figures = {"rumor-triage": report[metric]}
        pooled = report.get("pooled", report)
        if split_kind == "events:8":
            per_event = [(g["name"], g["report"]["macro_f1"], g["test_items"]) for g in report["groups"]]
        truth, predicted = [], {p: [] for p in peers}
        lr_probability = []
        for train_idx, test_idx in splits:
            train, test = [rows[i] for i in train_idx], [rows[i] for i in test_idx]
            truth.extend(r["label"] for r in test)
            for peer, (labels, probability) in sklearn_peers(train, test, chinese, multiclass).items():
                predicted[peer].extend(labels)
                if probability is not None:
                    lr_probability.extend(probability)
            with tempfile.TemporaryDirectory() as work:
                predicted["Vowpal Wabbit"].extend(vw_peer(train, test, Path(work)))
                predicted["fastText"].extend(fasttext_peer(train, test, Path(work)))
        score = accuracy if metric == "accuracy" else macro_f1
        for peer in peers:
            figures[peer] = score(truth, predicted[peer])
        best = max(figures[p] for p in peers)
        cells = " | ".join(f"{figures[p]:.4f}" for p in peers)
        verdict = "yes" if figures["rumor-triage"] >= best else f"**no** ({figures['rumor-triage'] - best:+.4f})"
        print(f"| {name} | {metric.replace('_', '-')} | {figures['rumor-triage']:.4f} | {cells} | {verdict} |",
              flush=True)
        if lr_probability and pooled.get("ece") is not None:
            calibration.append((name, pooled["ece"], ece(lr_probability, [t == "rumor" for t in truth])))
    print("\n| held-out event (all 8 events) | posts | rumor-triage macro-F1 |\n|---|---|---|")
    for name, f1, items in per_event:
        print(f"| {name} | {items} | {f1:.4f} |")
    print("\n| protocol | ECE (10 bins), rumor-triage | ECE, scikit-learn LR predict_proba |\n|---|---|---|")
    for name, our_ece, lr_ece in calibration:
        print(f"| {name} | {our_ece:.4f} | {lr_ece:.4f} |")


if __name__ == "__main__":
    main()
