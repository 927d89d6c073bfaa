"""Evaluation figures: Keras metrics for token sequences, and reports computed by the libraries that own
them (scikit-learn for classification, sacrebleu for BLEU and chrF, rouge-score for ROUGE)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_rnn.losses import token_crossentropy
from keras_rnn.validation import validate_positive_int


def classification_report(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> dict:
    """Accuracy, per-class and macro precision / recall / F1, and the confusion matrix.

    Returns:
        A JSON-ready dict: `accuracy`, `macro_avg`, `per_class` (name → precision, recall, f1, support),
        `confusion_matrix` (rows: true class, columns: predicted class, in `class_names` order) and
        `text` (scikit-learn's printed report plus the matrix).
    """
    from sklearn import metrics

    labels = list(range(len(class_names)))
    report = metrics.classification_report(
        y_true, y_pred, labels=labels, target_names=list(class_names), output_dict=True, zero_division=0
    )
    matrix = metrics.confusion_matrix(y_true, y_pred, labels=labels)
    text = metrics.classification_report(
        y_true, y_pred, labels=labels, target_names=list(class_names), digits=4, zero_division=0
    )
    width = max(len(name) for name in class_names) + 2
    rows = ["confusion matrix (rows: true, columns: predicted)",
            " " * width + "".join(f"{name:>{width}}" for name in class_names)]
    rows += [f"{name:<{width}}" + "".join(f"{n:>{width}}" for n in row) for name, row in zip(class_names, matrix)]
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "macro_avg": {k: float(v) for k, v in report["macro avg"].items()},
        "per_class": {name: {k: float(v) for k, v in report[name].items()} for name in class_names},
        "confusion_matrix": np.asarray(matrix).tolist(),
        "examples": int(len(y_true)),
        "text": text + "\n" + "\n".join(rows),
    }


@keras.saving.register_keras_serializable(package="keras_rnn")
class MaskedTokenAccuracy(keras.metrics.Metric):
    """Fraction of non-padding target tokens (id != 0) whose logit is the highest (with `k > 1`: among
    the `k` highest, e.g. whether a next-word suggestion list of 3 holds the word).

    Args:
        name: Defaults to `"token_accuracy"`.
        k: how many of the highest logits count as a hit (ties with the target count against it).
            Defaults to `1`.

    Example:
    >>> metric = MaskedTokenAccuracy()
    >>> metric.update_state(np.array([[1, 2, 0]]), np.eye(3, dtype="float32")[None, [1, 0, 2]])
    >>> float(metric.result())
    0.5
    >>> top_2 = MaskedTokenAccuracy("top_2_accuracy", k=2)
    >>> top_2.update_state(np.array([[2]]), np.array([[[0.0, 3.0, 2.0, 1.0]]], "float32"))
    >>> float(top_2.result())
    1.0
    """

    def __init__(self, name: str = "token_accuracy", k: int = 1, **kwargs):
        super().__init__(name=name, **kwargs)
        self.k = validate_positive_int("k", k)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, 0), "float32")
        if self.k == 1:
            hits = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
        else:
            # A hit when fewer than k tokens score strictly higher than the target.
            target = ops.take_along_axis(y_pred, ops.expand_dims(y_true, -1), axis=-1)
            higher = ops.sum(ops.cast(ops.greater(y_pred, target), "int32"), axis=-1)
            hits = ops.cast(ops.less(higher, self.k), "float32")
        self.correct.assign_add(ops.sum(hits * mask))
        self.count.assign_add(ops.sum(mask))

    def result(self):
        return self.correct / ops.maximum(self.count, 1.0)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


@keras.saving.register_keras_serializable(package="keras_rnn")
class MaskedPerplexity(keras.metrics.Metric):
    """`exp` of the mean cross-entropy (no label smoothing) over non-padding target tokens; with
    `from_losses=True`, `y_pred` is already each position's cross-entropy.

    Example:
    >>> metric = MaskedPerplexity()
    >>> metric.update_state(np.array([[1, 0]]), np.zeros((1, 2, 4), "float32"))
    >>> round(float(metric.result()), 4)  # uniform over 4 tokens
    4.0
    """

    def __init__(self, name: str = "perplexity", from_losses: bool = False, **kwargs):
        super().__init__(name=name, **kwargs)
        self.from_losses = bool(from_losses)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, 0), "float32")
        # `from_losses`: the model output each position's cross-entropy itself (a sampled-softmax model).
        nll = ops.cast(y_pred, "float32") if self.from_losses else token_crossentropy(y_true, y_pred)
        self.total.assign_add(ops.sum(nll * mask))
        self.count.assign_add(ops.sum(mask))

    def result(self):
        return ops.exp(self.total / ops.maximum(self.count, 1.0))

    def get_config(self):
        return {**super().get_config(), "from_losses": self.from_losses}


def bleu_and_chrf(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]) -> dict:
    """Corpus BLEU (sacrebleu's default: 13a tokenization, cased) and chrF on detokenized text.

    Args:
        hypotheses: one system output per segment.
        references: one reference per segment, or several reference streams (each a list as long as
            `hypotheses`).

    Returns:
        `{"bleu": float, "chrf": float, "bleu_signature": str, "chrf_signature": str, "bleu_text": str}`.

    Example:
    >>> bleu_and_chrf(["the cat sat on the mat"], ["the cat sat on the mat"])["bleu"]
    100.0
    """
    import sacrebleu

    if references and isinstance(references[0], str):
        references = [list(references)]
    streams = [list(stream) for stream in references]
    for stream in streams:
        if len(stream) != len(hypotheses):
            raise ValueError(f"Got {len(hypotheses)} hypotheses but a reference stream of {len(stream)} segments.")
    bleu, chrf = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()
    bleu_score = bleu.corpus_score(list(hypotheses), streams)
    chrf_score = chrf.corpus_score(list(hypotheses), streams)
    return {
        "bleu": round(float(bleu_score.score), 2),
        "chrf": round(float(chrf_score.score), 2),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "bleu_text": str(bleu_score),
    }


# What rouge-score's RougeScorer accepts: rouge1 … rouge9 (n-gram overlap), rougeL (one LCS over the whole
# text) and rougeLsum (summary-level LCS over newline-separated sentences).
_ROUGE_TYPE = re.compile(r"rouge[1-9]|rougeL|rougeLsum")
_ROUGE_TYPES_ACCEPTED = "'rouge1' … 'rouge9', 'rougeL', 'rougeLsum'"


def _as_text(value, split_sentences: bool, what: str) -> str:
    """One summary as the string rouge-score reads: sentence lists joined by newlines (what rougeLsum splits on)."""
    if split_sentences:
        if isinstance(value, str):
            raise ValueError(f"{what} is a string, but split_sentences=True expects a list of sentences.")
        return "\n".join(value)
    if not isinstance(value, str):
        raise ValueError(f"{what} is a {type(value).__name__}, expected a string (pass split_sentences=True "
                         "for lists of sentences).")
    return value


def _reference_texts(value, split_sentences: bool, index: int) -> list[str]:
    """The references of one example as strings: a single reference, or a list of several."""
    if split_sentences:
        # A list of sentences is one reference; a list of sentence lists is several.
        several = not isinstance(value, str) and len(value) > 0 and not isinstance(value[0], str)
    else:
        several = not isinstance(value, str)
    if not isinstance(value, str) and len(value) == 0:  # [] is refused: no reference (an empty one is [""] or [[]])
        raise ValueError(f"Example {index} has no reference.")
    items = list(value) if several else [value]
    return [_as_text(item, split_sentences, f"Reference of example {index}") for item in items]


def rouge_f1_per_example(
    hypotheses: Sequence, references: Sequence, *, rouge_types: Sequence[str] = ("rouge1", "rouge2", "rougeL"),
    use_stemmer: bool = True, split_sentences: bool = False,
) -> dict[str, list[float]]:
    """Per-example ROUGE F1 (0–1, unrounded), the best over each example's references, per ROUGE type.

    Takes the same arguments as `rouge`, which averages these; useful for combining the scores of
    several chunks of a corpus (scored in parallel, say) exactly.
    """
    from rouge_score import rouge_scorer

    rouge_types = [rouge_types] if isinstance(rouge_types, str) else list(rouge_types)
    unknown = [name for name in rouge_types if not isinstance(name, str) or not _ROUGE_TYPE.fullmatch(name)]
    if unknown or not rouge_types:
        raise ValueError(f"Unknown ROUGE type(s) {unknown or rouge_types!r}; accepted: {_ROUGE_TYPES_ACCEPTED}.")
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise ValueError("hypotheses and references must be sequences (one item per example), not a string.")
    if len(hypotheses) != len(references):
        raise ValueError(f"Got {len(hypotheses)} hypotheses but {len(references)} references; "
                         "they must pair up one to one (several references of an example go in one list).")
    # split_summaries stays False: rouge-score would otherwise call NLTK's punkt sentence splitter, which
    # needs a data download. Sentences are separated by newlines instead.
    scorer = rouge_scorer.RougeScorer(rouge_types, use_stemmer=use_stemmer, split_summaries=False)
    scores: dict[str, list[float]] = {name: [] for name in rouge_types}
    for index, (hypothesis, reference) in enumerate(zip(hypotheses, references)):
        prediction = _as_text(hypothesis, split_sentences, f"Hypothesis {index}")
        # score_multi keeps, for each type on its own, the reference with the highest F1.
        best = scorer.score_multi(_reference_texts(reference, split_sentences, index), prediction)
        for name in rouge_types:
            scores[name].append(float(best[name].fmeasure))
    return scores


def rouge(
    hypotheses: Sequence, references: Sequence, *, rouge_types: Sequence[str] = ("rouge1", "rouge2", "rougeL"),
    use_stemmer: bool = True, split_sentences: bool = False,
) -> dict:
    """Mean ROUGE F1 × 100 (rounded to 2 decimals) per ROUGE type, computed by Google's `rouge-score`.

    Text is lower-cased and split into ASCII letters and digits (rouge-score's default tokenizer); with
    `use_stemmer` the Porter stemmer is applied to words longer than 3 characters. Nothing needs NLTK data.

    Args:
        hypotheses: one system summary per example: a string, or with `split_sentences` a list of sentences.
        references: per example, one reference (shaped like a hypothesis) or a list of several. An
            example's score is the best over its references, taken **separately for each ROUGE type**
            (rouge-score's `score_multi`): then each figure is what that type alone would report, whatever
            other types are requested, and no tie-break between types has to be chosen.
        rouge_types: any of `rouge1` … `rouge9`, `rougeL` (LCS over the whole text as one sequence) and
            `rougeLsum` (summary-level LCS: the union of LCS matches of every reference sentence against all
            hypothesis sentences). rougeLsum splits sentences at newlines; a string without any is one sentence.
        use_stemmer: Porter-stem tokens (the usual setting for summarization figures).
        split_sentences: hypotheses and references are lists of sentences; they are joined with newlines,
            so rougeLsum sees the sentences (the n-gram types and rougeL are unaffected by the joining).

    Returns:
        `{rouge_type: mean F1 × 100}`, in `rouge_types` order.

    Raises:
        ValueError: lengths differ, an example has no reference, a value has the wrong shape, an unknown
            ROUGE type (the message names the accepted ones) or no examples.

    Example:
    >>> rouge(["the cats sat"], ["the cat sat on the mat"])
    {'rouge1': 66.67, 'rouge2': 57.14, 'rougeL': 66.67}
    >>> rouge([["a b", "c d"]], [["c d", "a b"]], rouge_types=["rougeL", "rougeLsum"], split_sentences=True)
    {'rougeL': 50.0, 'rougeLsum': 100.0}
    """
    scores = rouge_f1_per_example(hypotheses, references, rouge_types=rouge_types, use_stemmer=use_stemmer,
                                  split_sentences=split_sentences)
    if not len(hypotheses):
        raise ValueError("No examples to score: hypotheses and references are empty.")
    return {name: round(100.0 * float(np.mean(values)), 2) for name, values in scores.items()}
