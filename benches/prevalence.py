#!/usr/bin/env python3
"""How well `rumor-triage` estimates a dump's rumor share (the cleanup counts' `prevalence`)
when the share differs from the training data's: each dataset's test split is resampled
without replacement to rumor shares of 10%, 25%, 50% and 75% (seeded), scored by a model
trained on the train split, and the estimate (EM prior adjustment), the adjusted
classify-and-count check and plain classify and count (the flagged share) are compared
with the true share. Prints a Markdown table of mean absolute errors; not part of CI.

    python3 benches/prevalence.py --bin target/release/rumor-triage [--data ../shared/data]
"""

import argparse
import json
import random
import subprocess
import tempfile
from pathlib import Path

SHARES = [0.10, 0.25, 0.50, 0.75]
SEEDS = range(1, 11)


def resample(rows, share, seed):
    pos = [r for r in rows if r["label"] == "rumor"]
    neg = [r for r in rows if r["label"] != "rumor"]
    n = int(min(len(pos) / share, len(neg) / (1 - share)))
    n_pos = round(n * share)
    rng = random.Random(seed)
    return rng.sample(pos, n_pos) + rng.sample(neg, n - n_pos)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    print("| test set | true share | posts | estimate (EM), mean | 95% interval covers | adjusted CC | flagged share (CC) |")
    print("|---|---|---|---|---|---|---|")
    totals = {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        for name in ["weibo-ced", "pheme"]:
            model = work / f"{name}.rtm"
            subprocess.run([args.bin, "train", "--input", args.data / name / "train.jsonl", "--out", model],
                           check=True, capture_output=True)
            rows = [json.loads(line) for line in open(args.data / name / "test.jsonl", encoding="utf-8")]
            errors = {"em": [], "acc": [], "cc": []}
            for share in SHARES:
                em, acc, cc, covered, sizes = [], [], [], 0, set()
                for seed in SEEDS:
                    sample = resample(rows, share, seed)
                    sizes.add(len(sample))
                    dump, counts = work / "dump.jsonl", work / "counts.json"
                    with open(dump, "w", encoding="utf-8") as f:
                        for r in sample:
                            f.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
                    subprocess.run([args.bin, "score", dump, "--model", model, "--out", work / "out.jsonl",
                                    "--counts", counts, "--quiet", "--no-campaigns"], check=True)
                    p = json.load(open(counts))["prevalence"]
                    em.append(p["share"])
                    acc.append(p["adjusted_share"])
                    cc.append(p["flagged_share"])
                    covered += p["interval"][0] <= share <= p["interval"][1]
                for key, values in (("em", em), ("acc", acc), ("cc", cc)):
                    errors[key].append(sum(abs(v - share) for v in values) / len(values))
                mean = lambda v: sum(v) / len(v)
                print(f"| {name} | {share:.2f} | {min(sizes)}–{max(sizes)} | {mean(em):.3f} (MAE {errors['em'][-1]:.3f}) "
                      f"| {covered}/{len(SEEDS)} | {mean(acc):.3f} (MAE {errors['acc'][-1]:.3f}) "
                      f"| {mean(cc):.3f} (MAE {errors['cc'][-1]:.3f}) |", flush=True)
            totals[name] = {k: sum(v) / len(v) for k, v in errors.items()}
    print("\n| test set | MAE, estimate (EM) | MAE, adjusted CC | MAE, classify and count |\n|---|---|---|---|")
    for name, t in totals.items():
        print(f"| {name} | {t['em']:.4f} | {t['acc']:.4f} | {t['cc']:.4f} |")


if __name__ == "__main__":
    main()
