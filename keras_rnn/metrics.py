"""Evaluation figures, computed by the libraries that own them (scikit-learn for classification)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
