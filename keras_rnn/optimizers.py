"""Fine-tuning a pretrained network (Howard & Ruder, 2018, "ULMFiT"): the slanted-triangular learning-rate
schedule, and Adam with a learning rate per layer group (discriminative fine-tuning) whose lower groups
start frozen and are unfrozen one after another (gradual unfreezing).

Both are Keras objects (`get_config`, registered), so a compiled model saved with them loads back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import ops

from keras_rnn.validation import validate_fraction, validate_positive_int


def validate_decay(name: str, value) -> float:
    """Returns `value` as a float if it is >= 1 (a learning-rate divisor per layer group), else raises."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
        raise ValueError(f"Received an invalid value for argument `{name}`: {value!r}. Expected a number >= 1 "
                         "(1: every layer group at one learning rate; more: lower groups learn slower).")
    return float(value)


@keras.saving.register_keras_serializable(package="keras_rnn")
class SlantedTriangular(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that rises linearly over the first `cut_fraction` of the steps, from
    `max_learning_rate / ratio` to `max_learning_rate`, then falls linearly back to
    `max_learning_rate / ratio` at `total_steps` (and stays there).

    A short steep rise moves the parameters quickly towards the task, a long decay refines them
    (Howard & Ruder, 2018, eq. 3; they use `cut_fraction=0.1`, `ratio=32`).

    Args:
        max_learning_rate: the peak.
        total_steps: the steps of the whole training.
        cut_fraction: the share of the steps spent rising. Defaults to `0.1`.
        ratio: how much smaller the lowest rate is than the peak. Defaults to `32`.

    Example:
    >>> schedule = SlantedTriangular(0.01, total_steps=100, cut_fraction=0.1, ratio=10)
    >>> [round(float(schedule(step)), 4) for step in (0, 5, 10, 55, 100, 200)]
    [0.001, 0.0055, 0.01, 0.0055, 0.001, 0.001]
    """

    def __init__(self, max_learning_rate: float, total_steps: int, cut_fraction: float = 0.1, ratio: float = 32.0):
        if not max_learning_rate > 0:
            raise ValueError(f"Received an invalid value for argument `max_learning_rate`: {max_learning_rate!r}. "
                             "Expected a number > 0.")
        self.max_learning_rate = float(max_learning_rate)
        self.total_steps = validate_positive_int("total_steps", total_steps)
        self.cut_fraction = validate_fraction("cut_fraction", cut_fraction, allow_zero=False)
        if not ratio >= 1:
            raise ValueError(f"Received an invalid value for argument `ratio`: {ratio!r}. Expected a number >= 1.")
        self.ratio = float(ratio)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        cut = float(max(math.floor(self.total_steps * self.cut_fraction), 1))
        falling = float(max(self.total_steps - cut, 1))
        position = ops.where(step < cut, step / cut, 1.0 - (step - cut) / falling)
        position = ops.clip(position, 0.0, 1.0)
        return self.max_learning_rate * (1.0 + position * (self.ratio - 1.0)) / self.ratio

    def get_config(self):
        return {"max_learning_rate": self.max_learning_rate, "total_steps": self.total_steps,
                "cut_fraction": self.cut_fraction, "ratio": self.ratio}


@keras.saving.register_keras_serializable(package="keras_rnn")
class LayerwiseAdam(keras.optimizers.Adam):
    """Adam with a learning rate per layer group: discriminative fine-tuning and gradual unfreezing.

    `layer_groups` lists groups of layer names from the bottom of the network up (e.g. the embedding,
    then each RNN layer). A variable belongs to the group of the first layer its path names
    (`"model/layer/.../weight"`); variables of no group (the new head) form the top group. With `n` listed groups, group `i`
    learns at `learning_rate / decay ** (n - i)`: each group a factor `decay` slower than the one above
    (Howard & Ruder use 2.6). With `unfreeze_every` steps, the head learns from the start and group
    `i` from step `(n - i) * unfreeze_every` on: one more group unfreezes every `unfreeze_every` steps,
    from the top down (an epoch's steps gives their one group per epoch). A frozen group's weights do
    not move (its updates are scaled by 0; its gradients are still computed, and Adam's moment estimates
    of it keep updating, so a group starts from warm moments when it unfreezes).

    Args:
        learning_rate: the head's learning rate or schedule.
        layer_groups: the groups, bottom first: each a list of layer names.
        decay: the factor between the learning rates of neighbouring groups. Defaults to `1.0` (one
            learning rate for all).
        unfreeze_every: steps between two unfreezings, or `None` to train every group from the start.
        **kwargs: `keras.optimizers.Adam` arguments (`clipnorm`, `beta_1`, ...).

    Example:
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="body"),
    ...                           keras.layers.Dense(1, name="head")])
    >>> optimizer = LayerwiseAdam(0.1, layer_groups=[["body"]], decay=2.0, unfreeze_every=1)
    >>> model.compile(optimizer=optimizer, loss="mse")
    >>> body = model.get_layer("body").get_weights()[0].copy()
    >>> _ = model.train_on_batch(np.ones((4, 3)), np.ones((4, 1)))  # step 0: the body is frozen
    >>> bool((model.get_layer("body").get_weights()[0] == body).all())
    True
    >>> _ = model.train_on_batch(np.ones((4, 3)), np.ones((4, 1)))  # step 1: it learns at 0.1 / 2
    >>> bool((model.get_layer("body").get_weights()[0] == body).all())
    False
    """

    def __init__(self, learning_rate=0.001, layer_groups: Sequence[Sequence[str]] = (), decay: float = 1.0,
                 unfreeze_every: int | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.layer_groups = [[str(name) for name in group] for group in layer_groups]
        seen: dict[str, int] = {}
        for index, group in enumerate(self.layer_groups):
            for name in group:
                if name in seen:
                    raise ValueError(f"Layer {name!r} is in layer groups {seen[name]} and {index}; a layer belongs "
                                     "to one group.")
                seen[name] = index
        self._group_of_layer = seen
        self.decay = validate_decay("decay", decay)
        self.unfreeze_every = None if unfreeze_every is None else validate_positive_int("unfreeze_every", unfreeze_every)

    def _depth(self, path: str) -> int:
        """How many groups below the head the layer of a variable path is (0: the head)."""
        for part in path.split("/"):  # "model/layer/.../weight": the first part that names a grouped layer
            if part in self._group_of_layer:
                return len(self.layer_groups) - self._group_of_layer[part]
        return 0

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        # By variable index: the backend hands `update_step` its own variables, which have no Keras path.
        self._depths = [self._depth(variable.path) for variable in variables]

    def update_step(self, gradient, variable, learning_rate):
        depth = self._depths[self._get_variable_index(variable)]
        if depth:
            learning_rate = learning_rate / (self.decay ** depth)
            if self.unfreeze_every:
                unfrozen = ops.cast(self.iterations >= depth * self.unfreeze_every, learning_rate.dtype)
                learning_rate = learning_rate * unfrozen
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update(layer_groups=self.layer_groups, decay=self.decay, unfreeze_every=self.unfreeze_every)
        return config
