#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600) with libFuzzer, on the machine's one
# stable toolchain (cargo fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 allows them).
#
#   tests/fuzz/run.sh            # 10 minutes per target
#   SECONDS_PER_TARGET=60 tests/fuzz/run.sh
#
# Installs cargo-fuzz when missing. A crash is saved under tests/fuzz/artifacts/<target>/;
# fix it and keep the input as a regression test in the normal suite (tests/).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${SECONDS_PER_TARGET:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cargo fuzz build --fuzz-dir tests/fuzz -O
for target in model_load score_lines tokenize; do
    mkdir -p "tests/fuzz/corpus/$target"
    echo "== $target: $seconds s"
    cargo fuzz run --fuzz-dir tests/fuzz -O "$target" "tests/fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 2>&1 | grep -E "^#[0-9]+ *DONE|^Done|SUMMARY|panicked|ERROR" || true
done
