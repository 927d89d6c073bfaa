"""keras-rnn: recurrent neural networks for language in Keras 3.

Public API (see README for the tour):

- data: `load_text_classification`, `read_classification_split`, `TextPreprocessor`
- models: `build_sentiment_model`, `article_example_model`
- training: `SentimentConfig`, `train_sentiment`, `get_strategy`
- export and serving: `export_sentiment`, `SentimentPredictor`
- evaluation: `classification_report`
"""

from keras_rnn.config import SentimentConfig
from keras_rnn.data.corpora import load_text_classification, read_classification_split
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.export import export_sentiment
from keras_rnn.metrics import classification_report
from keras_rnn.models.classifier import article_example_model, build_sentiment_model
from keras_rnn.serving import SentimentPredictor
from keras_rnn.training import get_strategy, train_sentiment

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
