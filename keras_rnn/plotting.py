"""Figures: attention heatmaps of seq2seq models."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights = np.asarray(weights, dtype=np.float32)
    if weights.shape != (len(output_tokens), len(source_tokens)):
        raise ValueError(
            f"Attention weights of shape {weights.shape} do not match {len(output_tokens)} output tokens x "
            f"{len(source_tokens)} source tokens."
        )
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path!r} already exists; pass overwrite=True (--overwrite) to replace it.")
    width = max(4.0, 0.45 * len(source_tokens) + 2)
    height = max(3.0, 0.4 * len(output_tokens) + 1.5)
    figure, axes = plt.subplots(figsize=(width, height))
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source_tokens)), labels=source_tokens, rotation=60, ha="right")
    axes.set_yticks(range(len(output_tokens)), labels=output_tokens)
    axes.set_xlabel("source tokens")
    axes.set_ylabel("output tokens")
    if title:
        axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="attention weight")
    figure.tight_layout()
    partial = path + ".partial.png"
    figure.savefig(partial, dpi=120)
    plt.close(figure)
    os.replace(partial, path)
    return os.path.abspath(path)
