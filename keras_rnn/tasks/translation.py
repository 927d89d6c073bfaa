"""Translation: an RNN encoder-decoder from one language to another (`keras-rnn train translation`)."""

from __future__ import annotations

import argparse
import os

from keras_rnn.config import TranslationConfig
from keras_rnn.seq2seq_training import load_finished_translation, train_translation
from keras_rnn.tasks.base import (
    Task, add_export_beam_width, download_kwargs, format_generated, predict_generated, register, report_outputs,
)


def _export(path: str, result, config, args: argparse.Namespace) -> str:
    from keras_rnn.export import export_seq2seq

    return export_seq2seq(path, "translation", result.model, result.source_preprocessor, result.target_preprocessor,
                          config, beam_width=args.export_beam_width, overwrite=args.overwrite, metrics=result.metrics)


def evaluate(args, manifest) -> int:
    from keras_rnn.data.parallel import decoded_pairs, load_parallel, read_parallel_split
    from keras_rnn.metrics import bleu_and_chrf
    from keras_rnn.serving import TextGenerator

    config = TranslationConfig.from_dict(manifest["config"])
    corpus = args.corpus or config.corpus
    languages = dict(source=config.source, target=config.target, tsv_columns=config.tsv_columns,
                     download_and_prepare_kwargs=download_kwargs(config))
    if args.split == "validation" and corpus == config.corpus:
        dataset = load_parallel(
            corpus, split=config.train_split, validation_corpus=config.validation_corpus,
            validation_fraction=config.validation_fraction, seed=config.seed, data_dir=config.data_dir,
            **languages).validation
    else:
        dataset = read_parallel_split(corpus, args.split, data_dir=config.data_dir, **languages)[0]
    if args.limit is not None:
        dataset = dataset.take(args.limit)
    pairs = decoded_pairs(dataset)
    if not pairs:
        raise ValueError(f"Corpus {corpus!r} split {args.split!r} has no sentence pairs to evaluate.")
    generator = TextGenerator(args.model)
    outputs = generator.generate([s for s, _ in pairs])
    scores = bleu_and_chrf(outputs, [t for _, t in pairs])
    report = {"bleu": scores["bleu"], "chrf": scores["chrf"], "examples": len(pairs),
              "beam_width": manifest.get("beam_width"), "bleu_signature": scores["bleu_signature"],
              "chrf_signature": scores["chrf_signature"], "model": os.path.abspath(args.model),
              "corpus": corpus, "split": args.split}
    print(scores["bleu_text"])
    return report_outputs(args, outputs, report)


TRANSLATION = register(Task(
    name="translation", config_class=TranslationConfig,
    description="sentence → sentence (encoder-decoder, attention, beam search; BLEU)",
    train=train_translation, load_finished=load_finished_translation, export=_export, predict=predict_generated,
    format_prediction=format_generated, evaluate=evaluate, add_train_arguments=add_export_beam_width,
))
