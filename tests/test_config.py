"""Configurations in parts: built by field name or by part, JSON round trips in both forms, one flag a field."""

import dataclasses
import json

import pytest

from keras_rnn import SentimentConfig, SummarizationConfig, TranslationConfig
from keras_rnn.cli import build_parser, config_from_args
from keras_rnn.core.config import DataConfig, OptimizationConfig, TaskConfig

CONFIGS = (SentimentConfig, TranslationConfig, SummarizationConfig)


@pytest.mark.parametrize("config_class", CONFIGS)
def test_json_round_trips_grouped_and_the_flat_form_reads_the_same(config_class, tmp_path):
    config = config_class()
    grouped = json.loads(config.to_json())
    assert grouped["task"] == config_class.task and set(grouped) == {"task", *config_class.parts}
    assert config_class.from_dict(grouped) == config
    flat = {"task": config_class.task, **config.flat()}  # runs saved before the parts existed
    assert config_class.from_dict(flat) == config
    path = str(tmp_path / "config.json")
    changed = config.replace(batch_size=7, seed=3)
    changed.save(path)
    assert config_class.load(path) == changed != config
    assert changed.optimization.batch_size == 7 and changed.optimization.seed == 3


def test_shared_parts_are_shared_and_task_defaults_differ():
    sentiment, translation, summarization = (c() for c in CONFIGS)
    for config in (sentiment, translation, summarization):
        assert isinstance(config.data, DataConfig) and isinstance(config.optimization, OptimizationConfig)
    assert (sentiment.optimization.epochs, translation.optimization.epochs, summarization.optimization.epochs) == (3, 11, 6)
    assert (sentiment.data.validation_fraction, translation.data.validation_fraction) == (0.2, 0.05)
    assert translation.optimization.label_smoothing == 0.1 and summarization.optimization.label_smoothing == 0.0
    assert type(translation.network) is not type(summarization.network)  # summarization adds copy and coverage
    assert isinstance(summarization.network, type(translation.network))
    assert summarization.decoding.beam_width == 4 and translation.decoding.max_length_ratio == 1.5
    # The defaults the parts themselves declare stay generic.
    assert DataConfig().corpus == "" and OptimizationConfig().epochs == 3


def test_a_part_given_whole_and_fields_given_by_name():
    network = SentimentConfig.parts["network"](cell="lstm", units=16)
    config = SentimentConfig(network=network, units=32, corpus="x.tsv")
    assert config.network.cell == "lstm" and config.network.units == 32 and config.data.corpus == "x.tsv"
    assert SentimentConfig(network={"cell": "simple_rnn"}).network.cell == "simple_rnn"


def test_bad_names_and_values_are_named():
    with pytest.raises(ValueError, match=r"Unknown sentiment configuration keys \['unit'\]; accepted keys: .*'units'"):
        SentimentConfig(unit=3)
    with pytest.raises(ValueError, match=r"keys \['beam_width'\] in part 'network'"):
        SentimentConfig.from_dict({"network": {"beam_width": 3}})
    with pytest.raises(ValueError, match="This is a translation configuration, not a sentiment one"):
        SentimentConfig.from_dict(TranslationConfig().to_dict())
    with pytest.raises(ValueError, match="`validation_split`: 'time'. Accepted values: 'random', 'chronological'"):
        SentimentConfig(validation_split="time")
    with pytest.raises(ValueError, match="`cell`: 'rnn'"):
        TranslationConfig(cell="rnn")
    with pytest.raises(ValueError, match="min_length=20 is longer than max_summary_length=16"):
        SummarizationConfig(min_length=20)
    with pytest.raises(ValueError, match="need attention"):
        SummarizationConfig(attention="none")
    assert SentimentConfig(validation_split="chronological").data.validation_split == "chronological"


def test_field_names_must_be_unique_across_parts():
    @dataclasses.dataclass
    class Other:
        seed: int = 1

    class Clashing(TaskConfig):
        task = "clashing"
        parts = {"optimization": OptimizationConfig, "other": Other}

    with pytest.raises(TypeError, match="field 'seed' is in both part 'optimization' and 'other'"):
        Clashing()


@pytest.mark.parametrize("config_class", CONFIGS)
def test_one_flag_a_field_and_a_config_file_in_either_form(config_class, tmp_path):
    parser = build_parser()
    task = config_class.task
    flags = {action.dest for action in parser._subparsers._group_actions[0].choices["train"]
             ._subparsers._group_actions[0].choices[task]._actions}
    assert {field.name for field in config_class.fields()} <= flags
    grouped = tmp_path / "grouped.json"
    grouped.write_text(json.dumps({"optimization": {"seed": 5, "epochs": 2}}))
    args = parser.parse_args(["train", task, "--config", str(grouped), "--epochs", "4"])
    config = config_from_args(args, config_class)
    assert (config.optimization.seed, config.optimization.epochs) == (5, 4)  # the flag wins over the file
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"seed": 6}))
    args = parser.parse_args(["train", task, "--config", str(flat)])
    assert config_from_args(args, config_class).optimization.seed == 6


def test_a_task_needs_the_shared_parts_and_options_go_only_to_a_scorer(tmp_path):
    from keras_rnn.core.task import Task
    from keras_rnn.core.train import train
    from keras_rnn.tasks import get_task

    @dataclasses.dataclass
    class Rule:
        threshold: int = 1

    class NoOptimization(TaskConfig):
        task = "no_optimization"
        parts = {"data": DataConfig, "rule": Rule}

    unused = dict(prepare=None, build=None, make_result=None, load_finished=None, export=None, predict=None,
                  format_prediction=None)
    with pytest.raises(TypeError, match=r"NoOptimization.parts\['optimization'\] must be a OptimizationConfig"):
        Task(name="no_optimization", config_class=NoOptimization, description="", **unused)
    sentiment = get_task("sentiment")
    with pytest.raises(TypeError, match=r"'sentiment' scores nothing after training; it takes no \['decoding_passes'\]"):
        train(sentiment, SentimentConfig(), str(tmp_path / "run"), decoding_passes=2)
    with pytest.raises(TypeError, match="configured with a SentimentConfig, not a TranslationConfig"):
        train(sentiment, TranslationConfig(), str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()  # refused before anything was written
