"""Translation: an RNN encoder-decoder from one language to another (`keras-rnn train translation`).

The package: `config` (the configuration's parts), `pipeline` (pairs → batches, the compiled model,
BLEU / chrF, results); its export is the seq2seq family's generator (`keras_rnn.core.seq2seq`). This
module registers the task.
"""

from __future__ import annotations

import os

import tensorflow as tf

from keras_rnn.core.seq2seq import export_generator
from keras_rnn.core.task import Task, register
from keras_rnn.core.train import train
from keras_rnn.tasks.base import add_export_beam_width, format_generated, predict_generated, report_outputs
from keras_rnn.tasks.translation.config import ParallelData, TranslationConfig, TranslationDecoding, TranslationText
from keras_rnn.tasks.translation.pipeline import (
    SEQ2SEQ_RUN_FILES, Seq2SeqData, Seq2SeqTrainResult, build_compiled_translation_model, decoded_scores,
    load_finished_translation, make_preprocessors, make_result, prepare_seq2seq_data, prepare_translation_run_data,
    preprocessors_from_run,
    rescore_translation_run, score_decoding, score_translation, translation_generator,
)


def export_translation(path: str, result: Seq2SeqTrainResult, *, overwrite: bool = False,
                       beam_width: int | None = None) -> str:
    """A translation SavedModel (`keras_rnn.core.seq2seq.export_generator`): `text` → `translation`,
    decoded with `beam_width` (default: the configuration's) fixed in the graph, and `attention`."""
    generator = translation_generator(result.model, result.source_preprocessor, result.target_preprocessor,
                                      result.config, beam_width)
    vocabularies = {"source_vocabulary.txt": result.source_preprocessor,
                    "target_vocabulary.txt": result.target_preprocessor}
    return export_generator(path, generator, result.model, result.config, output_name="translation",
                            vocabularies=vocabularies, overwrite=overwrite, metrics=result.metrics)


def evaluate(args, manifest) -> int:
    from keras_rnn.data.parallel import decoded_pairs, load_parallel, read_parallel_split
    from keras_rnn.metrics import bleu_and_chrf
    from keras_rnn.serving import TextGenerator

    config = TranslationConfig.from_dict(manifest["config"])
    source = config.data
    corpus = args.corpus or source.corpus
    languages = dict(source=source.source, target=source.target, tsv_columns=source.tsv_columns,
                     download_and_prepare_kwargs=source.download_kwargs())
    if args.split == "validation" and corpus == source.corpus:
        dataset = load_parallel(
            corpus, split=source.train_split, validation_corpus=source.validation_corpus,
            validation_fraction=source.validation_fraction, validation_split=source.validation_split,
            seed=config.optimization.seed, data_dir=source.data_dir, **languages).validation
    else:
        dataset = read_parallel_split(corpus, args.split, data_dir=source.data_dir, **languages)[0]
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
    prepare=prepare_translation_run_data, build=build_compiled_translation_model, make_result=make_result,
    load_finished=load_finished_translation, export=export_translation, predict=predict_generated,
    format_prediction=format_generated, score=score_translation,
    objectives={"val_loss": "min", "val_token_accuracy": "max", "val_perplexity": "min", "val_bleu": "max",
                "val_chrf": "max"},
    default_objective="val_bleu", decoded_scores=decoded_scores, decoded_objectives=("val_bleu", "val_chrf"),
    decoding_dimensions=("beam_width",),
    evaluate=evaluate, add_train_arguments=add_export_beam_width, generate_command="translate",
))


def train_translation(
    config: TranslationConfig,
    run_dir: str,
    *,
    overwrite: bool = False,
    strategy: str | tf.distribute.Strategy = "default",
    verbose: str | int = "auto",
    evaluate_beam_widths: tuple[int, ...] | None = None,
    decoding_passes: int = 1,
) -> Seq2SeqTrainResult:
    """Trains a translation model end to end in `run_dir`, resuming a killed run found there
    (`keras_rnn.core.train` with this task), then scores validation BLEU and chrF (sacrebleu) with greedy
    search and with `config.decoding.beam_width` (decoding rates: the best of `decoding_passes` runs).

    Writes `config.json`, `source_vocabulary.txt`, `target_vocabulary.txt`, `history.csv`, `logs/`,
    `best.weights.h5`, `model.keras` (best epoch by validation loss) and `metrics.json`.
    """
    return train(TRANSLATION, config, run_dir, overwrite=overwrite, strategy=strategy, verbose=verbose,
                 evaluate_beam_widths=evaluate_beam_widths, decoding_passes=decoding_passes)


__all__ = ["SEQ2SEQ_RUN_FILES", "TRANSLATION", "ParallelData", "Seq2SeqData", "Seq2SeqTrainResult", "TranslationConfig",
           "TranslationDecoding", "TranslationText", "build_compiled_translation_model", "export_translation",
           "load_finished_translation", "make_preprocessors", "prepare_seq2seq_data", "prepare_translation_run_data",
           "preprocessors_from_run", "rescore_translation_run", "score_decoding", "train_translation", "translation_generator"]
