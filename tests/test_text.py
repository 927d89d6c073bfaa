import numpy as np
import pytest
import tensorflow as tf

from keras_rnn.data.text import TextPreprocessor, standardize_text


def tokens(text):
    return standardize_text(tf.constant([text])).numpy()[0].decode("utf-8").split()


def test_standardize_strips_html_lowercases_and_splits_punctuation():
    assert tokens("Great<br /><br />Film, really!") == ["great", "film", ",", "really", "!"]


def test_standardize_keeps_non_ascii_letters_and_apostrophes():
    assert tokens("Café STRASSE über don't") == ["café", "strasse", "über", "don't"]


def test_standardize_survives_invalid_utf8():
    out = standardize_text(tf.constant([b"ok \xff\xfe bytes"])).numpy()[0]
    assert out.decode("utf-8").split()[0] == "ok"  # decodes: invalid bytes became U+FFFD


def adapted(**kwargs):
    pre = TextPreprocessor(max_tokens=20, **kwargs)
    pre.adapt(tf.data.Dataset.from_tensor_slices(["a b c d e", "a b c", "a"]))
    return pre


def test_truncation_post_and_pre():
    text = tf.constant(["a b c d e"])
    vocab = adapted(max_length=2).get_vocabulary()
    post = adapted(max_length=2, truncating="post")(text).to_list()[0]
    pre = adapted(max_length=2, truncating="pre")(text).to_list()[0]
    assert [vocab[i] for i in post] == ["a", "b"]
    assert [vocab[i] for i in pre] == ["d", "e"]


def test_pad_is_right_padded_and_never_empty():
    pre = adapted(max_length=None)
    ids = pre.pad(pre(tf.constant(["a b c", "a", ""]))).numpy()
    assert ids.shape == (3, 3)
    assert list(ids[1][1:]) == [0, 0] and list(ids[2]) == [0, 0, 0]
    assert pre.pad(pre(tf.constant(["", ""]))).shape == (2, 1)


def test_unknown_words_map_to_oov():
    pre = adapted(max_length=None)
    assert pre(tf.constant(["zzz a"])).to_list()[0] == [1, pre.get_vocabulary().index("a")]


def test_vocabulary_file_round_trip(tmp_path):
    pre = adapted(max_length=3, truncating="pre")
    path = str(tmp_path / "vocab.txt")
    pre.save_vocabulary(path)
    again = TextPreprocessor.from_vocabulary_file(path, max_tokens=20, max_length=3, truncating="pre")
    texts = tf.constant(["e d c b a", "b zzz"])
    assert again(texts).to_list() == pre(texts).to_list()


def test_config_round_trip():
    pre = adapted(max_length=4)
    again = TextPreprocessor.from_config(pre.get_config())
    assert again.get_vocabulary() == pre.get_vocabulary()
    assert (again.max_length, again.truncating) == (4, "post")


def test_invalid_arguments():
    with pytest.raises(ValueError, match="`truncating`: 'middle'. Accepted values: 'pre', 'post'"):
        TextPreprocessor(truncating="middle")
    with pytest.raises(ValueError, match="`max_length`"):
        TextPreprocessor(max_length=0)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        TextPreprocessor.from_vocabulary_file("nope.txt")


def test_runs_inside_tf_data_map():
    pre = adapted(max_length=None)
    ds = tf.data.Dataset.from_tensor_slices(["a b", "c"]).batch(2).map(pre)
    assert next(iter(ds)).to_list() == pre(tf.constant(["a b", "c"])).to_list()
    assert np.all(np.array(pre(tf.constant(["a b"])).to_list()[0]) > 1)
