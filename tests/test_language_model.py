"""The language-model task: preprocessor, corpora, network, exact stream scores, training, export and CLI.

Kept fast (the whole file in well under a minute on two cores): tiny networks on a few hundred characters
written to `tmp_path`, one CLI-trained export shared by the export and CLI tests, one stateful run.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn.cli import main
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.decoding import GreedySearch
from keras_rnn.models.language_model import RecurrentLanguageModel, build_language_model, stateless_copy
from keras_rnn.tasks.language_model import (
    LanguageModelConfig, LanguageModelPredictor, LanguageModelPreprocessor, export_language_model,
    train_language_model,
)
from keras_rnn.tasks.language_model import generation, pipeline
from keras_rnn.tasks.language_model.data import carve_documents, load_documents, read_documents
from keras_rnn.tasks.language_model.preprocessor import END_ID, OOV_ID, token_stream

# A few hundred characters, several lines, spaces, punctuation; "ab" is a prompt made of known characters.
CORPUS = (
    "the cat sat on a mat.\n"
    "a bat and a cat ran to the barn.\n"
    "ab ba abba baba, a cab.\n"
    "the dog bit the cat; the cat bit back.\n"
    "a tab, a tub, a bib and a bob.\n"
) * 3
HOSTILE = ["", " ", b"\xff\xfe", "\U0001F642" * 50, "x" * 100000]
SPECIAL = {"", "[UNK]", "[END]"}


def _char_preprocessor(texts=(CORPUS,), **options) -> LanguageModelPreprocessor:
    pre = LanguageModelPreprocessor("char", **options)
    pre.adapt(list(texts))
    return pre


def _ids(pre, texts) -> list[list[int]]:
    return pre(tf.constant(texts)).to_list()


def _detokenized(pre, ids) -> list[str]:
    return [t.decode("utf-8") for t in pre.detokenize(tf.constant(ids)).numpy()]


# --- Preprocessor ------------------------------------------------------------------------------------------


def test_char_round_trip_keeps_newlines_and_spaces():
    pre = _char_preprocessor()
    text = "the cat\n  sat on a mat.\n\n"
    ids = pre(tf.constant([text]))
    assert OOV_ID not in ids.flat_values.numpy().tolist()
    assert _detokenized(pre, ids.to_tensor()) == [text]
    vocabulary = pre.get_vocabulary()
    assert vocabulary[:3] == ["", "[UNK]", "[END]"] and "\n" in vocabulary and " " in vocabulary


WORD_TEXTS = ["The cat sat on the mat.", "Did the dog run? Yes, it ran!"]


@pytest.fixture(scope="module")
def words():
    pre = LanguageModelPreprocessor("word", max_tokens=50)
    pre.adapt(WORD_TEXTS)
    return pre


@pytest.fixture(params=["char", "word"])
def either(request, words):
    return _char_preprocessor(max_tokens=30) if request.param == "char" else words


def test_word_round_trip_of_in_vocabulary_text(words):
    ids = words(tf.constant(WORD_TEXTS))
    assert OOV_ID not in ids.flat_values.numpy().tolist()
    assert _detokenized(words, ids.to_tensor()) == WORD_TEXTS


def test_end_token_cuts_detokenize_and_padding_is_dropped():
    pre = LanguageModelPreprocessor("char", vocabulary=["[END]", "a", "b"])
    assert _detokenized(pre, [[3, 4, END_ID, 4, 3], [4, 0, 3, 0, 0], [END_ID, 3, 3, 3, 3]]) == ["ab", "ba", ""]


def test_out_of_vocabulary_tokens_get_id_1(words):
    pre = _char_preprocessor(["aab"], max_tokens=8)
    assert _ids(pre, ["abz", "q"]) == [[3, 4, OOV_ID], [OOV_ID]]
    row = _ids(words, ["the zebra sat"])[0]
    assert row[1] == OOV_ID and OOV_ID not in (row[0], row[2])


def test_invalid_utf8_and_emoji_do_not_crash(either):
    pre = either
    rows = _ids(pre, [b"\xff\xfe", "\U0001F642" * 3, "", b"ok \xc3"])
    assert len(rows) == 4 and rows[2] == []
    assert rows[0] and set(rows[0]) == {OOV_ID} and set(rows[1]) == {OOV_ID}
    assert len(_detokenized(pre, pre(tf.constant([b"\xff\xfe", "\U0001F642"])).to_tensor())) == 2


def test_vocabulary_file_and_config_round_trips_give_identical_ids(either, tmp_path):
    pre, granularity = either, either.granularity
    path = str(tmp_path / "vocabulary.json")
    pre.save_vocabulary(path)
    with open(path, encoding="utf-8") as f:
        assert json.load(f)[0] == "[END]"
    probe = ["The Cat sat,\nON a mat.", "zzz ab", ""]
    from_file = LanguageModelPreprocessor.from_vocabulary_file(path, granularity=granularity,
                                                               max_tokens=pre.max_tokens)
    from_config = LanguageModelPreprocessor.from_config(pre.get_config())
    for other in (from_file, from_config):
        assert other.get_vocabulary() == pre.get_vocabulary()
        assert _ids(other, probe) == _ids(pre, probe)
    assert from_config.granularity == granularity and from_config.max_tokens == pre.max_tokens


def test_lowercase_maps_both_cases_to_one_token():
    pre = _char_preprocessor(["AbC abc"], max_tokens=10, lowercase=True)
    assert _ids(pre, ["ABC"]) == _ids(pre, ["abc"]) and OOV_ID not in _ids(pre, ["ABC"])[0]
    assert LanguageModelPreprocessor.from_config(pre.get_config()).lowercase is True


def test_adapt_keeps_the_most_frequent_tokens_deterministically():
    pre = _char_preprocessor(["cbbaaa", "d"], max_tokens=5)
    assert pre.get_vocabulary() == ["", "[UNK]", "[END]", "a", "b"]


def test_token_stream_ends_every_document_with_end():
    pre = LanguageModelPreprocessor("char", vocabulary=["[END]", "a", "b"])
    assert token_stream(pre, ["ab", "", "ba"], batch_size=2).tolist() == [3, 4, END_ID, END_ID, 4, 3, END_ID]
    assert token_stream(pre, []).tolist() == []


@pytest.mark.parametrize("make", [lambda: LanguageModelPreprocessor("char", max_tokens=3),
                                  lambda: LanguageModelConfig(max_tokens=3)])
def test_max_tokens_below_4_is_refused_naming_the_value(make):
    with pytest.raises(ValueError, match="`max_tokens`: 3"):
        make()


# --- Data --------------------------------------------------------------------------------------------------


def test_text_file_is_one_document_or_one_a_line(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("first line\n\n  \nsecond line\nthird\n", encoding="utf-8")
    assert read_documents(str(path)) == ["first line\n\n  \nsecond line\nthird\n"]
    assert read_documents(str(path), document_unit="line") == ["first line", "second line", "third"]


def test_split_files_folder_uses_its_own_validation(tmp_path):
    (tmp_path / "train.txt").write_text("training text\nmore of it\n", encoding="utf-8")
    (tmp_path / "valid.txt").write_text("held out\n", encoding="utf-8")
    documents = load_documents(str(tmp_path), validation_fraction=0.5)
    assert documents.train == ["training text\nmore of it\n"] and documents.validation == ["held out\n"]
    assert "valid" in documents.validation_source and "carved" not in documents.validation_source
    assert read_documents(str(tmp_path), "validation") == ["held out\n"]


def test_folder_of_text_files_reads_every_file_in_path_order(tmp_path):
    (tmp_path / "2.txt").write_text("two", encoding="utf-8")
    (tmp_path / "1.txt").write_text("one\n\nthree", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    assert read_documents(str(tmp_path)) == ["one\n\nthree", "two"]
    assert read_documents(str(tmp_path), document_unit="line") == ["one", "three", "two"]


def test_folder_with_one_sub_folder_of_text_files_is_read(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("two", encoding="utf-8")
    (tmp_path / "1.txt").write_text("one", encoding="utf-8")
    assert read_documents(str(tmp_path)) == ["one", "two"]


def test_folder_with_sub_folders_keeps_the_text_files_beside_them(tmp_path):
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.txt").write_text(name, encoding="utf-8")
    (tmp_path / "top.txt").write_text("top", encoding="utf-8")
    assert sorted(read_documents(str(tmp_path))) == ["top", "x", "y"]


def test_single_document_is_carved_chronologically_at_a_line_break(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text(CORPUS, encoding="utf-8")
    documents = load_documents(str(path), validation_fraction=0.2)
    (train,), (validation,) = documents.train, documents.validation
    assert train + validation == CORPUS  # no overlap, nothing lost
    assert train.endswith("\n") and validation and 0.1 < len(validation) / len(CORPUS) < 0.3
    assert documents.validation_source.startswith("carved")
    # Directly: the cut lands after the nearest line break.
    assert carve_documents(["aaaa\nbbbb\ncc\n"], 0.3, "chronological", 0) == (["aaaa\nbbbb\n"], ["cc\n"])


def test_random_carve_moves_whole_documents_and_is_seeded():
    documents = [f"document {i}\nwith two lines" for i in range(20)]
    train, validation = carve_documents(documents, 0.3, "random", seed=5)
    assert len(validation) == 6 and sorted(train + validation) == sorted(documents)
    assert not set(train) & set(validation)
    assert [d for d in documents if d in validation] == validation  # corpus order kept
    assert carve_documents(documents, 0.3, "random", seed=5) == (train, validation)
    assert carve_documents(documents, 0.3, "random", seed=6)[1] != validation
    assert carve_documents(documents, 0.3, "chronological", 0) == (documents[:14], documents[14:])


def test_random_carve_through_load_documents_on_lines(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"line {i}\n" for i in range(10)), encoding="utf-8")
    documents = load_documents(str(path), document_unit="line", validation_split="random", validation_fraction=0.2,
                               seed=3)
    assert len(documents.validation) == 2 and len(documents.train) == 8
    assert sorted(documents.train + documents.validation) == sorted(f"line {i}" for i in range(10))


def test_empty_corpus_is_refused_naming_it(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text(" \n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty.txt.*holds no text"):
        load_documents(str(path))


def test_unknown_file_type_lists_the_accepted_sources(tmp_path):
    path = tmp_path / "corpus.csv"
    path.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="corpus.csv") as error:
        load_documents(str(path))
    assert "Accepted sources" in str(error.value) and ".txt file" in str(error.value)
    assert "tiny_shakespeare" in str(error.value)


def test_missing_corpus_path_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.txt"):
        load_documents(str(tmp_path / "nowhere.txt"))


# --- Model -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell, layers", [("gru", 1), ("lstm", 2)])
def test_stateful_windows_equal_the_stateless_copy_on_the_concatenation(cell, layers):
    keras.utils.set_random_seed(1)
    model = build_language_model(12, batch_size=2, cell=cell, units=8, num_layers=layers, embedding_dim=4,
                                 stateful=True)
    stream = np.random.default_rng(0).integers(1, 12, size=(2, 10)).astype("int32")
    lm = model.layers[-1]
    assert isinstance(lm, RecurrentLanguageModel) and lm.stateful
    first = model(stream[:, :6], training=False).numpy()
    second = model(stream[:, 6:], training=False).numpy()
    copy = stateless_copy(lm)
    assert not copy.stateful
    whole = copy(stream, training=False).numpy()
    np.testing.assert_allclose(first, whole[:, :6], atol=1e-5)
    np.testing.assert_allclose(second, whole[:, 6:], atol=1e-5)
    # And not merely because states are irrelevant: the second window from zero states differs.
    assert np.abs(copy(stream[:, 6:]).numpy() - second).max() > 1e-4


@pytest.mark.parametrize("cell", ["gru", "lstm", "simple_rnn"])
def test_right_padded_prompt_ends_in_the_unpadded_states(cell):
    keras.utils.set_random_seed(2)
    lm = RecurrentLanguageModel(10, cell=cell, units=8, embedding_dim=4)
    ids = np.array([[3, 4, 5]], "int32")
    padded = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 3]], "int32")
    _, states = lm(ids, return_state=True)
    _, padded_states = lm(padded, return_state=True)
    for alone, batched in zip(states, padded_states):
        np.testing.assert_allclose(alone.numpy()[0], batched.numpy()[0], atol=1e-6)


@pytest.mark.parametrize("units, projected", [(16, True), (8, False)])
def test_tied_embeddings_build_without_a_logits_layer(units, projected):
    ids = np.ones((2, 5), "int32")
    tied = RecurrentLanguageModel(40, units=units, embedding_dim=8, tie_embeddings=True)
    untied = RecurrentLanguageModel(40, units=units, embedding_dim=8)
    assert tied(ids).shape == untied(ids).shape == (2, 5, 40)
    assert not hasattr(tied, "output_layer") and (tied.projection is not None) == projected
    assert not any("logits" in w.path for w in tied.weights) and any("logits" in w.path for w in untied.weights)
    assert tied.count_params() < untied.count_params()
    # The output really reads the embedding matrix.
    before = tied(ids).numpy()
    tied.embedding.embeddings.assign(tied.embedding.embeddings * 2.0)
    assert np.abs(tied(ids).numpy() - before).max() > 1e-4


@pytest.mark.parametrize("tie", [False, True])
def test_keras_file_round_trip_gives_identical_logits(tie, tmp_path):
    keras.utils.set_random_seed(3)
    model = build_language_model(20, cell="lstm", units=8, embedding_dim=4, tie_embeddings=tie, num_layers=2)
    ids = np.array([[3, 4, 5, 6, 0], [7, 8, 9, 10, 11]], "int32")
    expected = model(ids).numpy()
    path = str(tmp_path / "lm.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded(ids).numpy(), expected)
    assert loaded.layers[-1].get_config() == model.layers[-1].get_config()


def test_stateful_model_needs_a_static_batch_size():
    with pytest.raises(ValueError, match="static `batch_size`"):
        build_language_model(10, units=4, embedding_dim=2, stateful=True)


def test_loss_of_a_padded_batch_is_the_mean_token_cross_entropy():
    """The logits carry no Keras mask, so padding is not discounted twice (once by Keras, once by the loss)."""
    keras.utils.set_random_seed(4)
    model = build_language_model(10, units=8, embedding_dim=4)
    pipeline.compile_language_model(model, LanguageModelConfig(epochs=1), total_steps=1)
    x = np.array([[3, 4, 5, 6], [7, 8, 0, 0]], "int32")
    y = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], "int32")
    assert getattr(model(x), "_keras_mask", None) is None
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(math.log(scores["perplexity"]), rel=1e-5)


# --- Exact stream scores -----------------------------------------------------------------------------------


def _brute_force(lm, stream, batch_size):
    """Sum of target log-probabilities, hits, count: each lane of contiguous tokens read in one call."""
    predicted = len(stream) - 1
    rows = max(1, min(batch_size, predicted))
    length = -(-predicted // rows)
    total, count, hits = 0.0, 0, {1: 0, 3: 0}
    for row in range(rows):
        start, stop = row * length, min((row + 1) * length, predicted)
        if start >= stop:
            continue
        x, y = stream[start:stop], stream[start + 1:stop + 1]
        log_p = tf.nn.log_softmax(lm(x[np.newaxis], training=False)[0]).numpy().astype(np.float64)
        total += float(log_p[np.arange(len(y)), y].sum())
        count += len(y)
        ranks = (log_p > log_p[np.arange(len(y)), y][:, None]).sum(axis=1)
        hits[1] += int((ranks < 1).sum())
        hits[3] += int((ranks < 3).sum())
    return total, count, hits


@pytest.fixture(scope="module")
def tiny_lm():
    keras.utils.set_random_seed(5)
    lm = RecurrentLanguageModel(9, cell="gru", units=8, embedding_dim=4)
    lm.build((None, None))
    stream = np.random.default_rng(1).integers(2, 9, size=23).astype("int32")
    return lm, stream


def test_evaluate_stream_with_one_lane_equals_the_whole_stream_in_one_call(tiny_lm):
    lm, stream = tiny_lm
    log_p = tf.nn.log_softmax(lm(stream[np.newaxis, :-1])[0]).numpy().astype(np.float64)
    expected = -log_p[np.arange(len(stream) - 1), stream[1:]].sum() / (len(stream) - 1)
    for window in (1, 5, 100):
        figures = generation.evaluate_stream(lm, stream, batch_size=1, window=window)
        assert figures["tokens"] == len(stream) - 1
        assert figures["cross_entropy"] == pytest.approx(expected, rel=1e-5)
        assert figures["perplexity"] == pytest.approx(math.exp(expected), rel=1e-5)
        assert figures["bits_per_token"] == pytest.approx(expected / math.log(2), rel=1e-5)


@pytest.mark.parametrize("batch_size, window", [(1, 1), (2, 1), (3, 4), (4, 100), (22, 3), (50, 7)])
def test_evaluate_stream_equals_a_brute_force_computation(tiny_lm, batch_size, window):
    lm, stream = tiny_lm
    total, count, hits = _brute_force(lm, stream, batch_size)
    figures = generation.evaluate_stream(lm, stream, batch_size=batch_size, window=window)
    assert figures["tokens"] == count == len(stream) - 1  # every token after the first, exactly once
    assert figures["cross_entropy"] == pytest.approx(-total / count, rel=1e-5)
    assert figures["top_1_accuracy"] == pytest.approx(hits[1] / count)
    assert figures["top_3_accuracy"] == pytest.approx(hits[3] / count)


def test_evaluate_stream_of_a_two_token_stream_and_a_too_short_one(tiny_lm):
    lm, _ = tiny_lm
    assert generation.evaluate_stream(lm, np.array([3, 4]), batch_size=8, window=2)["tokens"] == 1
    with pytest.raises(ValueError, match="1 token"):
        generation.evaluate_stream(lm, np.array([3]), batch_size=8)


def test_lanes_split_a_stream_contiguously_and_pad_the_end():
    inputs, targets = generation.lanes(np.arange(1, 9), 3)
    assert inputs.tolist() == [[1, 2, 3], [4, 5, 6], [7, 0, 0]]
    assert targets.tolist() == [[2, 3, 4], [5, 6, 7], [8, 0, 0]]
    inputs, targets = generation.lanes(np.arange(1, 6), 100)  # more lanes asked than tokens to predict
    assert inputs.shape == (4, 1) and targets[:, 0].tolist() == [2, 3, 4, 5]


def test_lane_batches_give_consecutive_windows_of_every_lane():
    inputs = np.arange(1, 11).reshape(2, 5)
    batches = pipeline.lane_batches(inputs, inputs + 100, 2, batch_size=4)
    assert batches.shape == (3, 2, 4, 2)  # steps, (inputs, targets), lanes padded to 4, window
    lane = np.concatenate([batches[step, 0, 1] for step in range(3)])
    assert lane.tolist() == [6, 7, 8, 9, 10, 0]
    assert np.concatenate([batches[step, 1, 0] for step in range(3)]).tolist() == [101, 102, 103, 104, 105, 0]
    assert not batches[:, :, 2:].any()  # the padding lanes
    assert pipeline.lane_batches(inputs, inputs, 5).shape == (1, 2, 2, 5)


def test_stream_windows_refuse_a_stream_shorter_than_a_window():
    with pytest.raises(ValueError, match="sequence_length=10"):
        pipeline.stream_windows(np.arange(1, 6), 10)


# --- Training ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm_corpus") / "tiny.txt"
    path.write_text(CORPUS, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def stateful_run(corpus_file, tmp_path_factory):
    config = LanguageModelConfig(corpus=corpus_file, units=8, embedding_dim=4, epochs=1, batch_size=2,
                                 sequence_length=8, stateful=True, validation_fraction=0.2, max_tokens=64)
    run_dir = str(tmp_path_factory.mktemp("lm_stateful") / "run")
    return train_language_model(config, run_dir, verbose=0)


def test_stateful_run_reports_exact_figures(stateful_run):
    result = stateful_run
    with open(os.path.join(result.run_dir, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    for key in ("val_perplexity", "val_bits_per_char", "val_stream_perplexity", "val_stream_cross_entropy",
                "val_stream_top_1_accuracy", "val_stream_top_3_accuracy", "val_stream_tokens"):
        assert key in metrics and math.isfinite(metrics[key]), key
    assert metrics["val_stream_tokens"] == metrics["validation_tokens"] > 2 * 8
    assert metrics["val_bits_per_char"] == pytest.approx(metrics["val_stream_cross_entropy"] / math.log(2))
    # Both count every validation token once with states carried across windows.
    assert metrics["val_perplexity"] == pytest.approx(metrics["val_stream_perplexity"], rel=1e-4)
    with open(os.path.join(result.run_dir, "history.csv"), encoding="utf-8") as f:
        (epoch,) = list(csv.DictReader(f))
    assert float(epoch["val_perplexity"]) == pytest.approx(metrics["val_stream_perplexity"], rel=1e-4)
    assert os.path.exists(os.path.join(result.run_dir, "vocabulary.json"))
    assert not result.language_model.stateful and result.model.layers[-1].stateful


def test_finished_run_is_not_trained_again_without_overwrite(stateful_run):
    with pytest.raises(FileExistsError, match="holds a finished run; pass overwrite=True"):
        train_language_model(stateful_run.config, stateful_run.run_dir, verbose=0)


# --- Export ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(corpus_file, tmp_path_factory):
    """One model trained and exported through `keras-rnn train`, its SavedModel loaded once.

    `tf.saved_model.load` of this folder returns the object loaded here for the rest of the module, so that
    every `LanguageModelPredictor` (and CLI command) does not deserialize the same graphs again.
    """
    from keras_rnn.tasks.language_model.pipeline import load_finished_language_model

    root = tmp_path_factory.mktemp("lm_export")
    export, run_dir = str(root / "export"), str(root / "run")
    argv = ["train", "language_model", "--corpus", corpus_file, "--units", "8", "--embedding-dim", "4",
            "--epochs", "1", "--batch-size", "4", "--sequence-length", "10", "--output", export,
            "--run-dir", run_dir, "--verbose", "0"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    real_load = tf.saved_model.load
    loaded = real_load(export)

    def load(path, *args, **kwargs):
        if os.path.abspath(path) == os.path.abspath(export) and not args and not kwargs:
            return loaded
        return real_load(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tf.saved_model, "load", load)
        config = LanguageModelConfig.from_dict(json.load(open(os.path.join(export, "keras_rnn.json")))["config"])
        result = load_finished_language_model(config, run_dir)
        yield dict(path=export, run_dir=run_dir, argv=argv, summary=summary, signatures=loaded.signatures,
                   config=config, lm=result.language_model, preprocessor=result.preprocessor,
                   predictor=LanguageModelPredictor(export))


def _generate(signatures, prompts, *, max_new_tokens=30, temperature=1.0, top_k=0, top_p=1.0, seed=0):
    out = signatures["generate"](
        prompt=tf.constant(prompts), max_new_tokens=tf.constant(max_new_tokens, tf.int32),
        temperature=tf.constant(temperature, tf.float32), top_k=tf.constant(top_k, tf.int32),
        top_p=tf.constant(top_p, tf.float32), seed=tf.constant(seed, tf.int64))
    return out["text"].numpy().tolist()


def test_export_folder_and_training_summary(exported):
    path = exported["path"]
    with open(os.path.join(path, "keras_rnn.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["task"] == "language_model" and manifest["granularity"] == "char"
    assert set(manifest["signatures"]) == {"serving_default", "generate", "next_words", "log_probability"}
    assert set(exported["signatures"].keys()) == set(manifest["signatures"])
    for name in ("saved_model.pb", os.path.join("keras", "model.keras"), os.path.join("keras", "vocabulary.json")):
        assert os.path.exists(os.path.join(path, name)), name
    summary = exported["summary"]
    assert summary["export"] == path and "val_perplexity" in summary and "val_bits_per_char" in summary
    assert manifest["validation_metrics"]["val_stream_perplexity"] == summary["val_stream_perplexity"]


def test_serving_default_returns_one_string_per_prompt(exported):
    texts = exported["signatures"]["serving_default"](prompt=tf.constant(["ab", "the cat", "a"]))["text"].numpy()
    assert texts.shape == (3,) and all(isinstance(t, bytes) for t in texts)
    assert exported["predictor"].generate(["ab", "the cat", "a"]) == [t.decode("utf-8") for t in texts]


def test_generate_signature_is_reproducible_by_seed(exported):
    signatures, prompts = exported["signatures"], ["ab", "the cat", "a bat", "ba"]
    first = _generate(signatures, prompts, temperature=1.5, seed=11)
    assert first == _generate(signatures, prompts, temperature=1.5, seed=11)
    assert first != _generate(signatures, prompts, temperature=1.5, seed=12)
    assert len(set(first)) > 1  # rows of one batch draw different samples
    assert not any(b"[UNK]" in text for text in first)  # out-of-vocabulary is never generated
    predictor = exported["predictor"]
    assert predictor.generate(prompts, temperature=1.5, seed=11, max_new_tokens=30) == [t.decode() for t in first]


def test_top_k_1_is_greedy_whatever_the_temperature_and_seed(exported):
    prompts = ["ab", "the cat", "a"]
    greedy = generation.generate(exported["lm"], exported["preprocessor"], prompts, max_new_tokens=20,
                                 strategy=GreedySearch()).numpy().tolist()
    for temperature, seed in ((0.3, 0), (1.0, 5), (3.0, 123)):
        assert _generate(exported["signatures"], prompts, max_new_tokens=20, temperature=temperature, top_k=1,
                         seed=seed) == greedy


def test_next_words_are_the_most_likely_ordinary_tokens(exported):
    k = exported["config"].generation.suggestions
    out = exported["signatures"]["next_words"](text=tf.constant(["ab", "the c", ""]))
    words, probabilities = out["words"].numpy(), out["probabilities"].numpy()
    assert words.shape == probabilities.shape == (3, k)
    assert (np.diff(probabilities, axis=1) <= 0).all() and ((probabilities > 0) & (probabilities <= 1)).all()
    assert not {w.decode() for w in words.ravel()} & SPECIAL
    # They are the top of the in-memory next-token distribution, without the special tokens.
    log_p = generation.next_token_log_probs(exported["lm"], exported["preprocessor"], ["ab"]).numpy()[0]
    vocabulary = exported["preprocessor"].get_vocabulary()
    best = [vocabulary[i] for i in np.argsort(-log_p) if vocabulary[i] not in SPECIAL][:k]
    assert [w.decode() for w in words[0]] == best
    np.testing.assert_allclose(probabilities[0], np.exp(np.sort(log_p[3:])[::-1][:k]), rtol=1e-4)
    rows = exported["predictor"].next_words(["ab"])
    assert [token for token, _ in rows[0]] == best


def test_log_probability_signature_equals_the_in_memory_model(exported):
    texts = ["ab", "the cat sat", "a\nb ", "zq!"]
    out = exported["signatures"]["log_probability"](text=tf.constant(texts))
    expected, tokens = generation.text_log_probability(exported["lm"], exported["preprocessor"], texts)
    np.testing.assert_allclose(out["log_probability"].numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    assert out["tokens"].numpy().tolist() == tokens.numpy().tolist() == [len(t) for t in texts]
    log_p, counts = exported["predictor"].log_probability(texts)
    np.testing.assert_allclose(log_p, expected.numpy(), rtol=1e-5, atol=1e-5)
    report = exported["predictor"].perplexity(texts)
    assert report["tokens"] == sum(map(len, texts))
    assert report["perplexity"] == pytest.approx(math.exp(-float(expected.numpy().sum()) / report["tokens"]),
                                                 rel=1e-5)


@pytest.mark.parametrize("window", [1, 3, 8])
def test_log_probability_in_windows_equals_one_pass_over_the_whole_text(exported, window):
    lm, pre = exported["lm"], exported["preprocessor"]
    texts = ["ab", "the cat sat on a mat.\nthe dog", "", "a\nb ", "zq!" * 9]
    # The reference: every text in one pass, logits for every position at once.
    padded = TextPreprocessor.pad(generation.prompt_ids(pre, tf.constant(texts), max_prompt_tokens=10**6))
    log_p = tf.nn.log_softmax(lm(padded, training=False))[:, :-1]
    targets = padded[:, 1:]
    mask = tf.cast(targets != 0, tf.float32)
    expected = tf.reduce_sum(tf.gather(log_p, targets, batch_dims=2) * mask, axis=1).numpy()
    got, tokens = generation.text_log_probability(lm, pre, texts, window=window)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert tokens.numpy().tolist() == [len(t) for t in texts]


def test_hostile_strings_through_every_signature(exported):
    signatures, batch = exported["signatures"], tf.constant(HOSTILE)
    texts = signatures["serving_default"](prompt=batch)["text"].numpy()
    assert texts.shape == (len(HOSTILE),)
    assert len(_generate(signatures, HOSTILE, max_new_tokens=5, temperature=1.5, top_p=0.9)) == len(HOSTILE)
    words = signatures["next_words"](text=batch)["words"].numpy()
    assert words.shape[0] == len(HOSTILE) and not {w.decode() for w in words.ravel()} & SPECIAL
    out = signatures["log_probability"](text=batch)
    log_p, tokens = out["log_probability"].numpy(), out["tokens"].numpy()
    assert log_p[0] == 0 and tokens[0] == 0  # ""
    assert np.isfinite(log_p).all() and (log_p[1:] < 0).all()
    assert tokens[1:].tolist() == [1, 2, 50, 100000]  # b"\xff\xfe": two replacement characters


def test_the_predictor_refuses_prompts_it_cannot_read_and_bad_settings(exported):
    predictor = exported["predictor"]
    with pytest.raises(ValueError, match="only tokens outside the model's vocabulary"):
        predictor.generate(["\U0001F642" * 50])
    with pytest.raises(ValueError, match="`temperature`: 0"):
        predictor.generate(["ab"], temperature=0)
    with pytest.raises(ValueError, match="`max_new_tokens`: 0"):
        predictor.generate(["ab"], max_new_tokens=0)
    with pytest.raises(ValueError, match="no tokens"):
        predictor.perplexity([""])


@pytest.mark.parametrize("setting", [dict(temperature=0.0), dict(top_p=1.5), dict(top_p=0.0), dict(top_k=-1),
                                     dict(max_new_tokens=0)])
def test_generate_signature_refuses_bad_tensors(exported, setting):
    setting = dict(setting)
    with pytest.raises(tf.errors.InvalidArgumentError):
        _generate(exported["signatures"], ["ab"], max_new_tokens=setting.pop("max_new_tokens", 3), **setting)


def test_exporting_twice_to_the_same_path_is_refused(exported):
    with pytest.raises(FileExistsError, match="already exists"):
        export_language_model(exported["path"], exported["lm"], exported["preprocessor"], exported["config"])
    assert os.path.exists(os.path.join(exported["path"], "keras_rnn.json"))


def test_a_stateful_network_must_be_exported_as_a_stateless_copy(stateful_run, tmp_path):
    with pytest.raises(ValueError, match="stateless_copy"):
        export_language_model(str(tmp_path / "x"), stateful_run.model.layers[-1], stateful_run.preprocessor,
                              stateful_run.config)
    assert not os.path.exists(tmp_path / "x")


# --- A word-level export decoding by beam search -------------------------------------------------------------


@pytest.fixture(scope="module")
def word_beam_export(corpus_file, tmp_path_factory):
    """A word model (one document a line, tied embeddings) exported with beam width 3 as its default decoding."""
    config = LanguageModelConfig(corpus=corpus_file, granularity="word", max_tokens=40, document_unit="line",
                                 units=8, embedding_dim=8, tie_embeddings=True, epochs=1, batch_size=2,
                                 sequence_length=5, validation_fraction=0.2, beam_width=3, max_new_tokens=6)
    root = tmp_path_factory.mktemp("lm_word")
    result = train_language_model(config, str(root / "run"), verbose=0)
    path = export_language_model(str(root / "export"), result.language_model, result.preprocessor, config,
                                 metrics=result.metrics)
    return dict(path=path, signatures=tf.saved_model.load(path).signatures, lm=result.language_model,
                preprocessor=result.preprocessor, result=result)


def test_word_export_decodes_by_beam_search_as_the_in_memory_model(word_beam_export):
    export, prompts = word_beam_export, ["the cat", "a bat and", ""]
    with open(os.path.join(export["path"], "keras_rnn.json"), encoding="utf-8") as f:
        assert json.load(f)["granularity"] == "word"
    served = export["signatures"]["serving_default"](prompt=tf.constant(prompts))["text"].numpy().tolist()
    beam = generation.generate(export["lm"], export["preprocessor"], prompts, max_new_tokens=6,
                               strategy=generation.make_strategy(beam_width=3)).numpy().tolist()
    assert served == beam
    assert all(len(text.split()) <= 6 for text in served)
    assert LanguageModelPredictor(export["path"]).generate(prompts) == [t.decode() for t in served]


def test_word_export_suggests_and_scores_whole_words(word_beam_export):
    export = word_beam_export
    vocabulary = export["preprocessor"].get_vocabulary()
    out = export["signatures"]["next_words"](text=tf.constant(["the cat sat on", "a"]))
    words = {w.decode() for w in out["words"].numpy().ravel()}
    assert words <= set(vocabulary) - SPECIAL and all(" " not in w for w in words)
    texts = ["the cat sat on a mat .", "a zebra", ""]
    counts = export["preprocessor"](tf.constant(texts)).row_lengths().numpy().tolist()
    scored = export["signatures"]["log_probability"](text=tf.constant(texts))
    assert scored["tokens"].numpy().tolist() == counts and counts[0] >= 6 and counts[2] == 0
    expected, _ = generation.text_log_probability(export["lm"], export["preprocessor"], texts)
    np.testing.assert_allclose(scored["log_probability"].numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_word_export_answers_hostile_strings(word_beam_export):
    signatures, batch = word_beam_export["signatures"], tf.constant(HOSTILE + ["word " * 20000])
    assert signatures["serving_default"](prompt=batch)["text"].numpy().shape == (len(HOSTILE) + 1,)
    assert signatures["next_words"](text=batch)["words"].numpy().shape[0] == len(HOSTILE) + 1
    out = signatures["log_probability"](text=batch)
    assert np.isfinite(out["log_probability"].numpy()).all()
    assert out["tokens"].numpy()[-1] == 20000


# --- Configuration errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("values, message", [
    (dict(granularity="byte"), "`granularity`: 'byte'"),
    (dict(temperature=0), "`temperature`: 0"),
    (dict(top_p=0), "`top_p`: 0"),
    (dict(top_p=1.5), "`top_p`: 1.5"),
    (dict(top_k=-1), "`top_k`: -1"),
    (dict(document_unit="page"), "`document_unit`: 'page'"),
    (dict(suggestions=0), "`suggestions`: 0"),
])
def test_config_refuses_bad_values_naming_them(values, message):
    with pytest.raises(ValueError, match=message):
        LanguageModelConfig(**values)


def test_config_defaults_and_json_round_trip():
    config = LanguageModelConfig(granularity="word", max_tokens=500, stateful=True, tie_embeddings=True)
    assert LanguageModelConfig.from_dict(json.loads(config.to_json())) == config
    assert config.task == "language_model" and config.data.corpus == "tiny_shakespeare"


# --- Command line ------------------------------------------------------------------------------------------


def _json_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]


def test_cli_generate_json_is_reproducible(exported, capsys):
    argv = ["generate", exported["path"], "ab", "the", "--seed", "1", "--max-new-tokens", "5", "--json"]
    assert main(argv) == 0
    rows = _json_lines(capsys)
    assert [row["prompt"] for row in rows] == ["ab", "the"] and all(isinstance(r["generated"], str) for r in rows)
    assert main(argv) == 0
    assert _json_lines(capsys) == rows
    expected = exported["predictor"].generate(["ab", "the"], seed=1, max_new_tokens=5)
    assert [row["generated"] for row in rows] == expected


def test_cli_generate_next_words(exported, capsys):
    k = exported["config"].generation.suggestions
    assert main(["generate", exported["path"], "ab", "--next-words", "--json"]) == 0
    (row,) = _json_lines(capsys)
    assert row["text"] == "ab" and len(row["next"]) == k
    assert [s["token"] for s in row["next"]] == [t for t, _ in exported["predictor"].next_words(["ab"])[0]]
    assert main(["generate", exported["path"], "ab", "--next-words"]) == 0
    assert len(capsys.readouterr().out.strip().split("\t")) == k


def test_cli_evaluate_reports_perplexity_and_bits_per_char(exported, capsys):
    assert main(["evaluate", exported["path"]]) == 0
    report = _json_lines(capsys)[-1]
    assert report["bits_per_char"] == pytest.approx(math.log2(report["perplexity"]))
    assert report["tokens"] == exported["summary"]["validation_tokens"] and report["documents"] == 1
    assert report["split"] == "validation"


def test_cli_evaluate_on_the_training_part_of_a_carved_corpus(exported, capsys):
    assert main(["evaluate", exported["path"], "--split", "train"]) == 0
    report = _json_lines(capsys)[-1]
    summary = exported["summary"]
    # Every training character once (each document's closing [END] is not a character of it), and not
    # the carved validation part.
    assert report["split"] == "train" and report["documents"] == summary["train_documents"]
    assert report["tokens"] == summary["train_tokens"] - summary["train_documents"]


def test_cli_predict(exported, capsys):
    assert main(["predict", exported["path"], "ab", "--json"]) == 0
    (row,) = _json_lines(capsys)
    assert row["text"] == "ab" and isinstance(row["generated"], str) and len(row["next"]) == 3
    assert main(["predict", exported["path"], "ab"]) == 0
    assert capsys.readouterr().out.startswith("ab")


def test_cli_train_refuses_an_existing_export(exported, capsys):
    assert main(exported["argv"]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err


def test_cli_generate_needs_a_language_model_export(tmp_path, capsys):
    other = tmp_path / "sentiment_export"
    other.mkdir()
    (other / "keras_rnn.json").write_text(json.dumps({"task": "sentiment"}), encoding="utf-8")
    assert main(["generate", str(other), "ab"]) == 2
    assert "holds a sentiment model" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "missing"), "ab"]) == 2
    assert "is not a keras-rnn export" in capsys.readouterr().err


def test_tfds_corpora_through_mock_data():
    """The real TFDS loading code (`load_tfds`) with TFDS's mock data: Tiny Shakespeare and AESLC use their
    own validation split even before they are prepared; IMDB (no validation split) is carved."""
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=3):
        shakespeare = load_documents("tiny_shakespeare")
        emails = load_documents("aeslc")
        reviews = load_documents("imdb_reviews", validation_fraction=0.34)
    assert shakespeare.validation_source == "corpus split validation"
    assert len(shakespeare.train) == 3 and len(shakespeare.validation) == 3
    assert all(isinstance(text, str) and text for text in shakespeare.train + shakespeare.validation)
    assert emails.validation_source == "corpus split validation"
    assert reviews.validation_source == "carved: chronological"
    assert (len(reviews.train), len(reviews.validation)) == (2, 1)


# --- Sampled softmax ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("tie", [True, False])
def test_sampled_softmax_estimates_the_loss_in_training_and_is_exact_in_evaluation(tie):
    from keras_rnn.losses import token_crossentropy

    keras.utils.set_random_seed(0)
    lm = RecurrentLanguageModel(50, cell="lstm", units=8, embedding_dim=6, tie_embeddings=tie, sampled_softmax=5)
    ids = np.random.default_rng(0).integers(1, 50, size=(3, 7)).astype("int32")
    targets = np.roll(ids, -1, axis=1)
    targets[0, -2:] = 0
    exact = token_crossentropy(targets, lm(ids, training=False)).numpy()
    np.testing.assert_allclose(lm(ids, targets=targets, training=False).numpy(), exact, rtol=1e-5)
    sampled = lm(ids, targets=targets, training=True).numpy()
    assert sampled.shape == (3, 7) and np.isfinite(sampled).all()
    # An estimate from the target and 5 sampled words, not the exact value.
    assert not np.allclose(sampled, exact)
    assert RecurrentLanguageModel.from_config(lm.get_config()).sampled_softmax == 5
    for bad in (-1, 1.5, True, 50):
        with pytest.raises(ValueError, match="sampled_softmax"):
            RecurrentLanguageModel(50, sampled_softmax=bad)


def test_sampled_softmax_under_mixed_bfloat16_gives_float32_losses_and_gradients_for_every_weight():
    from keras_rnn.core.precision import dtype_policy

    with dtype_policy("mixed_bfloat16"):
        model = build_language_model(40, cell="gru", units=8, embedding_dim=6, tie_embeddings=True, sampled_softmax=4)
    ids = tf.constant(np.random.default_rng(1).integers(1, 40, size=(2, 5)), tf.int32)
    with tf.GradientTape() as tape:
        losses = model({"ids": ids, "targets": tf.roll(ids, -1, axis=1)}, training=True)
        loss = tf.reduce_mean(losses)
    assert losses.dtype == tf.float32 and losses.shape == (2, 5) and np.isfinite(losses.numpy()).all()
    gradients = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in gradients)


def test_a_sampled_softmax_run_trains_from_ids_and_targets_and_scores_and_exports_exactly(corpus_file, tmp_path):
    config = LanguageModelConfig(corpus=corpus_file, units=8, embedding_dim=4, epochs=2, batch_size=4,
                                 sequence_length=8, validation_fraction=0.2, max_tokens=64, sampled_softmax=8,
                                 tie_embeddings=True)
    result = train_language_model(config, str(tmp_path / "run"), verbose=0)
    assert sorted(result.model.input) == ["ids", "targets"]
    with open(tmp_path / "run" / "history.csv", encoding="utf-8") as f:
        epochs = list(csv.DictReader(f))
    assert len(epochs) == 2 and sorted(epochs[0]) == ["epoch", "loss", "perplexity", "val_loss", "val_perplexity"]
    assert float(epochs[-1]["val_perplexity"]) == pytest.approx(math.exp(float(epochs[-1]["val_loss"])), rel=1e-4)
    # Validation runs the full softmax: its loss is the exact stream cross-entropy of the kept epoch
    # (windows without carried state here, so close to, not equal to, the stream figure).
    assert math.isfinite(result.metrics["val_stream_perplexity"])
    best = min(float(e["val_loss"]) for e in epochs)
    assert best == pytest.approx(result.metrics["val_loss"], rel=1e-5)
    assert result.metrics["val_stream_cross_entropy"] == pytest.approx(best, rel=0.1)
    export = export_language_model(str(tmp_path / "export"), result.language_model, result.preprocessor, config)
    assert LanguageModelPredictor(export).perplexity(["the cat sat on a mat."])["perplexity"] > 1.0
    with pytest.raises(ValueError, match="sampled_softmax"):
        LanguageModelConfig(sampled_softmax=-2)
