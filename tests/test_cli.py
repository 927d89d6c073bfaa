import json
import os

import pytest

from conftest import TINY
from keras_rnn.cli import build_parser, main


def tiny_flags():
    return [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]


def test_train_flags_cover_every_config_field():
    from keras_rnn import SentimentConfig

    args = build_parser().parse_args(["train", "sentiment", "--no-bidirectional", "--class-names", "a,b",
                                      "--units", "7", "--download-and-prepare-kwargs", '{"x": 1}'])
    assert (args.bidirectional, args.class_names, args.units) == (False, ["a", "b"], 7)
    assert args.download_and_prepare_kwargs == {"x": 1}
    for field in SentimentConfig.fields():
        assert hasattr(args, field.name)


def test_predict_from_arguments_file_and_json(trained, tmp_path, capsys):
    _, path = trained
    assert main(["predict", path, "great wonderful excellent", "awful terrible bad"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["positive", "negative"]
    texts = tmp_path / "texts.txt"
    texts.write_text("superb lovely\n\ndull poor\n", encoding="utf-8")
    assert main(["predict", path, "--file", str(texts), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [row["label"] for row in rows[::2]] == ["positive", "negative"] and rows[1]["text"] == ""


def test_evaluate_reports_accuracy_f1_and_confusion_matrix(trained, tmp_path, capsys):
    result, path = trained
    out_json = tmp_path / "eval.json"
    assert main(["evaluate", path, "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert "confusion matrix" in printed and "f1-score" in printed
    report = json.loads(out_json.read_text())
    assert report["accuracy"] == pytest.approx(result.metrics["val_accuracy"], abs=1e-6)
    matrix = report["confusion_matrix"]
    assert sum(map(sum, matrix)) == report["examples"] and len(matrix) == 2
    assert set(report["per_class"]) == {"negative", "positive"}


def test_evaluate_on_a_whole_file(trained, capsys):
    result, path = trained
    assert main(["evaluate", path, "--corpus", result.config.data.corpus, "--split", "all"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["examples"] == 1200


def test_train_then_predict_end_to_end(tiny_tsv, tmp_path, capsys):
    output, run_dir = str(tmp_path / "export"), str(tmp_path / "run")
    argv = ["train", "sentiment", "--corpus", tiny_tsv, "--output", output, "--run-dir", run_dir,
            "--verbose", "0", "--cell", "lstm", "--pooling", "last", "--epochs", "3", *tiny_flags()[:-2]]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["export"] == output and os.path.exists(os.path.join(output, "saved_model.pb"))
    with open(os.path.join(run_dir, "config.json")) as f:
        assert json.load(f)["network"]["cell"] == "lstm"
    assert main(argv) == 2  # the export exists: refused without --overwrite
    assert "already exists; pass --overwrite" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "sentiment", "--corpus", "./nowhere.tsv"], "'./nowhere.tsv' does not exist"),
        (["train", "sentiment", "--corpus", "x.tsv", "--units", "0"], "`units`: 0"),
        (["predict", "/no/such/model", "hi"], "is not a keras-rnn export"),
    ],
)
def test_errors_exit_2_with_a_message(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_evaluate_refuses_a_corpus_with_other_classes(trained, capsys):
    import tensorflow_datasets as tfds

    _, path = trained
    with tfds.testing.mock_data(num_examples=5):
        assert main(["evaluate", path, "--corpus", "imdb_reviews", "--split", "test"]) == 2
    assert "has classes ['neg', 'pos'], but the model was trained on ['negative', 'positive']" in capsys.readouterr().err


def test_predict_reads_standard_input(trained, capsys, monkeypatch):
    import io

    _, path = trained
    monkeypatch.setattr("sys.stdin", io.StringIO("great superb\nterrible dull\n"))
    assert main(["predict", path, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [(row["text"], row["label"]) for row in rows] == [("great superb", "positive"), ("terrible dull", "negative")]
