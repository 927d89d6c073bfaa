"""keras-tuner search: spaces and their narrowing, errors, a search per task, export of the best model,
resume after a real kill, and a distributed search of a chief and two workers."""

from __future__ import annotations

import glob
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY, synthetic_reviews, write_table
from keras_rnn.cli import main
from keras_rnn import SentimentConfig, SummarizationConfig, TranslationConfig
from keras_rnn.tasks.tagging import TaggingConfig
from keras_rnn.search_space import Hyperparameter, boolean, choice, fixed, float_range, narrow_space, parse_spec
from keras_rnn.tuning import resolve_objective, resolve_search_space, run_search
from test_summarization import TINY_SUMMARIZATION, memos
from test_translation import TINY_TRANSLATION, number_words, write_pairs

# The sentiment settings of the searches below: TINY without the searched fields.
SEARCH_BASE = {k: v for k, v in TINY.items() if k not in SentimentConfig.search_space}
SEARCH_FLAGS = [f"--{k.replace('_', '-')}={v}" for k, v in {**SEARCH_BASE, "epochs": 1}.items()]
NARROW = ["--hp", "cell=gru,lstm", "--hp", "units=4,8", "--hp", "num_layers=1", "--hp", "embedding_dim=8"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    return write_table(tmp_path_factory.mktemp("tune") / "reviews.tsv", synthetic_reviews(600))


# --- Spaces ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, parse, expected", [
    ("32,64", int, choice(32, 64)),
    ("gru", str, fixed("gru")),
    ("1e-4:1e-2:log", float, float_range(1e-4, 1e-2, sampling="log")),
    ("0:0.5:0.1", float, float_range(0.0, 0.5, step=0.1)),
    ("1:3", int, Hyperparameter("int", min_value=1, max_value=3)),
    ("true,false", bool, boolean()),
    ("false", bool, fixed(False)),
])
def test_specs_from_the_command_line(text, parse, expected):
    assert parse_spec(text, parse, "x") == expected


@pytest.mark.parametrize("spec, parse", [
    ({"min": 1e-4, "max": 1e-2, "sampling": "log"}, float), ([32, 64], int), ("gru", str), ([True, False], bool),
])
def test_json_specs_round_trip(spec, parse):
    assert parse_spec(parse_spec(spec, parse, "x").to_json(), parse, "x") == parse_spec(spec, parse, "x")


