"""The tagger's parts: text → tokens with offsets, tokens → ids, the network (softmax and CRF heads), the
entity reading of the export, and the tag-name mapping."""

from __future__ import annotations

import unicodedata

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from keras_rnn.data.tagging import to_iob2, to_iobes
from keras_rnn.models.crf import CRF
from keras_rnn.models.tagger import ArgmaxTags, TokenDropout, build_tagger, tagger_loss, tagger_tags
from keras_rnn.tasks.tagging.pipeline import iob2_name, training_tag_sequence
from keras_rnn.tasks.tagging.preprocessor import CASINGS, TaggingPreprocessor, casing_ids, tokenize
from keras_rnn.tasks.tagging.serving import _entities

TAGS_IOB2 = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
TAGS_IOBES = ["O"] + [f"{p}-{t}" for t in ("LOC", "PER") for p in "BIES"]
SENTENCES = [["Bob", "got", "a", "toy", "Yoda", "."], ["Ann", "Lee", "flew", "to", "New", "York", "in", "1996"],
             ["NASA", "met", "iPod", "fans", "in", "B-52", "hangars"]]


def decoded(rows) -> list[list[str]]:
    return [[t.decode("utf-8") for t in row] for row in rows]


# --- Text → tokens -----------------------------------------------------------------------------------

def test_tokenize_splits_like_conll_and_gives_character_offsets():
    tokens, starts, ends = tokenize(tf.constant(["Germany's EU-wide call: 1,000 U.S. troops, 3-1 win.", "  ", ""]))
    assert decoded(tokens.to_list()) == [
        ["Germany", "'s", "EU-wide", "call", ":", "1,000", "U.S.", "troops", ",", "3-1", "win", "."], [], []]
    assert starts.to_list()[0][:3] == [0, 7, 10] and ends.to_list()[0][-1] == 51


def _separator(char: str) -> bool:
    return unicodedata.category(char)[0] == "Z" or unicodedata.category(char) == "Cc"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_tokens_are_the_text_at_their_offsets_and_cover_every_character_but_separators(text):
    tokens, starts, ends = tokenize(tf.constant([text]))
    tokens = decoded(tokens.to_list())[0]
    starts, ends = starts.to_list()[0], ends.to_list()[0]
    assert [text[s:e] for s, e in zip(starts, ends)] == tokens
    assert all(a <= b for a, b in zip(ends, starts[1:]))  # in order, no overlap
    assert "".join(tokens) == "".join(c for c in text if not _separator(c))


def test_tokenize_reads_invalid_utf8_as_replacement_characters():
    tokens, starts, ends = tokenize(tf.constant([b"Bob \xff\xfe Lee"]))
    assert decoded(tokens.to_list()) == [["Bob", "\ufffd", "\ufffd", "Lee"]]
    assert ends.to_list() == [[3, 5, 6, 10]]


# --- Tokens → ids ------------------------------------------------------------------------------------

def test_casing_classes():
    tokens = ["Yoda", "toy", "NASA", "1996", "B-52", "iPod", ",", "", "Élan", "ÉTÉ"]
    names = [CASINGS[i] for i in casing_ids(tf.constant(tokens)).numpy()]
    assert names == ["title", "lower", "upper", "numeric", "has_digit", "mixed", "other", "[PAD]", "title", "upper"]


def test_preprocessor_normalises_words_keeps_spelling_and_round_trips(tmp_path):
    pre = TaggingPreprocessor(min_word_count=2)
    pre.adapt([["Bob", "saw", "Bob", "in", "1996"], ["bob", "in", "2001", "Rome"]])
    ids = pre(tf.constant([["BOB", "in", "1984", "Rome", ""]]))
    vocabulary = pre.words.get_vocabulary()
    # "bob" (3 times, any case), "in" (2) and "0000" (two years) are kept; "Rome" (once) is out of vocabulary.
    assert [vocabulary[i] for i in ids["word_ids"].numpy()[0]] == ["bob", "in", "0000", "[UNK]", ""]
    chars = pre.characters.get_vocabulary()
    # Characters as written: "O" never appeared in training.
    assert [chars[i] for i in ids["char_ids"].numpy()[0, 0, :3]] == ["B", "[UNK]", "B"]
    assert ids["char_ids"].numpy()[0, 4].tolist() == [0] * ids["char_ids"].shape[-1]
    path = str(tmp_path / "vocabulary.json")
    pre.save_vocabulary(path)
    again = TaggingPreprocessor.from_vocabulary_file(path, min_word_count=2)
    for key, value in again(tf.constant([["BOB", "in", "1984", "Rome", ""]])).items():
        np.testing.assert_array_equal(value.numpy(), ids[key].numpy())
    clone = TaggingPreprocessor.from_config(pre.get_config())
    np.testing.assert_array_equal(clone(tf.constant([["Rome", "bob"]]))["word_ids"].numpy(),
                                  pre(tf.constant([["Rome", "bob"]]))["word_ids"].numpy())


