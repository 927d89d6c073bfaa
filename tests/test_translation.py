"""Translation end to end on a tiny generated language: training, decoding, export and serving together."""

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import run_with_tensorflow_alone
from keras_rnn.cli import main
from keras_rnn import TranslationConfig
from keras_rnn.export import read_manifest
from keras_rnn.tasks.translation import export_translation, translation_generator
from keras_rnn.metrics import bleu_and_chrf
from keras_rnn.serving import TextGenerator

GERMAN = "null eins zwei drei vier fünf sechs sieben acht neun".split()
ENGLISH = "zero one two three four five six seven eight nine".split()


def number_words(n: int, seed: int) -> list[tuple[str, str]]:
    """German digit words → English digit words, word for word, 1 to 7 digits, a full stop at the end."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        digits = [rng.randrange(10) for _ in range(rng.randint(1, 7))]
        pairs.append((" ".join(GERMAN[d] for d in digits).capitalize() + ".",
                      " ".join(ENGLISH[d] for d in digits).capitalize() + "."))
    return pairs


# Small enough to train in about half a minute on two cores, and to learn the task.
TINY_TRANSLATION = dict(
    source="de", target="en", tsv_columns=["en", "de"], embedding_dim=32, encoder_units=32, decoder_units=64,
    attention_units=32, dropout=0.0, label_smoothing=0.0, learning_rate=5e-3, batch_size=32, epochs=8,
    patience=8, beam_width=3,
)


def write_pairs(path, pairs):
    path.write_text("".join(f"{en}\t{de}\n" for de, en in pairs), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def translation(tmp_path_factory):
    from keras_rnn.tasks.translation import train_translation

    root = tmp_path_factory.mktemp("translation")
    corpus = write_pairs(root / "pairs.tsv", number_words(2500, seed=0))
    config = TranslationConfig(corpus=corpus, **TINY_TRANSLATION)
    result = train_translation(config, str(root / "run"), verbose=0)
    path = export_translation(str(root / "export"), result)
    return result, path


def test_the_model_learns_to_translate_unseen_sentences(translation):
    result, path = translation
    held_out = number_words(50, seed=99)
    outputs = TextGenerator(path).generate([de for de, _ in held_out])
    exact = np.mean([out == en for out, (_, en) in zip(outputs, held_out)])
    assert exact >= 0.9, list(zip(outputs, held_out))[:5]
    assert result.metrics["val_bleu_beam3"] >= 90
    assert result.metrics["val_bleu_beam3"] >= result.metrics["val_bleu_greedy"]


def test_the_result_keeps_the_validation_split_and_what_each_decoding_wrote(translation):
    result, _ = translation
    assert len(result.validation_sources) == len(result.validation_references) == result.metrics["validation_examples"]
    assert set(result.validation_outputs) == {"greedy", "beam3"}
    for name, outputs in result.validation_outputs.items():
        assert len(outputs) == len(result.validation_sources)
        assert bleu_and_chrf(outputs, result.validation_references)["bleu"] == result.metrics[f"val_bleu_{name}"]
    # in the order of the sources: the greedy outputs are what a greedy decoder writes for them
    generator = translation_generator(result.model, result.source_preprocessor, result.target_preprocessor,
                                      result.config, beam_width=1)
    first = result.validation_sources[:5]
    written = [t.decode("utf-8") for t in generator(tf.constant(first))["text"].numpy()]
    assert written == result.validation_outputs["greedy"][:5]


def test_savedmodel_translates_with_tensorflow_alone(translation):
    _, path = translation
    script = (
        "import json, sys, tensorflow as tf\n"
        f"serve = tf.saved_model.load({path!r}).signatures['serving_default']\n"
        "out = serve(text=tf.constant(['Drei eins vier.', 'Neun.']))\n"
        "print(json.dumps({'translation': [t.decode() for t in out['translation'].numpy()],\n"
        "                  'imported': sorted(m for m in sys.modules if m.startswith('keras_rnn'))}))\n"
    )
    served = run_with_tensorflow_alone(script)
    assert served == {"translation": ["Three one four.", "Nine."], "imported": []}


def test_saved_model_cli_lists_text_in_translation_out(translation):
    _, path = translation
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    done = subprocess.run([cli, "show", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default"],
                          capture_output=True, text=True, timeout=300, check=True)
    assert "inputs['text'] tensor_info:\n      dtype: DT_STRING" in done.stdout
    assert "outputs['translation'] tensor_info:\n      dtype: DT_STRING" in done.stdout


HARD_INPUTS = [
    b"",
    b"   \t\n ",
    "Qwertz Zxcv Yyy.".encode(),  # every word out of vocabulary
    ("eins " * 3000).encode(),  # far past the training max length
    b"\xff\xfe\x80 invalid utf-8 \x00",
    "😀 非常好 ﷽ Straße".encode(),
]


def test_server_gives_a_defined_output_for_hard_inputs(translation):
    _, path = translation
    serve = tf.saved_model.load(path).signatures["serving_default"]
    out = [t.decode("utf-8") for t in serve(text=tf.constant(HARD_INPUTS))["translation"].numpy()]
    assert out[0] == "" and out[1] == ""  # no tokens in, nothing out
    assert len(out) == len(HARD_INPUTS) and all(isinstance(t, str) for t in out)
    assert 0 < len(out[3].split()) <= 1.5 * 200 + 10  # source cut to 200 tokens, output bounded by it
    # Unknown words come out as the source word they attend to, never as "[UNK]".
    assert "[UNK]" not in " ".join(out)
    empty = serve(text=tf.constant([], tf.string))["translation"]
    assert empty.shape == (0,)


def test_sources_are_cut_at_the_configured_length(translation, tmp_path):
    """One source preprocessor, cutting at `max_source_length`, serves training and the export."""
    from keras_rnn.tasks.translation import make_preprocessors, preprocessors_from_run

    result, path = translation
    assert result.source_preprocessor.max_length == result.config.text.max_source_length == 200
    config = result.config.replace(max_length=5, max_source_length=5)
    assert make_preprocessors(config)[0].max_length == 5
    source, target = preprocessors_from_run(config, result.run_dir)  # the run's vocabularies, this cut
    generator = translation_generator(result.model, source, target, config, beam_width=1)
    out = generator(tf.constant(["Eins zwei drei vier fünf sechs sieben acht neun."]))
    assert out["source_tokens"].shape[1] == 5
    assert [t.decode() for t in out["source_tokens"][0].numpy()] == ["Eins", "zwei", "drei", "vier", "fünf"]
    # The export cuts where the configuration it was trained with says (200 here), in its own graph.
    long_source = " ".join(["eins"] * 250)
    tokens, _, _ = TextGenerator(path).attention(long_source)
    assert len(tokens) == 200
    with pytest.raises(ValueError, match="`max_source_length`: 0"):
        TranslationConfig(max_source_length=0)
    # Shorter than the training limit: training sources are cut there too, by the same layer.
    assert make_preprocessors(result.config.replace(max_source_length=30))[0].max_length == 30


def test_attention_signature_and_plot(translation, tmp_path):
    from keras_rnn.plotting import plot_attention

    _, path = translation
    source, outputs, weights = TextGenerator(path).attention("Zwei sieben.")
    assert source == ["Zwei", "sieben", "."] and outputs == ["Two", "seven", "."]
    assert weights.shape == (3, 3)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    assert weights[1].argmax() == 1  # "seven" looks at "sieben"
    png = plot_attention(source, outputs, weights, str(tmp_path / "a.png"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FileExistsError, match="overwrite"):
        plot_attention(source, outputs, weights, png)
    with pytest.raises(ValueError, match="do not match"):
        plot_attention(source, outputs[:2], weights, str(tmp_path / "b.png"))


def test_beam_width_is_fixed_at_export_and_one_is_greedy(translation, tmp_path):
    result, _ = translation
    path = export_translation(str(tmp_path / "greedy"), result, beam_width=1)
    assert read_manifest(path)["beam_width"] == 1
    assert TextGenerator(path).generate(["Eins zwei."]) == ["One two."]
    with pytest.raises(FileExistsError):
        export_translation(path, result)


def test_cli_translate_arguments_stdin_json_and_plot(translation, tmp_path, capsys, monkeypatch):
    import io

    _, path = translation
    png = str(tmp_path / "attention.png")
    assert main(["translate", path, "Acht acht.", "Null.", "--attention-plot", png]) == 0
    assert capsys.readouterr().out.splitlines() == ["Eight eight.", "Zero."]
    assert os.path.getsize(png) > 1000
    assert main(["translate", path, "Eins.", "--attention-plot", png]) == 2  # no silent overwrite
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("Fünf.\nSechs sechs.\n"))
    assert main(["translate", path, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{"text": "Fünf.", "translation": "Five."}, {"text": "Sechs sechs.", "translation": "Six six."}]
    # `predict` serves any task's export: for a translation model, what `translate` writes.
    assert main(["predict", path, "Acht acht.", "Null."]) == 0
    assert capsys.readouterr().out.splitlines() == ["Eight eight.", "Zero."]
    assert main(["predict", path, "Fünf.", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"text": "Fünf.", "translation": "Five."}


def test_cli_evaluate_scores_bleu_and_chrf_on_the_validation_split(translation, tmp_path, capsys):
    result, path = translation
    report_path, hypotheses = tmp_path / "bleu.json", tmp_path / "out.txt"
    assert main(["evaluate", path, "--json", str(report_path), "--output-file", str(hypotheses)]) == 0
    report = json.loads(report_path.read_text())
    assert report["bleu"] == result.metrics["val_bleu_beam3"]
    assert report["examples"] == result.metrics["validation_examples"]
    assert "tok:13a" in report["bleu_signature"] and report["chrf"] > 90
    assert len(hypotheses.read_text(encoding="utf-8").splitlines()) == report["examples"]


def test_cli_train_translation_end_to_end_and_errors(tmp_path, capsys):
    corpus = write_pairs(tmp_path / "pairs.tsv", number_words(200, seed=1))
    output = str(tmp_path / "export")
    flags = [f"--{k.replace('_', '-')}={','.join(v) if isinstance(v, list) else v}" for k, v in TINY_TRANSLATION.items()]
    argv = ["train", "translation", "--corpus", corpus, "--output", output, "--run-dir", str(tmp_path / "run"),
            "--verbose", "0", "--export-beam-width", "2", *flags, "--epochs", "1"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["export"] == output and "val_bleu_beam3" in printed
    manifest = read_manifest(output)
    assert manifest["task"] == "translation" and manifest["beam_width"] == 2
    assert manifest["config"]["data"]["source"] == "de" and manifest["config"]["data"]["tsv_columns"] == ["en", "de"]
    assert main(argv) == 2  # the export exists: no silent overwrite
    assert "already exists" in capsys.readouterr().err
    elsewhere = ["--output", str(tmp_path / "x"), "--run-dir", str(tmp_path / "x_run")]
    for bad, message in (("--attention=transformer", "attention"), ("--beam-width=0", "beam_width")):
        assert main(["train", "translation", "--corpus", corpus, bad, *elsewhere]) == 2
        assert message in capsys.readouterr().err
    assert main(["train", "translation", "--corpus", str(tmp_path / "missing.tsv"), "--source", "de",
                 "--target", "en", *elsewhere]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_unfinished_run_dir_keeps_its_vocabularies_and_history(tmp_path):
    from keras_rnn.tasks.translation import rescore_translation_run, train_translation

    corpus = write_pairs(tmp_path / "pairs.tsv", number_words(300, seed=2))
    run_dir = str(tmp_path / "run")
    # Greedy: fewer traces. A constant learning rate: a run whose rate decays may not change its epoch count.
    first = TranslationConfig(corpus=corpus, **{**TINY_TRANSLATION, "epochs": 1, "beam_width": 1,
                                                "lr_schedule": "constant"})
    train_translation(first, run_dir, verbose=0)
    vocabulary = (tmp_path / "run" / "target_vocabulary.txt").read_text(encoding="utf-8")
    # As if killed before the end: the next call reads the saved vocabularies instead of adapting again.
    os.remove(os.path.join(run_dir, "metrics.json"))
    second = first.replace(epochs=2)
    result = train_translation(second, run_dir, verbose=0)
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == ["0", "1"]
    assert (tmp_path / "run" / "target_vocabulary.txt").read_text(encoding="utf-8") == vocabulary
    rescored = rescore_translation_run(run_dir, beam_widths=(1,))
    assert rescored["val_bleu_greedy"] == result.metrics["val_bleu_greedy"]
