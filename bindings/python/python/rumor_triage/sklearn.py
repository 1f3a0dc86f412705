"""A scikit-learn estimator over rumor_triage, for ``Pipeline``, ``cross_val_score`` and
``GridSearchCV``.

>>> from rumor_triage.sklearn import RumorTriageClassifier
>>> clf = RumorTriageClassifier(c=10)
>>> clf.get_params()["hash_bits"]
20

``X`` is a sequence of texts (a list, a pandas Series, an Arrow string array, or a
one-column 2-D array of strings); ``y`` any labels. The flagged class is ``pos_label``
(default: ``"rumor"`` when it is one of the labels, else the greater of two labels, as
scikit-learn orders them).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import Model, train

__all__ = ["RumorTriageClassifier"]


class RumorTriageClassifier(ClassifierMixin, BaseEstimator):
    """rumor-triage's classifier: hashed word, CJK and character n-grams with tf-idf, an
    L2-regularized linear model, a calibrated probability and a threshold chosen on
    held-out folds. Parameters are those of ``rumor-triage train`` with the same defaults
    (``c=None`` and ``c_grid=None``: C chosen from 1, 3, 10, 30, 100 by held-out log
    loss).

    ``predict`` uses the model's threshold, not 0.5; ``decision_function`` is the logit of
    the calibrated probability minus the logit of the threshold, so it is positive exactly
    where ``predict`` flags (a text too short to judge is never flagged).
    """

    def __init__(
        self,
        *,
        c: float | None = None,
        c_grid: tuple[float, ...] | None = None,
        loss: str = "logistic",
        hash_bits: int = 20,
        word_ngrams: int = 2,
        cjk_ngrams: int = 3,
        subword_min: int = 5,
        subword_max: int = 5,
        norm_smoothing: float = 1000.0,
        min_content_tokens: int = 3,
        unseen_in_norm: bool = False,
        balanced: bool = False,
        min_df: int = 1,
        tolerance: float = 0.1,
        folds: int = 5,
        target_precision: float | None = None,
        best_flagged_f1: bool = False,
        seed: int = 42,
        pos_label: Any = None,
        threads: int | None = None,
    ) -> None:
        self.c = c
        self.c_grid = c_grid
        self.loss = loss
        self.hash_bits = hash_bits
        self.word_ngrams = word_ngrams
        self.cjk_ngrams = cjk_ngrams
        self.subword_min = subword_min
        self.subword_max = subword_max
        self.norm_smoothing = norm_smoothing
        self.min_content_tokens = min_content_tokens
        self.unseen_in_norm = unseen_in_norm
        self.balanced = balanced
        self.min_df = min_df
        self.tolerance = tolerance
        self.folds = folds
        self.target_precision = target_precision
        self.best_flagged_f1 = best_flagged_f1
        self.seed = seed
        self.pos_label = pos_label
        self.threads = threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.poor_score = True
        return tags

    def _texts(self, X: Any) -> Any:
        """The texts of ``X`` (subclasses may turn other inputs into texts)."""
        return _texts(X)

    def fit(self, X: Any, y: Any) -> "RumorTriageClassifier":
        """Trains on texts ``X`` with labels ``y`` (two classes)."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        texts = self._texts(X)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if len(y) != len(texts):
            raise ValueError(f"y has {len(y)} labels for {len(texts)} texts")
        self.classes_ = np.unique(y)
        if len(self.classes_) > 2:
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {type_of_target(y)}:"
                f" {len(self.classes_)} classes"
            )
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs two classes (flagged and not); got 1 class")
        pos_label = self.pos_label
        if pos_label is None:
            pos_label = "rumor" if "rumor" in self.classes_ else self.classes_[1]
        if pos_label not in self.classes_:
            raise ValueError(f"pos_label {pos_label!r} is not one of the classes {list(self.classes_)}")
        self.pos_index_ = int(np.flatnonzero(self.classes_ == pos_label)[0])
        names = ["non-rumor", "rumor"] if self.pos_index_ == 1 else ["rumor", "non-rumor"]
        labels = [names[i] for i in np.searchsorted(self.classes_, y)]
        self.model_ = train(
            texts,
            labels,
            threads=self.threads,
            c=self.c,
            c_grid=None if self.c_grid is None else list(self.c_grid),
            loss=self.loss,
            hash_bits=self.hash_bits,
            word_ngrams=self.word_ngrams,
            cjk_ngrams=self.cjk_ngrams,
            subword_min=self.subword_min,
            subword_max=self.subword_max,
            norm_smoothing=self.norm_smoothing,
            min_content_tokens=self.min_content_tokens,
            unseen_in_norm=self.unseen_in_norm,
            balanced=self.balanced,
            min_df=self.min_df,
            tolerance=self.tolerance,
            folds=self.folds,
            target_precision=self.target_precision,
            best_flagged_f1=self.best_flagged_f1,
            seed=self.seed,
        )
        return self

    def _scores(self, X: Any) -> pa.RecordBatch:
        check_is_fitted(self, "model_")
        scores = self.model_.score(self._texts(X), threads=self.threads)
        if scores.column("probability").null_count:
            raise ValueError("X holds a missing text; rumor_triage scores only texts")
        return scores

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probability of each class, columns in ``classes_`` order."""
        p = self._scores(X).column("probability").to_numpy().astype(np.float64)
        proba = np.empty((len(p), 2))
        proba[:, self.pos_index_] = p
        proba[:, 1 - self.pos_index_] = 1.0 - p
        return proba

    def decision_function(self, X: Any) -> np.ndarray:
        """Positive where the text is flagged: logit(p) − logit(threshold), toward
        ``classes_[1]``."""
        scores = self._scores(X)
        p = np.clip(scores.column("probability").to_numpy().astype(np.float64), 1e-12, 1 - 1e-12)
        t = min(max(float(self.model_.threshold), 1e-12), 1 - 1e-12)
        d = np.log(p / (1 - p)) - math.log(t / (1 - t))
        d = np.where(scores.column("insufficient_text").to_numpy(zero_copy_only=False), np.minimum(d, -1e-9), d)
        return d if self.pos_index_ == 1 else -d

    def predict(self, X: Any) -> np.ndarray:
        """The flagged class where the model flags the text, the other class elsewhere."""
        flagged = self._scores(X).column("flagged").to_numpy(zero_copy_only=False)
        return np.where(flagged, self.classes_[self.pos_index_], self.classes_[1 - self.pos_index_])


def _texts(X: Any) -> Any:
    """Texts from what scikit-learn passes: a 1-D sequence, or a 2-D array of one column."""
    if hasattr(X, "__arrow_c_array__") or hasattr(X, "__arrow_c_stream__"):
        if hasattr(X, "columns") and len(X.columns) == 1:  # a one-column DataFrame
            return X[X.columns[0]]
        return X
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:
        if X.shape[1] != 1:
            raise ValueError(f"X must be one column of texts; got {X.shape[1]} columns")
        return X.iloc[:, 0]
    array = np.asarray(X, dtype=object)
    if array.ndim == 2:
        if array.shape[1] != 1:
            raise ValueError(f"X must be one column of texts; got shape {array.shape}")
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"X must be a sequence of texts; got shape {array.shape}")
    for value in array:
        if not isinstance(value, str):
            raise ValueError(f"X must hold texts (str); found {type(value).__name__}")
    return list(array)
