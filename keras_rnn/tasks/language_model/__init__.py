"""Language modelling and text generation: a text → the next token, trained on a token stream
(`keras-rnn train language_model`); char or word level; generation, next-word suggestions and
log-probabilities from the export.

The package: `config`, `preprocessor` (text ↔ ids on either granularity), `data` (corpora → documents),
`pipeline` (stream → BPTT windows, the compiled network, exact validation scores), `generation`
(prompts → text through `keras_rnn.decoding`, next-token distributions, stream scores), `serving` (the
export and its predictor), `baselines` (smoothed n-gram models to compare with); this module registers
the task.
"""

from __future__ import annotations

import argparse
import json
import os

import tensorflow as tf

from keras_rnn.core.task import Task, register
from keras_rnn.core.train import train
from keras_rnn.tasks.language_model.config import (
    GenerationConfig, LanguageModelConfig, LanguageModelData, LanguageModelNetwork, LanguageModelText,
)
from keras_rnn.tasks.language_model.pipeline import (
    LANGUAGE_MODEL_RUN_FILES, LanguageModelResult, build_compiled_language_model, load_finished_language_model,
    make_result, prepare_language_model_data, prepare_language_model_run_data, score_language_model,
)
from keras_rnn.tasks.language_model.preprocessor import LanguageModelPreprocessor
from keras_rnn.tasks.language_model.serving import LanguageModelPredictor, LanguageModelServer, export_language_model


def _export(path: str, result: LanguageModelResult, *, overwrite: bool = False, beam_width: int | None = None) -> str:
    config = result.config if beam_width is None else result.config.replace(beam_width=beam_width)
    return export_language_model(path, result.language_model, result.preprocessor, config, overwrite=overwrite,
                                 metrics=result.metrics)


def _predict(path: str, texts: list[str]) -> list[dict]:
    predictor = LanguageModelPredictor(path)
    return [{"generated": generated, "next": [{"token": token, "probability": p} for token, p in suggestions]}
            for generated, suggestions in zip(predictor.generate(texts), predictor.next_words(texts))]


def _format_prediction(text: str, row: dict) -> str:
    return text + row["generated"]


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    """`keras-rnn generate` flags: the sampling settings (default: the export's)."""
    parser.add_argument("--max-new-tokens", type=int, default=None, help="most tokens to generate a prompt")
    parser.add_argument("--temperature", type=float, default=None, help="> 0; lower is closer to greedy")
    parser.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens (0: all)")
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling, in (0, 1] (1: off)")
    parser.add_argument("--seed", type=int, default=None, help="for reproducible samples")
    parser.add_argument("--next-words", action="store_true", help="print the most likely next tokens instead")


def run_generate(args: argparse.Namespace, texts: list[str]) -> int:
    predictor = LanguageModelPredictor(args.model)
    if args.next_words:
        for text, suggestions in zip(texts, predictor.next_words(texts)):
            if args.json:
                print(json.dumps({"text": text, "next": [{"token": t, "probability": p} for t, p in suggestions]},
                                 ensure_ascii=False))
            else:
                print("\t".join(f"{t!r}:{p:.3f}" for t, p in suggestions))
        return 0
    outputs = predictor.generate(texts, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                 top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    for text, output in zip(texts, outputs):
        print(json.dumps({"prompt": text, "generated": output}, ensure_ascii=False) if args.json else text + output)
    return 0


def evaluate(args: argparse.Namespace, manifest: dict) -> int:
    """Perplexity and bits per token of an export on a corpus split (each document scored from its start),
    with the export's `log_probability` signature alone."""
    from keras_rnn.tasks.language_model.data import load_documents, read_documents

    config = LanguageModelConfig.from_dict(manifest["config"])
    source = config.data
    corpus = args.corpus or source.corpus
    options = dict(document_unit=source.document_unit, text_feature=source.text_feature, data_dir=source.data_dir,
                   download_and_prepare_kwargs=source.download_kwargs())
    if corpus == source.corpus and args.split in ("validation", source.train_split):
        # The model's own corpus: the split as training saw it (a carved validation part is not in "train").
        split = load_documents(corpus, split=source.train_split, validation_corpus=source.validation_corpus,
                               validation_fraction=source.validation_fraction,
                               validation_split=source.validation_split, seed=config.optimization.seed, **options)
        documents = split.validation if args.split == "validation" else split.train
    else:
        documents = read_documents(corpus, args.split, **options)
    if args.limit:
        documents = documents[: args.limit]
    report = LanguageModelPredictor(args.model, batch_size=8).perplexity(documents)
    unit = "char" if config.text.granularity == "char" else "word"
    report[f"bits_per_{unit}"] = report.pop("bits_per_token")
    report.update(model=os.path.abspath(args.model), corpus=corpus, split=args.split, documents=len(documents))
    print(json.dumps(report))
    if args.json_path:
        from keras_rnn.files import write_text_atomic

        write_text_atomic(args.json_path, json.dumps(report, indent=2) + "\n")
    return 0


LANGUAGE_MODEL = register(Task(
    name="language_model", config_class=LanguageModelConfig,
    description="text → next token (Embedding → RNN → softmax over the vocabulary); generation, suggestions",
    prepare=prepare_language_model_run_data, build=build_compiled_language_model, make_result=make_result,
    load_finished=load_finished_language_model, export=_export, predict=_predict,
    format_prediction=_format_prediction, monitor=("val_loss", "min"), score=score_language_model,
    objectives={"val_perplexity": "min", "val_loss": "min", "val_top_3_accuracy": "max"},
    default_objective="val_perplexity", evaluate=evaluate, generate_command="generate",
    add_generate_arguments=add_generate_arguments, run_generate=run_generate,
))


def train_language_model(
    config: LanguageModelConfig,
    run_dir: str,
    *,
    overwrite: bool = False,
    strategy: str | tf.distribute.Strategy = "default",
    verbose: str | int = "auto",
) -> LanguageModelResult:
    """Trains a language model end to end in `run_dir`, resuming a killed run found there
    (`keras_rnn.core.train` with this task).

    Writes `config.json`, `vocabulary.json`, `history.csv`, TensorBoard `logs/`, `best.weights.h5`,
    `model.keras` (best epoch by validation loss) and `metrics.json` (with the exact stream figures).
    """
    return train(LANGUAGE_MODEL, config, run_dir, overwrite=overwrite, strategy=strategy, verbose=verbose)


__all__ = ["GenerationConfig", "LANGUAGE_MODEL", "LANGUAGE_MODEL_RUN_FILES", "LanguageModelConfig", "LanguageModelData",
           "LanguageModelNetwork", "LanguageModelPredictor", "LanguageModelPreprocessor", "LanguageModelResult",
           "LanguageModelServer", "LanguageModelText", "export_language_model", "prepare_language_model_data",
           "train_language_model"]
