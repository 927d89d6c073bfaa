"""`keras-rnn` command line: train, tune, evaluate, predict, translate and summarize.

    keras-rnn train sentiment --corpus imdb_reviews --output saved_models/imdb_gru
    keras-rnn evaluate saved_models/imdb_gru --corpus imdb_reviews --split test
    keras-rnn predict saved_models/imdb_gru "A wonderful film." "Dull and too long."
    keras-rnn train translation --corpus ted_hrlr_translate/pt_to_en --output saved_models/pt_en
    keras-rnn evaluate saved_models/pt_en                      # BLEU and chrF on the validation split
    keras-rnn translate saved_models/pt_en "Obrigado." --attention-plot attention.png
    keras-rnn train summarization --corpus aeslc --output saved_models/aeslc
    keras-rnn evaluate saved_models/aeslc                      # ROUGE-1/2/L on the validation split
    keras-rnn summarize saved_models/aeslc "Can we move Friday's meeting to noon?"
    keras-rnn evaluate --hypotheses summaries.txt --references refs.txt refs2.txt --metric rouge   # no model
    keras-rnn tune sentiment --tuner hyperband --max-trials 10 --hp units=32,64 --export-best saved_models/best
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Sequence

from keras_rnn.files import read_json_object

# Set (to anything but 0) to see the traceback of an expected failure, as --debug does.
DEBUG_ENV = "KERAS_RNN_DEBUG"
# Import name → the pip package that provides it, for "missing package" errors.
PACKAGES = {"keras_tuner": "keras-tuner", "rouge_score": "rouge-score", "sklearn": "scikit-learn",
            "tensorflow_datasets": "tensorflow-datasets", "tensorflow": "tensorflow-cpu (or tensorflow[and-cuda])",
            "kt_legacy": "kt-legacy"}


def _field_parser(field):
    """The argparse `type` for a config field, from its annotation (lists as comma-separated values)."""
    annotation = str(field.type)
    if annotation.startswith("list"):
        return lambda value: [item for item in value.split(",") if item]
    if annotation.startswith("dict"):
        return json.loads
    for name, parse in (("bool", None), ("int", int), ("float", float), ("str", str)):
        if annotation.startswith(name):
            return parse
    raise TypeError(f"No command-line parser for config field {field.name}: {annotation}")


def add_config_flags(parser: argparse.ArgumentParser, config_class) -> None:
    """One flag per configuration field, grouped by the configuration's parts, so the flags and the
    configuration never drift apart."""
    owners = config_class.field_parts()
    groups = {part: parser.add_argument_group(f"{part} ({config_class.parts[part].__name__})")
              for part in config_class.parts}
    for field in config_class.fields():
        flag = "--" + field.name.replace("_", "-")
        parse = _field_parser(field)
        default = f"(default: {config_class.default_value(field.name)})"
        group = groups[owners[field.name]]
        if parse is None:  # bool
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=default)
        else:
            group.add_argument(flag, type=parse, default=None, help=default)


def explicit_config_values(args, config_class) -> dict:
    """The configuration values the user set, by field name: from --config (grouped in parts or flat),
    then flags."""
    from keras_rnn.core.config import flatten_config_values

    values = {}
    if args.config:
        values.update(flatten_config_values(read_json_object(args.config, "--config"), config_class.parts))
    values.update({field.name: getattr(args, field.name) for field in config_class.fields()
                   if getattr(args, field.name) is not None})
    return values


def config_from_args(args, config_class):
    return config_class.from_dict(explicit_config_values(args, config_class))


def _config_class(task: str):
    from keras_rnn.tasks import get_task

    return get_task(task).config_class


def _read_texts(args) -> list[str]:
    """Texts from the command line, else from --file (one a line) or standard input."""
    texts = list(args.texts)
    if args.file or not texts:
        if args.file in (None, "-"):
            texts.extend(line.rstrip("\n") for line in sys.stdin)
        else:
            with open(args.file, encoding="utf-8", errors="replace") as lines:
                texts.extend(line.rstrip("\n") for line in lines)
    return texts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keras-rnn", description="Recurrent networks for language, in Keras 3.")
    parser.add_argument("--debug", action="store_true", help=f"show the traceback of a failure (also: {DEBUG_ENV}=1)")
    # Every command takes --debug too, after its own arguments; SUPPRESS keeps a --debug given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of a failure")
    commands = parser.add_subparsers(dest="command", required=True)

    from keras_rnn.tasks import TASKS

    train = commands.add_parser("train", help="train a model and export it as a SavedModel")
    tasks = train.add_subparsers(dest="task", required=True, metavar="TASK", help=", ".join(TASKS))
    for task, definition in TASKS.items():
        task_parser = tasks.add_parser(task, parents=[common], help=f"{definition.description}")
        task_parser.add_argument("--config", help="JSON file of configuration values (flags override it)")
        task_parser.add_argument("--run-dir", help="checkpoints, logs and history; rerun with it to resume "
                                 f"(default: runs/{task}/<output name>-<hash of the output path>)")
        task_parser.add_argument("--output", default=f"saved_models/{task}", help="export folder (default: %(default)s)")
        task_parser.add_argument("--overwrite", action="store_true", help="replace an existing export / finished run")
        task_parser.add_argument("--strategy", default="default", choices=("default", "mirrored", "multi_worker"),
                                 help="tf.distribute strategy; multi_worker reads TF_CONFIG (default: %(default)s)")
        task_parser.add_argument("--verbose", type=int, default=None, choices=(0, 1, 2), help="Keras fit verbosity")
        if definition.add_train_arguments is not None:
            definition.add_train_arguments(task_parser)
        add_config_flags(task_parser, definition.config_class)

    evaluate = commands.add_parser(
        "evaluate", parents=[common], help="sentiment: accuracy, precision/recall/F1, confusion matrix; "
        "translation: BLEU and chrF; summarization: ROUGE; language model: perplexity; tagging: entity "
        "precision/recall/F1 per type (seqeval); or score a hypotheses file against reference files "
        "(--hypotheses)")
    evaluate.add_argument("model", nargs="?", help="an exported model folder (not with --hypotheses)")
    evaluate.add_argument("--corpus", help="corpus to evaluate on (default: the training corpus)")
    evaluate.add_argument("--split", default="validation",
                          help="'validation' (the split used in training, carved the same way), "
                          "or a split name of the corpus such as 'test' (default: %(default)s)")
    evaluate.add_argument("--limit", type=int, default=None,
                          help="translation, summarization, tagging: score the first N only")
    evaluate.add_argument("--output-file", help="translation, summarization: also write the outputs here, one a line; "
                          "tagging: conlleval's columns (token gold predicted)")
    evaluate.add_argument("--json", dest="json_path", help="also write the figures to this JSON file")
    files = evaluate.add_argument_group(
        "scoring files (no model)", "one segment a line, UTF-8, the files line-aligned; ROUGE: mean F1 of rouge1, "
        "rouge2, rougeL with Porter stemming (rouge-score), the best over the references; BLEU: sacrebleu BLEU and "
        "chrF, one reference stream per file")
    files.add_argument("--hypotheses", metavar="FILE", help="system outputs to score instead of running a model")
    files.add_argument("--references", metavar="FILE", nargs="+", help="one or more reference files")
    files.add_argument("--metric", choices=("rouge", "bleu"), default=None, help="(default: rouge)")
    files.add_argument("--sentence-separator", metavar="STR",
                       help="rouge: lines hold sentences separated by STR (e.g. '<n>'); adds rougeLsum")
    # Kept so that argument errors found after parsing get the same usage line and exit status as argparse's own.
    evaluate.set_defaults(evaluate_parser=evaluate)

    tune = commands.add_parser("tune", help="search hyperparameters with keras-tuner (resumable, distributable)")
    from keras_rnn.tuning import TUNERS, searchable_tasks

    searchable = searchable_tasks()
    tune_tasks = tune.add_subparsers(dest="task", required=True, metavar="TASK", help=", ".join(searchable))
    for task, definition in searchable.items():

        task_parser = tune_tasks.add_parser(
            task, parents=[common], help=f"search {task} hyperparameters",
            description="Configuration flags set the base configuration; a searched field given as a flag is "
            "fixed to that value. --hp NAME=SPEC narrows a dimension: a,b,c (choice), MIN:MAX, MIN:MAX:STEP, "
            "MIN:MAX:log (range) or one value.")
        task_parser.add_argument("--tuner", default="hyperband", help=f"one of {', '.join(TUNERS)} (default: %(default)s)")
        task_parser.add_argument("--objective", default=None,
                                 help=f"one of {', '.join(definition.objectives)} "
                                 f"(default: {definition.default_objective})")
        task_parser.add_argument("--max-trials", type=int, default=10, help="trials in all (default: %(default)s)")
        task_parser.add_argument("--hp", action="append", default=[], metavar="NAME=SPEC",
                                 help="narrow one search dimension; repeatable")
        task_parser.add_argument("--space", metavar="JSON", help="a JSON file of {name: spec} narrowing the space")
        task_parser.add_argument("--decode-examples", type=int, default=200,
                                 help="validation examples decoded for BLEU/chrF/ROUGE objectives, validation "
                                 "sentences tagged for val_f1 (default: %(default)s)")
        task_parser.add_argument("--config", help="JSON file of configuration values (flags override it)")
        task_parser.add_argument("--run-dir", default=None, help="the search's folder; run again to continue "
                                 f"(default: runs/tune_{task})")
        task_parser.add_argument("--export-best", metavar="DIR", help="export the best trial's model here")
        task_parser.add_argument("--overwrite", action="store_true",
                                 help="start the search again / replace an existing --export-best folder")
        task_parser.add_argument("--verbose", type=int, default=None, choices=(0, 1, 2), help="Keras fit verbosity")
        add_config_flags(task_parser, definition.config_class)

    predict = commands.add_parser("predict", parents=[common],
                                  help="run an exported model of any task on texts (the task its folder names)")
    predict.add_argument("model", help="an exported model folder")
    predict.add_argument("texts", nargs="*", help="input texts; none: read --file or standard input")
    predict.add_argument("--file", help="read one text a line from this file ('-' for standard input)")
    predict.add_argument("--json", action="store_true", help="print one JSON object a line")

    for task, definition in TASKS.items():
        command = definition.generate_command
        if command is None:
            continue
        generate = commands.add_parser(command, parents=[common],
                                       help=f"{command} texts with an exported {task} model")
        generate.add_argument("model", help=f"an exported {task} model folder")
        generate.add_argument("texts", nargs="*", help=f"texts to {command}; none: read --file or standard input")
        generate.add_argument("--file", help="read one text a line from this file ('-' for standard input)")
        generate.add_argument("--json", action="store_true", help="print one JSON object a line")
        if definition.run_generate is None:
            generate.add_argument("--attention-plot", metavar="PNG",
                                  help="write the attention heatmap of the first text to this PNG")
            generate.add_argument("--overwrite", action="store_true", help="replace an existing --attention-plot file")
        if definition.add_generate_arguments is not None:
            definition.add_generate_arguments(generate)
        generate.set_defaults(generate_task=task)
    return parser


def _train(args) -> int:
    from keras_rnn.core.runs import changed_fields, default_run_dir, is_finished_run
    from keras_rnn.core.strategies import get_strategy, worker_index
    from keras_rnn.core.train import train
    from keras_rnn.tasks import get_task

    task = get_task(args.task)
    strategy = get_strategy(args.strategy)  # first: multi-worker strategies must precede other TF ops
    config = task.resolved(config_from_args(args, task.config_class))
    output = os.path.abspath(args.output)
    if os.path.exists(output) and not args.overwrite:
        raise FileExistsError(f"{args.output!r} already exists; pass --overwrite to replace it.")
    run_dir = args.run_dir or default_run_dir(task.name, output)
    verbose = "auto" if args.verbose is None else args.verbose
    if is_finished_run(run_dir) and not args.overwrite and worker_index(strategy)[0] == 0:
        # Trained before, export missing (it failed, e.g. on a full disk): export that run, do not train again.
        changed = changed_fields(run_dir, config)
        if changed:
            raise FileExistsError(
                f"Run directory {run_dir!r} holds a finished run with a different configuration (changed: "
                f"{changed}); pass --overwrite to train again there, or choose another --run-dir.")
        result = task.load_finished(config, run_dir)
        print(f"{run_dir}: finished run found; exporting it without training again", file=sys.stderr)
    else:
        result = train(task, config, run_dir, overwrite=args.overwrite, strategy=strategy, verbose=verbose)
        if result.run_dir != run_dir:  # a non-chief worker: the chief exports
            return 0
    path = task.export(output, result, overwrite=args.overwrite, beam_width=getattr(args, "export_beam_width", None))
    print(json.dumps({"run_dir": os.path.abspath(run_dir), "export": path, **result.metrics}))
    return 0


def _hp_specs(args) -> dict:
    specs = {}
    if args.space:
        specs.update(read_json_object(args.space, "--space"))
    for item in args.hp:
        name, separator, spec = item.partition("=")
        if not separator or not name.strip() or not spec.strip():
            raise ValueError(f"--hp {item!r}: write NAME=SPEC, e.g. units=32,64 or learning_rate=1e-4:1e-2:log.")
        specs[name.strip().replace("-", "_")] = spec
    return specs


def _tune(args) -> int:
    from keras_rnn.tuning import format_table, run_search

    config_class = _config_class(args.task)
    config = config_from_args(args, config_class)
    fixed = tuple(name for name in explicit_config_values(args, config_class) if name in config_class.search_space)
    run_dir = args.run_dir or os.path.join("runs", f"tune_{args.task}")
    result = run_search(
        config, run_dir, tuner=args.tuner, objective=args.objective, max_trials=args.max_trials,
        space=_hp_specs(args), fixed_fields=fixed, decode_examples=args.decode_examples,
        overwrite=args.overwrite, export_best=args.export_best, export_overwrite=args.overwrite,
        verbose="auto" if args.verbose is None else args.verbose,
    )
    if result is None:  # a distributed worker: the chief reports
        return 0
    print(format_table(result.trials))
    print(json.dumps({"run_dir": os.path.abspath(run_dir), "search_time_s": result.search_time_s,
                      "best": result.best_metrics, "best_config": json.loads(result.best_config.to_json()),
                      "export": result.export_path}))
    return 0


def _read_segments(path: str) -> list[str]:
    """One segment a line; only "\\n" ends a line (a stray "\\r" or U+2028 inside a segment does not split it)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path!r} is not valid UTF-8: {error}") from None
    lines = text.split("\n")
    if lines[-1] == "":  # the final newline ends the last segment, it does not start another
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _check_file_arguments(args) -> None:
    """Either MODEL or --hypotheses, and only the options that go with the one chosen (argparse errors)."""
    parser = args.evaluate_parser
    if args.hypotheses is None:
        if args.model is None:
            parser.error("give a MODEL folder to evaluate, or --hypotheses FILE --references FILE ... to score files")
        given = [flag for flag, value in (("--references", args.references), ("--metric", args.metric),
                                          ("--sentence-separator", args.sentence_separator)) if value is not None]
        if given:
            parser.error(f"{', '.join(given)} only go with --hypotheses (scoring files, no model)")
        return
    if args.model is not None:
        parser.error(f"give either MODEL ({args.model!r}) or --hypotheses, not both")
    if not args.references:
        parser.error("--hypotheses needs --references FILE [FILE ...]")
    given = [flag for flag, value in (("--corpus", args.corpus), ("--limit", args.limit),
                                      ("--output-file", args.output_file)) if value is not None]
    if given:
        parser.error(f"{', '.join(given)} only go with a MODEL, not with --hypotheses")
    if args.sentence_separator is not None and (args.metric or "rouge") != "rouge":
        parser.error("--sentence-separator only goes with --metric rouge")
    if args.sentence_separator == "":
        parser.error("--sentence-separator must not be empty")


