"""The tagging task end to end: training on a tiny CoNLL-2003-style corpus, the run folder's figures, the
export's two signatures (served by TensorFlow alone, hostile inputs included), the predictor, the
`train tagging` / `evaluate` / `tag` / `predict` commands, bad corpora and configurations, and resume.

One small BiLSTM-CRF is trained once for the module (seconds) on sentences made from a few templates
("<PER> visited <LOC> .", "<PER> works for <ORG> in <LOC> .", ...) with single- and multi-token names:
the pattern is easy, so the model tags its validation sentences (fresh combinations) all but perfectly.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random

import keras
import pytest

from conftest import run_with_tensorflow_alone
from keras_rnn.cli import main

PER = [["John", "Smith"], ["Maria"], ["Anna", "Lee"], ["Peter"], ["José", "Müller"], ["Li", "Wei"], ["Karen"],
       ["Tom", "O'Neil"]]
LOC = [["Paris"], ["New", "York"], ["Zürich"], ["Berlin"], ["San", "Francisco"], ["Tokyo"], ["Rio", "de", "Janeiro"]]
ORG = [["Acme", "Corp"], ["United", "Nations"], ["Siemens"], ["Red", "Cross"], ["Google"], ["Bank", "of", "Spain"]]
NAMES = {"PER": PER, "LOC": LOC, "ORG": ORG}
# A tuple is an entity slot; a string is a word tagged "O".
TEMPLATES = [
    [("PER",), "visited", ("LOC",), "."],
    [("PER",), "works", "for", ("ORG",), "in", ("LOC",), "."],
    [("ORG",), "opened", "an", "office", "in", ("LOC",), "."],
    ["Yesterday", ("PER",), "met", ("PER",), "."],
    ["The", "weather", "in", ("LOC",), "was", "nice", "."],
]
MAX_LENGTH = 32
# Tiny network, a learning rate high enough to learn the templates in two epochs; no dropout (the
# best epoch's validation loss is then the one `evaluate` recomputes).
TINY_TAGGER = {"units": 8, "word_embedding_dim": 8, "char_filters": 8, "char_embedding_dim": 8, "casing_dim": 4,
               "max_length": MAX_LENGTH, "dropout": 0.0, "word_dropout": 0.0, "batch_size": 16, "learning_rate": 0.02}
EPOCHS = 4
VALID_TAGS = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"}


def make_sentences(n: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """`n` sentences `(tokens, IOB2 tags)` from the templates, drawn with `seed`."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(n):
        tokens, tags = [], []
        for part in rng.choice(TEMPLATES):
            if isinstance(part, tuple):
                name = rng.choice(NAMES[part[0]])
                tokens += name
                tags += [("B-" if i == 0 else "I-") + part[0] for i in range(len(name))]
            else:
                tokens.append(part)
                tags.append("O")
        sentences.append((tokens, tags))
    return sentences


