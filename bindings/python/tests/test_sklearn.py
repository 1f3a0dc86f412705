"""The scikit-learn estimator: scikit-learn's own checks, and the model selection tools
people use it with."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator
from sklearn.utils.validation import validate_data

import rumor_triage as rt
from conftest import read_jsonl
from rumor_triage.sklearn import RumorTriageClassifier


class NumbersAsWords(RumorTriageClassifier):
    """The estimator fed scikit-learn's numeric test data as texts: each value becomes a
    word (``f3q-2``: feature 3, value in [-1, -0.5)). scikit-learn cannot generate text data
    for its checks (it skips every check for an estimator that declares string input), so
    this is how its checks of the estimator contract (fitting, refitting, cloning,
    pickling, parameters, classes, errors) reach the estimator's own code."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = False
        return tags

    def _texts(self, X):
        X = validate_data(self, X, reset=not hasattr(self, "model_"))
        return [" ".join(f"f{j}q{int(np.floor(v * 2))}" for j, v in enumerate(row)) for row in X]

    def fit(self, X, y):
        for fitted in ("model_", "n_features_in_"):
            self.__dict__.pop(fitted, None)
        return super().fit(X, y)


def test_scikit_learns_estimator_checks_pass():
    results = check_estimator(NumbersAsWords(c=1.0, folds=2), on_fail=None)
    statuses = Counter(r["status"] for r in results)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed, failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    # The array-API check needs SCIPY_ARRAY_API and array inputs; texts are neither.
    assert skipped <= {"check_array_api_input"}, skipped
    assert statuses["passed"] >= 50, statuses


def test_string_input_is_declared():
    tags = RumorTriageClassifier().__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array


@pytest.fixture(scope="module")
def weibo(data):
    records = read_jsonl(data / "weibo-ced" / "test.jsonl")
    return [r["text"] for r in records], np.array([r["label"] for r in records])


def test_defaults_train_the_same_model_as_train(weibo):
    texts, labels = weibo
    clf = RumorTriageClassifier().fit(texts, labels)
    assert clf.model_.to_bytes() == rt.train(texts, labels).to_bytes()
    assert list(clf.classes_) == ["non-rumor", "rumor"]
    proba = clf.predict_proba(texts[:50])
    scores = clf.model_.score(texts[:50])
    assert np.array_equal(proba[:, 1], np.asarray(scores.column("probability"), dtype=np.float64))
    flagged = np.asarray(scores.column("flagged"))
    assert np.array_equal(clf.predict(texts[:50]) == "rumor", flagged)
    assert np.array_equal(clf.decision_function(texts[:50]) > 0, flagged)


def test_pipeline_cross_validation_and_grid_search(weibo):
    texts, labels = weibo
    y = (labels == "rumor").astype(int)  # 0/1 labels: the flagged class is the greater
    pipeline = make_pipeline(
        FunctionTransformer(lambda X: [t.replace("//", " ") for t in X]),
        RumorTriageClassifier(c=10, folds=3, threads=2),
    )
    scores = cross_val_score(pipeline, texts, y, cv=3, scoring="f1_macro")
    assert scores.shape == (3,) and scores.min() > 0.7, scores
    search = GridSearchCV(RumorTriageClassifier(folds=3), {"c": [1.0, 10.0], "word_ngrams": [1, 2]}, cv=3, scoring="roc_auc")
    search.fit(pd.Series(texts), y)
    assert set(search.best_params_) == {"c", "word_ngrams"}
    assert search.best_score_ > 0.85
    assert list(search.best_estimator_.classes_) == [0, 1]


def test_clear_errors_for_wrong_inputs():
    clf = RumorTriageClassifier()
    with pytest.raises(ValueError, match="Only binary"):
        clf.fit(["a b c", "d e f", "g h i"], [0, 1, 2])
    with pytest.raises(ValueError, match="hold texts"):
        clf.fit([1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="pos_label"):
        RumorTriageClassifier(pos_label="fake").fit(["a b c", "d e f"] * 10, ["x", "y"] * 10)
