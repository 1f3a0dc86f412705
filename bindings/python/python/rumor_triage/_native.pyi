"""Type stubs of the native module (Rust, pyo3). Use the documented API in
``rumor_triage`` instead of calling these directly."""

from typing import Any

import pyarrow as pa

FORMAT_VERSION: int
__version__: str

class Model:
    @staticmethod
    def load(path: str) -> Model: ...
    @staticmethod
    def default() -> Model: ...
    @staticmethod
    def from_bytes(data: bytes) -> Model: ...
    def to_bytes(self) -> bytes: ...
    def save(self, path: str) -> None: ...
    def info_json(self) -> str: ...
    def labels(self) -> list[str]: ...
    def threshold(self) -> float: ...
    def score(self, texts: Any, threshold: float | None = None, threads: int | None = None) -> pa.RecordBatch: ...
    def explain_json(self, text: str, k: int = 10) -> str: ...
    def tokens(self, text: str) -> list[str]: ...

def train(
    texts: Any,
    labels: list[str],
    options_json: str,
    groups: list[str] | None = None,
    times: list[str] | None = None,
    tz: str | None = None,
    time_format: str | None = None,
    tune_grid: tuple[list[float], list[int], int] | None = None,
    notes: str = "",
    threads: int | None = None,
) -> tuple[Model, list[str]]: ...
def evaluate(
    texts: Any,
    labels: list[str],
    protocol: str,
    options_json: str,
    folds: int = 5,
    groups: list[str] | None = None,
    held_out: list[str] = ...,
    times: list[str] | None = None,
    tz: str | None = None,
    time_format: str | None = None,
    test_fraction: float = 0.2,
    shuffled_calibration: bool = False,
    at_precision: float | None = None,
    threads: int | None = None,
) -> tuple[str, pa.RecordBatch]: ...
def evaluate_model(
    model: Model,
    texts: Any,
    labels: list[str],
    threshold: float | None = None,
    at_precision: float | None = None,
    threads: int | None = None,
) -> tuple[str, pa.RecordBatch]: ...
def cleanup_counts(
    model: Model,
    posts: Any,
    top: int = 20,
    tz: str | None = None,
    time_format: str | None = None,
    threads: int | None = None,
) -> tuple[str, int]: ...
