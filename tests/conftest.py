"""Shared fixtures: small corpora the tests make themselves, and one small trained, exported model."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

POSITIVE = "good great excellent wonderful superb lovely".split()
NEGATIVE = "bad awful terrible boring poor dull".split()
FILLER = "the movie plot actor scene film story was and it a".split()

# A configuration small enough to train in seconds on the synthetic corpus below.
TINY = dict(max_tokens=100, max_length=40, units=8, embedding_dim=8, ngram_bins=4096, batch_size=32, epochs=4,
            patience=4)


def synthetic_reviews(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Reviews of filler words plus two sentiment words; the label follows the sentiment words."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        positive = rng.random() < 0.5
        words = rng.choices(FILLER, k=rng.randint(3, 30)) + rng.choices(POSITIVE if positive else NEGATIVE, k=2)
        rng.shuffle(words)
        rows.append((" ".join(words), "positive" if positive else "negative"))
    return rows


def run_with_tensorflow_alone(script: str):
    """Runs `script` in a fresh Python with no `PYTHONPATH` (so no keras_rnn, as a server would load an
    export) and returns the JSON object its last printed line holds."""
    env = {**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd="/",
                          timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_benchmark(name: str):
    """A script of `benchmarks/` as a module (the folder is not a package tests import from)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_table(path, rows, header=("text", "label"), delimiter="\t"):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def write_folder(root, rows, split=None):
    base = root / split if split else root
    for i, (text, label) in enumerate(rows):
        folder = base / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}_0.txt").write_text(text, encoding="utf-8")
    return str(root)


@pytest.fixture(scope="session")
def tiny_tsv(tmp_path_factory):
    return write_table(tmp_path_factory.mktemp("corpus") / "reviews.tsv", synthetic_reviews(1200))


@pytest.fixture(scope="session")
def trained(tiny_tsv, tmp_path_factory):
    """One small model trained on the synthetic corpus, and its export (shared: training costs seconds)."""
    from keras_rnn import SentimentConfig
    from keras_rnn.tasks.sentiment import export_sentiment
    from keras_rnn.tasks.sentiment import train_sentiment

    config = SentimentConfig(corpus=tiny_tsv, **TINY)
    root = tmp_path_factory.mktemp("trained")
    result = train_sentiment(config, str(root / "run"), verbose=0)
    path = export_sentiment(str(root / "export"), result.model, result.preprocessor, result.class_names,
                            config, metrics=result.metrics)
    return result, path