def test_preprocessor_without_any_word_raises():
    with pytest.raises(ValueError, match="min_word_count=5"):
        TaggingPreprocessor(min_word_count=5).adapt([["a", "b"]])


# --- The network -------------------------------------------------------------------------------------

def test_token_dropout_replaces_about_rate_of_real_tokens_and_never_padding():
    layer = TokenDropout(0.3, seed=1)
    ids = np.tile(np.array([[5, 6, 7, 8, 9, 0, 0]]), (2000, 1))
    out = layer(ids, training=True).numpy()
    real = ids != 0
    replaced = (out != ids) & real
    assert np.all(out[replaced] == 1) and np.all(out[~real] == 0)
    assert 0.27 < replaced.sum() / real.sum() < 0.33
    np.testing.assert_array_equal(layer(ids).numpy(), ids)
    with pytest.raises(ValueError, match="rate"):
        TokenDropout(1.0)


def test_argmax_tags_never_picks_padding_on_a_real_token():
    logits = np.random.default_rng(0).normal(size=(4, 6, 5)).astype("float32")
    logits[..., 0] += 100.0  # padding is the best score everywhere
    mask = np.arange(6)[None] < np.array([[6], [3], [1], [0]])
    tags = ArgmaxTags()(logits, mask=mask).numpy()
    assert np.all(tags[mask] >= 1) and np.all(tags[~mask] == 0)


def _features(pre: TaggingPreprocessor, sentences):
    width = max(len(s) for s in sentences)
    tokens = tf.constant([s + [""] * (width - len(s)) for s in sentences])
    return pre(tokens), tokens


@pytest.fixture(scope="module")
def preprocessor():
    pre = TaggingPreprocessor()
    pre.adapt(SENTENCES)
    return pre


def _tagger(pre, head, scheme="IOB2"):
    tags = tagger_tags(TAGS_IOB2 if scheme == "IOB2" else TAGS_IOBES)
    keras.utils.set_random_seed(0)
    return build_tagger(pre.word_vocabulary_size, pre.char_vocabulary_size, tags, head=head, tag_scheme=scheme,
                        word_embedding_dim=8, char_filters=8, char_embedding_dim=4, units=8, casing_dim=3), tags


def test_softmax_loss_is_the_mean_over_real_tokens(preprocessor):
    model, tags = _tagger(preprocessor, "softmax")
    features, tokens = _features(preprocessor, SENTENCES)
    targets = np.where(tokens.numpy() != b"", 1, 0)
    bias = np.zeros(len(tags), "float32")
    bias[1] = 6.0  # real tokens' target is likely, padding's (0) is not: their losses differ widely
    model.get_layer("potentials").bias.assign(bias)
    model.compile("adam", loss={"potentials": tagger_loss(model)})
    loss = model.evaluate(features, {"potentials": targets}, verbose=0)
    logits = model(features)["potentials"].numpy()
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_p, targets[..., None], -1)[..., 0]
    assert loss == pytest.approx(nll[targets != 0].mean(), rel=1e-4)
    assert loss != pytest.approx(nll.mean(), rel=1e-3)  # padding would change it


@pytest.mark.parametrize("scheme", ["IOB2", "IOBES"])
def test_crf_head_decodes_valid_tag_paths_only_and_padding_zero(preprocessor, scheme):
    model, tags = _tagger(preprocessor, "crf", scheme)
    crf = next(layer for layer in model.layers if isinstance(layer, CRF))
    # Random transitions and a strong pull towards continuation tags: unconstrained, paths would break the scheme.
    crf.transitions.assign(np.random.default_rng(1).normal(size=crf.transitions.shape) * 5)
    dense = model.get_layer("potentials")
    bias = np.zeros(len(tags), "float32")
    bias[[i for i, t in enumerate(tags) if t[:2] in ("I-", "E-")]] = 20.0
    dense.bias.assign(bias)
    features, tokens = _features(preprocessor, SENTENCES)
    predicted = model(features)["tags"].numpy()
    real = tokens.numpy() != b""
    assert np.all(predicted[~real] == 0) and np.all(predicted[real] > 0)
    for row, mask in zip(predicted, real):
        names = [tags[i] for i in row[mask]]
        if scheme == "IOB2":
            assert to_iob2(names) == names
        else:
            assert to_iobes(to_iob2([iob2_name(t) for t in names])) == names