def conll_lines(sentences, documents: int = 2) -> list[str]:
    """CoNLL-2003 layout: `token POS chunk NER`, `-DOCSTART-` before each document, blank-line separated."""
    lines = []
    per_document = -(-len(sentences) // documents)
    for i, (tokens, tags) in enumerate(sentences):
        if i % per_document == 0:
            lines += ["-DOCSTART- -X- -X- O", ""]
        for token, tag in zip(tokens, tags):
            pos = "." if token == "." else ("NNP" if tag != "O" else "VB")
            chunk = "O" if tag == "O" else ("B-NP" if tag.startswith("B-") else "I-NP")
            lines.append(f"{token} {pos} {chunk} {tag}")
        lines.append("")
    return lines


def write_conll(path, sentences, documents: int = 2) -> str:
    path.write_text("\n".join(conll_lines(sentences, documents)) + "\n", encoding="utf-8")
    return str(path)


def spans(tags) -> set[tuple[str, int, int]]:
    """Entities `(type, first, end)` as conlleval reads IOB tags: B-X starts one, and so does an I-X that
    does not continue an X (written here, independently of the library)."""
    found, current = [], None
    for i, tag in enumerate(list(tags) + ["O"]):
        kind = tag[2:] if tag[:2] in ("B-", "I-") else None
        if current is not None and (kind != current[0] or tag.startswith("B-")):
            found.append((current[0], current[1], i))
            current = None
        if kind is not None and current is None:
            current = (kind, i)
    return set(found)


def micro_f1(gold_sequences, predicted_sequences) -> float:
    correct = gold = predicted = 0
    for g, p in zip(gold_sequences, predicted_sequences):
        g, p = spans(g), spans(p)
        correct, gold, predicted = correct + len(g & p), gold + len(g), predicted + len(p)
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def run_cli(argv) -> tuple[int, str, str]:
    """`keras-rnn ARGV` in this process: (exit status, standard output, standard error)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def read_history(run_dir) -> list[dict]:
    with open(os.path.join(run_dir, "history.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A folder with train.txt (400 sentences) and valid.txt (60 other draws), and their sentences."""
    root = tmp_path_factory.mktemp("conll")
    train, valid = make_sentences(400, seed=0), make_sentences(60, seed=1)
    write_conll(root / "train.txt", train)
    write_conll(root / "valid.txt", valid)
    return {"folder": str(root), "train": train, "valid": valid, "valid_file": str(root / "valid.txt")}


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    """One BiLSTM-CRF trained with `train_tagger` and exported with the task's export."""
    from keras_rnn.tasks.tagging import TAGGING, TaggingConfig, train_tagger

    config = TaggingConfig(corpus=corpus["folder"], epochs=EPOCHS, patience=EPOCHS, **TINY_TAGGER)
    root = tmp_path_factory.mktemp("tagger")
    result = train_tagger(config, str(root / "run"), verbose=0)
    export = TAGGING.export(str(root / "export"), result)
    return {"result": result, "config": config, "export": export, "run_dir": str(root / "run")}


# --- Training and the run folder ---------------------------------------------------------------------


def test_the_model_learns_the_templates(trained, corpus):
    result = trained["result"]
    assert result.metrics["val_f1"] >= 0.9
    # The figure is the entity F1 of the model's own validation tags (recomputed here, conlleval's way).
    gold = [tags for _, tags in corpus["valid"]]
    assert len(result.validation_tags) == len(gold) == result.metrics["validation_sentences"]
    assert [len(t) for t in result.validation_tags] == [len(t) for t in gold]
    assert result.metrics["val_f1"] == pytest.approx(micro_f1(gold, result.validation_tags), abs=1e-9)
    assert result.metrics["train_sentences"] == len(corpus["train"])
    assert result.metrics["validation_source"] == "corpus split valid"


def test_history_has_val_f1_every_epoch_and_metrics_the_per_type_report(trained, corpus):
    run_dir = trained["run_dir"]
    history = read_history(run_dir)
    assert [int(row["epoch"]) for row in history] == list(range(EPOCHS))
    assert all(0.0 <= float(row["val_f1"]) <= 1.0 for row in history)
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    assert metrics["val_f1"] == pytest.approx(max(float(row["val_f1"]) for row in history), abs=1e-9)
    per_type = metrics["val_per_type"]
    assert set(per_type) == {"PER", "LOC", "ORG"}
    # Supports are the validation file's entities of each type, counted from the generated corpus.
    for kind, report in per_type.items():
        expected = sum(1 for _, tags in corpus["valid"] for tag in tags if tag == f"B-{kind}")
        assert report["support"] == expected, kind
        assert set(report) >= {"precision", "recall", "f1"}
    counts = metrics["val_entity_counts"]
    assert counts["gold_entities"] == sum(r["support"] for r in per_type.values())
    for name in ("config.json", "vocabulary.json", "tags.json", "best.weights.h5", "model.keras"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    with open(os.path.join(run_dir, "tags.json"), encoding="utf-8") as f:
        tags = json.load(f)
    # Trained on IOBES by default, padding first.
    assert tags[0] == "[PAD]" and {"S-PER", "E-LOC", "B-ORG", "I-ORG"} <= set(tags)


def test_the_best_epoch_is_the_one_of_highest_val_f1_not_lowest_val_loss(trained):
    history = read_history(trained["run_dir"])
    f1 = [float(row["val_f1"]) for row in history]
    loss = [float(row["val_loss"]) for row in history]
    best = f1.index(max(f1))  # the first epoch reaching the highest F1 (a later tie is no improvement)
    # On this corpus F1 peaks early while the loss keeps falling: the two choices differ.
    assert best != loss.index(min(loss)), (f1, loss)
    metrics = trained["result"].metrics
    assert metrics["val_loss"] == pytest.approx(loss[best], rel=1e-3)
    assert metrics["val_loss"] != pytest.approx(min(loss), rel=1e-3)


# --- The export, served by TensorFlow alone ----------------------------------------------------------

NAMED_TEXTS = ["José Müller visited Zürich .", "Maria works for Acme Corp in New York .", "Peter met Anna Lee."]
# Hostile texts; the tests put a 200,000-character one (made there: too long for a command line) third.
HOSTILE = ["", "     ", b"\xff\xfe Bob", b"\xe2\x82 Bob \xed\xa0\x80", "Bob\x01Smith visited\x07 \x00Paris",
           "Maria 👍🏽 visited Paris 🇫🇷 .", "\u200b\u2028Maria\ufeff visited\tParis\r\n."]
BIG = "Maria visited Paris . " * 9090 + " " * 20
X01 = ["Yesterday John\x01Smith met Anna\x01Lee ."]

TF_ALONE = r'''
import json
import numpy as np
import tensorflow as tf

loaded = tf.saved_model.load(EXPORT)
serve, tag_tokens = loaded.signatures["serving_default"], loaded.signatures["tag_tokens"]
inputs = {"names": NAMES, "hostile": HOSTILE[:2] + ["Maria visited Paris . " * 9090 + " " * 20] + HOSTILE[2:],
          "x01": X01}
result = {}
for name, texts in inputs.items():
    out = serve(text=tf.constant(texts, tf.string))
    result[name] = {key: value.numpy().tolist() for key, value in out.items()}
    for key in ("tokens", "tags", "entity_text", "entity_type"):
        result[name][key] = [[s.decode("utf-8") for s in row] for row in result[name][key]]
# Each hostile text alone, too: a batch answers each text as it would alone.
result["alone"] = [serve(text=tf.constant([t], tf.string))["tags"].numpy()[0].tolist() for t in inputs["hostile"]]
result["alone"] = [[s.decode() for s in row] for row in result["alone"]]
tokens = np.array([["Maria", "visited", "Paris", ".", "", ""], ["Yesterday", "Peter", "met", "Anna", "Lee", "."],
                   ["José", "", "", "", "", ""]], object)
result["tag_tokens"] = [[s.decode() for s in row] for row in tag_tokens(tokens=tf.constant(tokens))["tags"].numpy()]
print(json.dumps(result))
'''


@pytest.fixture(scope="module")
def served(trained):
    """The signatures' outputs, computed in a fresh Python with TensorFlow alone (no keras_rnn)."""
    head = f"EXPORT = {trained['export']!r}\nNAMES = {NAMED_TEXTS!r}\nHOSTILE = {HOSTILE!r}\nX01 = {X01!r}\n"
    return run_with_tensorflow_alone(head + TF_ALONE)


def decoded(text) -> str:
    return text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text


def check_row(out, i, text):
    """Row `i` of a `serving_default` output is consistent in itself and with its text."""
    text = decoded(text)
    n, m = out["token_count"][i], out["entity_count"][i]
    tokens, tags = out["tokens"][i], out["tags"][i]
    starts, ends = out["token_start"][i], out["token_end"][i]
    width = len(tokens)
    assert len(tags) == len(starts) == len(ends) == width >= n
    assert tokens[n:] == [""] * (width - n) and tags[n:] == [""] * (width - n)
    assert starts[n:] == [-1] * (width - n) and ends[n:] == [-1] * (width - n)
    for token, start, end in zip(tokens[:n], starts[:n], ends[:n]):
        assert token and text[start:end] == token, (token, start, end)
    assert all(e <= s2 for e, s2 in zip(ends[:n], starts[1:n]))  # in order, no overlap
    assert set(tags[:n]) <= VALID_TAGS
    # Entities: the conlleval reading of the tags, at the tokens' character offsets.
    expected = sorted((starts[first], ends[last - 1], kind) for kind, first, last in spans(tags[:n]))
    entities = [(out["entity_start"][i][j], out["entity_end"][i][j], out["entity_type"][i][j]) for j in range(m)]
    assert entities == expected
    for j in range(m):
        start, end = out["entity_start"][i][j], out["entity_end"][i][j]
        assert out["entity_text"][i][j] == text[start:end]
    assert out["entity_text"][i][m:] == [""] * (len(out["entity_text"][i]) - m)
    return tokens[:n], tags[:n]


def test_serving_default_tokens_tags_offsets_and_entities_agree(served):
    out = served["names"]
    rows = [check_row(out, i, text) for i, text in enumerate(NAMED_TEXTS)]
    assert rows[0] == (["José", "Müller", "visited", "Zürich", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"])
    assert rows[1][1] == ["B-PER", "O", "O", "B-ORG", "I-ORG", "O", "B-LOC", "I-LOC", "O"]
    assert rows[2][0] == ["Peter", "met", "Anna", "Lee", "."]  # "Lee." is split as CoNLL does
    # Non-ASCII offsets are characters, not bytes: "Zürich" starts at character 20 (byte 22).
    j = out["entity_type"][0].index("LOC")
    assert (out["entity_start"][0][j], out["entity_end"][0][j], out["entity_text"][0][j]) == (20, 26, "Zürich")
    assert out["entity_text"][0][0] == "José Müller"


def test_tag_tokens_pads_with_empty_tags(served):
    tags = served["tag_tokens"]
    assert tags[:2] == [["B-PER", "O", "B-LOC", "O", "", ""], ["O", "B-PER", "O", "B-PER", "I-PER", "O"]]
    # A lone word has no context to tell its type: any valid tag, then padding.
    assert tags[2][0] in VALID_TAGS and tags[2][1:] == [""] * 5


def test_hostile_texts_get_consistent_answers(served):
    texts = HOSTILE[:2] + [BIG] + HOSTILE[2:]
    out = served["hostile"]
    rows = [check_row(out, i, text)
            for i, text in enumerate(texts)]
    assert rows[0] == rows[1] == ([], [])
    # 200,000 characters: far more tokens than max_length, tagged in windows, all of them.
    assert len(BIG) == 200_000
    tokens, tags = rows[2]
    assert len(tokens) == 4 * 9090 > MAX_LENGTH
    assert tokens[:4] == ["Maria", "visited", "Paris", "."] and len(tags) == len(tokens)
    per = [tag for token, tag in zip(tokens, tags) if token == "Maria"]
    assert per.count("B-PER") >= 0.9 * len(per)
    # Invalid UTF-8 reads as Python's bytes.decode(errors="replace") does; offsets count its characters.
    assert rows[3][0] == ["\ufffd", "\ufffd", "Bob"] and out["token_start"][3][:3] == [0, 1, 3]
    assert rows[4][0] == ["\ufffd", "Bob", "\ufffd", "\ufffd", "\ufffd"]
    # \x01 is a space; other control characters are tokens of their own or nothing, never a crash.
    assert rows[5][0][:2] == ["Bob", "Smith"] and "Paris" in rows[5][0]
    assert rows[6][0][0] == "Maria" and "Paris" in rows[6][0]
    assert "Maria" in rows[7][0] and "Paris" in rows[7][0]
    # A batch answers each text as it would alone (padding aside).
    for row, alone in zip(out["tags"], served["alone"]):
        assert [t for t in row if t] == [t for t in alone if t]


def test_x01_in_a_text_reads_as_a_space(served):
    out = served["x01"]
    tokens, tags = check_row(out, 0, X01[0])
    assert tokens == ["Yesterday", "John", "Smith", "met", "Anna", "Lee", "."]
    assert tags == ["O", "B-PER", "I-PER", "O", "B-PER", "I-PER", "O"]
    text = X01[0]
    expected = [(text.index(name), text.index(name) + len(name)) for name in ("John\x01Smith", "Anna\x01Lee")]
    assert list(zip(out["entity_start"][0], out["entity_end"][0])) == expected


def test_entity_text_is_the_slice_of_the_input_text_even_across_x01(served):
    out = served["x01"]
    assert out["entity_text"][0][:2] == ["John\x01Smith", "Anna\x01Lee"]


def test_an_empty_batch_gets_an_empty_answer(trained):
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(trained["export"])
    out = loaded.signatures["serving_default"](text=tf.zeros([0], tf.string))
    assert out["token_count"].shape == (0,) and out["entity_count"].shape == (0,)
    assert out["tags"].shape[0] == 0 and out["entity_text"].shape[0] == 0
    for shape in ((0, 0), (0, 3)):
        tags = loaded.signatures["tag_tokens"](tokens=tf.constant(np.full(shape, "", object), tf.string))["tags"]
        assert tags.shape == shape


def test_the_predictor_handles_an_empty_list_without_calling_the_model(trained):
    from keras_rnn.tasks.tagging import TaggerPredictor

    predictor = TaggerPredictor(trained["export"])
    assert predictor.tag([]) == [] and predictor.tag_tokens([]) == []
    empty, one = predictor.tag_tokens([[], ["Maria"]])
    assert empty == [] and len(one) == 1 and one[0] in VALID_TAGS


# --- The predictor -----------------------------------------------------------------------------------


def test_tag_tokens_keeps_the_order_given(trained):
    from keras_rnn.tasks.tagging import TaggerPredictor

    sentences = [
        (["Maria", "works", "for", "Bank", "of", "Spain", "in", "Rio", "de", "Janeiro", "."],
         ["B-PER", "O", "O", "B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "I-LOC", "I-LOC", "O"]),
        (["Peter", "visited", "Tokyo", "."], ["B-PER", "O", "B-LOC", "O"]),
        (["Google", "opened", "an", "office", "in", "Berlin", "."], ["B-ORG", "O", "O", "O", "O", "B-LOC", "O"]),
        (["Yesterday", "Karen", "met", "Li", "Wei", "."], ["O", "B-PER", "O", "B-PER", "I-PER", "O"]),
    ]
    predictor = TaggerPredictor(trained["export"], batch_size=2)  # several batches, sorted by length inside
    tags = predictor.tag_tokens(tokens for tokens, _ in sentences)
    assert tags == [gold for _, gold in sentences]


def test_tag_tokens_equals_the_models_own_validation_predictions(trained, corpus):
    from keras_rnn.tasks.tagging import TaggerPredictor

    tags = TaggerPredictor(trained["export"], batch_size=7).tag_tokens(tokens for tokens, _ in corpus["valid"])
    assert tags == trained["result"].validation_tags


# --- The command line --------------------------------------------------------------------------------


def tiny_flags(epochs: int = 1) -> list[str]:
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in TINY_TAGGER.items() if key != "learning_rate"]
    return flags + ["--learning-rate=0.01", f"--epochs={epochs}", "--verbose=0"]


@pytest.fixture(scope="module")
def cli_trained(corpus, tmp_path_factory):
    """`keras-rnn train tagging` for one epoch: an imperfect model, so matching figures mean something."""
    root = tmp_path_factory.mktemp("cli")
    output, run_dir = str(root / "export"), str(root / "run")
    argv = ["train", "tagging", "--corpus", corpus["folder"], "--output", output, "--run-dir", run_dir,
            *tiny_flags()]
    status, out, err = run_cli(argv)
    assert status == 0, err[-3000:]
    return {"argv": argv, "output": output, "run_dir": run_dir, "summary": json.loads(out.strip().splitlines()[-1])}


def test_cli_train_writes_an_export_and_refuses_to_replace_it(cli_trained):
    summary, output = cli_trained["summary"], cli_trained["output"]
    assert summary["export"] == output and os.path.exists(os.path.join(output, "saved_model.pb"))
    with open(os.path.join(output, "keras_rnn.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["task"] == "tagging" and set(manifest["tags"]) == VALID_TAGS
    assert manifest["config"]["network"]["units"] == 8
    assert 0 < summary["val_f1"] <= 1 and len(read_history(cli_trained["run_dir"])) == 1
    status, _, err = run_cli(cli_trained["argv"])
    assert status == 2 and "already exists; pass --overwrite" in err


def test_cli_evaluate_reproduces_the_training_f1_and_writes_conlleval_columns(cli_trained, corpus, tmp_path):
    columns = tmp_path / "predictions.txt"
    status, out, err = run_cli(["evaluate", cli_trained["output"], "--output-file", str(columns)])
    assert status == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["f1"] == pytest.approx(cli_trained["summary"]["val_f1"], abs=1e-9)
    assert report["split"] == "validation" and "PER" in err  # the per-type table goes to standard error
    blocks = columns.read_text(encoding="utf-8").split("\n\n")
    assert blocks[-1] == ""  # the file ends with a blank line after the last sentence
    rows = [[line.split(" ") for line in block.split("\n")] for block in blocks[:-1]]
    assert len(rows) == len(corpus["valid"])
    for sentence, (tokens, gold) in zip(rows, corpus["valid"]):
        assert [r[0] for r in sentence] == tokens and [r[1] for r in sentence] == gold
        assert all(len(r) == 3 and r[2] in VALID_TAGS for r in sentence)
    # The predicted column scores what the JSON says.
    assert report["f1"] == pytest.approx(micro_f1([[r[1] for r in s] for s in rows], [[r[2] for r in s] for s in rows]))


@pytest.mark.parametrize("where", ["folder", "file"])
def test_cli_evaluate_on_a_named_corpus_split_or_file(cli_trained, corpus, where):
    corpus_args = ["--corpus", corpus["folder"], "--split", "valid"] if where == "folder" else \
        ["--corpus", corpus["valid_file"]]
    status, out, err = run_cli(["evaluate", cli_trained["output"], *corpus_args])
    assert status == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["f1"] == pytest.approx(cli_trained["summary"]["val_f1"], abs=1e-9)
    assert report["counts"]["sentences"] == len(corpus["valid"])


def test_cli_train_exports_a_finished_run_without_training_again(cli_trained, tmp_path):
    argv = list(cli_trained["argv"])
    output = str(tmp_path / "again")
    argv[argv.index(cli_trained["output"])] = output
    status, _, err = run_cli(argv)
    assert status == 0, err[-3000:]
    assert "finished run found; exporting it without training again" in err
    assert len(read_history(cli_trained["run_dir"])) == 1
    status, out, _ = run_cli(["evaluate", output])
    assert json.loads(out.strip().splitlines()[-1])["f1"] == pytest.approx(cli_trained["summary"]["val_f1"])


def test_cli_tag_prints_bracketed_entities_or_json(trained):
    export = trained["export"]
    texts = ["Maria visited Paris.", "José Müller works for Red Cross in Zürich ."]
    status, out, err = run_cli(["tag", export, *texts])
    assert status == 0, err
    assert out.splitlines() == ["[Maria PER] visited [Paris LOC].",
                                "[José Müller PER] works for [Red Cross ORG] in [Zürich LOC] ."]
    status, out, _ = run_cli(["tag", export, *texts, "--json"])
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["text"] for row in rows] == texts
    assert rows[0]["tokens"] == ["Maria", "visited", "Paris", "."] and rows[0]["tags"] == ["B-PER", "O", "B-LOC", "O"]
    assert rows[0]["offsets"] == [[0, 5], [6, 13], [14, 19], [19, 20]]
    assert rows[1]["entities"][0] == {"text": "José Müller", "type": "PER", "start": 0, "end": 11}
    status, out, _ = run_cli(["predict", export, texts[0]])
    assert status == 0 and out.splitlines() == ["[Maria PER] visited [Paris LOC]."]


def test_format_entities_brackets_each_entity_by_character_offsets():
    from keras_rnn.tasks.tagging import format_entities

    text = "Zürich: Ann Lee met Bob"
    row = {"entities": [{"text": "Zürich", "type": "LOC", "start": 0, "end": 6},
                        {"text": "Ann Lee", "type": "PER", "start": 8, "end": 15},
                        {"text": "Bob", "type": "PER", "start": 20, "end": 23}]}
    assert format_entities(text, row) == "[Zürich LOC]: [Ann Lee PER] met [Bob PER]"
    assert format_entities(text, {"entities": []}) == text


def test_cli_tag_conll_prints_every_line_with_one_more_column(trained, corpus, tmp_path):
    # A file in another layout: CRLF line ends, two columns, a sentence not ended by a blank line.
    path = tmp_path / "input.conll"
    lines = conll_lines(corpus["valid"][:5], documents=2) + ["Peter O", "visited O", "Tokyo O"]
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    status, out, err = run_cli(["tag", trained["export"], "--conll", str(path)])
    assert status == 0, err
    printed = out.split("\n")
    assert printed[-1] == "" and len(printed) - 1 == len(lines)
    gold = [tag for _, tags in corpus["valid"][:5] for tag in tags] + ["B-PER", "O", "B-LOC"]
    predicted = []
    for line, back in zip(lines, printed):
        if not line or line.startswith("-DOCSTART-"):
            assert back == line
        else:
            assert back.startswith(line + " ")
            predicted.append(back[len(line) + 1:])
    assert predicted == gold  # the model tags these templates perfectly


def test_cli_tag_conll_names_a_line_without_the_token_column(trained, tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("Maria NNP\nvisited VB\n\nParis\n", encoding="utf-8")
    status, _, err = run_cli(["tag", trained["export"], "--conll", str(path), "--token-column", "1"])
    assert status == 2 and f"{path}:4: no column 1" in err


# --- Bad corpora and configurations ------------------------------------------------------------------


def bad_corpus(tmp_path, edit) -> tuple[str, int]:
    """A CoNLL file of 30 sentences with a token line (the first from line 12 on) changed by `edit`:
    (path, its line number)."""
    lines = conll_lines(make_sentences(30, seed=3))
    number = next(n for n in range(12, len(lines)) if lines[n - 1] and not lines[n - 1].startswith("-DOCSTART-"))
    lines[number - 1] = edit(lines[number - 1])
    path = tmp_path / "train.conll"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path), number


@pytest.mark.parametrize("edit, message", [
    (lambda line: line.rsplit(" ", 1)[0], "expected 4 columns (as on line 3), found 3"),
    (lambda line: line.rsplit(" ", 1)[0] + " X-PER", "tag 'X-PER' is not an IOB2 tag"),
])
def test_cli_train_names_file_and_line_of_a_bad_corpus_line(tmp_path, edit, message):
    path, number = bad_corpus(tmp_path, edit)
    status, _, err = run_cli(["train", "tagging", "--corpus", path, "--output", str(tmp_path / "out"),
                              "--run-dir", str(tmp_path / "run"), *tiny_flags()])
    assert status == 2
    assert f"{path}:{number}: " in err and message in err
    assert not os.path.exists(tmp_path / "out")


def test_cli_train_names_the_file_of_an_unknown_tag_column(tmp_path):
    path, _ = bad_corpus(tmp_path, lambda line: line)
    status, _, err = run_cli(["train", "tagging", "--corpus", path, "--output", str(tmp_path / "out"),
                              "--run-dir", str(tmp_path / "run"), "--tag-column", "9", *tiny_flags()])
    assert status == 2
    assert f"{path}:3: unknown tag column 9: its lines have 4 columns" in err and "-4..3" in err


def test_an_unknown_tag_column_names_the_line_it_was_checked_on(tmp_path):
    from keras_rnn.data.tagging import read_conll

    path, _ = bad_corpus(tmp_path, lambda line: line)
    with pytest.raises(ValueError, match=f"{path}:3"):  # the first token line, the one read with 4 columns
        read_conll(path, tag_column=9)


def long_sentence_corpus(tmp_path) -> tuple[str, int]:
    """20 four-token sentences and, on line 3 + 5 * 10, a 12-token one of single-token entities."""
    people, cities = ["Maria", "Peter", "Karen", "Tom"] * 5, ["Paris", "Tokyo", "Berlin", "Rome", "Oslo"] * 4
    short = [([name, "visited", city, "."], ["B-PER", "O", "B-LOC", "O"]) for name, city in zip(people, cities)]
    long = (["Maria", "visited", "Paris", "and", "Peter", "visited", "Tokyo", "and", "Karen", "visited", "Berlin", "."],
            ["B-PER", "O", "B-LOC", "O", "B-PER", "O", "B-LOC", "O", "B-PER", "O", "B-LOC", "O"])
    sentences = short[:10] + [long] + short[10:]
    path = write_conll(tmp_path / "long.conll", sentences, documents=1)
    number = conll_lines(sentences, documents=1).index("Maria NNP B-NP B-PER", 2 + 10 * 5) + 1
    assert number == 53
    return path, number


def test_a_sentence_over_max_length_names_file_and_line(tmp_path):
    path, number = long_sentence_corpus(tmp_path)
    status, _, err = run_cli(["train", "tagging", "--corpus", path, "--output", str(tmp_path / "out"),
                              "--run-dir", str(tmp_path / "run"), *tiny_flags(), "--max-length", "4"])
    assert status == 2
    assert f"{path}:{number}: a sentence of 12 tokens is longer than max_length=4" in err
    assert "long_sentences='split'" in err


def test_long_sentences_split_trains_on_the_pieces(tmp_path):
    from keras_rnn.tasks.tagging import TaggingConfig, train_tagger

    path, _ = long_sentence_corpus(tmp_path)
    config = TaggingConfig(corpus=path, epochs=1, validation_fraction=0.2,
                           **{**TINY_TAGGER, "max_length": 4}, long_sentences="split")
    result = train_tagger(config, str(tmp_path / "run"), verbose=0)
    # 20 short sentences and the long one cut in three pieces of four tokens, split before carving.
    assert result.metrics["train_sentences"] + result.metrics["validation_sentences"] == 23
    assert result.metrics["train_tokens"] + result.metrics["validation_tokens"] == 20 * 4 + 12
    # The split is counted: one long sentence cut, none dropped, and the read report says so.
    assert result.metrics["long_sentences_split"] == 1 and result.metrics["long_sentences_dropped"] == 0
    assert any("1 long sentences split" in line for line in result.metrics["reads"])


@pytest.mark.parametrize("values, message", [
    ({"head": "hmm"}, "`head`: 'hmm'. Accepted values: 'crf', 'softmax'"),
    ({"tag_scheme": "IOB1"}, "`tag_scheme`: 'IOB1'. Accepted values: 'IOB2', 'IOBES'"),
    ({"long_sentences": "truncate"}, "`long_sentences`: 'truncate'. Accepted values: 'raise', 'split', 'drop'"),
    ({"scheme": "BIO"}, "`scheme`: 'BIO'. Accepted values: 'IOB1', 'IOB2', 'IOBES', 'plain', 'auto'"),
])
def test_invalid_config_values_name_the_value_and_the_accepted_ones(values, message):
    from keras_rnn.tasks.tagging import TaggingConfig

    with pytest.raises(ValueError) as raised:
        TaggingConfig(corpus="x.txt", **values)
    assert message in str(raised.value)


# --- Resume ------------------------------------------------------------------------------------------


class KillAfterEpoch(keras.callbacks.Callback):
    """Stands for a SIGKILL right after an epoch's history row and backup were written (it runs after them)."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("killed")


def test_a_run_killed_after_epoch_1_resumes_to_the_uninterrupted_length(trained, tmp_path, monkeypatch):
    import importlib

    core_train = importlib.import_module("keras_rnn.core.train")  # the package exports a `train` function too
    from keras_rnn.tasks.tagging import train_tagger

    real_fit = core_train.fit_resumable

    def killed_fit(*args, callbacks=(), **kwargs):
        return real_fit(*args, callbacks=(*callbacks, KillAfterEpoch(0)), **kwargs)

    run_dir = str(tmp_path / "run")
    monkeypatch.setattr(core_train, "fit_resumable", killed_fit)
    with pytest.raises(RuntimeError, match="killed"):
        train_tagger(trained["config"], run_dir, verbose=0)
    monkeypatch.undo()
    assert [int(row["epoch"]) for row in read_history(run_dir)] == [0]
    assert not os.path.exists(os.path.join(run_dir, "metrics.json"))

    result = train_tagger(trained["config"], run_dir, verbose=0)
    history = read_history(run_dir)
    uninterrupted = read_history(trained["run_dir"])
    assert [row["epoch"] for row in history] == [row["epoch"] for row in uninterrupted]
    assert result.metrics["epochs_this_call"] == EPOCHS - 1  # the finished epoch was not trained again
    assert all(row["val_f1"] for row in history) and result.metrics["val_f1"] >= 0.9


# --- Plain labels (part of speech), and more bad input -----------------------------------------------


def test_plain_labels_train_a_part_of_speech_tagger_scored_token_by_token(corpus, tmp_path):
    from keras_rnn.tasks.tagging import TAGGING, TaggerPredictor, TaggingConfig, train_tagger

    # The POS column of the same files: "NNP" on names, "VB" on other words, "." on full stops.
    config = TaggingConfig(corpus=corpus["folder"], scheme="plain", tag_column=1, epochs=2, patience=2,
                           **TINY_TAGGER)
    result = train_tagger(config, str(tmp_path / "run"), verbose=0)
    assert result.tags == ["[PAD]", ".", "NNP", "VB"]  # kept as they are, not IOB-converted
    gold = [["." if t == "." else ("NNP" if g != "O" else "VB") for t, g in zip(*s)] for s in corpus["valid"]]
    correct = sum(p == g for ps, gs in zip(result.validation_tags, gold) for p, g in zip(ps, gs))
    accuracy = correct / sum(len(g) for g in gold)
    assert result.metrics["val_f1"] == pytest.approx(accuracy) == result.metrics["val_token_accuracy"]
    assert accuracy > 0.9 and set(result.metrics["val_per_type"]) == {".", "NNP", "VB"}
    export = TAGGING.export(str(tmp_path / "export"), result)
    predictor = TaggerPredictor(export)
    assert predictor.tag_tokens([["Maria", "visited", "Paris", "."]]) == [["NNP", "VB", "NNP", "."]]
    row = predictor.tag(["Maria visited Paris ."])[0]
    assert row["tags"] == ["NNP", "VB", "NNP", "."] and row["entities"] == []  # labels name no entity
    status, out, err = run_cli(["evaluate", export])
    assert status == 0 and "token-level scores of plain labels" in err
    assert json.loads(out)["f1"] == pytest.approx(accuracy)


def test_part_of_speech_tags_read_as_entities_suggest_plain(corpus, tmp_path):
    from keras_rnn.data.tagging import read_conll

    with pytest.raises(ValueError, match=r"train\.txt:3: tag '(NNP|VB)' is not an IOB2 tag.*pass scheme='plain'"):
        read_conll(os.path.join(corpus["folder"], "train.txt"), tag_column=1, scheme="IOB2")


def test_an_empty_token_is_refused_with_its_line(tmp_path):
    from keras_rnn.data.tagging import read_jsonl

    path = tmp_path / "empty.jsonl"
    path.write_text('{"tokens": ["Ann", "sings"], "tags": ["B-PER", "O"]}\n'
                    '{"tokens": ["Bob", "", "hums"], "tags": ["B-PER", "O", "O"]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.jsonl:2 \(token 2\): an empty token"):
        read_jsonl(str(path))


def test_a_single_file_has_no_test_split(trained, corpus, tmp_path):
    status, _, err = run_cli(["evaluate", trained["export"], "--corpus", corpus["valid_file"], "--split", "test"])
    assert status == 2 and "is a single file, with no 'test' split in it" in err
    status, _, err = run_cli(["evaluate", trained["export"], "--limit", "-3"])
    assert status == 2 and "--limit -3" in err
