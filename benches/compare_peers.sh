#!/usr/bin/env bash
# Scores one generated dump with rumor-triage and with the peers (fastText CLI, Vowpal Wabbit,
# scikit-learn) and prints one table of medians and paired ratios.
#
#   benches/compare_peers.sh            # 1,000,000 posts, 5 interleaved runs
#   POSTS=200000 RUNS=3 benches/compare_peers.sh
#
# Installs what it needs: fastText from Debian, vowpalwabbit and scikit-learn from PyPI.
# Reads ../shared/data (or DATA); writes under target/peers/ and keeps the printed table in
# benches/runs/<date>/speed.md (benches/table.sh prints the newest). Not part of CI: a full run takes
# several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

POSTS=${POSTS:-1000000}
RUNS=${RUNS:-5}
DATA=${DATA:-../shared/data}
OUT=target/peers

if ! command -v fasttext >/dev/null; then
    apt-get install -y fasttext >/dev/null
fi
python3 -c 'import vowpalwabbit, sklearn' 2>/dev/null ||
    python3 -m pip install --quiet 'vowpalwabbit==9.*' 'scikit-learn==1.*'

cargo build --release --quiet
mkdir -p "$OUT"
stamp="$OUT/dump.stamp"
if [ "$(cat "$stamp" 2>/dev/null)" != "$POSTS" ]; then
    python3 benches/make_dump.py --data "$DATA" --posts "$POSTS" --out "$OUT/dump"
    python3 benches/make_dump.py --data "$DATA" --train --out "$OUT/train"
    echo "$POSTS" >"$stamp"
fi
run="benches/runs/$(date -u +%F)"
mkdir -p "$run"
{
    echo "# $(basename "$0") of $(date -u '+%F %H:%M') UTC, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
    python3 benches/compare_peers.py --dir "$OUT" --data "$DATA" --bin target/release/rumor-triage --runs "$RUNS"
} | tee "$run/speed.md"
