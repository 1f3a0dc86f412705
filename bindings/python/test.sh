#!/usr/bin/env bash
# The Python package's tests (.ci/test runs this after `cargo test`): a virtual environment
# with the pinned test requirements, the wheel built from this checkout, and pytest, which
# compares it with the command line that `cargo test` built.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/python-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-test.txt"
rm -rf "$root/target/wheels"
# The wheel-test profile: optimized like the tests, without the release profile's fat LTO.
(cd "$here" && "$venv/bin/maturin" build --quiet --profile wheel-test --locked \
    --interpreter "$venv/bin/python" -o "$root/target/wheels")
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
    "$root"/target/wheels/rumor_triage-*.whl
cd "$here/tests"
RUMOR_TRIAGE_BIN="${RUMOR_TRIAGE_BIN:-$root/target/debug/rumor-triage}" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider
