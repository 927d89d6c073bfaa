"""The fill value for masked positions before a max or a softmax, safe in every float dtype."""

from __future__ import annotations

import keras
import numpy as np


def lowest_value(dtype) -> float:
    """The most negative finite value of a float dtype: what a masked score becomes before a softmax or
    a max. A fixed `-1e9` would be `-inf` in float16 (whose largest magnitude is 65504), and a row with
    every position masked would then give NaN (`-inf - -inf`) instead of zeros.

    Example:
    >>> lowest_value("float16"), lowest_value("float32") < -3e38
    (-65504.0, True)
    """
    return float(np.finfo(keras.backend.standardize_dtype(dtype)).min)
