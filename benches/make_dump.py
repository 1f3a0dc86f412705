#!/usr/bin/env python3
"""Writes a synthetic post dump for throughput benchmarks, and the same posts pre-tokenized
for the peers (fastText, Vowpal Wabbit).

Posts are sampled with replacement from the texts of ../shared/data (weibo-ced and pheme,
so Chinese and English mixed), each with a small random edit so no two lines are alike,
and given an id, an account (Zipf-distributed over 20,000 accounts), a platform and a time.
Standard library only; the same seed gives the same bytes.

    benches/make_dump.py --data ../shared/data --posts 1000000 --out target/peers/dump
      -> dump.jsonl (our input), dump.ft.txt (fastText), dump.vw (Vowpal Wabbit)
    benches/make_dump.py --data ../shared/data --train --out target/peers/train
      -> train.ft.txt and train.vw: the weibo-ced + pheme train splits, labeled, to fit
         the peers' models on the same data as the shipped default model
"""

import argparse
import json
import random
import re
import unicodedata
from pathlib import Path

SOURCES = ["weibo-ced/train.jsonl", "weibo-ced/test.jsonl", "pheme/train.jsonl", "pheme/test.jsonl"]
TRAIN = ["weibo-ced/train.jsonl", "pheme/train.jsonl"]
TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W\d_]+|\d+|[^\w\s]")
URL = re.compile(r"https?://\S+")
MENTION = re.compile(r"@(?=\w)")
EDITS = ["！", "?", " #breaking", " 转发", "…", " http://t.co/x", " @someone", "!!", "。"]


def pre_tokenize(text):
    """The peers' input: what our normalizer does, done ahead of time (lowercase, URL,
    mention and number placeholders, one token per CJK character, punctuation split)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = URL.sub(" xxurl ", text)
    text = MENTION.sub(" xxuser ", text)
    tokens = TOKEN.findall(text)
    return " ".join("xxnum" if t.isdigit() else t for t in tokens)


def vw_safe(tokens):
    return tokens.replace("|", " ").replace(":", " ")


def load(data, files):
    records = []
    for name in files:
        with open(data / name, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                records.append((record["text"], record["label"], name.split("/")[0]))
    return records


def edit(rng, text):
    choice = rng.random()
    if choice < 0.4 or len(text) < 2:
        return text + rng.choice(EDITS)
    at = rng.randrange(len(text))
    if choice < 0.7:
        return text[:at] + text[at + 1:]
    return text[:at] + rng.choice(EDITS) + text[at:]


def write_dump(data, out, posts, seed):
    rng = random.Random(seed)
    records = load(data, SOURCES)
    weights = [1.0 / (rank + 1) for rank in range(20000)]
    accounts = rng.choices(range(20000), weights=weights, k=posts)
    with open(f"{out}.jsonl", "w", encoding="utf-8") as jsonl, open(
        f"{out}.ft.txt", "w", encoding="utf-8"
    ) as ft, open(f"{out}.vw", "w", encoding="utf-8") as vw:
        for i in range(posts):
            text, _, source = records[rng.randrange(len(records))]
            text = edit(rng, text)
            platform = "weibo" if source == "weibo-ced" else "twitter"
            post = {
                "id": f"p{i}",
                "text": text,
                "account": f"{platform}:u{accounts[i]}",
                "platform": platform,
                "time": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            }
            jsonl.write(json.dumps(post, ensure_ascii=False) + "\n")
            tokens = pre_tokenize(text)
            ft.write(tokens + "\n")
            vw.write("| " + vw_safe(tokens) + "\n")


def write_train(data, out):
    with open(f"{out}.ft.txt", "w", encoding="utf-8") as ft, open(f"{out}.vw", "w", encoding="utf-8") as vw:
        for text, label, _ in load(data, TRAIN):
            tokens = pre_tokenize(text)
            ft.write(f"__label__{label} {tokens}\n")
            vw.write(f"{1 if label == 'rumor' else -1} | {vw_safe(tokens)}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", required=True, help="output path without extension")
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train", action="store_true", help="write the peers' training files instead")
    args = parser.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    if args.train:
        write_train(args.data, args.out)
    else:
        write_dump(args.data, args.out, args.posts, args.seed)


if __name__ == "__main__":
    main()
