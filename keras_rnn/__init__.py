"""keras-rnn: recurrent neural networks for language in Keras 3.

Public API (see README for the tour):

- data: `load_text_classification`, `read_classification_split`, `TextPreprocessor`
- models: `build_sentiment_model`, `article_example_model`
- training: `SentimentConfig`, `train_sentiment`, `get_strategy`
- export and serving: `export_sentiment`, `SentimentPredictor`
- evaluation: `classification_report`
"""

import os

# TensorFlow prints C++ INFO lines (CPU features, ...) on import; keep them out of the CLI's output
# unless the user chose a level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from keras_rnn.config import SentimentConfig  # noqa: E402
from keras_rnn.data.corpora import load_text_classification, read_classification_split  # noqa: E402
from keras_rnn.data.text import TextPreprocessor  # noqa: E402
from keras_rnn.export import export_sentiment  # noqa: E402
from keras_rnn.metrics import classification_report  # noqa: E402
from keras_rnn.models.classifier import article_example_model, build_sentiment_model  # noqa: E402
from keras_rnn.serving import SentimentPredictor  # noqa: E402
from keras_rnn.training import get_strategy, train_sentiment  # noqa: E402

__version__ = "0.1.0"

__all__ = [
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
]
