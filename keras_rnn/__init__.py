"""keras-rnn: recurrent neural networks for language in Keras 3.

Public API (see README for the tour):

- data: `load_text_classification`, `read_classification_split`, `load_parallel`, `load_summarization`,
  `load_tagging_corpus`, `TextPreprocessor`
- models: `build_sentiment_model`, `article_example_model`, `build_translation_model`,
  `build_summarization_model`, `build_seq2seq_model`, `Seq2SeqGenerator`, `RecurrentLanguageModel`,
  `build_language_model`, `build_tagger`, `CRF`
- decoding: `dynamic_decode`, `GreedySearch`, `BeamSearch`, `RandomSampling`
- tasks (`keras_rnn.tasks`, each a package: configuration, pipeline, serving): `SentimentConfig`,
  `train_sentiment`, `TranslationConfig`, `train_translation`, `SummarizationConfig`,
  `train_summarization`, `LanguageModelConfig`, `train_language_model`, `TaggingConfig`, `train_tagger`; `TASKS` (name → `Task`);
  `train(task, config, run_dir)` for any task; `get_strategy`
- tuning: `run_search` (keras-tuner over every task's builder), `keras_rnn.search_space`
- export and serving: `export_sentiment`, `SentimentPredictor`, `export_translation`,
  `export_summarization`, `TextGenerator`, `export_language_model`, `LanguageModelPredictor`, `export_tagger`,
  `TaggerPredictor`, `predict` (any task's export)
- evaluation and figures: `classification_report`, `bleu_and_chrf`, `rouge`, `plot_attention`,
  `plot_training_curves`, `plot_confusion_matrix`, `plot_search`, `entity_report` (seqeval)
"""

import os

# TensorFlow prints C++ INFO lines (CPU features, ...) on import; keep them out of the CLI's output
# unless the user chose a level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from keras_rnn.core.strategies import get_strategy  # noqa: E402
from keras_rnn.core.train import train  # noqa: E402
from keras_rnn.data.corpora import load_text_classification, read_classification_split  # noqa: E402
from keras_rnn.data.parallel import load_parallel  # noqa: E402
from keras_rnn.data.summarization import load_summarization  # noqa: E402
from keras_rnn.data.text import TextPreprocessor  # noqa: E402
from keras_rnn.decoding import BeamSearch, GreedySearch, RandomSampling, dynamic_decode  # noqa: E402
from keras_rnn.metrics import bleu_and_chrf, classification_report, rouge  # noqa: E402
from keras_rnn.models.classifier import article_example_model, build_sentiment_model  # noqa: E402
from keras_rnn.models.generator import Seq2SeqGenerator  # noqa: E402
from keras_rnn.models.seq2seq import (  # noqa: E402
    build_seq2seq_model,
    build_summarization_model,
    build_translation_model,
)
from keras_rnn.plotting import plot_attention, plot_confusion_matrix, plot_search, plot_training_curves  # noqa: E402
from keras_rnn.serving import TextGenerator, predict  # noqa: E402
from keras_rnn.tasks import TASKS  # noqa: E402
from keras_rnn.models.language_model import RecurrentLanguageModel, build_language_model  # noqa: E402
from keras_rnn.tasks.language_model import (  # noqa: E402
    LanguageModelConfig, LanguageModelPredictor, export_language_model, train_language_model,
)
from keras_rnn.tasks.sentiment import SentimentConfig, SentimentPredictor, export_sentiment, train_sentiment  # noqa: E402
from keras_rnn.tasks.summarization import SummarizationConfig, export_summarization, train_summarization  # noqa: E402
from keras_rnn.tasks.translation import TranslationConfig, export_translation, train_translation  # noqa: E402
from keras_rnn.data.tagging import load_tagging_corpus  # noqa: E402
from keras_rnn.models.crf import CRF  # noqa: E402
from keras_rnn.models.tagger import build_tagger  # noqa: E402
from keras_rnn.tagging_metrics import entity_report  # noqa: E402
from keras_rnn.tasks.tagging import TaggerPredictor, TaggingConfig, export_tagger, train_tagger  # noqa: E402
from keras_rnn.tuning import run_search  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CRF",
    "TaggerPredictor",
    "TaggingConfig",
    "build_tagger",
    "entity_report",
    "export_tagger",
    "load_tagging_corpus",
    "train_tagger",
    "BeamSearch",
    "GreedySearch",
    "RandomSampling",
    "Seq2SeqGenerator",
    "TextGenerator",
    "TranslationConfig",
    "bleu_and_chrf",
    "build_seq2seq_model",
    "build_translation_model",
    "dynamic_decode",
    "export_translation",
    "export_summarization",
    "predict",
    "train",
    "TASKS",
    "load_parallel",
    "plot_attention",
    "plot_confusion_matrix",
    "plot_search",
    "plot_training_curves",
    "train_translation",
    "SentimentConfig",
    "SentimentPredictor",
    "TextPreprocessor",
    "article_example_model",
    "build_sentiment_model",
    "classification_report",
    "export_sentiment",
    "get_strategy",
    "load_text_classification",
    "read_classification_split",
    "train_sentiment",
    "SummarizationConfig",
    "build_summarization_model",
    "load_summarization",
    "rouge",
    "train_summarization",
    "LanguageModelConfig",
    "LanguageModelPredictor",
    "RecurrentLanguageModel",
    "build_language_model",
    "export_language_model",
    "train_language_model",
    "run_search",
]
