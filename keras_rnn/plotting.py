"""Figures: attention heatmaps, training curves, confusion matrices and hyperparameter searches.

Every function draws on its own `matplotlib.figure.Figure` (never through `pyplot`, so it neither
switches the caller's backend nor leaves figures open: the inline backend of a notebook keeps
working) and writes a PNG atomically: drawn beside `path`, then renamed over it.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np

from keras_rnn.validation import validate_choice


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _check_path(path: str, overwrite: bool) -> None:
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path!r} already exists; pass overwrite=True (--overwrite) to replace it.")


def _save(figure, path: str) -> str:
    figure.tight_layout()
    partial = path + ".partial.png"
    figure.savefig(partial, dpi=120)
    os.replace(partial, path)
    return os.path.abspath(path)


def plot_attention(
    source_tokens: Sequence[str],
    output_tokens: Sequence[str],
    weights: np.ndarray,
    path: str,
    *,
    title: str | None = None,
    overwrite: bool = False,
) -> str:
    """Writes a heatmap PNG of attention weights: one row per output token, one column per source token.

    Args:
        source_tokens: the `source_len` source tokens (columns).
        output_tokens: the `output_len` generated tokens (rows).
        weights: `(output_len, source_len)` attention weights, rows summing to 1.
        path: the PNG to write (atomically: drawn beside it, then renamed).
        title: optional figure title.
        overwrite: replace an existing file.

    Returns:
        The absolute path written.

    Example:
    ```python
    source, outputs, weights = TextGenerator("saved_models/translation").attention("Ein Hund rennt.")
    plot_attention(source, outputs, weights, "attention.png")
    ```
    """
    weights = np.asarray(weights, dtype=np.float32)
    if weights.shape != (len(output_tokens), len(source_tokens)):
        raise ValueError(
            f"Attention weights of shape {weights.shape} do not match {len(output_tokens)} output tokens x "
            f"{len(source_tokens)} source tokens."
        )
    _check_path(path, overwrite)
    width = max(4.0, 0.45 * len(source_tokens) + 2)
    height = max(3.0, 0.4 * len(output_tokens) + 1.5)
    figure = _new_figure(width, height)
    axes = figure.subplots()
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source_tokens)), labels=source_tokens, rotation=60, ha="right")
    axes.set_yticks(range(len(output_tokens)), labels=output_tokens)
    axes.set_xlabel("source tokens")
    axes.set_ylabel("output tokens")
    if title:
        axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="attention weight")
    return _save(figure, path)


def read_history(path: str) -> dict[str, list[float]]:
    """A training run's `history.csv` (one row per epoch, as every trainer writes it) as
    `{metric: [value per epoch]}`, the shape of Keras's `History.history`; `epoch` is left out.

    Example:
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "history.csv")
    >>> _ = open(path, "w").write("epoch,loss,val_loss\\n0,0.7,0.6\\n1,0.5,0.55\\n")
    >>> read_history(path)
    {'loss': [0.7, 0.5], 'val_loss': [0.6, 0.55]}
    """
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = [name for name in (rows[0] if rows else {}) if name != "epoch"]
    return {name: [float(row[name]) if row[name] not in ("", None) else math.nan for row in rows] for name in names}


def _as_history(value) -> dict[str, list[float]]:
    if isinstance(value, (str, os.PathLike)):
        return read_history(os.fspath(value))
    if isinstance(value, Mapping):
        return {str(name): [float(v) for v in values] for name, values in value.items()}
    history = getattr(value, "history", None)  # a keras.callbacks.History
    if isinstance(history, Mapping):
        return _as_history(history)
    raise TypeError(f"Expected a history.csv path, a {{metric: values}} dict or a Keras History; got {type(value)}.")


def plot_training_curves(
    histories,
    path: str,
    *,
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
    overwrite: bool = False,
) -> str:
    """Writes a PNG of training curves: one panel per metric, per epoch, training (solid line) and
    validation (`val_` prefix, dashed) values, one colour per run.

    Args:
        histories: one run, as its `history.csv` path, a `{metric: [value per epoch]}` dict or a Keras
            `History`; or a dict of run name → one of those, to compare runs.
        path: the PNG to write (atomically).
        metrics: metric names without the `val_` prefix (`"loss"`, `"accuracy"`, `"token_accuracy"`,
            `"perplexity"`, ...); a metric none of the runs logged is skipped.
        title: optional figure title.
        overwrite: replace an existing file.

    Returns:
        The absolute path written.

    Example:
    >>> import tempfile
    >>> runs = {"lstm": {"loss": [0.7, 0.5], "val_loss": [0.6, 0.55]}, "gru": {"loss": [0.6, 0.4]}}
    >>> png = plot_training_curves(runs, os.path.join(tempfile.mkdtemp(), "curves.png"), metrics=["loss"])
    >>> os.path.getsize(png) > 0
    True
    """
    single = isinstance(histories, (str, os.PathLike)) or hasattr(histories, "history") or (
        isinstance(histories, Mapping) and histories
        and not any(isinstance(v, (str, os.PathLike, Mapping)) or hasattr(v, "history") for v in histories.values())
    )
    runs = {"": _as_history(histories)} if single else {str(k): _as_history(v) for k, v in histories.items()}
    if not runs:
        raise ValueError("No histories to plot.")
    shown = [m for m in metrics if any(m in h or f"val_{m}" in h for h in runs.values())]
    if not shown:
        logged = sorted({name for h in runs.values() for name in h})
        raise ValueError(f"None of the metrics {list(metrics)} was logged; the histories hold {logged}.")
    _check_path(path, overwrite)
    figure = _new_figure(4.2 * len(shown) + 0.8, 3.6)
    panels = np.atleast_1d(figure.subplots(1, len(shown)))
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for axes, metric in zip(panels, shown):
        for colour, (name, history) in zip(colours, runs.items()):
            for key, style, split in ((metric, "-", "train"), (f"val_{metric}", "--", "validation")):
                if key in history:
                    values = history[key]
                    label = f"{name} {split}".strip()
                    axes.plot(range(1, len(values) + 1), values, style, color=colour, marker="o", markersize=3,
                              label=label)
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        epochs = max(len(values) for history in runs.values() for values in history.values())
        if epochs <= 12:
            axes.set_xticks(range(1, epochs + 1))
        else:
            axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
    panels[-1].legend(fontsize="small", loc="best")
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_confusion_matrix(
    matrix,
    class_names: Sequence[str],
    path: str,
    *,
    title: str | None = None,
    overwrite: bool = False,
) -> str:
    """Writes a PNG of a confusion matrix (rows: true class, columns: predicted class), each cell showing
    its count and its share of the true class; colours follow those shares (recall on the diagonal).

    Args:
        matrix: `(classes, classes)` counts, e.g. `classification_report(...)["confusion_matrix"]`.
        class_names: the classes in matrix order.
        path: the PNG to write (atomically).
        title: optional figure title.
        overwrite: replace an existing file.

    Returns:
        The absolute path written.

    Example:
    >>> import tempfile
    >>> png = plot_confusion_matrix([[40, 10], [5, 45]], ["neg", "pos"], os.path.join(tempfile.mkdtemp(), "cm.png"))
    >>> png.endswith("cm.png")
    True
    """
    counts = np.asarray(matrix, dtype=np.int64)
    if counts.ndim != 2 or counts.shape != (len(class_names), len(class_names)):
        raise ValueError(f"A confusion matrix of shape {counts.shape} does not match {len(class_names)} class names.")
    _check_path(path, overwrite)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = max(3.5, 0.9 * len(class_names) + 2)
    figure = _new_figure(side + 1.0, side)
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for (row, column), count in np.ndenumerate(counts):
        colour = "white" if shares[row, column] > 0.6 else "black"
        axes.text(column, row, f"{count}\n{shares[row, column]:.1%}", ha="center", va="center", color=colour)
    axes.set_xticks(range(len(class_names)), labels=class_names, rotation=45 if len(class_names) > 4 else 0)
    axes.set_yticks(range(len(class_names)), labels=class_names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if title:
        axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    return _save(figure, path)


def plot_search(
    trials: Sequence[Mapping],
    objective: str,
    path: str,
    *,
    mode: str = "max",
    hyperparameters: Sequence[str] | None = None,
    title: str | None = None,
    overwrite: bool = False,
) -> str:
    """Writes a PNG of a hyperparameter search: one panel per hyperparameter, the objective of every
    finished trial against the value that trial used (numbers on their axis, logarithmic when they
    span a decade or more; other values as categories); the best trial is circled.

    Args:
        trials: one dict per trial holding `objective` and the hyperparameters, e.g.
            `run_search(...).trials` or `trials.json` (trials without an objective value are skipped).
        objective: the key of the objective, e.g. `"val_accuracy"`.
        path: the PNG to write (atomically).
        mode: `"max"` or `"min"`: which end of the objective is best. Defaults to `"max"`.
        hyperparameters: the keys to plot; default every key whose value varies across the trials,
            bookkeeping columns (`trial`, `status`, `fit_time_s`, `epochs`, `tuner/...`) excepted.
        title: optional figure title.
        overwrite: replace an existing file.

    Returns:
        The absolute path written.

    Example:
    >>> import tempfile
    >>> trials = [{"trial": "0", "cell": "gru", "units": 32, "val_accuracy": 0.81},
    ...           {"trial": "1", "cell": "lstm", "units": 64, "val_accuracy": 0.84}]
    >>> png = plot_search(trials, "val_accuracy", os.path.join(tempfile.mkdtemp(), "search.png"))
    >>> os.path.exists(png)
    True
    """
    validate_choice("mode", mode, ("max", "min"))
    done = [t for t in trials if isinstance(t.get(objective), (int, float)) and not math.isnan(t[objective])]
    if not done:
        raise ValueError(f"No trial has a value for {objective!r}.")
    bookkeeping = {"trial", "status", objective, "fit_time_s", "epochs"}
    if hyperparameters is None:
        keys = [k for k in dict.fromkeys(k for t in done for k in t)
                if k not in bookkeeping and not k.startswith("tuner/")]
        hyperparameters = [k for k in keys if len({repr(t.get(k)) for t in done}) > 1] or keys
    if not hyperparameters:
        raise ValueError("The trials hold no hyperparameters to plot.")
    _check_path(path, overwrite)
    columns = min(3, len(hyperparameters))
    rows = math.ceil(len(hyperparameters) / columns)
    figure = _new_figure(3.8 * columns, 3.2 * rows)
    panels = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    scores = np.array([float(t[objective]) for t in done])
    best = int(np.argmax(scores) if mode == "max" else np.argmin(scores))
    for axes, name in zip(panels, hyperparameters):
        values = [t.get(name) for t in done]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric:
            x = np.array(values, dtype=float)
            if x.min() > 0 and x.max() / x.min() >= 10:
                axes.set_xscale("log")
        else:
            categories = sorted({repr(v) for v in values})
            x = np.array([categories.index(repr(v)) for v in values], dtype=float)
            axes.set_xticks(range(len(categories)), labels=[c.strip("'") for c in categories])
            axes.set_xlim(-0.5, len(categories) - 0.5)
        axes.scatter(x, scores, color="C0", alpha=0.8)
        axes.scatter(x[best], scores[best], s=160, facecolors="none", edgecolors="C3", linewidths=2)
        axes.set_xlabel(name)
        axes.set_ylabel(objective)
        axes.grid(alpha=0.3)
    for axes in panels[len(hyperparameters):]:
        axes.set_visible(False)
    if title:
        figure.suptitle(title)
    return _save(figure, path)