def _evaluate_files(args) -> int:
    """Scores a hypotheses file against line-aligned reference files: ROUGE or BLEU/chrF, no model."""
    from keras_rnn.files import write_text_atomic
    from keras_rnn.metrics import bleu_and_chrf, rouge

    metric = args.metric or "rouge"
    hypotheses = _read_segments(args.hypotheses)
    streams = [_read_segments(path) for path in args.references]
    counts = [(args.hypotheses, len(hypotheses))]
    counts += [(path, len(stream)) for path, stream in zip(args.references, streams)]
    if len({n for _, n in counts}) > 1:
        raise ValueError("the files must have the same number of lines: "
                         + ", ".join(f"{path!r} has {n}" for path, n in counts))
    if not hypotheses:
        raise ValueError(f"{args.hypotheses!r} is empty: nothing to score")
    report: dict = {"metric": metric}
    if metric == "bleu":
        scores = bleu_and_chrf(hypotheses, streams)
        report.update({key: scores[key] for key in ("bleu", "chrf", "bleu_signature", "chrf_signature")})
    else:
        separator = args.sentence_separator
        rouge_types = ("rouge1", "rouge2", "rougeL") + (("rougeLsum",) if separator is not None else ())

        def sentences(line: str) -> list[str]:
            return [part.strip() for part in line.split(separator) if part.strip()]

        if separator is None:
            candidates, references = hypotheses, [list(refs) for refs in zip(*streams)]
        else:  # rouge() joins the sentences with newlines, which is where rougeLsum splits them
            candidates = [sentences(line) for line in hypotheses]
            references = [[sentences(ref) for ref in refs] for refs in zip(*streams)]
        report.update(rouge(candidates, references, rouge_types=rouge_types, use_stemmer=True,
                            split_sentences=separator is not None))
        report.update(use_stemmer=True, sentence_separator=separator)
    report.update(examples=len(hypotheses), hypotheses=os.path.abspath(args.hypotheses),
                  references=[os.path.abspath(path) for path in args.references])
    print(json.dumps(report, ensure_ascii=False))
    if args.json_path:
        write_text_atomic(args.json_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


def _evaluate(args) -> int:
    _check_file_arguments(args)
    if args.hypotheses is not None:
        return _evaluate_files(args)
    from keras_rnn.export import read_manifest
    from keras_rnn.tasks import get_task

    manifest = read_manifest(args.model)
    task = get_task(manifest.get("task", "sentiment"))
    if task.evaluate is None:
        raise ValueError(f"{args.model!r} holds a {task.name} model, which `keras-rnn evaluate` cannot score yet.")
    return task.evaluate(args, manifest)


def _predict(args) -> int:
    """Any task's export: one line (or JSON object) a text, from the task its manifest names."""
    from keras_rnn.export import read_manifest
    from keras_rnn.tasks import get_task

    texts = _read_texts(args)
    task = get_task(read_manifest(args.model).get("task", "sentiment"))
    for text, row in zip(texts, task.predict(args.model, texts)):
        if args.json:
            print(json.dumps({"text": text, **row}, ensure_ascii=False))
        else:
            print(task.format_prediction(text, row))
    return 0


def _generate(args) -> int:
    """`translate` and `summarize`: one output a line (or a JSON object a line), optional attention plot."""
    from keras_rnn.serving import TextGenerator

    from keras_rnn.export import read_manifest
    from keras_rnn.tasks import get_task

    # `tag --conll FILE` reads its own input.
    texts = [] if getattr(args, "conll", None) else _read_texts(args)
    task = get_task(args.generate_task)
    attention_plot = getattr(args, "attention_plot", None)
    if attention_plot and os.path.exists(attention_plot) and not args.overwrite:
        raise FileExistsError(f"{attention_plot!r} already exists; pass --overwrite to replace it.")
    wanted = args.generate_task
    held = read_manifest(args.model).get("task")
    if held != wanted:
        raise ValueError(f"{args.model!r} holds a {held} model; `keras-rnn {args.command}` needs a {wanted} model.")
    if task.run_generate is not None:
        return task.run_generate(args, texts)
    generator = TextGenerator(args.model)
    for text, output in zip(texts, generator.generate(texts)):
        if args.json:
            print(json.dumps({"text": text, generator.output_name: output}, ensure_ascii=False))
        else:
            print(output)
    if args.attention_plot and texts:
        from keras_rnn.plotting import plot_attention

        source, outputs, weights = generator.attention(texts[0])
        path = plot_attention(source, outputs, weights, args.attention_plot, title=texts[0][:80], overwrite=True)
        print(f"attention plot: {path}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": _train, "tune": _tune, "evaluate": _evaluate, "predict": _predict}
    try:
        return handlers.get(args.command, _generate)(args)
    except KeyboardInterrupt:
        resume = " run the same command again to resume" if args.command in ("train", "tune") else ""
        print(f"keras-rnn {args.command}: interrupted;{resume or ' nothing was written'}", file=sys.stderr)
        if _debugging(args):
            raise
        return 130
    except Exception as error:  # noqa: BLE001 - expected failures become one line, bugs keep their traceback
        message = error_message(error)
        if message is None or _debugging(args):
            raise
        print(f"keras-rnn {args.command}: error: {message}", file=sys.stderr)
        return 2


def _debugging(args) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def error_message(error: BaseException) -> str | None:
    """The one line a user is shown for an expected failure, or None for a bug (which keeps its traceback).

    Expected: bad values and files (`ValueError`, `OSError`: missing, unreadable, a folder where a file was
    wanted, no space left, no network), a broken archive or compressed file, a missing package, and
    TensorFlow's runtime errors (out of memory, a file TensorFlow cannot read or write).
    """
    import lzma
    import tarfile
    import zipfile
    import zlib

    text = str(error).strip()
    if isinstance(error, ImportError):
        module = (error.name or "").split(".")[0]
        package = PACKAGES.get(module, module or "?")
        return (f"the Python package {package!r} is missing ({text}); install keras-rnn's requirements: "
                "pip install -r requirements.txt -e .")
    if isinstance(error, OSError) and error.errno == errno.ENOSPC or "No space left on device" in text:
        where = f" while writing {error.filename!r}" if getattr(error, "filename", None) else ""
        return (f"no space left on device{where}. Nothing half-written was kept in the output folder; free "
                "some space and run the same command again (a finished training run is exported, not trained again).")
    if _is_tensorflow_error(error):
        first = (getattr(error, "message", "") or text).strip().splitlines()
        summary = first[0] if first else type(error).__name__
        if type(error).__name__ == "ResourceExhaustedError":
            return f"out of memory in TensorFlow ({summary}); try a smaller --batch-size or shorter sequences."
        return f"TensorFlow {type(error).__name__}: {summary}"
    if isinstance(error, (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError)):
        return f"a corpus file is not a readable archive or compressed file: {text or type(error).__name__}"
    if isinstance(error, (ValueError, OSError)):
        return text or type(error).__name__
    return None


def _is_tensorflow_error(error: BaseException) -> bool:
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(error, tf.errors.OpError)


if __name__ == "__main__":
    sys.exit(main())
