"""Summarization end to end on a tiny generated corpus that needs copying: training, ROUGE, export and
serving together."""

import json
import random

import pytest
import tensorflow as tf

from conftest import run_with_tensorflow_alone
from keras_rnn import SummarizationConfig
from keras_rnn.serving import TextGenerator
from keras_rnn.tasks.summarization import export_summarization, lead_baseline, rouge_report

TOPICS = "meeting lunch report contract invoice".split()
FILLER = "please note that the we will be on at for see you soon thanks regards".split()


def name(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))


def memos(n: int, seed: int) -> list[tuple[str, str]]:
    """A memo mentions a topic and a person (a new made-up name nearly every time, so names are outside
    any vocabulary); its summary is "topic name"."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        topic, person = rng.choice(TOPICS), name(rng)
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
        words.insert(rng.randint(0, len(words)), f"the {topic} with {person}")
        pairs.append((" ".join(words) + " .", f"{topic} {person}"))
    return pairs


TINY_SUMMARIZATION = dict(
    max_tokens=60, max_source_length=30, max_summary_length=6, embedding_dim=32, encoder_units=32,
    decoder_units=64, attention_units=32, dropout=0.0, learning_rate=1e-2, batch_size=32, epochs=6, patience=6,
    beam_width=3,
)


@pytest.fixture(scope="session")
def summarization(tmp_path_factory):
    from keras_rnn.tasks.summarization import train_summarization

    root = tmp_path_factory.mktemp("summarization")
    corpus = root / "memos.tsv"
    corpus.write_text("".join(f"{d}\t{s}\n" for d, s in memos(1500, seed=0)), encoding="utf-8")
    config = SummarizationConfig(corpus=str(corpus), **TINY_SUMMARIZATION)
    result = train_summarization(config, str(root / "run"), verbose=0)
    path = export_summarization(str(root / "export"), result)
    return result, path


def test_copy_coverage_model_writes_unseen_names(summarization):
    result, path = summarization
    assert result.metrics["val_rouge1_greedy"] >= 90 and result.metrics["val_rouge2_beam3"] >= 85
    held_out = memos(40, seed=7)
    outputs = TextGenerator(path).generate([d for d, _ in held_out])
    exact = sum(out == summary for out, (_, summary) in zip(outputs, held_out)) / len(held_out)
    assert exact >= 0.9, list(zip(outputs, held_out))[:5]


def test_the_result_keeps_the_validation_split_and_what_each_decoding_wrote(summarization):
    result, _ = summarization
    count = result.metrics["validation_examples"]
    assert len(result.validation_documents) == len(result.validation_summaries) == count
    assert set(result.validation_outputs) == {"greedy", "beam3"}
    for name, outputs in result.validation_outputs.items():
        assert len(outputs) == count
        figures = rouge_report(outputs, result.validation_summaries, result.validation_references)
        assert figures["rouge2"] == result.metrics[f"val_rouge2_{name}"]
    # the outputs are in document order: most of them are the document's own target summary
    matches = sum(o == s for o, s in zip(result.validation_outputs["beam3"], result.validation_summaries))
    assert matches >= 0.9 * count


def test_summary_savedmodel_runs_with_tensorflow_alone(summarization):
    _, path = summarization
    document, summary = memos(1, seed=123)[0]
    script = (
        "import json, sys, tensorflow as tf\n"
        f"serve = tf.saved_model.load({path!r}).signatures['serving_default']\n"
        f"out = serve(text=tf.constant([{document!r}]))\n"
        "print(json.dumps({'summary': [t.decode() for t in out['summary'].numpy()],\n"
        "                  'imported': sorted(m for m in sys.modules if m.startswith('keras_rnn'))}))\n"
    )
    assert run_with_tensorflow_alone(script) == {"summary": [summary], "imported": []}


def test_summarizer_gives_a_defined_output_for_hard_inputs(summarization):
    _, path = summarization
    serve = tf.saved_model.load(path).signatures["serving_default"]
    hard = [b"", b"  \n\t", ("please " * 5000).encode(), b"\xff\xfe\x80 bad utf-8 \x00", "😀 非常好".encode()]
    out = [t.decode("utf-8") for t in serve(text=tf.constant(hard))["summary"].numpy()]
    assert out[0] == "" and out[1] == "" and len(out) == len(hard)
    assert all(len(text.split()) <= 6 for text in out)  # max_summary_length, whatever the input length
    assert out[2] and "[UNK]" not in " ".join(out)


def test_lead_baseline_and_rouge_report_with_references():
    assert lead_baseline(["a b c d", "x"], 2) == ["a b", "x"]
    report = rouge_report(["meeting friday"], ["lunch friday"], [["meeting on friday", ""]])
    assert report["rouge1"] == 50.0 and report["rouge1_best_of_references"] == 80.0
    assert set(report) == {f"{r}{suffix}" for r in ("rouge1", "rouge2", "rougeL") for suffix in ("", "_best_of_references")}


def test_cli_summarize_evaluate_and_wrong_task(summarization, tmp_path, capsys):
    from keras_rnn.cli import main

    result, path = summarization
    document, summary = memos(1, seed=321)[0]
    png = tmp_path / "attention.png"
    assert main(["summarize", path, document, "--json", "--attention-plot", str(png)]) == 0
    assert json.loads(capsys.readouterr().out.strip()) == {"text": document, "summary": summary}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["evaluate", path, "--output-file", str(tmp_path / "out.txt"), "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["examples"] == result.metrics["validation_examples"]
    assert report["rouge1"] == result.metrics["val_rouge1_beam3"]  # the export decodes with beam 3
    assert len((tmp_path / "out.txt").read_text().splitlines()) == report["examples"]
    assert main(["translate", path, "hello"]) == 2
    assert "needs a translation model" in capsys.readouterr().err


def test_cli_train_summarization_exports_and_refuses_to_overwrite(tmp_path, capsys):
    from keras_rnn.cli import main

    corpus = tmp_path / "memos.tsv"
    corpus.write_text("".join(f"{d}\t{s}\n" for d, s in memos(200, seed=5)), encoding="utf-8")
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in {**TINY_SUMMARIZATION, "epochs": 1}.items()]
    args = ["train", "summarization", "--corpus", str(corpus), "--output", str(tmp_path / "export"),
            "--run-dir", str(tmp_path / "run"), "--verbose", "0", "--no-coverage", "--export-beam-width", "1"] + flags
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    manifest = json.loads((tmp_path / "export" / "keras_rnn.json").read_text())
    assert manifest["task"] == "summarization" and manifest["beam_width"] == 1
    assert manifest["config"]["network"]["copy"] and not manifest["config"]["network"]["coverage"]
    assert "val_rouge1_greedy" in out
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err


def test_train_summarization_reads_a_tfds_builder(tmp_path):
    """The documented default corpus, `aeslc`, through TFDS (mocked: no download here): training, the
    vocabulary, ROUGE on the builder's validation split."""
    import tensorflow_datasets as tfds

    from keras_rnn.tasks.summarization import train_summarization

    from unittest import mock

    from keras_rnn.data import summarization as summarization_data

    config = SummarizationConfig(corpus="aeslc", **{**TINY_SUMMARIZATION, "epochs": 1, "max_tokens": 200})
    # The mocked builder is not prepared, so its split names are patched in as TFDS lists them for aeslc.
    with tfds.testing.mock_data(num_examples=64), mock.patch.object(
            summarization_data, "tfds_splits", return_value={"train", "validation", "test"}):
        result = train_summarization(config, str(tmp_path / "run"), verbose=0)
    assert result.metrics["validation_examples"] == 64  # the builder's validation split, not a carve
    assert 0 < result.metrics["train_examples"] <= 64 and 0 <= result.metrics["val_rouge1_greedy"] <= 100
    assert (tmp_path / "run" / "vocabulary.txt").read_text().splitlines()[:2] == ["[START]", "[END]"]
