#!/usr/bin/env python3
"""The cost of each input shape on one dump: the same posts as flat JSONL, gzip, zstd (long
window), Parquet, and Twitter v1.1-shaped JSONL read with --preset twitter-v1 (nested paths,
`created_at` times). Runs are interleaved so each ratio pairs runs made under the same load;
reports median seconds, posts/s, the paired ratio against flat JSONL, peak RSS, and whether
every shape gave the same cleanup counts.

    python3 benches/formats.py --dump target/peers/dump.jsonl --bin target/release/rumor-triage

Needs gzip and zstd (Debian) and pyarrow (`pip install pyarrow`) to write the Parquet copy.
"""

import argparse
import datetime
import filecmp
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def prepare(dump, work):
    work.mkdir(parents=True, exist_ok=True)
    shapes = {"jsonl": (dump, [])}
    gz, zst = work / "dump.jsonl.gz", work / "dump.jsonl.zst"
    if not gz.exists():
        with open(gz, "wb") as out:
            subprocess.run(["gzip", "-c", str(dump)], stdout=out, check=True)
    if not zst.exists():
        with open(zst, "wb") as out, open(dump, "rb") as src:
            subprocess.run(["zstd", "--long=31", "-3", "-q", "-c"], stdin=src, stdout=out, check=True)
    shapes["jsonl.gz"] = (gz, [])
    shapes["jsonl.zst"] = (zst, [])
    parquet = work / "dump.parquet"
    if not parquet.exists():
        import pyarrow.json
        import pyarrow.parquet
        table = pyarrow.json.read_json(dump)
        pyarrow.parquet.write_table(table, parquet, row_group_size=100_000)
    shapes["parquet"] = (parquet, [])
    nested = work / "dump.twitter-v1.jsonl"
    if not nested.exists():
        with open(dump, encoding="utf-8") as src, open(nested, "w", encoding="utf-8") as out:
            for line in src:
                post = json.loads(line)
                when = datetime.datetime.fromisoformat(post["time"].replace("Z", "+00:00"))
                record = {
                    "created_at": when.strftime("%a %b %d %H:%M:%S +0000 %Y"),
                    "id_str": post["id"],
                    "text": post["text"][:140],
                    "truncated": len(post["text"]) > 140,
                    "extended_tweet": {"full_text": post["text"]},
                    "user": {"id_str": "0", "screen_name": post["account"]},
                    "platform": post["platform"],
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    shapes["twitter-v1 nested"] = (nested, ["--preset", "twitter-v1", "--platform-field", "platform"])
    return shapes


def run(binary, path, extra, threads, counts):
    start = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "score", str(path), "--quiet", "--threads", str(threads),
         "--out", "/dev/null", "--counts", str(counts)] + extra,
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{path}: exited with {code}")
    return seconds, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", type=Path, required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", type=Path, default=Path("target/formats"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    shapes = prepare(args.dump, args.work)
    posts = sum(1 for _ in open(args.dump, "rb"))
    times = {name: [] for name in shapes}
    rss = {name: 0.0 for name in shapes}
    counts = {name: args.work / f"counts.{name.replace(' ', '-')}.json" for name in shapes}
    for _ in range(args.runs):
        for name, (path, extra) in shapes.items():
            seconds, peak = run(args.bin, path, extra, args.threads, counts[name])
            times[name].append(seconds)
            rss[name] = max(rss[name], peak)
    base = times["jsonl"]
    print(f"{posts} posts, {args.threads} thread(s), {args.runs} interleaved runs, {args.bin}\n")
    print("| input | size MB | median s | posts/s | paired ratio to jsonl (median) | peak RSS MiB | same counts |")
    print("|---|---|---|---|---|---|---|")
    for name, (path, _) in shapes.items():
        ratios = [t / b for t, b in zip(times[name], base)]
        same = filecmp.cmp(counts[name], counts["jsonl"], shallow=False)
        median = statistics.median(times[name])
        print(f"| {name} | {path.stat().st_size / 1e6:.0f} | {median:.2f} | {posts / median:,.0f} | "
              f"{statistics.median(ratios):.3f} | {rss[name]:.0f} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
