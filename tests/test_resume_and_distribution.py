"""Multi-process tests: a training run killed with SIGKILL resumes; two workers train together."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import keras_rnn  # noqa: F401  (registers the custom layers model.keras needs)
from conftest import synthetic_reviews, write_table

pytestmark = pytest.mark.slow
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ["--max-tokens", "100", "--max-length", "40", "--units", "8", "--embedding-dim", "8", "--ngram-bins", "4096",
         "--verbose", "2"]


def keras_rnn(*args):
    return [sys.executable, "-m", "keras_rnn", *args]


def environment(**extra):
    return {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1", **extra}


def history_epochs(run_dir, monitor="val_accuracy"):
    path = os.path.join(run_dir, "history.csv")
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f) if row.get(monitor)]


def test_a_killed_run_resumes_after_its_last_completed_epoch(tmp_path):
    corpus = write_table(tmp_path / "reviews.tsv", synthetic_reviews(2500, seed=2))
    run_dir, output = str(tmp_path / "run"), str(tmp_path / "export")
    command = keras_rnn("train", "sentiment", "--corpus", corpus, "--run-dir", run_dir, "--output", output,
                        "--epochs", "6", "--patience", "6", "--batch-size", "16", *SMALL)
    process = subprocess.Popen(command, env=environment(), cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while len(history_epochs(run_dir)) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    done_before_kill = history_epochs(run_dir)
    assert process.returncode == -signal.SIGKILL
    assert 2 <= len(done_before_kill) < 6, "the kill must land mid-training"
    assert not os.path.exists(output) and not os.path.exists(os.path.join(run_dir, "metrics.json"))

    resumed = subprocess.run(command, env=environment(), cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    first_epoch_rerun = len(done_before_kill) + 1
    assert f"Epoch {first_epoch_rerun}/6" in resumed.stdout
    assert "Epoch 1/6" not in resumed.stdout  # no finished epoch was trained again
    assert history_epochs(run_dir) == list(range(6))
    assert os.path.exists(os.path.join(output, "saved_model.pb"))


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def sentiment_corpus(tmp_path):
    return write_table(tmp_path / "reviews.tsv", synthetic_reviews(600, seed=3)), SMALL


def translation_corpus(tmp_path):
    """A word-for-word digit language (German words → English words), 400 pairs."""
    import random

    german = "null eins zwei drei vier fünf sechs sieben acht neun".split()
    english = "zero one two three four five six seven eight nine".split()
    rng = random.Random(5)
    lines = []
    for _ in range(400):
        digits = [rng.randrange(10) for _ in range(rng.randint(1, 5))]
        lines.append(" ".join(english[d] for d in digits) + "\t" + " ".join(german[d] for d in digits) + "\n")
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    return str(path), ["--source", "de", "--target", "en", "--tsv-columns", "en,de", "--embedding-dim", "8",
                       "--encoder-units", "8", "--decoder-units", "16", "--attention-units", "8", "--batch-size",
                       "32", "--beam-width", "2", "--verbose", "2"]


@pytest.mark.parametrize("task, corpus_and_flags", [("sentiment", sentiment_corpus),
                                                   ("translation", translation_corpus)])
def test_two_workers_train_together_and_agree_on_the_weights(task, corpus_and_flags, tmp_path):
    """Every task trains with several workers through the shared `train` (loopback cluster of two)."""
    corpus, flags = corpus_and_flags(tmp_path)
    run_dir, output = str(tmp_path / "run"), str(tmp_path / "export")
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    try:
        for index in range(2):
            tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
            command = keras_rnn("train", task, "--strategy", "multi_worker", "--corpus", corpus,
                                "--run-dir", run_dir, "--output", output, "--epochs", "2", *flags)
            processes.append(subprocess.Popen(command, env=environment(TF_CONFIG=tf_config), cwd=tmp_path,
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        outputs = [process.communicate(timeout=420)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    # Every worker's output when one fails: a crash on one shows up on the other as a collective error.
    assert [process.returncode for process in processes] == [0, 0], "\n---\n".join(out[-3000:] for out in outputs)
    chief = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    worker = keras.saving.load_model(os.path.join(run_dir, "workers", "1", "model.keras"))
    for a, b in zip(chief.get_weights(), worker.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    initial = keras.models.clone_model(chief)  # fresh weights: training really changed them
    assert any(not np.allclose(a, b) for a, b in zip(chief.get_weights(), initial.get_weights()))
    assert os.path.exists(os.path.join(output, "saved_model.pb"))
    assert not os.path.exists(os.path.join(run_dir, "workers", "1", "saved_model.pb"))
    # Each worker ran its half of the batches: the two histories have the same epochs.
    assert history_epochs(run_dir, "val_loss") == history_epochs(os.path.join(run_dir, "workers", "1"), "val_loss") == [0, 1]
    with open(os.path.join(run_dir, "metrics.json")) as f:
        chief_metrics = json.load(f)
    with open(os.path.join(run_dir, "workers", "1", "metrics.json")) as f:
        worker_metrics = json.load(f)
    if task == "translation":  # only the chief decodes
        assert "val_bleu_beam2" in chief_metrics and "val_bleu_beam2" not in worker_metrics


def test_a_killed_export_never_leaves_a_partial_model_at_the_target(trained, tmp_path):
    """SIGKILL mid-export: the target path never appears; only a hidden .partial folder may remain."""
    result, _ = trained
    target = tmp_path / "export"
    script = (
        "import keras, keras_rnn\n"
        "from keras_rnn import SentimentConfig\n"
        "from keras_rnn.data.text import TextPreprocessor\n"
        f"run = {result.run_dir!r}\n"
        "config = SentimentConfig.load(run + '/config.json')\n"
        "pre = TextPreprocessor.from_vocabulary_file(run + '/vocabulary.txt', max_tokens=config.text.max_tokens,\n"
        "                                            max_length=config.text.max_length)\n"
        "model = keras.saving.load_model(run + '/model.keras')\n"
        "print('writing', flush=True)\n"
        f"keras_rnn.export_sentiment({str(target)!r}, model, pre, {result.class_names!r}, config)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], env=environment(), stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        time.sleep(0.5)  # inside export_sentiment: tracing and writing take seconds
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".export.") and name.endswith(".partial") for name in leftovers)
