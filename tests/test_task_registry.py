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
from keras_rnn.core.config import DataConfig, OptimizationConfig, TaskConfig
from keras_rnn.tasks import TASKS, Task, get_task, register

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "keras_rnn"


@dataclasses.dataclass
class LongTextRule:
    threshold: int = 3


class LongTextConfig(TaskConfig):
    """Is a text longer than `threshold` words? The shared parts plus one of its own."""

    task = "long_text"
    parts = {"data": DataConfig, "rule": LongTextRule, "optimization": OptimizationConfig}
    defaults = {"epochs": 40, "patience": 40, "lr_schedule": "constant", "seed": 7, "batch_size": 16}


def _word_counts(texts):
    return tf.cast(tf.strings.split(texts).row_lengths(), tf.float32)[:, None]


@dataclasses.dataclass
class LongTextData:
    train: tf.data.Dataset
    validation: tf.data.Dataset
    train_batches: int
    validation_batches: int

    def fresh_train(self):
        return self.train

    def figures(self):
        return {"train_batches": self.train_batches}


@dataclasses.dataclass
class LongTextResult:
    model: keras.Model
    config: LongTextConfig
    metrics: dict
    run_dir: str


def _prepare(config, run_dir):
    with open(config.data.corpus, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    labels = np.array([[float(len(text.split()) > config.rule.threshold)] for text in texts], np.float32)
    data = tf.data.Dataset.from_tensor_slices((_word_counts(tf.constant(texts)), labels))
    data = data.batch(config.optimization.batch_size)
    batches = int(data.cardinality())
    return LongTextData(data, data, batches, batches)


def _build(config, data, steps_per_epoch):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.5), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _make_result(model, config, data, metrics, run_dir, outputs):
    return LongTextResult(model, config, metrics, run_dir)


def _load_finished(config, run_dir):
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    return LongTextResult(keras.saving.load_model(os.path.join(run_dir, "model.keras")), config, metrics, run_dir)


def _export(path, result, *, overwrite=False, beam_width=None):
    from keras_rnn.export import write_export

    archive = keras.export.ExportArchive()
    archive.track(result.model)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        return {"probability": result.model(_word_counts(text))[:, 0]}

    archive.add_endpoint("serving_default", serve)
    manifest = {"task": "long_text", "config": result.config.to_dict(), "metrics": result.metrics}
    return write_export(path, archive, result.model, {}, manifest, overwrite)


def _predict(path, texts):
    serve = tf.saved_model.load(path).signatures["serving_default"]
    probabilities = serve(text=tf.constant(texts, tf.string))["probability"].numpy()
    return [{"long": bool(p > 0.5), "probability": float(p)} for p in probabilities]


LONG_TEXT = Task(
    name="long_text", config_class=LongTextConfig, description="text → is it longer than N words (a test task)",
    prepare=_prepare, build=_build, make_result=_make_result, load_finished=_load_finished, export=_export,
    predict=_predict, format_prediction=lambda text, row: f"{'long' if row['long'] else 'short'}\t{text}",
    monitor=("val_accuracy", "max"),
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
    # The shared training wrote the run folder: its configuration in parts, the history, the figures.
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["task"] == "long_text" and saved["rule"] == {"threshold": 3}
    assert (tmp_path / "run" / "history.csv").exists() and summary["train_batches"] == 13
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
    # Rerun: the finished run is found and exported again, not trained again.
    os.rename(output, tmp_path / "export_1")
    assert main(argv) == 0
    assert "finished run found" in capsys.readouterr().err
    assert main(["predict", str(output), "hi"]) == 0 and capsys.readouterr().out == "short\thi\n"


def test_train_help_lists_the_registered_tasks(capsys):
    assert set(TASKS) >= {"sentiment", "translation", "summarization", "language_model", "tagging", "forecasting"}
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    for name in ("sentiment", "translation", "summarization", "language_model", "tagging", "forecasting"):
        assert name in out and TASKS[name].description in out


def test_registry_errors():
    with pytest.raises(ValueError, match="Unknown task 'speech'; registered tasks: .*sentiment"):
        get_task("speech")
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
    packages = {path.name: path for path in (PACKAGE / "tasks").iterdir() if (path / "__init__.py").exists()}
    assert set(packages) == {"sentiment", "translation", "summarization", "language_model", "tagging",
                             "forecasting"}
    for name, folder in packages.items():
        for path in folder.rglob("*.py"):
            others = {module for module in _imports(path) if module.startswith("keras_rnn.tasks.")
                      and module.split(".")[2] not in (name, "base")}
            assert not others, f"{path.relative_to(PACKAGE)} imports {others}"
    # The core imports no task, nor the registry package that imports them all.
    for path in (PACKAGE / "core").glob("*.py"):
        tasks = {module for module in _imports(path) if module.startswith("keras_rnn.tasks")}
        assert not tasks, (path.name, tasks)
    # Shared code reaches tasks only through the registry (`keras_rnn.tasks`), never one task's module.
    shared = [*(PACKAGE / "data").glob("*.py"), *(PACKAGE / "models").glob("*.py"), PACKAGE / "tasks" / "base.py",
              *(PACKAGE / name for name in ("cli.py", "tuning.py", "export.py", "serving.py", "decoding.py",
                                           "metrics.py", "losses.py", "files.py", "plotting.py"))]
    for path in shared:
        tasks = {module for module in _imports(path)
                 if module.startswith("keras_rnn.tasks.") and module != "keras_rnn.tasks.base"}
        assert not tasks, (path.name, tasks)
    # No top-level task modules are left beside the package root.
    assert not {"config.py", "training.py", "seq2seq_training.py", "summarization_training.py"} & {
        path.name for path in PACKAGE.glob("*.py")}
