import csv
import json
import os

import numpy as np
import pytest

from conftest import TINY
from keras_rnn import SentimentConfig
from keras_rnn.core.runs import RUN_FILES
from keras_rnn.core.strategies import get_strategy
from keras_rnn.tasks.sentiment import SENTIMENT_RUN_FILES, prepare_sentiment_data, train_sentiment


def test_training_learns_the_synthetic_task_and_writes_the_run_dir(trained):
    result, _ = trained
    assert result.metrics["val_accuracy"] >= 0.95
    for name in SENTIMENT_RUN_FILES.values():
        assert os.path.exists(os.path.join(result.run_dir, name)), name
    assert os.path.isdir(os.path.join(result.run_dir, "logs"))
    assert not os.path.exists(os.path.join(result.run_dir, "backup"))  # removed once training finished
    with open(os.path.join(result.run_dir, "history.csv")) as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == list(range(len(epochs))) and 1 <= len(epochs) <= TINY["epochs"]
    saved = SentimentConfig.load(os.path.join(result.run_dir, "config.json"))
    assert saved == result.config


def test_the_model_ends_with_the_best_epochs_weights(trained):
    result, _ = trained
    with open(os.path.join(result.run_dir, "history.csv")) as f:
        best = max(float(row["val_accuracy"]) for row in csv.DictReader(f))
    assert result.metrics["val_accuracy"] == pytest.approx(best, abs=1e-6)


def test_prepared_batches_are_bucketed_and_counted(tiny_tsv):
    config = SentimentConfig(corpus=tiny_tsv, **TINY)
    data = prepare_sentiment_data(config)
    batches = list(data.train)
    assert len(batches) == data.train_batches
    assert sum(int(ids.shape[0]) for ids, _ in batches) == data.train_examples
    assert sum(int(np.count_nonzero(ids)) for ids, _ in batches) <= data.train_tokens
    assert max(int(ids.shape[1]) for ids, _ in batches) <= config.text.max_length
    assert data.class_names == ["negative", "positive"]


def test_finished_run_is_not_overwritten_without_asking(trained):
    result, _ = trained
    with pytest.raises(FileExistsError, match="holds a finished run; pass overwrite=True"):
        train_sentiment(result.config, result.run_dir, verbose=0)


def test_resuming_with_a_different_configuration_is_refused(tmp_path, tiny_tsv):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    SentimentConfig(corpus=tiny_tsv, **TINY).save(str(run_dir / "config.json"))
    changed = SentimentConfig(corpus=tiny_tsv, **{**TINY, "units": 16})
    with pytest.raises(ValueError, match=r"different configuration \(changed: \['units'\]\)"):
        train_sentiment(changed, str(run_dir), verbose=0)


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ValueError, match=r"Unknown sentiment configuration keys \['colour'\]"):
        SentimentConfig.from_dict({"colour": "red"})
    with pytest.raises(ValueError, match="`cell`: 'transformer'"):
        SentimentConfig(cell="transformer")
    assert json.loads(SentimentConfig().to_json())["network"]["cell"] == "gru"


def test_strategy_errors(monkeypatch):
    with pytest.raises(ValueError, match="`strategy`: 'tpu'. Accepted values: 'default', 'mirrored', 'multi_worker'"):
        get_strategy("tpu")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="reads the cluster from the TF_CONFIG environment variable"):
        get_strategy("multi_worker")


def test_linear_decay_schedule_reaches_zero_at_the_last_step():
    import keras

    from keras_rnn.models.classifier import build_sentiment_model
    from keras_rnn.tasks.sentiment import compile_classifier

    model = compile_classifier(build_sentiment_model(20, units=2, embedding_dim=2), 2, 0.01, 1.0,
                               "linear_decay", total_steps=100)
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.PolynomialDecay)
    assert [round(float(schedule(step)), 6) for step in (0, 50, 100)] == [0.01, 0.005, 0.0]
    with pytest.raises(ValueError, match="`lr_schedule`: 'cosine'. Accepted values: 'constant', 'linear_decay'"):
        SentimentConfig(lr_schedule="cosine")


