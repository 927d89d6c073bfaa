"""The notebooks run top to bottom with papermill (kernel python3) on small corpora the tests write, with
tiny models: any cell that raises fails the test. A few outputs are checked too: the NumPy recurrence
check ran, figures came out as images, the exported models were used."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import nbformat
import numpy as np
import papermill
import pytest

from conftest import TINY, synthetic_reviews, write_table
from test_summarization import TINY_SUMMARIZATION, memos
from test_translation import TINY_TRANSLATION, number_words, write_pairs

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
# The line the last cell of every notebook prints
WALL_TIME = r"^wall time [\d,]+ s \(setup cell to here\) on \d+ CPU cores"
NAMES = ["01_sentiment.ipynb", "02_translation.ipynb", "03_summarization.ipynb", "04_tuning.ipynb",
         "05_language_model.ipynb", "06_tagging.ipynb", "07_forecasting.ipynb"]


def execute(name: str, tmp_path: Path, monkeypatch, **parameters) -> nbformat.NotebookNode:
    """Runs a notebook in notebooks/ (where Jupyter would start it) with this checkout's package."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    output = tmp_path / name
    papermill.execute_notebook(
        str(NOTEBOOKS / name), str(output), parameters={"RUN_ROOT": str(tmp_path / "runs"), **parameters},
        kernel_name="python3", cwd=str(NOTEBOOKS), progress_bar=False, request_save_on_cell_execute=False,
    )
    notebook = nbformat.read(str(output), as_version=4)
    assert re.search(WALL_TIME, printed(notebook), re.M)
    return notebook


