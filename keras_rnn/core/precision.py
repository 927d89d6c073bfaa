"""The numeric precision a model is built in: float32, or mixed precision (float32 weights, float16 or
bfloat16 computations), and `"auto"`, which picks bfloat16 where the CPU computes it natively.

On this project's 2-core CPU (AVX512_BF16), bfloat16 matrix products run about twice as fast as float32
ones, and a seq2seq training step (matmul-bound: the output projection over the vocabulary and the GRU
gates) about 2.2× as fast (`benchmarks/profile_seq2seq.py --policy mixed_bfloat16`). Without native
support bfloat16 is emulated and slower, so `"auto"` keeps float32 there, and on GPUs, whose float32
cuDNN kernels need no help to be fast.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import keras
import tensorflow as tf

from keras_rnn.core.config import PRECISIONS

# CPU flags of native bfloat16 arithmetic (Linux's names): AVX512 BF16 (Cooper Lake, Zen 4 and later)
# and AMX (Sapphire Rapids and later).
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_has_native_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU computes bfloat16 natively (its flags list AVX512 BF16 or AMX BF16); False where
    that cannot be read (not Linux)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS)


def resolve_precision(precision: str) -> str:
    """The Keras dtype policy of a configuration's `precision`: itself, or for `"auto"`,
    `"mixed_bfloat16"` on a machine without GPU whose CPU computes bfloat16 natively, else `"float32"`.

    Example:
    >>> resolve_precision("float32"), resolve_precision("mixed_float16")
    ('float32', 'mixed_float16')
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Received an invalid value for argument `precision`: {precision!r}. Accepted values: "
                         f"{', '.join(repr(p) for p in PRECISIONS)}.")
    if precision != "auto":
        return precision
    if not tf.config.list_physical_devices("GPU") and cpu_has_native_bfloat16():
        return "mixed_bfloat16"
    return "float32"


@contextlib.contextmanager
def dtype_policy(precision: str) -> Iterator[str]:
    """Builds the layers made inside in `resolve_precision(precision)` (Keras's global dtype policy, put
    back afterwards: a layer keeps the policy it was made with, saved with it in `.keras` files). Yields the
    policy's name."""
    policy = resolve_precision(precision)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_global_policy(previous)
