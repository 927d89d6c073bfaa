"""The task registry: the CLI knows tasks only through `keras_rnn.tasks.TASKS`, so a task defined here, in
this file alone, trains, exports and serves from the command line."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn.cli import main
from keras_rnn.config import _JsonConfig
from keras_rnn.tasks import TASKS, Task, get_task, register

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "keras_rnn"


@dataclasses.dataclass
class LongTextConfig(_JsonConfig):
    """Is a text longer than `threshold` words? (The shared run-folder code reads seed, epochs, lr_schedule.)"""

    corpus: str = ""
    threshold: int = 3
    epochs: int = 40
    patience: int = 40
    lr_schedule: str = "constant"
    seed: int = 7

    task = "long_text"
    search_space = {}


def _word_counts(texts):
    return tf.cast(tf.strings.split(texts).row_lengths(), tf.float32)[:, None]


@dataclasses.dataclass
class LongTextResult:
    model: keras.Model
    metrics: dict
    run_dir: str


def _train(config, run_dir, *, overwrite=False, strategy=None, verbose="auto"):
    from keras_rnn.core.fit import fit_resumable
    from keras_rnn.core.runs import open_run_dir

    open_run_dir(run_dir, config, overwrite)
    with open(config.corpus, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    labels = np.array([[float(len(text.split()) > config.threshold)] for text in texts], np.float32)
    data = tf.data.Dataset.from_tensor_slices((_word_counts(tf.constant(texts)), labels)).batch(16)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.5), loss="binary_crossentropy", metrics=["accuracy"])
    fit_resumable(model, data, data, run_dir, epochs=config.epochs, patience=config.patience, verbose=0)
    model.save(os.path.join(run_dir, "model.keras"))
    metrics = {"val_accuracy": float(model.evaluate(data, verbose=0, return_dict=True)["accuracy"])}
    with open(os.path.join(run_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f)
    return LongTextResult(model, metrics, run_dir)


def _load_finished(config, run_dir):
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    return LongTextResult(keras.saving.load_model(os.path.join(run_dir, "model.keras")), metrics, run_dir)


def _export(path, result, config, args):
    from keras_rnn.export import MANIFEST
    from keras_rnn.files import atomic_directory, write_text_atomic

    archive = keras.export.ExportArchive()
    archive.track(result.model)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        return {"probability": result.model(_word_counts(text))[:, 0]}

    archive.add_endpoint("serving_default", serve)
    with atomic_directory(path, overwrite=args.overwrite) as partial:
        archive.write_out(partial, verbose=False)
        manifest = {"task": "long_text", "config": dataclasses.asdict(config), "metrics": result.metrics}
        write_text_atomic(os.path.join(partial, MANIFEST), json.dumps(manifest))
    return os.path.abspath(path)


def _predict(path, texts):
    serve = tf.saved_model.load(path).signatures["serving_default"]
    probabilities = serve(text=tf.constant(texts, tf.string))["probability"].numpy()
    return [{"long": bool(p > 0.5), "probability": float(p)} for p in probabilities]


LONG_TEXT = Task(
    name="long_text", config_class=LongTextConfig, description="text → is it longer than N words (a test task)",
    train=_train, load_finished=_load_finished, export=_export, predict=_predict,
    format_prediction=lambda text, row: f"{'long' if row['long'] else 'short'}\t{text}",
)


@pytest.fixture
def long_text_task(monkeypatch):
    monkeypatch.delitem(TASKS, "long_text", raising=False)
    register(LONG_TEXT)
    yield LONG_TEXT
    TASKS.pop("long_text", None)


def test_a_task_defined_outside_the_package_trains_exports_and_serves_from_the_cli(long_text_task, tmp_path,
                                                                                   capsys):
    rng = np.random.default_rng(0)
    corpus = tmp_path / "texts.txt"
    corpus.write_text("".join(" ".join(["w"] * int(n)) + "\n" for n in rng.integers(1, 8, 200)), encoding="utf-8")
    output = tmp_path / "export"
    argv = ["train", "long_text", "--corpus", str(corpus), "--output", str(output), "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["export"] == str(output) and summary["val_accuracy"] > 0.9
    assert main(["predict", str(output), "one two three four five six", "hi there"]) == 0
    assert capsys.readouterr().out.splitlines() == ["long\tone two three four five six", "short\thi there"]
    assert main(["predict", str(output), "a b c d e f g", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["long"] is True and row["text"] == "a b c d e f g"
    # Flags come from the task's configuration; evaluate says the task has no evaluation.
    assert main(["evaluate", str(output)]) == 2
    assert "holds a long_text model, which `keras-rnn evaluate` cannot score yet" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "long_text", "--help"])
    assert "--threshold" in capsys.readouterr().out


def test_train_help_lists_the_registered_tasks(capsys):
    assert set(TASKS) >= {"sentiment", "translation", "summarization"}
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    for name in ("sentiment", "translation", "summarization"):
        assert name in out and TASKS[name].description in out


def test_registry_errors():
    with pytest.raises(ValueError, match="Unknown task 'tagging'; registered tasks: .*sentiment"):
        get_task("tagging")
    with pytest.raises(ValueError, match="A task named 'sentiment' is registered already"):
        register(dataclasses.replace(TASKS["sentiment"], description="another"))
    with pytest.raises(ValueError, match="its config_class LongTextConfig configures 'long_text'"):
        dataclasses.replace(LONG_TEXT, name="short_text")


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_task_module_imports_another_and_the_shared_code_imports_no_task():
    task_modules = {f"keras_rnn.tasks.{path.stem}": path for path in (PACKAGE / "tasks").glob("*.py")
                    if path.stem not in ("__init__", "base")}
    assert set(task_modules) == {"keras_rnn.tasks.sentiment", "keras_rnn.tasks.translation",
                                 "keras_rnn.tasks.summarization"}
    for name, path in task_modules.items():
        others = {module for module in _imports(path) if module in task_modules and module != name}
        assert not others, f"{name} imports {others}"
    # The tasks' training code, still beside the package root: none imports another task's.
    trainers = {"keras_rnn.training", "keras_rnn.seq2seq_training", "keras_rnn.summarization_training"}
    for name in trainers:
        path = PACKAGE / f"{name.split('.')[-1]}.py"
        others = {module for module in _imports(path) if module in trainers and module != name}
        assert not others, f"{name} imports {others}"
    shared = ["seq2seq_core.py", "files.py", "decoding.py", "losses.py", "metrics.py", "export.py", "serving.py",
              "tasks/base.py", *(f"core/{path.name}" for path in (PACKAGE / "core").glob("*.py")),
              *(f"data/{path.name}" for path in (PACKAGE / "data").glob("*.py")),
              *(f"models/{path.name}" for path in (PACKAGE / "models").glob("*.py"))]
    for relative in shared:
        tasks = {module for module in _imports(PACKAGE / relative)
                 if module.startswith("keras_rnn.tasks") or module in trainers}
        assert tasks <= ({"keras_rnn.tasks.base"} if relative != "tasks/base.py" else set()), (relative, tasks)