def printed(notebook) -> str:
    """Everything the code cells printed or returned as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "text/plain" in output.get("data", {}):
                parts.append(output["data"]["text/plain"])
    return "\n".join(parts)


def images(notebook) -> int:
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", []))


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_open_with_a_title_and_one_parameters_cell(name):
    notebook = nbformat.read(str(NOTEBOOKS / name), as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and "RUN_ROOT = None" in tagged[0].source and "OVERWRITE = False" in tagged[0].source
    assert notebook.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_carry_the_outputs_of_one_full_run_on_the_real_corpora(name):
    notebook = nbformat.read(str(NOTEBOOKS / name), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), counts  # every cell, in order, in one kernel
    errors = [o for cell in code for o in cell.outputs if o.get("output_type") == "error"]
    assert not errors, errors[0].get("ename") if errors else None
    text = printed(notebook)
    assert re.search(r"^corpus: \S*shared/data/", text, re.M)  # the corpus beside the repo, not a test corpus
    assert re.search(WALL_TIME, text, re.M)
    assert images(notebook) >= 1


def test_sentiment_notebook(tmp_path, monkeypatch):
    corpus = write_table(tmp_path / "reviews.tsv", synthetic_reviews(500))
    notebook = execute(
        "01_sentiment.ipynb", tmp_path, monkeypatch, CORPUS=corpus, EPOCHS=1, MAX_TOKENS=TINY["max_tokens"],
        MAX_LENGTH=TINY["max_length"], EMBEDDING_DIM=TINY["embedding_dim"], UNITS=TINY["units"],
        BATCH_SIZE=TINY["batch_size"], ARTICLE_EXAMPLES=200, ARTICLE_MAX_LENGTH=30, ARTICLE_EPOCHS=1,
    )
    text = printed(notebook)
    assert "NumPy and keras.layers.SimpleRNN agree on all 12 states" in text
    assert re.search(r"article example: validation accuracy [01]\.\d{3} on 20 reviews after 1 epoch", text)
    for model in ("SimpleRNN", "LSTM", "GRU", "BiGRU"):
        assert re.search(rf"^{model} +\d+ +[01]\.\d", text, re.M), model  # its row in the accuracy table
    assert "confusion matrix (rows: true, columns: predicted)" in text
    assert images(notebook) >= 2  # training curves, confusion matrix
    runs = tmp_path / "runs"
    assert {"SimpleRNN", "LSTM", "GRU", "BiGRU"} <= {p.name for p in runs.iterdir()}
    assert (runs / "export" / "saved_model.pb").is_file()


def test_translation_notebook(tmp_path, monkeypatch):
    corpus = write_pairs(tmp_path / "pairs.tsv", number_words(400, seed=0))
    tiny = dict(TINY_TRANSLATION)
    notebook = execute(
        "02_translation.ipynb", tmp_path, monkeypatch, CORPUS=corpus, SOURCE=tiny.pop("source"),
        TARGET=tiny.pop("target"), TSV_COLUMNS=tiny.pop("tsv_columns"), EPOCHS=1,
        EMBEDDING_DIM=tiny.pop("embedding_dim"), ENCODER_UNITS=tiny.pop("encoder_units"),
        DECODER_UNITS=tiny.pop("decoder_units"), ATTENTION="bahdanau",
        BEAM_WIDTH=tiny.pop("beam_width"), CONFIG={**tiny, "epochs": 1},
        SENTENCES=["Drei eins vier.", "Neun acht sieben sechs."],
    )
    text = printed(notebook)
    assert re.search(r"^model +parameters +val_perplexity +BLEU greedy +BLEU beam3", text, re.M)
    assert re.search(r"^no attention +\d+", text, re.M) and re.search(r"^bahdanau attention +\d+", text, re.M)
    assert "beam search changed" in text and "Drei eins vier.\n  -> " in text
    assert images(notebook) >= 4  # training curves, BLEU by length, two attention heatmaps
    assert (tmp_path / "runs" / "export" / "saved_model.pb").is_file()


def test_summarization_notebook(tmp_path, monkeypatch):
    corpus = tmp_path / "memos.tsv"
    corpus.write_text("".join(f"{d}\t{s}\n" for d, s in memos(400, seed=0)), encoding="utf-8")
    tiny = {k: v for k, v in TINY_SUMMARIZATION.items() if k != "beam_width"}
    documents = [document for document, _ in memos(2, seed=5)]
    notebook = execute(
        "03_summarization.ipynb", tmp_path, monkeypatch, CORPUS=str(corpus), EPOCHS=1,
        MAX_TOKENS=tiny.pop("max_tokens"), MAX_SOURCE_LENGTH=tiny.pop("max_source_length"),
        MAX_SUMMARY_LENGTH=tiny.pop("max_summary_length"), EMBEDDING_DIM=tiny.pop("embedding_dim"),
        ENCODER_UNITS=tiny.pop("encoder_units"), DECODER_UNITS=tiny.pop("decoder_units"),
        BEAM_WIDTH=1, CONFIG={**tiny, "epochs": 1}, LEAD_K=[2, 3], EXAMPLES=2,  # greedy: fewer graphs to trace
        DOCUMENTS=documents,
    )
    text = printed(notebook)
    assert re.search(r"^system +rouge1 +rouge2 +rougeL", text, re.M)
    for system in ("lead-2", "lead-3", "attention, greedy", "copy + coverage, greedy"):
        assert re.search(rf"^{re.escape(system)} +\d", text, re.M), system
    assert "outputs with an out-of-vocabulary word" in text and documents[0] in text
    assert images(notebook) >= 3  # training curves, one attention heatmap per model
    for export in ("export_attention", "export_copy_coverage"):
        assert (tmp_path / "runs" / export / "saved_model.pb").is_file()


def test_tuning_notebook(tmp_path, monkeypatch):
    corpus = write_table(tmp_path / "reviews.tsv", synthetic_reviews(300))
    notebook = execute(
        "04_tuning.ipynb", tmp_path, monkeypatch, CORPUS=corpus, TUNER="random", MAX_TRIALS=2, EPOCHS=1,
        MAX_TOKENS=TINY["max_tokens"], MAX_LENGTH=TINY["max_length"], SPACE={"cell": ["gru", "lstm"], "units": [4, 8]},
        CONFIG={"embedding_dim": TINY["embedding_dim"], "batch_size": TINY["batch_size"], "ngram_order": 0},
    )
    text = printed(notebook)
    assert "2 trials in" in text
    assert re.search(r"^trial +status +val_accuracy +fit_time_s +epochs +cell +units", text, re.M)
    assert re.search(r"exported best model: validation accuracy [01]\.\d{4}", text)
    assert images(notebook) >= 1  # objective by hyperparameter
    assert (tmp_path / "runs" / "best" / "saved_model.pb").is_file()


def play_lines(n: int, seed: int) -> str:
    """A made-up play: speakers in capitals, each with one short line of simple words."""
    rng = random.Random(seed)
    speakers = ["ROMEO", "JULIET", "KING", "NURSE", "FIRST CITIZEN"]
    verbs, things = ["loves", "sees", "calls", "will meet", "follows"], ["the king", "my lord", "the night", "her"]
    return "".join(f"{rng.choice(speakers)}:\n{rng.choice(['I', 'He', 'She', 'We'])} {rng.choice(verbs)} "
                   f"{rng.choice(things)}.\n\n" for _ in range(n))


def test_language_model_notebook(tmp_path, monkeypatch):
    corpus = tmp_path / "play"
    corpus.mkdir()
    (corpus / "train.txt").write_text(play_lines(100, seed=0), encoding="utf-8")  # about 3,000 characters
    (corpus / "validation.txt").write_text(play_lines(16, seed=1), encoding="utf-8")  # about 500
    notebook = execute(
        "05_language_model.ipynb", tmp_path, monkeypatch, CORPUS=str(corpus), UNITS=8, EMBEDDING_DIM=4, EPOCHS=1,
        SEQUENCE_LENGTH=20, BATCH_SIZE=4, NGRAM_ORDERS=[1, 2], MAX_NEW_TOKENS=40,
    )
    text = printed(notebook)
    assert re.search(r"^corpus: \S*play$", text, re.M)
    assert "the whole-sequence call and token-by-token stepping agree on all 14 next-token distributions" in text
    assert re.search(r"^batch 0: lane 0: ", text, re.M)  # the toy lanes
    assert re.search(r"validation \(corpus split validation, [\d,]+ tokens scored.*bits per char", text)
    assert re.search(r"^model +bits_per_char +perplexity +top_1_accuracy +top_3_accuracy", text, re.M)
    for model in ("GRU 8x1 \\(RNN\\)", "Kneser-Ney 1-gram", "Kneser-Ney 2-gram"):
        assert re.search(rf"^{model} +\d", text, re.M), model
    for temperature in (0.2, 0.5, 0.8, 1.2):
        assert f"--- temperature {temperature}\nROMEO:" in text, temperature
    for name in ("top-k, k = 5", "top-p, p = 0.9", "greedy (top-k, k = 1)", "beam search, width 4"):
        assert f"--- {name}\nROMEO:" in text, name
    assert "greedy search on the trained layer gives the export's top-k = 1 text: True" in text
    assert re.search(r"Shakespeare-like: +[\d.]+ bits per char", text)
    assert "--- one-to-many from 'K'" in text and "many-to-many: ids (1, " in text
    assert images(notebook) >= 3  # the lanes, training curves, a next-token distribution
    assert (tmp_path / "runs" / "export" / "saved_model.pb").is_file()


def conll_sentences(n: int, seed: int) -> str:
    """A made-up CoNLL-2003 file: short sentences with a PER, a LOC and sometimes an ORG, in the four
    columns (token, part of speech, chunk, NER tag in IOB2), a blank line after each sentence."""
    rng = random.Random(seed)
    people = [["Bob"], ["Yoda"], ["Alice", "Smith"], ["Maria", "Lopez"], ["Ken"]]
    places = [["Paris"], ["New", "York"], ["Berlin"], ["Tokyo"]]
    groups = [["Acme", "Corp"], ["Reuters"], ["Red", "Cross"], ["UN"]]

    def entity(words, kind):
        return [(word, f"{'B' if i == 0 else 'I'}-{kind}") for i, word in enumerate(words)]

    blocks = []
    for _ in range(n):
        tagged = entity(rng.choice(people), "PER") + [(rng.choice(["met", "called", "visited", "got"]), "O")]
        tagged += (entity(rng.choice(groups), "ORG") if rng.random() < 0.5
                   else [(rng.choice(["a", "the"]), "O"), (rng.choice(["toy", "report", "friend"]), "O")])
        tagged += [("in", "O"), *entity(rng.choice(places), "LOC"), (".", "O")]
        blocks.append("".join(f"{word} NNP B-NP {tag}\n" for word, tag in tagged))
    return "-DOCSTART- -X- -X- O\n\n" + "\n".join(blocks)


def test_tagging_notebook_runs_on_small_data(tmp_path, monkeypatch):
    """06_tagging on a tiny CoNLL folder."""
    corpus = tmp_path / "conll"
    corpus.mkdir()
    (corpus / "train.txt").write_text(conll_sentences(60, seed=0), encoding="utf-8")
    (corpus / "valid.txt").write_text(conll_sentences(12, seed=1), encoding="utf-8")
    notebook = execute(
        "06_tagging.ipynb", tmp_path, monkeypatch, CORPUS=str(corpus), EPOCHS=1, UNITS=8, WORD_EMBEDDING_DIM=8,
        CHAR_FILTERS=4, BATCH_SIZE=8, CONFIG={"char_embedding_dim": 4, "casing_dim": 2},
        SENTENCES=["Bob got a toy Yoda.", "Alice Smith visited Paris."], PLOT_SENTENCES=2,
    )
    text = printed(notebook)
    assert re.search(rf"^corpus: {re.escape(str(corpus))}$", text, re.M)
    assert "train 60 sentences, validation 12 (corpus split valid)" in text  # corpus.describe()
    for head in ("crf", "softmax"):
        assert re.search(rf"^{head}: validation entity F1 [01]\.\d{{4}}$", text, re.M), head
        assert re.search(rf"^{head} export on 12 validation sentences: entity F1 [01]\.\d{{4}} \(the training run "
                         r"measured [01]\.\d{4}\)$", text, re.M), head
    # The export's bracketed output for the article's sentence (untrained, it may find no entity at all).
    assert re.search(r"^Bob got a toy Yoda\.\n  -> \[?Bob(?: \w+\])? got a toy \[?Yoda(?: \w+\])?\.$", text, re.M)
    tag = r"(?:[BI]-\w+|O)"
    assert re.search(rf"^Yoda +B-PER +{tag} +{tag} *$", text, re.M)  # hand, CRF and softmax tags of one token
    assert "tokens (1, 6) -> potentials (1, 6, " in text
    assert "entity-level scores (mode=conlleval, scheme=IOB2)" in text
    assert images(notebook) >= 4  # training curves, tag grid, F1 per type, errors per type
    runs = tmp_path / "runs"
    assert {"crf", "softmax"} <= {p.name for p in runs.iterdir()}
    for head in ("crf", "softmax"):
        assert (runs / f"export_{head}" / "saved_model.pb").is_file()


def daily_series(path: Path, days: int, seed: int) -> str:
    """A made-up daily series from 2001-01-01 (header `date,value`): a yearly swing, a weekly cycle and
    noise around 12."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    values = 12 + 4 * np.sin(2 * np.pi * t / 365.25) + 2 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.8, days)
    dates = np.datetime64("2001-01-01") + t
    path.write_text("date,value\n" + "".join(f"{d},{v:.3f}\n" for d, v in zip(dates, values)), encoding="utf-8")
    return str(path)


