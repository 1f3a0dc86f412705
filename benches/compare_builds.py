#!/usr/bin/env python3
"""Two or more builds of `rumor-triage score` on one dump, run by run interleaved so that
each ratio pairs runs made under the same machine load: median seconds, paired ratios
against the first build, peak RSS, and whether every build wrote the same output and counts
bytes as the first.

    python3 benches/compare_builds.py --dump target/peers/dump.jsonl \
        --bin before=/path/to/old/rumor-triage --bin after=target/release/rumor-triage \
        --threads 1,2 --runs 5

Used to check that a change keeps behaviour and speed (for example a refactoring, or a
release-profile setting). Standard library only.
"""

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(binary, dump, threads, out, counts):
    start = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "score", str(dump), "--quiet", "--threads", str(threads),
         "--out", str(out), "--counts", str(counts)],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{binary} exited with {code}")
    return seconds, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", required=True, type=Path)
    parser.add_argument("--bin", action="append", required=True, help="NAME=PATH, first is the reference")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    builds = [b.split("=", 1) for b in args.bin]
    work = Path(tempfile.mkdtemp(prefix="compare-builds-"))
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        times = {name: [] for name, _ in builds}
        rss = {name: [] for name, _ in builds}
        same = {name: True for name, _ in builds}
        for r in range(args.runs):
            # Rotate who goes first so no build always runs on a cold or a warm cache.
            order = builds[r % len(builds):] + builds[: r % len(builds)]
            for name, binary in order:
                out, counts = work / f"{name}-{threads}.jsonl", work / f"{name}-{threads}.counts.json"
                seconds, peak = run(binary, args.dump, threads, out, counts)
                times[name].append(seconds)
                rss[name].append(peak)
            ref = builds[0][0]
            for name, _ in builds[1:]:
                for suffix in (".jsonl", ".counts.json"):
                    a, b = work / f"{ref}-{threads}{suffix}", work / f"{name}-{threads}{suffix}"
                    same[name] &= filecmp.cmp(a, b, shallow=False)
        ref = builds[0][0]
        for name, _ in builds:
            ratios = [a / b for a, b in zip(times[ref], times[name])]
            rows.append((threads, name, statistics.median(times[name]), min(times[name]),
                         max(times[name]), statistics.median(ratios), max(rss[name]), same[name]))
    print(f"{args.runs} interleaved runs on {args.dump} ({sum(1 for _ in open(args.dump, 'rb')):,} lines)\n")
    print("| threads | build | median s | min s | max s | paired ratio (first build's time / this) | peak RSS MiB | same bytes as first |")
    print("|---|---|---|---|---|---|---|---|")
    for threads, name, median, lo, hi, ratio, peak, same in rows:
        print(f"| {threads} | {name} | {median:.2f} | {lo:.2f} | {hi:.2f} | {ratio:.3f} | {peak:.0f} | {'yes' if same else 'NO'} |")
    for p in work.iterdir():
        p.unlink()
    work.rmdir()


if __name__ == "__main__":
    main()