@pytest.mark.parametrize("text, parse, message", [
    ("a:b", str, "not a valid range"),
    ("1:x", int, "cannot read 'x' as int"),
    ("3:1", int, "min < max"),
    ("0:1:log", float, "log sampling needs min > 0"),
    ("yes", bool, "not a boolean"),
    ({"low": 1}, int, "a range is"),
])
def test_bad_specs_name_the_value_and_what_is_accepted(text, parse, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(text, parse, "x")


def test_narrowing_replaces_only_the_named_dimensions():
    space = {"units": choice(32, 64, 128), "dropout": float_range(0.0, 0.5, step=0.1)}
    narrowed = narrow_space(space, {"units": "8,16"}, {"units": int, "dropout": float})
    assert narrowed == {"units": choice(8, 16), "dropout": space["dropout"]}
    with pytest.raises(ValueError, match=r"Unknown hyperparameter 'unit'.*\['dropout', 'units'\]"):
        narrow_space(space, {"unit": "8"}, {})


def test_each_task_space_covers_what_matters_for_rnns_and_is_valid():
    for config_class, extra in ((SentimentConfig, {"units", "num_layers"}),
                                (TranslationConfig, {"encoder_units", "attention", "beam_width"}),
                                (SummarizationConfig, {"encoder_units", "attention", "beam_width"})):
        space = config_class.search_space
        assert {"cell", "bidirectional", "embedding_dim", "dropout", "learning_rate"} | extra <= set(space)
        assert space["cell"] == choice("simple_rnn", "lstm", "gru")
        objective = "val_loss"
        resolve_search_space(config_class(), objective)  # every value the space can produce is accepted


def test_space_resolution_fixes_drops_and_checks():
    config = TranslationConfig()
    assert "beam_width" not in resolve_search_space(config, "val_loss")  # decoding only matters when decoded
    assert "beam_width" in resolve_search_space(config, "val_bleu")
    assert "cell" not in resolve_search_space(config, "val_bleu", fixed_fields=("cell",))
    with pytest.raises(ValueError, match="both fixed"):
        resolve_search_space(config, "val_bleu", {"cell": "gru"}, fixed_fields=("cell",))
    with pytest.raises(ValueError, match=r"Unknown hyperparameter 'max_length'.*other configuration fields"):
        resolve_search_space(config, "val_bleu", {"max_length": "10,20"})
    with pytest.raises(ValueError, match="cell"):  # the configuration's own check, before any training
        resolve_search_space(config, "val_bleu", {"cell": "gru,transformer"})
    with pytest.raises(ValueError, match="dropout"):
        resolve_search_space(config, "val_bleu", {"dropout": "0:1.5"})


def test_unknown_objective_and_tuner_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown objective 'val_bleu' for sentiment; accepted: \['val_accuracy'"):
        resolve_objective("sentiment", "val_bleu")
    assert resolve_objective("summarization", None) == ("val_rouge1", "max")
    with pytest.raises(ValueError, match="tuner.*grid"):
        run_search(SentimentConfig(), str(tmp_path / "run"), tuner="grid")


def test_cli_errors_exit_2_with_the_bad_value(reviews, tmp_path, capsys):
    common = ["tune", "sentiment", "--corpus", reviews, "--run-dir", str(tmp_path / "run")]
    for extra, message in ((["--tuner", "grid"], "'grid'"), (["--objective", "val_bleu"], "val_accuracy"),
                           (["--hp", "unitz=8"], "unitz"), (["--hp", "units"], "NAME=SPEC"),
                           (["--units", "8", "--hp", "units=4,8"], "both fixed")):
        assert main(common + extra) == 2
        assert message in capsys.readouterr().err
    space = tmp_path / "space.json"
    for content, message in (('["units"]', "must hold a JSON object"), ('{"unitz": [4, 8]}', "unitz"),
                             ('{"units": {"min": 8}}', "a range is")):
        space.write_text(content)
        assert main(common + ["--space", str(space)]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing is written before the arguments are checked


# --- Searches -------------------------------------------------------------------------------------------


def test_sentiment_search_writes_the_table_logs_and_exports_the_best(reviews, tmp_path, capsys):
    run_dir, export = tmp_path / "run", tmp_path / "best"
    argv = ["tune", "sentiment", "--corpus", reviews, "--tuner", "random", "--max-trials", "3",
            "--run-dir", str(run_dir), "--export-best", str(export), "--verbose", "0", *SEARCH_FLAGS, *NARROW]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert lines[0].split()[:5] == ["trial", "status", "val_accuracy", "fit_time_s", "epochs"]
    rows = json.loads((run_dir / "trials.json").read_text())
    assert len(rows) == 3 and all(row["status"] == "COMPLETED" for row in rows)
    assert (run_dir / "trials.csv").read_text().count("\n") == 4
    assert {row["cell"] for row in rows} <= {"gru", "lstm"} and {row["units"] for row in rows} <= {4, 8}
    assert all(row["num_layers"] == 1 and row["embedding_dim"] == 8 and row["fit_time_s"] > 0 for row in rows)
    best = max(rows, key=lambda row: row["val_accuracy"])
    assert summary["best"]["score"] == pytest.approx(best["val_accuracy"])
    assert summary["best_config"]["network"]["units"] == best["units"]
    assert summary["best_config"]["network"]["cell"] == best["cell"]

    # TensorBoard: scalars and an hparams session per trial.
    for row in rows:
        events = glob.glob(str(run_dir / "logs" / row["trial"] / "execution0" / "events.*"))
        assert events and any(b"hparams" in open(path, "rb").read() for path in events)

    # The export is the best trial's model, served like `train`'s: string in, label out.
    manifest = json.loads((export / "keras_rnn.json").read_text())
    assert manifest["config"]["network"]["units"] == best["units"]
    assert manifest["config"]["network"]["cell"] == best["cell"]
    serve = tf.saved_model.load(str(export)).signatures["serving_default"]
    texts = ["good great excellent film", "bad awful boring film"]
    probabilities = serve(text=tf.constant(texts))["probabilities"].numpy()
    assert probabilities.shape == (2, 2) and np.allclose(probabilities.sum(-1), 1, atol=1e-5)

    # Same command again: the search is finished, nothing reruns, the export is not overwritten.
    assert main(argv) == 2 and "already exists" in capsys.readouterr().err
    again = [a for a in argv if a not in ("--export-best", str(export))]
    assert main(again) == 0
    assert json.loads((run_dir / "trials.json").read_text()) == rows
    # A different search in the same folder is refused; --overwrite starts again.
    changed = [a if a != "units=4,8" else "units=4" for a in again]
    assert main(changed) == 2 and "different settings (changed: ['space'])" in capsys.readouterr().err
    assert main(changed + ["--overwrite", "--max-trials", "1"]) == 0
    assert [row["units"] for row in json.loads((run_dir / "trials.json").read_text())] == [4]


def test_hyperband_translation_search_on_validation_bleu(tmp_path):
    corpus = write_pairs(tmp_path / "pairs.tsv", number_words(600, seed=1))
    base = {k: v for k, v in TINY_TRANSLATION.items() if k not in TranslationConfig.search_space}
    config = TranslationConfig(corpus=corpus, **{**base, "epochs": 3})
    result = run_search(
        config, str(tmp_path / "run"), tuner="hyperband", objective="val_bleu", max_trials=3, decode_examples=40,
        space={"cell": "gru", "encoder_units": "16,32", "decoder_units": "32", "embedding_dim": "32",
               "encoder_layers": "1", "decoder_layers": "1", "attention": "luong,none", "beam_width": "1,3",
               "learning_rate": "0.01"},
        export_best=str(tmp_path / "best"), verbose=0,
    )
    assert len(result.trials) == 3 and all(row["status"] == "COMPLETED" for row in result.trials)
    assert all(0 <= row["val_bleu"] <= 100 and row["beam_width"] in (1, 3) for row in result.trials)
    assert {row["tuner/epochs"] for row in result.trials} <= {1, 3}  # Hyperband's budgets
    assert result.best_metrics["score"] == max(row["val_bleu"] for row in result.trials)
    assert "val_chrf" in result.best_metrics and "val_loss" in result.best_metrics
    manifest = json.loads((tmp_path / "best" / "keras_rnn.json").read_text())
    assert manifest["beam_width"] == result.best_config.decoding.beam_width  # the beam the objective was scored with
    serve = tf.saved_model.load(str(tmp_path / "best")).signatures["serving_default"]
    assert serve(text=tf.constant(["Eins zwei."]))["translation"].shape == (1,)


def test_bayesian_summarization_search_on_validation_rouge(tmp_path):
    corpus = tmp_path / "memos.tsv"
    corpus.write_text("".join(f"{d}\t{s}\n" for d, s in memos(400, seed=1)), encoding="utf-8")
    base = {k: v for k, v in TINY_SUMMARIZATION.items() if k not in SummarizationConfig.search_space}
    config = SummarizationConfig(corpus=str(corpus), **{**base, "epochs": 1})
    result = run_search(
        config, str(tmp_path / "run"), tuner="bayesian", objective="val_rouge2", max_trials=2, decode_examples=30,
        space={"cell": "gru", "encoder_units": "16", "decoder_units": "32", "embedding_dim": "16",
               "encoder_layers": "1", "coverage": "true,false"},
        verbose=0,
    )
    assert [row["status"] for row in result.trials] == ["COMPLETED", "COMPLETED"]
    assert all(0 <= row["val_rouge2"] <= 100 for row in result.trials)
    assert {"val_rouge1", "val_rougeL"} <= set(result.best_metrics)
    assert result.best_config.network.copy  # copy is the configuration's, never searched


def _conll_sentences(count: int, seed: int) -> str:
    """CoNLL lines of `count` sentences "<Name> [<Surname>] visited <City> ." (PER, LOC entities)."""
    rng = random.Random(seed)
    names, surnames, cities = ["Ann", "Bob", "Cy", "Dee"], ["Lee", "Moe"], ["Rome", "Oslo", "Lima"]
    lines = []
    for _ in range(count):
        words = [(rng.choice(names), "B-PER")]
        if rng.random() < 0.5:
            words.append((rng.choice(surnames), "I-PER"))
        words += [("visited", "O"), (rng.choice(cities), "B-LOC"), (".", "O")]
        lines += [f"{token} X X {tag}" for token, tag in words] + [""]
    return "\n".join(lines)


def test_random_tagging_search_on_validation_entity_f1(tmp_path):
    folder = tmp_path / "conll"
    folder.mkdir()
    (folder / "train.txt").write_text(_conll_sentences(120, seed=1), encoding="utf-8")
    (folder / "valid.txt").write_text(_conll_sentences(30, seed=2), encoding="utf-8")
    config = TaggingConfig(corpus=str(folder), epochs=2, word_embedding_dim=8, char_filters=8, char_embedding_dim=4,
                           casing_dim=2, batch_size=16)
    result = run_search(config, str(tmp_path / "run"), tuner="random", max_trials=2, space={
        "head": "crf,softmax", "units": "8", "num_layers": "1", "cell": "gru", "char_encoder": "cnn",
        "learning_rate": "0.01"}, verbose=0)
    assert [row["status"] for row in result.trials] == ["COMPLETED", "COMPLETED"]
    assert result.best_metrics["objective"] == "val_f1"  # the task's default objective
    scores = [row["val_f1"] for row in result.trials]
    assert all(0 <= score <= 1 for score in scores) and result.best_metrics["score"] == max(scores)
    assert {"val_precision", "val_recall", "val_loss"} <= set(result.best_metrics)


def test_random_forecasting_search_on_validation_mae(tmp_path):
    from keras_rnn.tasks.forecasting import ForecastingConfig

    days = 300
    dates = np.arange(np.datetime64("2001-01-01"), np.datetime64("2001-01-01") + days)
    values = 20 + 5 * np.sin(2 * np.pi * np.arange(days) / 7) + np.random.default_rng(0).normal(0, 0.5, days)
    corpus = tmp_path / "series.csv"
    corpus.write_text("date,temp\n" + "".join(f"{d},{v:.3f}\n" for d, v in zip(dates, values)), encoding="utf-8")
    config = ForecastingConfig(corpus=str(corpus), input_length=14, horizon=3, epochs=2, batch_size=32)
    result = run_search(config, str(tmp_path / "run"), tuner="random", max_trials=2, space={
        "units": "8,16", "cell": "gru", "num_layers": "1", "input_length": "14", "decoder": "direct,seq2seq",
        "dropout": "0", "learning_rate": "0.01"}, verbose=0)
    assert [row["status"] for row in result.trials] == ["COMPLETED", "COMPLETED"]
    assert result.best_metrics["objective"] == "val_mae"  # the task's default, in the series' units
    scores = [row["val_mae"] for row in result.trials]
    assert all(0 < score < 10 for score in scores) and result.best_metrics["score"] == min(scores)
    assert {"val_rmse", "val_mase", "val_loss"} <= set(result.best_metrics)


def test_every_trial_sees_the_training_batches_in_the_same_order(reviews, tmp_path):
    import keras_tuner

    from keras_rnn.tasks import get_task
    from keras_rnn.tuning import make_hypermodel

    task = get_task("sentiment")
    config = SentimentConfig(corpus=reviews, **{**TINY, "epochs": 2})
    data = task.prepare(config, str(tmp_path))
    space = resolve_search_space(config, "val_loss", {"cell": "gru", "units": "8", "embedding_dim": "8",
                                                     "num_layers": "1"})
    hypermodel = make_hypermodel(task, config, space, "val_loss", data, verbose=0)
    hp = keras_tuner.HyperParameters()
    # the same trial twice, after the shared dataset has already been through two epochs
    first = hypermodel.fit(hp, hypermodel.build(hp), epochs=2)
    second = hypermodel.fit(hp, hypermodel.build(hp), epochs=2)
    assert first["val_loss"] == second["val_loss"] and first["val_accuracy"] == second["val_accuracy"]

    def order(dataset):
        return [batch[0].numpy().tobytes() for batch in dataset]

    # fresh_train starts the shuffle over, while `train` goes on to other orders
    assert order(data.fresh_train()) == order(data.fresh_train())
    assert order(data.train) != order(data.train)


# --- Resume and distribution (real processes) -----------------------------------------------------------


def _tune_command(reviews, run_dir, max_trials):
    return [sys.executable, "-m", "keras_rnn", "tune", "sentiment", "--corpus", reviews, "--tuner", "random",
            "--max-trials", str(max_trials), "--run-dir", str(run_dir), "--verbose", "0", *SEARCH_FLAGS, *NARROW]


def _trial_runs(run_dir) -> dict[str, set[str]]:
    """Trial id → the ids of the processes that trained it (TensorBoard names its files after the pid)."""
    runs: dict[str, set[str]] = {}
    for path in glob.glob(os.path.join(run_dir, "logs", "*", "execution0", "train", "events.*")):
        trial = path.split(os.sep)[-4]
        runs.setdefault(trial, set()).add(os.path.basename(path).split(".")[-3])
    return runs


@pytest.mark.slow
def test_a_killed_search_resumes_without_repeating_finished_trials(reviews, tmp_path):
    run_dir = tmp_path / "run"
    command = _tune_command(reviews, run_dir, max_trials=3)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = run_dir / "search" / "trial_0" / "trial.json"
    deadline = time.time() + 240
    try:
        while not (first.exists() and '"COMPLETED"' in first.read_text()):
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "the first trial did not finish in 4 minutes"
            time.sleep(0.2)
        while "1" not in _trial_runs(run_dir):  # killed while the second trial trains
            assert time.time() < deadline
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    finished = first.read_text()

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads((run_dir / "trials.json").read_text())
    assert [row["trial"] for row in rows] == ["0", "1", "2"] and all(r["status"] == "COMPLETED" for r in rows)
    runs = _trial_runs(run_dir)
    assert len(runs["0"]) == 1 and first.read_text() == finished  # trained once, by the killed process
    assert len(runs["1"]) == 2  # the interrupted trial ran again, after the kill
    assert runs["1"] - runs["0"] == runs["2"]  # ... by the process that also ran the last one


@pytest.mark.slow
def test_a_chief_and_two_workers_finish_a_search_together(reviews, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_dir = tmp_path / "run"
    command = _tune_command(reviews, run_dir, max_trials=4)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(port)}
    processes = {}
    try:
        processes["chief"] = subprocess.Popen(command, env={**env, "KERASTUNER_TUNER_ID": "chief"},
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for worker in ("tuner0", "tuner1"):
            processes[worker] = subprocess.Popen(command, env={**env, "KERASTUNER_TUNER_ID": worker},
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outputs = {name: p.communicate(timeout=300) for name, p in processes.items()}
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    for name, p in processes.items():
        assert p.returncode == 0, f"{name}: {outputs[name][1][-2000:]}"
    table = outputs["chief"][0]
    assert table.count("COMPLETED") == 4 and json.loads(table.strip().splitlines()[-1])["best"]["score"] > 0
    assert outputs["tuner0"][0] == outputs["tuner1"][0] == ""  # workers train; the chief reports
    runs = _trial_runs(run_dir)
    assert sorted(runs) == ["0", "1", "2", "3"] and all(len(pids) == 1 for pids in runs.values())
    assert len(set().union(*runs.values())) == 2  # both workers trained trials
