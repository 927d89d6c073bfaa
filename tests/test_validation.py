import re

import pytest

from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int


def test_validate_choice_names_value_and_accepted():
    assert validate_choice("cell", "gru", ("lstm", "gru")) == "gru"
    with pytest.raises(ValueError, match=r"`cell`: 'rnn'\. Accepted values: 'lstm', 'gru'\."):
        validate_choice("cell", "rnn", ("lstm", "gru"))


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "8", None])
def test_validate_positive_int_rejects(value):
    with pytest.raises(ValueError, match="`units`.*Expected a positive integer"):
        validate_positive_int("units", value)


def test_validate_fraction():
    assert validate_fraction("dropout", 0) == 0.0
    with pytest.raises(ValueError, match=r"Expected a number in \(0, 1\)"):
        validate_fraction("fraction", 0, allow_zero=False)
    with pytest.raises(ValueError, match=r"`dropout`: 1\. Expected a number in \[0, 1\)"):
        validate_fraction("dropout", 1)
    for bad in ("0.5", None, True):  # not numbers: a ValueError naming the value, not a TypeError
        with pytest.raises(ValueError, match=re.escape(f"`dropout`: {bad!r}.")):
            validate_fraction("dropout", bad)
