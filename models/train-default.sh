#!/usr/bin/env bash
# Regenerates models/default.rtm bit for bit from ../shared/data (weibo-ced + pheme train
# splits) with the project's own `train` command and default settings.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${RUMOR_TRIAGE_DATA:-../shared/data}"
cargo run --release --locked -- train \
  --input "$data/weibo-ced/train.jsonl" \
  --input "$data/pheme/train.jsonl" \
  --out models/default.rtm
sha256sum models/default.rtm
