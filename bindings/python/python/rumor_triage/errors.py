"""The exceptions rumor_triage raises: one class per kind of error, each carrying the
library's message and, in ``kind``, the name of the error variant (``"checksum_mismatch"``,
``"too_few_examples"``...)."""

from __future__ import annotations

__all__ = [
    "RumorTriageError",
    "ModelFileError",
    "InvalidOptionError",
    "InvalidInputError",
    "TooFewExamplesError",
    "RumorTriageIOError",
    "TokenizerError",
    "TrainingError",
]


class RumorTriageError(Exception):
    """Base class of every rumor_triage error."""

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind

    def __reduce__(self):  # picklable across processes (Spark, multiprocessing)
        return (type(self), (self.message, self.kind))


class ModelFileError(RumorTriageError):
    """A model file that is not one, is corrupt, truncated, or of an unreadable version."""


class InvalidOptionError(RumorTriageError, ValueError):
    """An option or argument out of its documented range."""


class InvalidInputError(RumorTriageError, ValueError):
    """Inputs that do not fit together: a null text in training data, labels and texts of
    different lengths, a time that does not parse."""


class TooFewExamplesError(RumorTriageError, ValueError):
    """Too few examples, labels or groups for what was asked."""


class RumorTriageIOError(RumorTriageError, OSError):
    """Reading or writing a file failed."""


class TokenizerError(RumorTriageError):
    """A Hugging Face tokenizer failed or its tokenizer.json is malformed."""


class TrainingError(RumorTriageError):
    """Fitting the learner failed."""
