"""Summarization: document → summary with copy and coverage (`keras-rnn train summarization`)."""

from __future__ import annotations

import argparse
import os

from keras_rnn.config import SummarizationConfig
from keras_rnn.summarization_training import load_finished_summarization, train_summarization
from keras_rnn.tasks.base import (
    Task, add_export_beam_width, download_kwargs, format_generated, predict_generated, register, report_outputs,
)


def _export(path: str, result, config, args: argparse.Namespace) -> str:
    from keras_rnn.export import export_seq2seq

    return export_seq2seq(path, "summarization", result.model, result.preprocessor, result.preprocessor, config,
                          beam_width=args.export_beam_width, overwrite=args.overwrite, metrics=result.metrics)


def evaluate(args, manifest) -> int:
    from keras_rnn.data.parallel import decoded_pairs
    from keras_rnn.data.summarization import load_summarization, read_summarization_split
    from keras_rnn.serving import TextGenerator
    from keras_rnn.summarization_training import rouge_report

    config = SummarizationConfig.from_dict(manifest["config"])
    corpus = args.corpus or config.corpus
    features = dict(document_feature=config.document_feature, summary_feature=config.summary_feature,
                    data_dir=config.data_dir, download_and_prepare_kwargs=download_kwargs(config))
    if args.split == "validation" and corpus == config.corpus:
        data = load_summarization(corpus, split=config.train_split, validation_corpus=config.validation_corpus,
                                  validation_fraction=config.validation_fraction, seed=config.seed, **features)
        dataset, references = data.validation, data.validation_references
    else:
        dataset, references = read_summarization_split(corpus, args.split, **features)
    if args.limit is not None:
        dataset = dataset.take(args.limit)
        references = references[: args.limit] if references else references
    pairs = decoded_pairs(dataset)
    if not pairs:
        raise ValueError(f"Corpus {corpus!r} split {args.split!r} has no documents to evaluate.")
    outputs = TextGenerator(args.model).generate([d for d, _ in pairs])
    report = rouge_report(outputs, [s.strip() for _, s in pairs], references)
    report.update(examples=len(pairs), beam_width=manifest.get("beam_width"), use_stemmer=True,
                  model=os.path.abspath(args.model), corpus=corpus, split=args.split)
    return report_outputs(args, outputs, report)


SUMMARIZATION = register(Task(
    name="summarization", config_class=SummarizationConfig,
    description="document → summary (pointer-generator copy, coverage; ROUGE)",
    train=train_summarization, load_finished=load_finished_summarization, export=_export, predict=predict_generated,
    format_prediction=format_generated, evaluate=evaluate, add_train_arguments=add_export_beam_width,
))
