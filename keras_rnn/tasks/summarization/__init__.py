"""Summarization: document → summary with copy and coverage (`keras-rnn train summarization`).

The package: `config` (the configuration's parts), `pipeline` (documents → extended-id batches, the
compiled model, ROUGE, lead-k, results); its export is the seq2seq family's generator
(`keras_rnn.core.seq2seq`). This module registers the task.
"""

from __future__ import annotations

import os

import tensorflow as tf

from keras_rnn.core.seq2seq import export_generator
from keras_rnn.core.task import Task, register
from keras_rnn.core.train import train
from keras_rnn.tasks.base import add_export_beam_width, format_generated, predict_generated, report_outputs
from keras_rnn.tasks.summarization.config import (
    SummarizationConfig, SummarizationCorpus, SummarizationNetwork, SummarizationText,
)
from keras_rnn.tasks.summarization.pipeline import (
    ROUGE_TYPES, SUMMARIZATION_RUN_FILES, SummarizationData, SummarizationTrainResult,
    build_compiled_summarization_model, decoded_scores, lead_baseline, load_finished_summarization, make_preprocessor,
    make_result, prepare_summarization_data, prepare_summarization_run_data, preprocessor_from_run, rouge_report,
    score_summaries, score_summarization, summary_generator, summary_pairs_to_ids,
)


def export_summarization(path: str, result: SummarizationTrainResult, *, overwrite: bool = False,
                         beam_width: int | None = None) -> str:
    """A summarization SavedModel (`keras_rnn.core.seq2seq.export_generator`): `text` → `summary`, decoded
    with `beam_width` (default: the configuration's) fixed in the graph, and `attention`."""
    generator = summary_generator(result.model, result.preprocessor, result.config, beam_width)
    vocabularies = {"source_vocabulary.txt": result.preprocessor, "target_vocabulary.txt": result.preprocessor}
    return export_generator(path, generator, result.model, result.config, output_name="summary",
                            vocabularies=vocabularies, overwrite=overwrite, metrics=result.metrics)


def evaluate(args, manifest) -> int:
    """ROUGE of an export on a corpus split (best over the extra references where the corpus has them)."""
    from keras_rnn.data.parallel import decoded_pairs
    from keras_rnn.data.summarization import load_summarization, read_summarization_split
    from keras_rnn.serving import TextGenerator

    config = SummarizationConfig.from_dict(manifest["config"])
    source = config.data
    corpus = args.corpus or source.corpus
    features = dict(document_feature=source.document_feature, summary_feature=source.summary_feature,
                    data_dir=source.data_dir, download_and_prepare_kwargs=source.download_kwargs())
    if args.split == "validation" and corpus == source.corpus:
        data = load_summarization(corpus, split=source.train_split, validation_corpus=source.validation_corpus,
                                  validation_fraction=source.validation_fraction,
                                  validation_split=source.validation_split, seed=config.optimization.seed,
                                  **features)
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
    prepare=prepare_summarization_run_data, build=build_compiled_summarization_model, make_result=make_result,
    load_finished=load_finished_summarization, export=export_summarization, predict=predict_generated,
    format_prediction=format_generated, score=score_summarization,
    objectives={"val_loss": "min", "val_token_accuracy": "max", "val_perplexity": "min", "val_rouge1": "max",
                "val_rouge2": "max", "val_rougeL": "max"},
    default_objective="val_rouge1", decoded_scores=decoded_scores, decoded_objectives=("val_rouge1", "val_rouge2", "val_rougeL"),
    decoding_dimensions=("beam_width",),
    evaluate=evaluate, add_train_arguments=add_export_beam_width, generate_command="summarize",
))


def train_summarization(
    config: SummarizationConfig,
    run_dir: str,
    *,
    overwrite: bool = False,
    strategy: str | tf.distribute.Strategy = "default",
    verbose: str | int = "auto",
    evaluate_beam_widths: tuple[int, ...] | None = None,
    decoding_passes: int = 1,
) -> SummarizationTrainResult:
    """Trains a summarization model end to end in `run_dir`, resuming a killed run found there
    (`keras_rnn.core.train` with this task), then scores validation ROUGE with greedy search and with
    `config.decoding.beam_width`.

    Writes `config.json`, `vocabulary.txt`, `history.csv`, `logs/`, `best.weights.h5`, `model.keras`
    (best epoch by validation loss) and `metrics.json`.
    """
    return train(SUMMARIZATION, config, run_dir, overwrite=overwrite, strategy=strategy, verbose=verbose,
                 evaluate_beam_widths=evaluate_beam_widths, decoding_passes=decoding_passes)


__all__ = ["ROUGE_TYPES", "SUMMARIZATION", "SUMMARIZATION_RUN_FILES", "SummarizationConfig", "SummarizationCorpus",
           "SummarizationData", "SummarizationNetwork", "SummarizationText", "SummarizationTrainResult",
           "build_compiled_summarization_model", "export_summarization", "lead_baseline",
           "load_finished_summarization", "make_preprocessor", "prepare_summarization_data",
           "prepare_summarization_run_data", "preprocessor_from_run", "rouge_report", "score_summaries",
           "summary_generator", "summary_pairs_to_ids", "train_summarization"]