@pytest.mark.parametrize("head", ["crf", "softmax"])
def test_tagger_saves_and_loads_with_the_same_outputs(preprocessor, head, tmp_path):
    model, _ = _tagger(preprocessor, head, "IOBES")
    features, _ = _features(preprocessor, SENTENCES)
    path = str(tmp_path / "tagger.keras")
    model.save(path)
    again = keras.saving.load_model(path, compile=False)
    for key in ("potentials", "tags"):
        np.testing.assert_allclose(again(features)[key].numpy(), model(features)[key].numpy(), atol=1e-5)


def test_build_tagger_refuses_tags_without_padding_first():
    with pytest.raises(ValueError, match=r"\[PAD\]"):
        build_tagger(10, 10, ["O", "B-PER"])


# --- Tag names and entities --------------------------------------------------------------------------

def test_training_scheme_round_trips_through_iob2_names():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-LOC"]
    iobes = training_tag_sequence(tags, "IOBES")
    assert iobes == ["B-PER", "E-PER", "O", "S-LOC", "B-LOC", "I-LOC", "E-LOC"]
    assert [iob2_name(t) for t in iobes] == tags
    assert training_tag_sequence(tags, "IOB2") == tags


tag_sequences = st.lists(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), min_size=0,
                                  max_size=9), min_size=1, max_size=5)


@settings(max_examples=80, deadline=None)
@given(tag_sequences)
def test_export_entities_are_seqevals_conlleval_entities(sequences):
    width = max(len(s) for s in sequences)
    padded = tf.constant([s + [""] * (width - len(s)) for s in sequences] if width else [[""]] * len(sequences))
    found = {key: value.numpy() for key, value in _entities(padded).items()}
    ours = [(found["type"][i].decode(), int(found["row"][i]), int(found["first"][i]), int(found["last"][i]))
            for i in range(len(found["row"]))]
    expected = [(kind, row, start, end) for row, sequence in enumerate(sequences)
                for kind, start, end in get_entities(list(sequence))]
    assert sorted(ours, key=lambda e: (e[1], e[2])) == expected


class _PositionTagger:
    """A stand-in tagger whose tag id is each token's position in its window plus one: shows the windows.
    It keeps the word ids it was given."""

    def __init__(self):
        self.seen = []

    def __call__(self, features, training=False):
        ids = features["word_ids"]
        self.seen.append(ids.numpy())
        return {"tags": tf.broadcast_to(tf.range(1, tf.shape(ids)[1] + 1), tf.shape(ids))}


def test_long_rows_are_tagged_in_windows_that_do_not_depend_on_the_rest_of_the_batch(preprocessor):
    from keras_rnn.tasks.tagging.serving import TaggerServer

    names = ["[PAD]", "O", "B-PER", "I-PER", "B-LOC"]
    server = TaggerServer(preprocessor, _PositionTagger(), names, window=4)
    short, long = ["a"] * 4, ["a"] * 9
    alone = server.tag_tokens(tf.constant([short])).numpy()[0].tolist()
    batch = server.tag_tokens(tf.constant([short + [""] * 5, long])).numpy().tolist()
    assert [t.decode() for t in alone] == ["O", "B-PER", "I-PER", "B-LOC"]
    assert batch[0] == alone + [b""] * 5  # the same cut as alone, padding left empty
    # The long row: windows of 4, 4 and 1 tokens.
    assert [t.decode() for t in batch[1]] == ["O", "B-PER", "I-PER", "B-LOC"] * 2 + ["O"]


def test_every_row_the_network_reads_has_a_real_token(preprocessor):
    from keras_rnn.tasks.tagging.serving import TaggerServer

    model = _PositionTagger()
    server = TaggerServer(preprocessor, model, ["[PAD]", "O", "B-PER", "I-PER", "B-LOC"], window=4)
    tags = server.tag_tokens(tf.constant([["a", "b", "", "", "", ""], ["", "", "", "", "", ""],
                                          ["a", "b", "c", "d", "e", "f"]])).numpy().tolist()
    # Windows of 4: the second row's two windows and the first row's second window hold no token.
    assert all((ids != 0).any(axis=1).all() for ids in model.seen)
    assert tags[0][2:] == [b""] * 4 and tags[1] == [b""] * 6 and b"" not in tags[2]
    server.tag_tokens(tf.zeros([2, 0], tf.string))  # no token at all: still one real step a row
    assert (model.seen[-1] != 0).any(axis=1).all()
