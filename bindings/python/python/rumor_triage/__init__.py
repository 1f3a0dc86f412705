"""Flag candidate rumor posts for human review.

The same models, scores and protocols as the ``rumor-triage`` command line: a model file
trained by either loads in the other, and scores are bit for bit the same.

>>> import rumor_triage as rt
>>> model = rt.Model.default()
>>> scores = model.score(["Unconfirmed: is the gunman still inside?", "Lunch was great"])
>>> scores.column_names
['label', 'probability', 'flagged', 'insufficient_text']

Texts can be a list of strings, a pandas Series, or any Arrow string array (pyarrow,
Polars; ``string``, ``large_string`` and ``string_view``), read in place through the Arrow
C data interface. Scoring releases the GIL and runs on ``threads`` threads (default: all
cores).
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import pyarrow as pa

from . import _native, errors
from .errors import (
    InvalidInputError,
    InvalidOptionError,
    ModelFileError,
    RumorTriageError,
    RumorTriageIOError,
    TokenizerError,
    TooFewExamplesError,
    TrainingError,
)

__version__: str = _native.__version__
FORMAT_VERSION: int = _native.FORMAT_VERSION

__all__ = [
    "Model",
    "Evaluation",
    "load_cached",
    "train",
    "evaluate",
    "cleanup_counts",
    "FORMAT_VERSION",
    *errors.__all__,
]

#: The training options of ``rumor-triage train``, by their Python names. Each defaults to
#: the command line's default.
TRAIN_OPTIONS = frozenset(
    {
        "positive",
        "seed",
        "c",
        "c_grid",
        "loss",
        "hash_bits",
        "word_ngrams",
        "cjk_ngrams",
        "subword_min",
        "subword_max",
        "norm_smoothing",
        "min_content_tokens",
        "unseen_in_norm",
        "balanced",
        "min_df",
        "tolerance",
        "max_iterations",
        "folds",
        "target_precision",
        "best_flagged_f1",
        "tokenizer",
    }
)


def _strings(values: Any, what: str = "texts") -> Any:
    """``values`` as the native layer reads them: Arrow objects (read in place through the
    Arrow C data interface) and lists pass as they are; a pandas Series becomes an Arrow
    array; any other iterable a list."""
    if hasattr(values, "__arrow_c_array__") or hasattr(values, "__arrow_c_stream__"):
        return values
    if isinstance(values, (str, bytes)):
        raise InvalidOptionError(
            f"invalid {what}: expected a sequence of texts, got a single {type(values).__name__}",
            "invalid_option",
        )
    if isinstance(values, list):
        return values
    if type(values).__module__.startswith("pandas"):
        return pa.Array.from_pandas(values, type=pa.large_string())
    if hasattr(values, "tolist"):  # NumPy
        return values.tolist()
    return list(values)


def _string_list(values: Any | None, what: str | None = None) -> list[str | None] | None:
    """Short columns (labels, groups, times) as a list of str, nulls kept as None; with
    ``what``, a null is an error naming the column and position."""
    if values is None:
        return None
    if hasattr(values, "to_pylist"):
        values = values.to_pylist()
    elif hasattr(values, "tolist"):
        values = values.tolist()
    strings = [v if isinstance(v, str) or v is None else _time_or_str(v) for v in values]
    if what is not None and None in strings:
        raise InvalidInputError(f"invalid input: {what}[{strings.index(None)}] is null", "invalid_input")
    return strings


def _time_or_str(value: Any) -> str:
    """A datetime becomes RFC 3339 (naive ones are UTC); anything else its ``str``."""
    isoformat = getattr(value, "isoformat", None)
    if isoformat is None:
        return str(value)
    text = isoformat()
    if getattr(value, "tzinfo", None) is None and "T" in text:
        text += "Z"
    return text


def _options_json(options: Mapping[str, Any]) -> str:
    unknown = sorted(set(options) - TRAIN_OPTIONS)
    if unknown:
        raise InvalidOptionError(
            f"invalid training option: {', '.join(unknown)} (known: {', '.join(sorted(TRAIN_OPTIONS))})",
            "invalid_option",
        )
    given = {k: v for k, v in options.items() if v is not None}
    if "c_grid" in given:
        given["c_grid"] = [float(c) for c in given["c_grid"]]
    if "positive" in given and isinstance(given["positive"], str):
        given["positive"] = [given["positive"]]
    if "tokenizer" in given:
        given["tokenizer"] = str(given["tokenizer"])
    return json.dumps(given)


class Model:
    """A trained rumor-triage model: scores texts with a calibrated probability, explains
    them, and counts what a cleanup would touch.

    Load one with :meth:`Model.load` or :meth:`Model.default`, or train one with
    :func:`train`. A model is immutable and safe to share between threads; it pickles as
    its model file's bytes.
    """

    __slots__ = ("_native", "training_log")

    def __init__(self, native: _native.Model, training_log: Sequence[str] = ()) -> None:
        self._native = native
        #: What training printed: each C tried with its held-out log loss, the tuning.
        self.training_log = list(training_log)

    @classmethod
    def load(cls, path: str | Any) -> "Model":
        """Loads a model file (written by ``rumor-triage train`` or :meth:`save`).

        Raises :class:`ModelFileError` for a file that is not a model, is corrupt or
        truncated, and :class:`RumorTriageIOError` when it cannot be read."""
        return cls(_native.Model.load(str(path)))

    @classmethod
    def default(cls) -> "Model":
        """The model shipped with the package (trained on weibo-ced and PHEME; see
        ``info()["metadata"]``)."""
        return cls(_native.Model.default())

    @classmethod
    def from_bytes(cls, data: bytes) -> "Model":
        """A model from the bytes of a model file."""
        return cls(_native.Model.from_bytes(data))

    def to_bytes(self) -> bytes:
        """The bytes of the model file: the same as :meth:`save` writes."""
        return self._native.to_bytes()

    def save(self, path: str | Any) -> None:
        """Writes the model file; the command line loads it with ``--model``."""
        self._native.save(str(path))

    def info(self) -> dict[str, Any]:
        """What the model holds, as ``rumor-triage info`` prints it: labels, threshold,
        calibration, feature settings and training metadata."""
        return json.loads(self._native.info_json())

    @property
    def labels(self) -> list[str]:
        """The model's labels."""
        return self._native.labels()

    @property
    def threshold(self) -> float:
        """The stored decision threshold on the calibrated probability."""
        return self._native.threshold()

    def score(
        self,
        texts: Any,
        *,
        threshold: float | None = None,
        threads: int | None = None,
        output: str = "arrow",
    ) -> Any:
        """Scores every text.

        ``texts``: a list of str, a pandas Series, or any Arrow string array or chunked
        array (pyarrow, Polars). Returns a ``pyarrow.RecordBatch`` with one row per text,
        in order: ``label``, ``probability`` (calibrated, of the flagged labels),
        ``flagged``, ``insufficient_text`` (too little text to flag). A null text gives a
        null row. ``output="pandas"`` returns a DataFrame instead; ``threshold`` overrides
        the stored one; ``threads`` caps the threads (default: all cores). The GIL is
        released while scoring.
        """
        batch = self._native.score(_strings(texts), threshold, threads)
        if output == "pandas":
            return batch.to_pandas()
        if output != "arrow":
            raise InvalidOptionError(
                f'invalid output: {output!r} is not "arrow" or "pandas"', "invalid_option"
            )
        return batch

    def explain(self, text: str, k: int = 10) -> dict[str, Any]:
        """Why ``text`` got its score: ``score``, ``margin``, ``bias`` and the ``k``
        n-grams that moved it most (``top``: ``ngram``, ``bucket``, ``contribution``
        toward flagging), as ``rumor-triage explain --json`` gives them."""
        return json.loads(self._native.explain_json(text, k))

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` as the model sees them (``[UNK]`` for unseen words)."""
        return self._native.tokens(text)

    def evaluate(
        self,
        texts: Any,
        labels: Any,
        *,
        threshold: float | None = None,
        at_precision: float | None = None,
        threads: int | None = None,
    ) -> "Evaluation":
        """This model on labeled texts, as ``rumor-triage eval --model``: the report
        (accuracy, macro-F1, per-label figures, ROC-AUC, PR-AUC, ECE...) and each item's
        prediction."""
        report, predictions = _native.evaluate_model(
            self._native, _strings(texts), _string_list(labels, "labels"), threshold, at_precision, threads
        )
        return Evaluation(json.loads(report), predictions)

    def cleanup_counts(self, posts: Any = None, **columns: Any) -> dict[str, Any]:
        """:func:`cleanup_counts` with this model."""
        return cleanup_counts(posts, model=self, **columns)

    def __getstate__(self) -> dict[str, Any]:
        return {"bytes": self.to_bytes(), "training_log": self.training_log}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._native = _native.Model.from_bytes(state["bytes"])
        self.training_log = list(state.get("training_log", ()))

    def __repr__(self) -> str:
        return f"<rumor_triage.Model labels={self.labels} threshold={self.threshold:.4f}>"


def load_cached(path: str | os.PathLike[str] | None = None) -> Model:
    """The model at ``path`` (the shipped one for ``None``), loaded once per process and
    kept: for the functions Spark, Polars or a process pool call once per batch. A file
    changed since it was loaded (size or modification time) is loaded again."""
    if path is None:
        return _load_cached(None, None)
    path = os.fspath(path)
    stat = os.stat(path)
    return _load_cached(path, (stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _load_cached(path: str | None, version: tuple[int, int] | None) -> Model:
    return Model.default() if path is None else Model.load(path)


class Evaluation(NamedTuple):
    """What an evaluation gives: ``report``, the same dict as ``rumor-triage eval
    --format json``; ``predictions``, a ``pyarrow.RecordBatch`` with one row per tested
    item, by its index in the input: ``index``, ``round`` (the fold, held-out group or
    split that tested it), ``label`` (true), ``predicted``, ``probability`` (out of fold:
    from a model that did not train on it) and ``flagged``."""

    report: dict[str, Any]
    predictions: pa.RecordBatch


def train(
    texts: Any,
    labels: Any,
    *,
    groups: Any = None,
    times: Any = None,
    tz: str | None = None,
    time_format: str | None = None,
    tune: bool = False,
    tune_c: Sequence[float] = (1, 3, 10, 30, 100),
    tune_word_ngrams: Sequence[int] = (1, 2, 3),
    tune_folds: int = 5,
    notes: str = "",
    threads: int | None = None,
    **options: Any,
) -> Model:
    """Trains a model, as ``rumor-triage train`` does: the same options with the same
    defaults, and for the same data and seed the same model bytes.

    ``options`` are the command's options with underscores: ``c``, ``c_grid``, ``loss``
    (``"logistic"`` or ``"squared-hinge"``), ``hash_bits``, ``word_ngrams``,
    ``cjk_ngrams``, ``subword_min``, ``subword_max``, ``norm_smoothing``,
    ``min_content_tokens``, ``unseen_in_norm``, ``balanced``, ``min_df``, ``tolerance``,
    ``max_iterations``, ``folds``, ``target_precision``, ``best_flagged_f1``,
    ``positive`` (the flagged labels, default ``["rumor"]``), ``seed``, ``tokenizer`` (a
    tokenizer.json path).

    ``groups`` (one event per text) or ``times`` (one posting time per text) make the
    calibration folds hold out whole events or later periods, as ``--calibrate-by-group``
    and ``--calibrate-by-time`` do. ``tune=True`` picks C and the word n-gram length by
    k-fold macro-F1 first, as ``--tune``. ``notes`` is stored in the model (the command
    line stores "trained on FILE").
    """
    tune_grid = ([float(c) for c in tune_c], [int(n) for n in tune_word_ngrams], tune_folds) if tune else None
    native, log = _native.train(
        _strings(texts),
        _string_list(labels, "labels"),
        _options_json(options),
        _string_list(groups, "groups"),
        _string_list(times, "times"),
        tz,
        time_format,
        tune_grid,
        notes,
        threads,
    )
    return Model(native, log)


def evaluate(
    texts: Any,
    labels: Any,
    *,
    protocol: str = "kfold",
    folds: int = 5,
    groups: Any = None,
    held_out: Iterable[str] = (),
    times: Any = None,
    tz: str | None = None,
    time_format: str | None = None,
    test_fraction: float = 0.2,
    shuffled_calibration: bool = False,
    at_precision: float | None = None,
    threads: int | None = None,
    **options: Any,
) -> Evaluation:
    """Trains and tests under a protocol, as ``rumor-triage eval`` does:

    - ``protocol="kfold"``: stratified ``folds``-fold cross-validation (``--kfold``);
    - ``protocol="group"``: leave one group out over ``groups`` (one event per text), or
      only the ``held_out`` groups (``--group-by``, ``--groups``);
    - ``protocol="chrono"``: train on the earliest, test on the latest ``test_fraction``
      by ``times`` (``--chrono``; strings in any form the command reads, or datetimes).

    Each round's model calibrates on folds that keep groups or periods whole, unless
    ``shuffled_calibration``. ``options`` are :func:`train`'s. Returns the report dict of
    ``--format json`` and every item's out-of-fold prediction.
    """
    report, predictions = _native.evaluate(
        _strings(texts),
        _string_list(labels, "labels"),
        protocol,
        _options_json(options),
        folds,
        _string_list(groups, "groups"),
        [str(g) for g in held_out],
        _string_list(times, "times"),
        tz,
        time_format,
        test_fraction,
        shuffled_calibration,
        at_precision,
        threads,
    )
    return Evaluation(json.loads(report), predictions)


_POST_COLUMNS = ("text", "id", "account", "platform", "time")
_SCORE_COLUMNS = ("label", "probability", "flagged", "insufficient_text")


def cleanup_counts(
    posts: Any = None,
    *,
    model: Model | None = None,
    scores: Any = None,
    texts: Any = None,
    ids: Any = None,
    accounts: Any = None,
    platforms: Any = None,
    times: Any = None,
    top: int = 20,
    tz: str | None = None,
    time_format: str | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """The cleanup counts of ``rumor-triage score --counts`` over scored posts: totals per
    label, flagged accounts (the ``top`` busiest, default 20 as the command line), platforms, days (in ``tz``),
    near-duplicate campaigns and the estimated rumor prevalence.

    ``posts``: a table (pyarrow, pandas, Polars) with a ``text`` column and optional
    ``id``, ``account``, ``platform``, ``time`` columns; or give those as keyword
    columns. ``scores``: what :meth:`Model.score` returned for these posts (or the table
    already has its columns); without them the posts are scored here. Rows with a null
    text are left out and counted in ``null_texts``.
    """
    model = model or Model.default()
    table = pa.table(posts) if posts is not None else pa.table({})
    given = {
        "text": texts,
        "id": ids,
        "account": accounts,
        "platform": platforms,
        "time": times,
    }
    for name, column in given.items():
        if column is not None:
            table = _with_column(table, name, pa.array(_string_list(column), type=pa.large_string()))
    if scores is not None:
        scores = pa.table(scores)
        for name in _SCORE_COLUMNS:
            table = _with_column(table, name, scores.column(name))
    keep = [n for n in table.column_names if n in _POST_COLUMNS + _SCORE_COLUMNS]
    table = table.select(keep).combine_chunks()
    batches = table.to_batches()
    batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)
    counts, null_texts = _native.cleanup_counts(model._native, batch, top, tz, time_format, threads)
    result = json.loads(counts)
    result["null_texts"] = null_texts
    return result


def _with_column(table: pa.Table, name: str, column: Any) -> pa.Table:
    """``table`` with ``column`` as ``name``, replacing a column of that name."""
    if table.num_columns == 0:
        return pa.table({name: column})
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, column)
    return table.append_column(name, column)
