import csv
import json
import os

import numpy as np
import pytest

from conftest import TINY
from keras_rnn.config import SentimentConfig
from keras_rnn.training import RUN_FILES, get_strategy, prepare_sentiment_data, train_sentiment


def test_training_learns_the_synthetic_task_and_writes_the_run_dir(trained):
    result, _ = trained
    assert result.metrics["val_accuracy"] >= 0.95
    for name in RUN_FILES.values():
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
    assert max(int(ids.shape[1]) for ids, _ in batches) <= config.max_length
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
    assert json.loads(SentimentConfig().to_json())["cell"] == "gru"


def test_strategy_errors(monkeypatch):
    with pytest.raises(ValueError, match="`strategy`: 'tpu'. Accepted values: 'default', 'mirrored', 'multi_worker'"):
        get_strategy("tpu")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="reads the cluster from the TF_CONFIG environment variable"):
        get_strategy("multi_worker")


def test_linear_decay_schedule_reaches_zero_at_the_last_step():
    import keras

    from keras_rnn.models.classifier import build_sentiment_model
    from keras_rnn.training import compile_classifier

    model = compile_classifier(build_sentiment_model(20, units=2, embedding_dim=2), 2, 0.01, 1.0,
                               "linear_decay", total_steps=100)
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.PolynomialDecay)
    assert [round(float(schedule(step)), 6) for step in (0, 50, 100)] == [0.01, 0.005, 0.0]
    with pytest.raises(ValueError, match="`lr_schedule`: 'cosine'. Accepted values: 'constant', 'linear_decay'"):
        SentimentConfig(lr_schedule="cosine")