def test_forecasting_notebook_runs_on_small_data(tmp_path, monkeypatch):
    """07_forecasting on 400 generated days: 280 to train, 40 to validate, 80 held out."""
    corpus = daily_series(tmp_path / "series.csv", 400, seed=0)
    notebook = execute(
        "07_forecasting.ipynb", tmp_path, monkeypatch, CORPUS=corpus, INPUT_LENGTH=14, HORIZON=3, SEASON=7,
        UNITS=8, EPOCHS=2, PATIENCE=2, BATCH_SIZE=16, PLOT_STEPS=30,
    )
    text = printed(notebook)
    assert re.search(rf"^corpus: {re.escape(corpus)}$", text, re.M)
    assert "series.csv: 400 rows, 2001-01-01 to 2002-02-04, step 1 day; targets: value" in text  # describe()
    assert "parts: train [0, 280) 280, validation [280, 320) 40, test [320, 400) 80" in text
    assert "windows: 264 training, 38 validation" in text  # 280 - 14 - 3 + 1; 40 - 3 + 1 (inputs reach back)
    assert "a training batch: inputs (16, 14, 1) (windows, steps, input columns) -> targets (16, 3, 1)" in text
    # The validation and the test tables: the RNN and every baseline, one row each.
    for model in ("rnn", "persistence", "seasonal_naive(7)", "mean", "linear_autoregressive(14)"):
        rows = re.findall(rf"^[* ] {re.escape(model)} +\d+\.\d{{3}} ", text, re.M)
        assert len(rows) == 2, (model, rows)
    # The export repeats the training run's validation MAE.
    exported, measured = map(float, re.search(
        r"^export on the validation part: MAE (\S+) \(the training run measured (\S+)\)$", text, re.M).groups())
    assert exported == pytest.approx(measured, rel=1e-3)
    assert re.search(r"^the 0\.1–0\.9 interval holds the truth at \d+\.\d% of the 114 validation points "
                     r"\(nominal 80%\)", text, re.M)  # 38 windows x 3 steps
    assert re.search(r"^coverage by step ahead: \+1 [\d.]+%, \+2 [\d.]+%, \+3 [\d.]+%$", text, re.M)
    assert re.search(r"^HELD-OUT TEST PART: 80 points, 2001-11-17 to 2002-02-04; scored once", text, re.M)
    assert re.search(r"^forecasts: 78 windows x 3 steps x 1 targets", text, re.M)  # the test part: 80 - 3 + 1
    # forecast_csv: the three days after the file's last row, median and quantiles.
    assert re.search(r"^time +value +value_q0\.1 +value_q0\.5 +value_q0\.9 *$", text, re.M)
    for day in ("2002-02-05", "2002-02-06", "2002-02-07"):
        assert re.search(rf"^{day} +-?\d", text, re.M), day
    # the series, one window, training curves, error by step, forecasts, coverage by step, the next horizon
    assert images(notebook) >= 7
    runs = tmp_path / "runs"
    assert (runs / "run" / "history.csv").is_file() and (runs / "export" / "saved_model.pb").is_file()
