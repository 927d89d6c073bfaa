import numpy as np
import pytest
import tensorflow as tf

from keras_rnn.data.text import SentenceStandardizer, TextPreprocessor, detokenize, standardize_text


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


def sentence_tokens(text, **kwargs):
    return SentenceStandardizer(**kwargs)(tf.constant([text])).numpy()[0].decode("utf-8").split()


def test_sentence_standardizer_keeps_case_and_splits_punctuation_and_apostrophes():
    assert sentence_tokens("Ein Mann (im T-Shirt) sagt: „Hallo!“") == [
        "Ein", "Mann", "(", "im", "T", "-", "Shirt", ")", "sagt", ":", "„", "Hallo", "!", "“"]
    assert sentence_tokens("A woman's dog.") == ["A", "woman", "'s", "dog", "."]
    assert sentence_tokens("A woman's dog.", lowercase=True) == ["a", "woman", "'s", "dog", "."]


def test_sentence_standardizer_normalizes_unicode_and_folds_accents_on_request():
    # NFKC per character: the "fi" ligature, a full-width letter and a non-breaking space.
    assert sentence_tokens("ﬁne Ａ\u00a0b") == ["fine", "A", "b"]
    assert sentence_tokens("Café naïve Straße") == ["Café", "naïve", "Straße"]
    assert sentence_tokens("Café naïve Straße", fold_accents=True) == ["Cafe", "naive", "Straße"]
    # A decomposed accent (e + U+0301) folds to the bare letter as well.
    assert sentence_tokens("Cafe\u0301", fold_accents=True) == ["Cafe"]


def test_sentence_standardizer_survives_invalid_utf8():
    out = SentenceStandardizer()(tf.constant([b"ok \xff bytes", b""])).numpy()
    assert out[0].decode("utf-8").split() == ["ok", "\ufffd", "bytes"] and out[1] == b""


@pytest.mark.parametrize("sentence", [
    "A man in a red t-shirt is riding a bike.",
    "Two dogs, one brown (a puppy), play in the snow!",
    "¿Dónde está el baño? ¡Aquí!",
    "The woman's hat costs 25% less: 3.",
])
def test_detokenize_inverts_the_standardizer_on_ordinary_sentences(sentence):
    split = SentenceStandardizer()(tf.constant([sentence]))
    assert detokenize(split).numpy()[0].decode("utf-8") == sentence


def test_reserved_tokens_take_the_first_ids_and_survive_saving(tmp_path):
    pre = TextPreprocessor(max_tokens=6, max_length=None, standardization="cased",
                           reserved_tokens=("[START]", "[END]"))
    pre.adapt(tf.data.Dataset.from_tensor_slices(["b a a c", "a b d e"]))
    vocabulary = pre.get_vocabulary()
    assert vocabulary[:4] == ["", "[UNK]", "[START]", "[END]"] and len(vocabulary) == 6
    assert (pre.token_id("[START]"), pre.token_id("[END]")) == (2, 3)
    assert vocabulary[4:] == ["a", "b"]  # the most frequent words fill what is left
    path = str(tmp_path / "vocabulary.txt")
    pre.save_vocabulary(path)
    again = TextPreprocessor.from_vocabulary_file(path, max_tokens=6, max_length=None, standardization="cased",
                                                  reserved_tokens=("[START]", "[END]"))
    assert again.get_vocabulary() == vocabulary
    # "[START]" typed in text is split by the standardizer, so it can never produce the reserved id.
    assert 2 not in again(tf.constant(["[START] a"])).to_list()[0]
    with pytest.raises(KeyError, match="not in the vocabulary"):
        pre.token_id("[MASK]")
    with pytest.raises(ValueError, match="max_tokens"):
        TextPreprocessor(max_tokens=4, reserved_tokens=("[START]", "[END]"))


def test_tokens_match_the_ids_one_for_one():
    pre = TextPreprocessor(max_tokens=20, max_length=3, standardization="cased")
    pre.adapt(tf.data.Dataset.from_tensor_slices(["Ein Hund läuft."]))
    tokens = pre.tokens(tf.constant(["Ein Katze läuft schnell.", ""])).to_list()
    ids = pre(tf.constant(["Ein Katze läuft schnell.", ""])).to_list()
    assert tokens == [[b"Ein", b"Katze", b"l\xc3\xa4uft"], []]
    assert [len(row) for row in ids] == [3, 0] and ids[0][1] == 1  # "Katze" is out of vocabulary


def test_tokens_and_ids_equal_tokens_and_call_and_are_aligned():
    preprocessor = TextPreprocessor(50, max_length=4, standardization="cased", vocabulary=["Ein", "Mann", "."])
    texts = tf.constant(["Ein Mann fährt.", ""])
    tokens, ids = preprocessor.tokens_and_ids(texts)
    assert tokens.to_list() == preprocessor.tokens(texts).to_list() == [[b"Ein", b"Mann", b"f\xc3\xa4hrt", b"."], []]
    assert ids.to_list() == preprocessor(texts).to_list() == [[2, 3, 1, 4], []]
