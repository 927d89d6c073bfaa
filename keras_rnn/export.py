"""SavedModel export, for every task: an atomic folder that TensorFlow alone can serve and keras-rnn reads back.

An export folder is both a SavedModel (`saved_model.pb`, `variables/`, `assets/`) and a keras-rnn
model folder (`keras/model.keras`, the vocabularies in `keras/`, and `keras_rnn.json`: the task, its
configuration, the validation figures and the signature) from which training can go on. Each task
builds the layer its SavedModel traces (its `export`); `write_export` writes it; `read_manifest` tells
`predict` and `evaluate` which task a folder holds.
"""

from __future__ import annotations

import json
import os

import keras

from keras_rnn.data.text import TextPreprocessor
from keras_rnn.files import atomic_directory

MANIFEST = "keras_rnn.json"
KERAS_DIR = "keras"


def write_export(
    path: str,
    archive: keras.export.ExportArchive,
    model: keras.Model,
    vocabularies: dict[str, TextPreprocessor],
    manifest: dict,
    overwrite: bool,
) -> str:
    """Writes the SavedModel of `archive`, `keras/model.keras`, the vocabulary files (file name →
    preprocessor) and the manifest into a temporary folder beside `path`, renamed into place at the end,
    so a killed export never leaves a half-written model at `path`.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.

    Returns:
        The absolute path written.
    """
    if "task" not in manifest:
        raise ValueError("An export manifest must name its task (`predict` and `evaluate` dispatch by it).")
    with atomic_directory(path, overwrite=overwrite) as partial:
        archive.write_out(partial, verbose=False)
        os.makedirs(os.path.join(partial, KERAS_DIR))
        model.save(os.path.join(partial, KERAS_DIR, "model.keras"))
        for name, preprocessor in vocabularies.items():
            preprocessor.save_vocabulary(os.path.join(partial, KERAS_DIR, name))
        with open(os.path.join(partial, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
    return os.path.abspath(path)


def read_manifest(path: str) -> dict:
    """The `keras_rnn.json` of an exported model folder, with a clear error when it is not one."""
    manifest = os.path.join(path, MANIFEST)
    if not os.path.isfile(manifest):
        raise FileNotFoundError(
            f"{path!r} is not a keras-rnn export (no {MANIFEST}); pass the folder written by "
            "`keras-rnn train ... --output PATH`."
        )
    with open(manifest, encoding="utf-8") as f:
        return json.load(f)
