#!/usr/bin/env bash
# Regenerates the README's results table: every `rumor-triage eval` protocol on
# ../shared/data (or DATA), with scikit-learn, Vowpal Wabbit and fastText on the same splits.
# Installs the peers (fastText from Debian, vowpalwabbit and scikit-learn from PyPI). About
# five minutes; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
if ! command -v fasttext >/dev/null; then
    apt-get install -y fasttext >/dev/null
fi
python3 -c 'import vowpalwabbit, sklearn' 2>/dev/null ||
    python3 -m pip install --quiet 'vowpalwabbit==9.*' 'scikit-learn==1.*'
cargo build --release --quiet
run="benches/runs/$(date -u +%F)"
mkdir -p "$run"
{
    echo "# $(basename "$0") of $(date -u '+%F %H:%M') UTC, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
    python3 benches/results.py --data "$DATA" --bin target/release/rumor-triage
} | tee "$run/accuracy.md"
