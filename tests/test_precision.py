"""`--precision`: the dtype policy a model is built in, `auto` choosing bfloat16 only where the CPU
computes it natively, and the global policy put back after building."""

from __future__ import annotations

import keras
import pytest

from keras_rnn.core import precision
from keras_rnn.core.precision import cpu_has_native_bfloat16, dtype_policy, resolve_precision


def write_cpuinfo(path, flags: str) -> str:
    path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: fpu sse2 {flags}\n\n", encoding="utf-8")
    return str(path)


def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path):
    assert cpu_has_native_bfloat16(write_cpuinfo(tmp_path / "a", "avx2 avx512f avx512_bf16"))
    assert cpu_has_native_bfloat16(write_cpuinfo(tmp_path / "b", "avx2 amx_bf16 amx_tile"))
    assert not cpu_has_native_bfloat16(write_cpuinfo(tmp_path / "c", "avx2 avx512f avx512_vnni"))
    assert not cpu_has_native_bfloat16(str(tmp_path / "missing"))  # not Linux: float32


@pytest.mark.parametrize("native, expected", [(True, "mixed_bfloat16"), (False, "float32")])
def test_auto_picks_bfloat16_only_on_a_cpu_that_computes_it(monkeypatch, native, expected):
    monkeypatch.setattr(precision, "cpu_has_native_bfloat16", lambda: native)
    monkeypatch.setattr(precision.tf.config, "list_physical_devices", lambda kind: [])
    assert resolve_precision("auto") == expected
    monkeypatch.setattr(precision.tf.config, "list_physical_devices", lambda kind: ["GPU:0"])
    assert resolve_precision("auto") == "float32"  # cuDNN's float32 kernels
    assert resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    with pytest.raises(ValueError, match=r"`precision`: 'half'. Accepted values: 'float32', 'mixed_bfloat16'"):
        resolve_precision("half")


def test_dtype_policy_builds_inside_and_restores_the_global_policy():
    with dtype_policy("mixed_bfloat16") as policy:
        layer = keras.layers.Dense(2)
    assert policy == "mixed_bfloat16" and layer.dtype_policy.name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(RuntimeError), dtype_policy("mixed_float16"):
        raise RuntimeError
    assert keras.mixed_precision.global_policy().name == "float32"


def test_configurations_check_the_precision():
    from keras_rnn.tasks.sentiment.config import SentimentConfig
    from keras_rnn.tasks.translation.config import TranslationConfig

    assert TranslationConfig().optimization.precision == "auto"
    assert SentimentConfig().optimization.precision == "float32"
    with pytest.raises(ValueError, match=r"`precision`: 'fp16'"):
        TranslationConfig(precision="fp16")
