#!/usr/bin/env python3
"""`rumor-triage sql --counts` against `rumor-triage score --counts` on the same Parquet
dump with the same threads, run by run interleaved so that each ratio pairs runs made
under the same machine load: median seconds, the paired ratio (sql / score), peak RSS, and
whether the counts agree outside the campaigns (which docs/sql.md says differ).

    python3 benches/compare_sql.py --dump target/peers/dump.jsonl \
        --score target/sql-bench/rumor-triage --sql target/sql-bench/rumor-triage-sql \
        --threads 2 --runs 5

The JSONL dump is first written as Parquet by rumor-triage-sql itself (kept beside it).
Standard library only.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CAMPAIGN_KEYS = ("campaigns", "campaign_posts", "top_campaigns", "ungrouped_posts")


def timed(command, stdout):
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{command[0]} exited with {code}")
    return seconds, usage.ru_maxrss / 1024


def without_campaigns(path):
    counts = json.loads(Path(path).read_text())
    return {k: v for k, v in counts.items() if k not in CAMPAIGN_KEYS}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", required=True, type=Path)
    parser.add_argument("--score", required=True)
    parser.add_argument("--sql", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    parquet = args.dump.with_suffix(".parquet")
    if not parquet.exists():
        subprocess.run([args.sql, "--table", f"dump={args.dump}", "SELECT * FROM dump",
                        "--out", str(parquet)], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        score_counts, sql_counts = tmp / "score.json", tmp / "sql.json"
        commands = {
            "score": ([args.score, "score", str(parquet), "--quiet", "--threads",
                       str(args.threads), "--out", os.devnull, "--counts", str(score_counts)],
                      subprocess.DEVNULL),
            "sql": ([args.sql, "--table", f"posts={parquet}", "--counts", "--threads",
                     str(args.threads), "--out", str(sql_counts)], subprocess.DEVNULL),
        }
        results = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (command, stdout) in commands.items():
                results[name].append(timed(command, stdout))
        ratios = [s[0] / c[0] for s, c in zip(results["sql"], results["score"])]
        print(f"dump {parquet} ({parquet.stat().st_size / 2**20:.0f} MiB), "
              f"{args.threads} threads, {args.runs} runs")
        print("| command | median s | peak RSS MiB |")
        print("|---|---|---|")
        for name, runs in results.items():
            print(f"| {name} | {statistics.median(r[0] for r in runs):.2f} | "
                  f"{max(r[1] for r in runs):.0f} |")
        print(f"paired ratio sql / score: median {statistics.median(ratios):.3f} "
              f"(runs: {', '.join(f'{r:.3f}' for r in ratios)})")
        same = without_campaigns(score_counts) == without_campaigns(sql_counts)
        print(f"counts equal outside the campaigns: {same}")


if __name__ == "__main__":
    main()
