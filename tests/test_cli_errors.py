"""Expected failures of every command end in one line on stderr and exit status 2, never a traceback;
--debug (or KERAS_RNN_DEBUG=1) shows the traceback; a bug keeps its traceback."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tarfile

import pytest
import tensorflow as tf

from conftest import TINY
from keras_rnn import cli
from keras_rnn.cli import error_message, main


def one_error_line(capsys, command: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"keras-rnn {command}: error: "), lines[0]
    return lines[0]


@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "broken.tar.gz").write_bytes(b"not an archive " * 20)
    (tmp_path / "bad.json").write_text("{units: 8", encoding="utf-8")
    (tmp_path / "list.json").write_text("[8, 16]", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "hypotheses.txt").write_text("a cat\n", encoding="utf-8")
    truncated = tmp_path / "truncated.tar.gz"
    with tarfile.open(tmp_path / "whole.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "hypotheses.txt", "neg/a.txt")
    truncated.write_bytes((tmp_path / "whole.tar.gz").read_bytes()[:-30])
    return tmp_path


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "sentiment", "--corpus", "broken.tar.gz"], "'broken.tar.gz' is not a readable tar archive"),
        (["train", "sentiment", "--corpus", "truncated.tar.gz"], "'truncated.tar.gz' is not a readable tar archive"),
        (["train", "summarization", "--corpus", "broken.tar.gz"], "'broken.tar.gz' is not a readable tar archive"),
        (["train", "sentiment", "--config", "bad.json"], "--config 'bad.json' is not valid JSON: Expecting property"),
        (["train", "translation", "--config", "list.json"], "--config 'list.json' must hold a JSON object"),
        (["train", "sentiment", "--config", "missing.json"], "No such file or directory: 'missing.json'"),
        (["tune", "sentiment", "--space", "folder"], "Is a directory: 'folder'"),
        (["predict", "folder", "--file", "folder"], "Is a directory: 'folder'"),
        (["evaluate", "--hypotheses", "folder", "--references", "hypotheses.txt"], "Is a directory: 'folder'"),
        (["evaluate", "--hypotheses", "hypotheses.txt", "--references", "nothing.txt"], "No such file"),
        (["summarize", "folder", "a text"], "is not a keras-rnn export"),
    ],
)
def test_bad_files_get_one_line_and_exit_2(argv, message, bad_files, capsys, monkeypatch):
    monkeypatch.chdir(bad_files)
    assert main([*argv, "--output", "out"] if argv[0] == "train" else argv) == 2
    assert message in one_error_line(capsys, argv[0])
    assert not os.path.exists(bad_files / "out")


def test_predict_file_that_is_a_folder(trained, tmp_path, capsys):
    _, path = trained
    assert main(["predict", path, "--file", str(tmp_path)]) == 2
    assert "Is a directory" in one_error_line(capsys, "predict")


def test_a_missing_package_names_it_and_the_install_command(bad_files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "rouge_score", None)  # import rouge_score now raises ImportError
    monkeypatch.chdir(bad_files)
    assert main(["evaluate", "--hypotheses", "hypotheses.txt", "--references", "hypotheses.txt"]) == 2
    line = one_error_line(capsys, "evaluate")
    assert "the Python package 'rouge-score' is missing" in line and "pip install -r requirements.txt" in line


def test_debug_flag_and_environment_variable_show_the_traceback(bad_files, capsys, monkeypatch):
    monkeypatch.chdir(bad_files)
    argv = ["train", "sentiment", "--corpus", "broken.tar.gz", "--output", "out"]
    with pytest.raises(ValueError, match="is not a readable tar archive"):
        main([*argv, "--debug"])
    with pytest.raises(ValueError, match="is not a readable tar archive"):
        main(["--debug", *argv])
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    with pytest.raises(ValueError, match="is not a readable tar archive"):
        main(argv)
    monkeypatch.setenv(cli.DEBUG_ENV, "0")
    assert main(argv) == 2


def test_a_bug_keeps_its_traceback_and_an_interrupt_says_how_to_resume(capsys, monkeypatch):
    def bug(args):
        raise KeyError("a programming error")

    monkeypatch.setattr(cli, "_predict", bug)
    with pytest.raises(KeyError):
        main(["predict", "model", "text"])

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_train", interrupted)
    assert main(["train", "sentiment"]) == 130
    assert "interrupted; run the same command again to resume" in capsys.readouterr().err


@pytest.mark.parametrize(
    "error, message",
    [
        (OSError(errno.ENOSPC, "No space left on device", "/out/variables"),
         "no space left on device while writing '/out/variables'. Nothing half-written was kept"),
        (tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor\n  [[node x]]"),
         "out of memory in TensorFlow (OOM when allocating tensor); try a smaller --batch-size"),
        (tf.errors.NotFoundError(None, None, "Op type not registered 'Foo'\nmore"),
         "TensorFlow NotFoundError: Op type not registered 'Foo'"),
        (PermissionError(errno.EACCES, "Permission denied", "/root/x"), "Permission denied: '/root/x'"),
        (ModuleNotFoundError("No module named 'keras_tuner'", name="keras_tuner"),
         "the Python package 'keras-tuner' is missing"),
    ],
)
def test_error_messages(error, message):
    assert message in error_message(error) and "\n" not in error_message(error)


def test_unexpected_errors_have_no_message():
    assert error_message(KeyError("x")) is None and error_message(RuntimeError("x")) is None


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB file system (tmpfs; needs root), too small for a SavedModel."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_export_onto_a_full_disk_leaves_nothing_half_written(small_disk, tiny_tsv, tmp_path, capsys):
    output = small_disk / "export"
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]
    argv = ["train", "sentiment", "--corpus", tiny_tsv, "--output", str(output), "--run-dir", str(tmp_path / "run"),
            "--verbose", "0", *flags, "--epochs", "1"]
    assert main(argv) == 2
    line = one_error_line(capsys, "train")
    assert "no space left on device" in line and "Nothing half-written was kept" in line
    assert os.listdir(small_disk) == []  # neither the export nor its temporary folder
    assert os.path.exists(tmp_path / "run" / "model.keras")  # the trained run is kept
    # Run again with room to write: the finished run is exported, not trained again.
    argv[argv.index("--output") + 1] = str(tmp_path / "export")
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "finished run found; exporting it without training again" in captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    with open(tmp_path / "run" / "metrics.json") as f:
        assert summary["val_accuracy"] == json.load(f)["val_accuracy"]
    assert main(["predict", str(tmp_path / "export"), "great superb wonderful"]) == 0
    # A changed configuration is not the run that was trained: refused.
    os.rename(tmp_path / "export", tmp_path / "export_1")
    assert main([*argv, "--units", "9"]) == 2
    assert "holds a finished run with a different configuration (changed: ['units'])" in one_error_line(capsys, "train")
