"""Configurations in parts: what every task shares (data source, optimisation, decoding) and the base of
every task's configuration.

A task configuration is a few small dataclasses ("parts"), one per concern: `data` (where the examples
come from and how validation is carved), `text` (tokenization and lengths), `network`, `optimization` and,
for tasks that generate, `decoding`. Parts are shared where tasks share them (`DataConfig`,
`OptimizationConfig`, `DecodingConfig` here; the seq2seq network in `keras_rnn.core.seq2seq`) and
subclassed where a task adds fields. Field names are unique across a configuration's parts, so the
command line keeps one flag per field (`--batch-size`, not `--optimization-batch-size`) and a
configuration can be built, changed and searched by field name alone:

>>> from keras_rnn.tasks.sentiment import SentimentConfig
>>> config = SentimentConfig(units=32, epochs=1)
>>> config.network.units, config.optimization.epochs
(32, 1)
>>> config.replace(units=64).network.units
64

JSON keeps the parts (`{"task": ..., "data": {...}, "network": {...}, ...}`); `from_dict` also reads
the flat form (`{"units": 32}`), which is what configuration files written by hand and runs saved before
the parts existed hold.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, Self

from keras_rnn.data.corpora import VALIDATION_SPLITS
from keras_rnn.files import write_text_atomic
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

# The numeric precisions a model can be built in (see keras_rnn.core.precision).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")

# Learning-rate schedules over a run's steps (`keras_rnn.core.fit.learning_rate_schedule`).
LR_SCHEDULES = ("constant", "linear_decay", "slanted_triangular")


def check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"Received an invalid value for argument `{name}`: {value!r}. Expected a positive number.")


def check_non_negative(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"Received an invalid value for argument `{name}`: {value!r}. Expected a number >= 0.")


@dataclasses.dataclass
class DataConfig:
    """Where a task's examples come from: a TFDS name or a local path, the training split, and how the
    validation split is found (the corpus's own, `validation_corpus`, or carved from training)."""

    corpus: str = ""
    train_split: str = "train"
    validation_corpus: str | None = None
    validation_fraction: float = 0.05
    validation_split: str = "random"  # how a validation split is carved: "random" (seeded) or "chronological"
    data_dir: str | None = None
    download_and_prepare_kwargs: dict | None = None
    manual_dir: str | None = None  # files TFDS would download, given by hand (tfds.download.DownloadConfig)

    def __post_init__(self):
        validate_fraction("validation_fraction", self.validation_fraction, allow_zero=False)
        validate_choice("validation_split", self.validation_split, VALIDATION_SPLITS)

    def download_kwargs(self) -> dict | None:
        """The `download_and_prepare_kwargs` TFDS is given, the manual folder included."""
        from keras_rnn.data.tfds_source import tfds_prepare_kwargs

        return tfds_prepare_kwargs(self.download_and_prepare_kwargs, self.manual_dir)


@dataclasses.dataclass
class OptimizationConfig:
    """Batches, epochs, Adam and its schedule, early stopping, the seed, and the numeric precision the
    model computes in (`keras_rnn.core.precision`: `"float32"`, `"mixed_bfloat16"`, `"mixed_float16"`, or
    `"auto"`: bfloat16 where the CPU computes it natively, else float32)."""

    batch_size: int = 64
    epochs: int = 3
    learning_rate: float = 2e-3
    lr_schedule: str = "linear_decay"
    clipnorm: float | None = 1.0
    patience: int = 3
    seed: int = 1337
    precision: str = "float32"

    def __post_init__(self):
        for name in ("batch_size", "epochs", "patience"):
            validate_positive_int(name, getattr(self, name))
        check_positive("learning_rate", self.learning_rate)
        validate_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        validate_choice("precision", self.precision, PRECISIONS)
        if self.clipnorm is not None:
            check_positive("clipnorm", self.clipnorm)


@dataclasses.dataclass
class DecodingConfig:
    """How a generating task decodes for evaluation and export: beam width (1 is greedy), GNMT length
    penalty, a minimum output length and n-gram blocking."""

    beam_width: int = 5
    length_penalty: float = 0.6
    min_length: int = 0
    no_repeat_ngram_size: int = 0

    def __post_init__(self):
        validate_positive_int("beam_width", self.beam_width)
        for name in ("length_penalty", "min_length", "no_repeat_ngram_size"):
            check_non_negative(name, getattr(self, name))


# Settings that may change between a run and its resumption without changing what is trained: where the
# data lives (not what it is), how long to train and when to stop, and decoding (used only afterwards).
RESUMABLE_CHANGES = ("data_dir", "manual_dir", "epochs", "patience") + tuple(
    field.name for field in dataclasses.fields(DecodingConfig)) + ("max_length_ratio", "max_length_offset")


class TaskConfig:
    """The base of a task's configuration: its parts, built from parts or from field names.

    Subclasses set `task` (the registry name), `parts` (part name → part class), `defaults` (the task's
    own defaults, by field name, over the parts' generic ones) and `search_space` (what `keras-rnn tune`
    varies by default), and may override `validate` for checks across parts.

    Args:
        **values: parts by name (`network=ClassifierNetwork(...)`, or a dict of its fields) and/or
            fields by name (`units=32`); a field given by name overrides the same field in a given part.

    Raises:
        ValueError: an unknown name (the message lists the accepted ones) or an invalid value.
    """

    data: DataConfig
    optimization: OptimizationConfig  # every task has these two parts: the shared training reads them
    task: ClassVar[str] = ""
    parts: ClassVar[dict[str, type]] = {}
    defaults: ClassVar[dict[str, Any]] = {}
    search_space: ClassVar[dict] = {}

    def __init__(self, **values):
        fields = self.field_parts()
        flat: dict[str, Any] = {}
        named: dict[str, Any] = {}
        unknown_keys = sorted(key for key in values if key not in self.parts and key not in fields)
        if unknown_keys:
            raise ValueError(f"Unknown {self.task} configuration keys {unknown_keys}; accepted keys: "
                             f"{sorted(fields)} (or the parts {sorted(self.parts)}).")
        for key, value in values.items():
            if key in self.parts:
                if dataclasses.is_dataclass(value) and not isinstance(value, type):
                    value = dataclasses.asdict(value)
                if not isinstance(value, dict):
                    raise ValueError(f"{self.task} configuration part {key!r} must be a "
                                     f"{self.parts[key].__name__} or a dict, not {type(value).__name__}.")
                unknown = sorted(set(value) - {name for name, part in fields.items() if part == key})
                if unknown:
                    raise ValueError(f"Unknown {self.task} configuration keys {unknown} in part {key!r}; accepted "
                                     f"keys there: {self.part_fields(key)}.")
                flat.update(value)
            else:
                named[key] = value
        flat.update(named)
        for part, part_class in self.parts.items():
            own = {name: flat[name] if name in flat else self.defaults.get(name, _default(field))
                   for name, field in _part_fields(part_class).items()}
            setattr(self, part, part_class(**own))
        self.validate()

    def validate(self) -> None:
        """Checks across parts (each part checks its own fields)."""

    # --- Fields by name ---------------------------------------------------------------------------------

    @classmethod
    def field_parts(cls) -> dict[str, str]:
        """Field name → the part that holds it (names are unique across parts)."""
        owners: dict[str, str] = {}
        for part, part_class in cls.parts.items():
            for name in _part_fields(part_class):
                if name in owners:
                    raise TypeError(f"{cls.__name__}: field {name!r} is in both part {owners[name]!r} and "
                                    f"{part!r}; field names must be unique across parts.")
                owners[name] = part
        return owners

    @classmethod
    def part_fields(cls, part: str) -> list[str]:
        return list(_part_fields(cls.parts[part]))

    @classmethod
    def fields(cls) -> list[dataclasses.Field]:
        """Every field of every part, in part order (one command-line flag each)."""
        return [field for part_class in cls.parts.values() for field in _part_fields(part_class).values()]

    @classmethod
    def default_value(cls, name: str) -> Any:
        """The task's default for field `name`."""
        part = cls.field_parts()[name]
        return cls.defaults.get(name, _default(_part_fields(cls.parts[part])[name]))

    def determined_fields(self) -> tuple[str, ...]:
        """Fields whose values come from elsewhere (a pretrained encoder's vocabulary and RNN stack), which
        a hyperparameter search must leave alone; none by default."""
        return ()

    def flat(self) -> dict[str, Any]:
        """Field name → value, across parts."""
        return {name: value for part in self.parts for name, value in dataclasses.asdict(getattr(self, part)).items()}

    def replace(self, **values) -> Self:
        """A copy with the given fields (by name) changed, checked like a new configuration."""
        return type(self)(**{**self.flat(), **values})

    # --- JSON ---------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """`{"task": ..., part: {field: value}}`."""
        return {"task": self.task, **{part: dataclasses.asdict(getattr(self, part)) for part in self.parts}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def save(self, path: str) -> None:
        write_text_atomic(path, self.to_json() + "\n")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        """A configuration from `to_dict`'s form or the flat one (fields by name); `task`, when present,
        must be this one."""
        values = dict(values)
        task = values.pop("task", cls.task)
        if task != cls.task:
            raise ValueError(f"This is a {task} configuration, not a {cls.task} one.")
        return cls(**values)

    @classmethod
    def load(cls, path: str) -> Self:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    def __repr__(self) -> str:
        parts = ", ".join(f"{part}={getattr(self, part)!r}" for part in self.parts)
        return f"{type(self).__name__}({parts})"


def flatten_config_values(values: dict[str, Any], parts: dict[str, type]) -> dict[str, Any]:
    """`{part: {field: value}}` entries of `values` spread into fields by name (other entries kept), so
    a configuration file in either form can be overridden field by field."""
    flat = {}
    for key, value in values.items():
        if key in parts and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def _part_fields(part_class: type) -> dict[str, dataclasses.Field]:
    return {field.name: field for field in dataclasses.fields(part_class)}


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise TypeError(f"Configuration field {field.name!r} has no default.")
