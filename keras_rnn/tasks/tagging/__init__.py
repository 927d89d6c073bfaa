"""Sequence tagging (many-to-many): every token gets a tag; named-entity recognition first, any
token-level labels (part of speech, chunks) too (`keras-rnn train tagging`).

The package: `config`, `preprocessor` (tokens → word, character and casing ids; text → tokens with
offsets), `pipeline` (corpus → length buckets, the compiled BiLSTM-CRF or softmax tagger, entity F1 every
epoch), `serving` (the export, text → entities and tokens → tags, and its predictor); this module
registers the task and its commands: `evaluate` (seqeval's entity report of an export on a corpus split)
and `tag` (texts → entities, or a CoNLL file → the same columns plus the predicted tag).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import tensorflow as tf

from keras_rnn.core.task import Task, register
from keras_rnn.core.train import train
from keras_rnn.tasks.tagging.config import TaggingConfig, TaggingData, TaggingNetwork, TaggingText
from keras_rnn.tasks.tagging.pipeline import (
    TAGGING_RUN_FILES, TaggingResult, build_compiled_tagger, load_finished_tagger, make_result,
    prepare_tagging_data, prepare_tagging_run_data, score_tagger, validation_scores,
)
from keras_rnn.tasks.tagging.preprocessor import TaggingPreprocessor, casing_ids, tokenize
from keras_rnn.tasks.tagging.serving import TaggerPredictor, TaggerServer, export_tagger


def _export(path: str, result: TaggingResult, *, overwrite: bool = False, beam_width: int | None = None) -> str:
    return export_tagger(path, result.model, result.preprocessor, result.tags, result.config, overwrite=overwrite,
                         metrics=result.metrics)


def _predict(path: str, texts: list[str]) -> list[dict]:
    return TaggerPredictor(path).tag(texts)


def format_entities(text: str, row: dict) -> str:
    """The text with each entity bracketed and typed: `[Bob PER] got a toy [Yoda PER].`

    Example:
    >>> format_entities("Bob got a toy Yoda.", {"entities": [{"text": "Bob", "type": "PER", "start": 0, "end": 3}]})
    '[Bob PER] got a toy Yoda.'
    """
    pieces, at = [], 0
    for entity in row["entities"]:
        pieces += [text[at:entity["start"]], f"[{text[entity['start']:entity['end']]} {entity['type']}]"]
        at = entity["end"]
    return "".join(pieces + [text[at:]])


def add_tag_arguments(parser: argparse.ArgumentParser) -> None:
    """`keras-rnn tag` flags: a CoNLL file instead of texts."""
    parser.add_argument("--conll", metavar="FILE",
                        help="tag the tokens of a CoNLL column file (blank lines end sentences); prints its lines "
                        "with the predicted tag as a last column, conlleval's input")
    parser.add_argument("--token-column", type=int, default=0, help="--conll: the token column (default: 0)")


def read_conll_lines(path: str, token_column: int = 0) -> tuple[list[str], list[list[tuple[int, str]]]]:
    """A CoNLL file's lines (line ends removed) and its sentences, each a list of `(line index, token)`;
    `-DOCSTART-` and blank lines end a sentence and belong to none (`run_tag` prints them back as they are)."""
    from keras_rnn.data.parallel import _open_text
    from keras_rnn.data.tagging import DOCSTART

    with _open_text(path) as f:
        lines = [line.rstrip("\r\n") for line in f]
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for index, line in enumerate(lines):
        fields = line.split()
        if not fields or fields[0] == DOCSTART:
            if current:
                blocks.append(current)
                current = []
            continue
        if not -len(fields) <= token_column < len(fields):
            raise ValueError(f"{path}:{index + 1}: no column {token_column} in {line.rstrip()!r} "
                             f"({len(fields)} columns).")
        current.append((index, fields[token_column]))
    if current:
        blocks.append(current)
    return lines, blocks


def run_tag(args: argparse.Namespace, texts: list[str]) -> int:
    predictor = TaggerPredictor(args.model)
    if args.conll:
        lines, sentences = read_conll_lines(args.conll, args.token_column)
        predicted = predictor.tag_tokens([[token for _, token in sentence] for sentence in sentences])
        extra = {index: tag for sentence, tags in zip(sentences, predicted)
                 for (index, _), tag in zip(sentence, tags)}
        for index, line in enumerate(lines):
            print(f"{line} {extra[index]}" if index in extra else line)
        return 0
    for text, row in zip(texts, predictor.tag(texts)):
        if args.json:
            print(json.dumps({"text": text, **row}, ensure_ascii=False))
        else:
            print(format_entities(text, row))
    return 0


def evaluate(args: argparse.Namespace, manifest: dict) -> int:
    """seqeval's entity report (CoNLL conlleval reading; plain labels: token scores) of an export on a
    corpus split, tagged through the export's `tag_tokens` signature alone; the per-type table goes to
    standard error."""
    from keras_rnn.data.tagging import PLAIN, read_tagging_split
    from keras_rnn.files import write_text_atomic
    from keras_rnn.tagging_metrics import entity_type_confusion, format_entity_report
    from keras_rnn.tasks.tagging.pipeline import load_corpus, reader_options, tag_report, training_scheme

    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit {args.limit}: expected a positive number of sentences.")
    config = TaggingConfig.from_dict(manifest["config"])
    scheme = training_scheme(config)
    source = config.data
    corpus = args.corpus or source.corpus
    if corpus == source.corpus and args.split in ("validation", source.train_split):
        # The model's own corpus: the split as training saw it (a carved validation part is not in "train").
        loaded = load_corpus(config)
        sentences = loaded.validation if args.split == "validation" else loaded.train
    else:
        # Any length: the export tags long sentences in windows.
        options = {**reader_options(config), "max_length": None}
        sentences = read_tagging_split(corpus, args.split, train_split=source.train_split, **options).sentences
    if args.limit:
        sentences = sentences[: args.limit]
    predicted = TaggerPredictor(args.model).tag_tokens(s.tokens for s in sentences)
    gold = [s.tags for s in sentences]
    report = tag_report(gold, predicted, scheme)
    if scheme != PLAIN:
        report["confusion"] = entity_type_confusion(gold, predicted)
    report.update(model=os.path.abspath(args.model), corpus=corpus, split=args.split)
    print(format_entity_report(report), file=sys.stderr)
    print(json.dumps(report))
    if args.output_file:
        # conlleval's input: token, gold tag, predicted tag; a blank line after each sentence.
        write_text_atomic(args.output_file, "".join(
            "".join(f"{t} {g} {p}\n" for t, g, p in zip(s.tokens, s.tags, tags)) + "\n"
            for s, tags in zip(sentences, predicted)))
    if args.json_path:
        write_text_atomic(args.json_path, json.dumps(report, indent=2) + "\n")
    return 0


TAGGING = register(Task(
    name="tagging", config_class=TaggingConfig,
    description="tokens → a tag each (named entities: word + character features → BiLSTM → CRF or softmax)",
    prepare=prepare_tagging_run_data, build=build_compiled_tagger, make_result=make_result,
    load_finished=load_finished_tagger, export=_export, predict=_predict, format_prediction=format_entities,
    monitor=("val_f1", "max"), score=score_tagger,
    objectives={"val_f1": "max", "val_loss": "min"}, default_objective="val_f1",
    decoded_scores=validation_scores, decoded_objectives=("val_f1",), evaluate=evaluate,
    generate_command="tag", add_generate_arguments=add_tag_arguments, run_generate=run_tag,
))


def train_tagger(
    config: TaggingConfig,
    run_dir: str,
    *,
    overwrite: bool = False,
    strategy: str | tf.distribute.Strategy = "default",
    verbose: str | int = "auto",
) -> TaggingResult:
    """Trains a tagger end to end in `run_dir`, resuming a killed run found there (`keras_rnn.core.train`
    with this task); the best epoch is the one of highest validation entity F1.

    Writes `config.json`, `vocabulary.json`, `tags.json`, `history.csv` (with `val_f1` every epoch),
    TensorBoard `logs/`, `best.weights.h5`, `model.keras` and `metrics.json` (with the per-type report).
    """
    return train(TAGGING, config, run_dir, overwrite=overwrite, strategy=strategy, verbose=verbose)


__all__ = ["TAGGING", "TAGGING_RUN_FILES", "TaggerPredictor", "TaggerServer", "TaggingConfig", "TaggingData",
           "TaggingNetwork", "TaggingPreprocessor", "TaggingResult", "TaggingText", "casing_ids", "export_tagger",
           "format_entities", "prepare_tagging_data", "tokenize", "train_tagger"]
