"""Shared fixtures: the repository, the command line built from it, and the evaluation
data (``RUMOR_TRIAGE_DATA`` or ``../shared/data`` beside the repository)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cli() -> Path:
    """The ``rumor-triage`` binary: ``RUMOR_TRIAGE_BIN``, or the one ``cargo test`` built."""
    given = os.environ.get("RUMOR_TRIAGE_BIN")
    path = Path(given) if given else REPO / "target" / "debug" / "rumor-triage"
    if not path.is_file():
        subprocess.run(["cargo", "build", "-p", "rumor-triage-cli"], cwd=REPO, check=True)
    return path


@pytest.fixture(scope="session")
def data() -> Path:
    """The evaluation data; its tests are skipped without it, and fail under CI."""
    path = Path(os.environ.get("RUMOR_TRIAGE_DATA", REPO.parent / "shared" / "data"))
    if not (path / "MANIFEST.json").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing, and CI must have it")
        pytest.skip(f"{path} not found")
    return path


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_cli(cli: Path, *args: str) -> str:
    done = subprocess.run([str(cli), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout
