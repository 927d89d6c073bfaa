"""Evaluation figures: Keras metrics for token sequences, and reports computed by the libraries that own
them (scikit-learn for classification, sacrebleu for BLEU and chrF)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops


def classification_report(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> dict:
    """Accuracy, per-class and macro precision / recall / F1, and the confusion matrix.

    Returns:
        A JSON-ready dict: `accuracy`, `macro_avg`, `per_class` (name → precision, recall, f1, support),
        `confusion_matrix` (rows: true class, columns: predicted class, in `class_names` order) and
        `text` (scikit-learn's printed report plus the matrix).
    """
    from sklearn import metrics

    labels = list(range(len(class_names)))
    report = metrics.classification_report(
        y_true, y_pred, labels=labels, target_names=list(class_names), output_dict=True, zero_division=0
    )
    matrix = metrics.confusion_matrix(y_true, y_pred, labels=labels)
    text = metrics.classification_report(
        y_true, y_pred, labels=labels, target_names=list(class_names), digits=4, zero_division=0
    )
    width = max(len(name) for name in class_names) + 2
    rows = ["confusion matrix (rows: true, columns: predicted)",
            " " * width + "".join(f"{name:>{width}}" for name in class_names)]
    rows += [f"{name:<{width}}" + "".join(f"{n:>{width}}" for n in row) for name, row in zip(class_names, matrix)]
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "macro_avg": {k: float(v) for k, v in report["macro avg"].items()},
        "per_class": {name: {k: float(v) for k, v in report[name].items()} for name in class_names},
        "confusion_matrix": np.asarray(matrix).tolist(),
        "examples": int(len(y_true)),
        "text": text + "\n" + "\n".join(rows),
    }


@keras.saving.register_keras_serializable(package="keras_rnn")
class MaskedTokenAccuracy(keras.metrics.Metric):
    """Fraction of non-padding target tokens (id != 0) whose logit is the highest.

    Example:
    >>> metric = MaskedTokenAccuracy()
    >>> metric.update_state(np.array([[1, 2, 0]]), np.eye(3, dtype="float32")[None, [1, 0, 2]])
    >>> float(metric.result())
    0.5
    """

    def __init__(self, name: str = "token_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, 0), "float32")
        hits = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
        self.correct.assign_add(ops.sum(hits * mask))
        self.count.assign_add(ops.sum(mask))

    def result(self):
        return self.correct / ops.maximum(self.count, 1.0)


@keras.saving.register_keras_serializable(package="keras_rnn")
class MaskedPerplexity(keras.metrics.Metric):
    """`exp` of the mean cross-entropy (no label smoothing) over non-padding target tokens.

    Example:
    >>> metric = MaskedPerplexity()
    >>> metric.update_state(np.array([[1, 0]]), np.zeros((1, 2, 4), "float32"))
    >>> round(float(metric.result()), 4)  # uniform over 4 tokens
    4.0
    """

    def __init__(self, name: str = "perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, 0), "float32")
        nll = ops.sparse_categorical_crossentropy(y_true, ops.cast(y_pred, "float32"), from_logits=True)
        self.total.assign_add(ops.sum(nll * mask))
        self.count.assign_add(ops.sum(mask))

    def result(self):
        return ops.exp(self.total / ops.maximum(self.count, 1.0))


def bleu_and_chrf(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]) -> dict:
    """Corpus BLEU (sacrebleu's default: 13a tokenization, cased) and chrF on detokenized text.

    Args:
        hypotheses: one system output per segment.
        references: one reference per segment, or several reference streams (each a list as long as
            `hypotheses`).

    Returns:
        `{"bleu": float, "chrf": float, "bleu_signature": str, "chrf_signature": str, "bleu_text": str}`.

    Example:
    >>> bleu_and_chrf(["the cat sat on the mat"], ["the cat sat on the mat"])["bleu"]
    100.0
    """
    import sacrebleu

    if references and isinstance(references[0], str):
        references = [list(references)]
    streams = [list(stream) for stream in references]
    for stream in streams:
        if len(stream) != len(hypotheses):
            raise ValueError(f"Got {len(hypotheses)} hypotheses but a reference stream of {len(stream)} segments.")
    bleu, chrf = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()
    bleu_score = bleu.corpus_score(list(hypotheses), streams)
    chrf_score = chrf.corpus_score(list(hypotheses), streams)
    return {
        "bleu": round(float(bleu_score.score), 2),
        "chrf": round(float(chrf_score.score), 2),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "bleu_text": str(bleu_score),
    }
