"""Sentiment from a pretrained language model (issue 19): the encoder read from a language-model run, its
weights in the classifier, and the fine-tuning tricks (slanted triangular schedule, discriminative
learning rates, gradual unfreezing)."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest

from conftest import TINY, load_benchmark, synthetic_reviews, write_table
from keras_rnn import SentimentConfig
from keras_rnn.core.pretrained import read_pretrained_encoder
from keras_rnn.optimizers import LayerwiseAdam, SlantedTriangular


@pytest.fixture(scope="module")
def reviews_tsv(tmp_path_factory):
    return write_table(tmp_path_factory.mktemp("pretrained_corpus") / "reviews.tsv", synthetic_reviews(600, seed=3))


@pytest.fixture(scope="module")
def language_model_run(reviews_tsv, tmp_path_factory):
    """A word-level language model trained on the review texts alone (one document a line)."""
    from keras_rnn.tasks.language_model import LanguageModelConfig, train_language_model

    folder = tmp_path_factory.mktemp("pretrained_lm")
    with open(reviews_tsv, encoding="utf-8") as f:
        texts = [line.split("\t")[0] for line in f.read().splitlines()[1:]]
    corpus = folder / "reviews.txt"
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    config = LanguageModelConfig(corpus=str(corpus), document_unit="line", granularity="word", lowercase=True,
                                 max_tokens=60, cell="gru", units=8, embedding_dim=6, sequence_length=12,
                                 batch_size=16, epochs=1, validation_fraction=0.1)
    return train_language_model(config, str(folder / "run"), verbose=0)


def test_the_encoder_of_a_language_model_run_is_its_vocabulary_text_settings_and_stack(language_model_run):
    encoder = read_pretrained_encoder(language_model_run.run_dir)
    assert (encoder.cell, encoder.units, encoder.num_layers, encoder.embedding_dim) == ("gru", 8, 1, 6)
    assert encoder.standardization == "lower" and encoder.vocabulary[0] == "[END]"
    assert encoder.vocabulary_size == language_model_run.preprocessor.vocabulary_size
    embedding, (rnn,) = encoder.weights()
    np.testing.assert_array_equal(embedding[0], language_model_run.language_model.embedding.get_weights()[0])
    assert [w.shape for w in rnn] == [w.shape for w in language_model_run.language_model.rnn_layers[0].get_weights()]


def test_a_folder_that_is_not_a_finished_word_language_model_run_is_refused(tmp_path, language_model_run):
    with pytest.raises(ValueError, match="no config.json there"):
        read_pretrained_encoder(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"task": "sentiment"}))
    with pytest.raises(ValueError, match="is a 'sentiment' run; expected a 'language_model' run"):
        read_pretrained_encoder(str(tmp_path))
    with open(os.path.join(language_model_run.run_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="has not finished training"):
        read_pretrained_encoder(str(tmp_path))
    config["text"]["granularity"] = "char"
    for name in ("config.json", "metrics.json", "model.keras"):
        source = os.path.join(language_model_run.run_dir, name)
        (tmp_path / name).write_bytes(open(source, "rb").read())
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="granularity='char'.*--granularity word"):
        read_pretrained_encoder(str(tmp_path))


def test_a_pretrained_classifier_starts_from_the_language_model_and_fine_tunes(reviews_tsv, language_model_run,
                                                                              tmp_path):
    from keras_rnn.tasks.sentiment import (build_compiled_sentiment_model, export_sentiment,
                                           prepare_sentiment_run_data, resolve_pretrained_encoder, train_sentiment)

    settings = {k: v for k, v in TINY.items() if k not in ("units", "embedding_dim", "max_tokens")}
    config = SentimentConfig(corpus=reviews_tsv, pretrained_encoder=language_model_run.run_dir, **settings,
                             discriminative_decay=2.6, gradual_unfreezing=True, lr_schedule="slanted_triangular")
    resolved = resolve_pretrained_encoder(config)
    assert (resolved.network.cell, resolved.network.units, resolved.network.embedding_dim,
            resolved.network.bidirectional) == ("gru", 8, 6, False)
    assert resolved.text.standardization == "lower"
    assert resolved.text.max_tokens == language_model_run.preprocessor.vocabulary_size

    data = prepare_sentiment_run_data(resolved, str(tmp_path / "probe"))
    assert data.preprocessor.get_vocabulary() == language_model_run.preprocessor.get_vocabulary()
    model = build_compiled_sentiment_model(resolved, data)
    lm = language_model_run.language_model
    np.testing.assert_array_equal(model.get_layer("embedding").get_weights()[0], lm.embedding.get_weights()[0])
    for mine, theirs in zip(model.get_layer("gru_0").get_weights(), lm.rnn_layers[0].get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert isinstance(model.optimizer, LayerwiseAdam)
    assert model.optimizer.layer_groups == [["embedding"], ["gru_0"]] and model.optimizer.decay == 2.6
    assert model.optimizer.unfreeze_every == data.train_batches

    # Gradual unfreezing on the real classifier: epoch 1 trains the head alone, epoch 2 also the GRU,
    # epoch 3 the embedding too.
    def weights():
        return {name: model.get_layer(name).get_weights()[0].copy() for name in ("embedding", "gru_0", "rnn_logits")}

    changed = []
    for _ in range(3):
        before = weights()
        model.fit(data.train, epochs=1, verbose=0, shuffle=False)
        after = weights()
        changed.append({name for name in before if not np.array_equal(before[name], after[name])})
    assert changed == [{"rnn_logits"}, {"rnn_logits", "gru_0"}, {"rnn_logits", "gru_0", "embedding"}]

    result = train_sentiment(config, str(tmp_path / "run"), verbose=0)
    assert result.config == resolved  # the run records what it trained
    assert result.metrics["val_accuracy"] > 0.9
    with open(tmp_path / "run" / "config.json", encoding="utf-8") as f:
        assert json.load(f)["network"]["pretrained_encoder"] == language_model_run.run_dir
    export = export_sentiment(str(tmp_path / "export"), result.model, result.preprocessor, result.class_names,
                              result.config)
    from keras_rnn.tasks.sentiment import SentimentPredictor

    rows = SentimentPredictor(export).predict(["a wonderful superb film", "an awful dull boring plot"])
    assert [row["label"] for row in rows] == ["positive", "negative"]


def test_values_the_encoder_overrides_are_named_and_a_search_leaves_them_alone(reviews_tsv, language_model_run):
    from keras_rnn.tasks.sentiment import resolve_pretrained_encoder
    from keras_rnn.tuning import resolve_search_space

    with pytest.warns(UserWarning, match=r"sets .*units=8.*the values given \(units=32\) are not used"):
        resolved = resolve_pretrained_encoder(SentimentConfig(corpus=reviews_tsv, units=32,
                                                              pretrained_encoder=language_model_run.run_dir))
    assert resolved.network.units == 8
    space = resolve_search_space(resolved, "val_accuracy", None, resolved.determined_fields())
    assert not set(space) & {"cell", "units", "num_layers", "bidirectional", "embedding_dim"}
    assert {"dropout", "learning_rate"} <= set(space)
    assert SentimentConfig().determined_fields() == ()


def test_a_classifier_of_another_shape_is_refused_the_encoder(reviews_tsv, language_model_run, tmp_path):
    from keras_rnn.tasks.sentiment import (build_compiled_sentiment_model, prepare_sentiment_run_data,
                                           resolve_pretrained_encoder)

    config = resolve_pretrained_encoder(SentimentConfig(corpus=reviews_tsv, pretrained_encoder=language_model_run.run_dir))
    data = prepare_sentiment_run_data(config, str(tmp_path))
    with pytest.raises(ValueError, match="do not match the pretrained encoder's"):
        build_compiled_sentiment_model(config.replace(units=16), data)


def test_gradual_unfreezing_frees_one_group_every_period_from_the_top_and_decays_their_rates():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="bottom"), keras.layers.Dense(4, name="middle"),
                              keras.layers.Dense(1, name="head")])
    model.compile(optimizer=LayerwiseAdam(0.01, layer_groups=[["bottom"], ["middle"]], decay=4.0, unfreeze_every=2),
                  loss="mse")
    x, y = np.random.default_rng(0).normal(size=(8, 3)), np.ones((8, 1))
    moved = {name: [] for name in ("bottom", "middle", "head")}
    for _ in range(6):
        before = {name: model.get_layer(name).get_weights()[0].copy() for name in moved}
        model.train_on_batch(x, y)
        for name in moved:
            moved[name].append(float(np.abs(model.get_layer(name).get_weights()[0] - before[name]).max()))
    assert all(step > 0 for step in moved["head"])
    assert moved["middle"][:2] == [0.0, 0.0] and all(step > 0 for step in moved["middle"][2:])
    assert moved["bottom"][:4] == [0.0] * 4 and all(step > 0 for step in moved["bottom"][4:])
    # Adam's first steps move a weight by about its learning rate: the head's 0.01, then / 4 per group.
    assert moved["head"][0] == pytest.approx(0.01, rel=0.05)
    assert moved["middle"][2] == pytest.approx(0.01 / 4, rel=0.05)
    assert moved["bottom"][4] == pytest.approx(0.01 / 16, rel=0.05)


def test_layerwise_adam_and_the_schedule_round_trip_through_a_keras_file(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="body"), keras.layers.Dense(1, name="head")])
    schedule = SlantedTriangular(0.01, total_steps=50, cut_fraction=0.2, ratio=8)
    model.compile(optimizer=LayerwiseAdam(schedule, layer_groups=[["body"]], decay=2.6, unfreeze_every=3,
                                          clipnorm=1.0), loss="mse")
    model.train_on_batch(np.ones((2, 3)), np.ones((2, 1)))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    optimizer = loaded.optimizer
    assert isinstance(optimizer, LayerwiseAdam)
    assert (optimizer.layer_groups, optimizer.decay, optimizer.unfreeze_every, optimizer.clipnorm) == (
        [["body"]], 2.6, 3, 1.0)
    assert optimizer.get_config()["learning_rate"]["class_name"] == "SlantedTriangular"
    assert float(optimizer.learning_rate) == pytest.approx(float(schedule(1)))


def test_slanted_triangular_rises_for_its_cut_then_falls_to_a_ratio_of_the_peak():
    schedule = SlantedTriangular(0.032, total_steps=1000)  # cut at step 100, ratio 32
    rates = [float(schedule(step)) for step in (0, 50, 100, 550, 1000, 5000)]
    assert rates == pytest.approx([0.001, 0.0165, 0.032, 0.0165, 0.001, 0.001])
    assert SlantedTriangular.from_config(schedule.get_config()).get_config() == schedule.get_config()
    for bad, match in (({"max_learning_rate": 0}, "max_learning_rate"), ({"cut_fraction": 1.0}, "cut_fraction"),
                       ({"ratio": 0.5}, "ratio")):
        with pytest.raises(ValueError, match=match):
            SlantedTriangular(**{"max_learning_rate": 0.01, "total_steps": 10, **bad})


def test_fine_tuning_settings_are_checked_and_a_layer_belongs_to_one_group():
    with pytest.raises(ValueError, match="discriminative_decay.*>= 1"):
        SentimentConfig(discriminative_decay=0.5)
    with pytest.raises(ValueError, match="standardization"):
        SentimentConfig(standardization="upper")
    with pytest.raises(ValueError, match="Layer 'a' is in layer groups 0 and 1"):
        LayerwiseAdam(0.1, layer_groups=[["a"], ["a"]])
    with pytest.raises(ValueError, match="decay"):
        LayerwiseAdam(0.1, layer_groups=[["a"]], decay=0.5)


def test_the_probe_reads_the_frozen_encoder_or_its_random_start(language_model_run):
    """The benchmark's linear probe: pretrained features are the run's (whatever the seed), random ones follow
    the seed; the logistic regression separates what is separable and is scored on held-out rows."""
    bench = load_benchmark("sentiment_pretrained")
    texts = ["a great film", "a dull and bad film , sadly", "great great", ""]
    features = bench.frozen_encoder_features(language_model_run.run_dir, texts, seed=1, batch_size=3)
    assert features.shape == (4, 16) and np.isfinite(features).all()
    np.testing.assert_allclose(bench.frozen_encoder_features(language_model_run.run_dir, texts, seed=2), features,
                               rtol=1e-5, atol=1e-6)
    random_1 = bench.frozen_encoder_features(language_model_run.run_dir, texts, pretrained=False, seed=1)
    random_2 = bench.frozen_encoder_features(language_model_run.run_dir, texts, pretrained=False, seed=2)
    assert not np.allclose(random_1, features) and not np.allclose(random_1, random_2)
    # The probe's training and validation features come from separate calls: one seed, one random encoder.
    np.testing.assert_allclose(bench.frozen_encoder_features(language_model_run.run_dir, texts, pretrained=False,
                                                             seed=1, batch_size=2), random_1, rtol=1e-5, atol=1e-6)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = (x[:, 2] > 0).astype(int)
    assert bench.linear_probe(x[:100], y[:100], x[100:], y[100:])["val_accuracy"] >= 0.95
    noise = bench.linear_probe(x[:100], rng.integers(0, 2, 100), x[100:], y[100:])
    assert noise["val_accuracy"] < 0.8
