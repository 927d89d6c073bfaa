"""Names the docstring examples use (`--doctest-modules` runs them as tests)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    # Imported here, not at the top: the pytest-xdist controller loads this file too and runs no test,
    # so it need not import TensorFlow (whose start-up lines it would print after the summary).
    import keras
    import numpy as np
    import tensorflow as tf

    doctest_namespace.update(np=np, tf=tf, keras=keras)