class _KillAfterEpoch(__import__("keras").callbacks.Callback):
    """Stands for a SIGKILL right after an epoch's backup was written."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("killed")


def _frozen_fit(run_dir, callbacks=()):
    """A model that cannot learn (learning rate 0): its validation loss never improves after epoch 0."""
    import keras
    import tensorflow as tf

    from keras_rnn.core.fit import fit_resumable

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    data = tf.data.Dataset.from_tensor_slices((np.ones((8, 3), "float32"), np.zeros((8, 1), "float32"))).batch(4)
    return fit_resumable(model, data, data, str(run_dir), epochs=6, patience=2, monitor="val_loss", mode="min",
                         verbose=0, callbacks=callbacks)


def _history_epochs(run_dir) -> list[int]:
    with open(os.path.join(run_dir, RUN_FILES["history"]), newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_a_resumed_run_keeps_its_early_stopping_patience(tmp_path):
    _frozen_fit(tmp_path / "whole")
    assert _history_epochs(tmp_path / "whole") == [0, 1, 2]  # best at 0, then patience 2
    killed = tmp_path / "killed"
    with pytest.raises(RuntimeError, match="killed"):
        _frozen_fit(killed, callbacks=[_KillAfterEpoch(1)])
    assert _history_epochs(killed) == [0, 1]
    history = _frozen_fit(killed)
    # The resumed fit runs epoch 2 only and stops where the uninterrupted run stopped (a fresh
    # EarlyStopping would have trained epochs 2, 3 and 4).
    assert len(history["loss"]) == 1 and _history_epochs(killed) == [0, 1, 2]


def test_resuming_a_decaying_schedule_with_other_epochs_is_refused(tmp_path, tiny_tsv):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    SentimentConfig(corpus=tiny_tsv, **TINY).save(str(run_dir / "config.json"))
    longer = SentimentConfig(corpus=tiny_tsv, **{**TINY, "epochs": TINY["epochs"] + 2})
    with pytest.raises(ValueError, match=r"epochs 4 → 6 would stretch its linear_decay learning-rate schedule"):
        train_sentiment(longer, str(run_dir), verbose=0)
    from keras_rnn.core.runs import check_run_dir

    constant = SentimentConfig(corpus=tiny_tsv, **{**TINY, "lr_schedule": "constant"})
    constant.save(str(run_dir / "config.json"))
    check_run_dir(str(run_dir), SentimentConfig(corpus=tiny_tsv, **{**TINY, "lr_schedule": "constant", "epochs": 9}),
                  overwrite=False)  # a constant learning rate does not depend on the epoch count


def test_default_run_folders_never_collide(tmp_path, monkeypatch):
    from keras_rnn.core.runs import default_run_dir

    monkeypatch.chdir(tmp_path)
    a, b = default_run_dir("sentiment", "a/model"), default_run_dir("sentiment", "b/model")
    assert a != b and a.startswith(os.path.join("runs", "sentiment", "model-"))
    assert default_run_dir("sentiment", str(tmp_path / "a" / "model")) == a  # the same export, however named
    assert default_run_dir("translation", "a/model").startswith(os.path.join("runs", "translation", "model-"))


def test_a_run_folder_of_another_task_is_refused_by_name(tmp_path, tiny_tsv):
    from keras_rnn import TranslationConfig

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    TranslationConfig().save(str(run_dir / "config.json"))
    with pytest.raises(FileExistsError, match="holds a translation run, not a sentiment one; choose another --run-dir"):
        train_sentiment(SentimentConfig(corpus=tiny_tsv, **TINY), str(run_dir), verbose=0)


def test_configurations_record_their_task():
    from keras_rnn import TranslationConfig

    saved = json.loads(TranslationConfig().to_json())
    assert saved["task"] == "translation" and TranslationConfig.from_dict(saved) == TranslationConfig()
    with pytest.raises(ValueError, match="This is a translation configuration, not a sentiment one"):
        SentimentConfig.from_dict(saved)


def test_training_time_leaves_validation_out():
    """Throughput divides by `TrainingTime.seconds`: the epochs' training batches, not their validation."""
    import time

    import keras

    from keras_rnn.core.fit import TrainingTime

    class SlowValidation(keras.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            time.sleep(0.2)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32")
    training_time = TrainingTime()
    started = time.perf_counter()
    model.fit(x, y, batch_size=4, epochs=2, validation_data=(x, y), verbose=0,
              callbacks=[training_time, SlowValidation()])
    total = time.perf_counter() - started
    assert total > 0.8  # 2 epochs x 2 validation batches x 0.2 s
    assert 0 < training_time.seconds < total - 0.7
