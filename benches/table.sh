#!/usr/bin/env bash
# Prints the newest stored accuracy and speed tables from benches/runs/<date>/ (written by
# benches/results.sh and benches/compare_peers.sh), each with the run it comes from.
set -euo pipefail
cd "$(dirname "$0")/runs"
for kind in accuracy speed; do
    newest=$(ls -d */ | sort -r | while read -r dir; do
        [ -f "$dir$kind.md" ] && { echo "${dir%/}"; break; }
    done)
    if [ -z "$newest" ]; then
        echo "no stored $kind run" >&2
        continue
    fi
    echo "== $kind, run of $newest (benches/runs/$newest/$kind.md)"
    grep '^|' "$newest/$kind.md"
    echo
done
