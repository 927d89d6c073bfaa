import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_with_tensorflow_alone
from keras_rnn import export as export_module
from keras_rnn.export import read_manifest
from keras_rnn.tasks.sentiment import export_sentiment
from keras_rnn.tasks.sentiment import SentimentPredictor
from keras_rnn.models.classifier import class_probabilities

TEXTS = ["a wonderful great film", "dull and awful", "the plot", ""]

HARD_INPUTS = [
    "",
    "   \t\n ",
    "zzzz qqqq xxxx",  # every word out of vocabulary
    "😀🎬 très émouvant, 非常好 ﷽",
    "great " * 20000,  # 120k characters
    "<br /><br />",
]


def in_python(result, texts):
    ids = result.preprocessor.pad(result.preprocessor(tf.constant(texts)))
    return class_probabilities(result.model(ids, training=False)).numpy()


def test_savedmodel_runs_with_tensorflow_alone_and_matches_python(trained):
    result, path = trained
    script = (
        "import json, sys, tensorflow as tf\n"
        f"serve = tf.saved_model.load({path!r}).signatures['serving_default']\n"
        f"out = serve(text=tf.constant({TEXTS!r}))\n"
        "print(json.dumps({'probabilities': out['probabilities'].numpy().tolist(),\n"
        "                  'label': [l.decode() for l in out['label'].numpy()],\n"
        "                  'imported': sorted(m for m in sys.modules if m.startswith('keras_rnn'))}))\n"
    )
    served = run_with_tensorflow_alone(script)
    assert served["imported"] == []
    expected = in_python(result, TEXTS)
    np.testing.assert_allclose(served["probabilities"], expected, rtol=1e-5, atol=1e-6)
    assert served["label"] == [result.class_names[i] for i in expected.argmax(-1)]


def test_saved_model_cli_shows_a_string_input_named_text(trained):
    _, path = trained
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    done = subprocess.run([cli, "show", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default"],
                          capture_output=True, text=True, timeout=300, check=True)
    assert "inputs['text'] tensor_info:\n      dtype: DT_STRING" in done.stdout
    assert "outputs['label']" in done.stdout and "outputs['probabilities']" in done.stdout


def test_export_folder_holds_the_keras_model_and_manifest(trained):
    import keras

    result, path = trained
    manifest = read_manifest(path)
    assert manifest["task"] == "sentiment" and manifest["class_names"] == result.class_names
    model = keras.saving.load_model(os.path.join(path, "keras", "model.keras"))
    ids = np.array([[2, 3, 4, 0]])
    np.testing.assert_allclose(model(ids).numpy(), result.model(ids).numpy(), rtol=1e-6)


def test_predictor_labels_obvious_reviews(trained):
    _, path = trained
    predictions = SentimentPredictor(path).predict(["great wonderful excellent", "awful terrible bad"])
    assert [p["label"] for p in predictions] == ["positive", "negative"]
    assert all(abs(sum(p["probabilities"].values()) - 1) < 1e-5 for p in predictions)


def test_serving_never_crashes_on_hard_inputs(trained):
    _, path = trained
    serve = tf.saved_model.load(path).signatures["serving_default"]
    texts = [t.encode("utf-8") for t in HARD_INPUTS] + [b"\xff\xfe\x80 invalid utf-8", b"\x00\x01"]
    out = serve(text=tf.constant(texts))
    probabilities = out["probabilities"].numpy()
    assert probabilities.shape == (len(texts), 2) and np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    assert set(out["label"].numpy()) <= {b"negative", b"positive"}
    empty = serve(text=tf.constant([], tf.string))
    assert empty["probabilities"].shape == (0, 2)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.text(max_size=300), st.binary(max_size=300)), min_size=1, max_size=8))
def test_serving_handles_any_string_property(trained, texts):
    _, path = trained
    serve = _cached_signature(path)
    data = [t.encode("utf-8", "surrogatepass") if isinstance(t, str) else t for t in texts]
    probabilities = serve(text=tf.constant(data, tf.string))["probabilities"].numpy()
    assert probabilities.shape == (len(data), 2)
    assert np.all(np.isfinite(probabilities)) and np.allclose(probabilities.sum(-1), 1.0, atol=1e-5)


_SIGNATURES = {}


def _cached_signature(path):
    if path not in _SIGNATURES:
        _SIGNATURES[path] = tf.saved_model.load(path).signatures["serving_default"]
    return _SIGNATURES[path]


def test_export_refuses_to_overwrite_and_overwrites_when_asked(trained, tmp_path):
    result, _ = trained
    target = str(tmp_path / "model")
    args = (result.model, result.preprocessor, result.class_names, result.config)
    export_sentiment(target, *args)
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        export_sentiment(target, *args)
    os.remove(os.path.join(target, "keras_rnn.json"))
    export_sentiment(target, *args, overwrite=True)
    assert os.path.exists(os.path.join(target, "keras_rnn.json"))
    assert sorted(os.listdir(tmp_path)) == ["model"]  # no temporary folders left behind


def failing_archive(error, half_written=False):
    """An ExportArchive whose write_out dies like a killed or failing writer would."""
    real_archive = export_module.keras.export.ExportArchive

    class Failing:
        def __init__(self):
            self.real = real_archive()

        def __getattr__(self, name):
            return getattr(self.real, name)

        def write_out(self, path, **kwargs):
            if half_written:
                with open(os.path.join(path, "saved_model.pb"), "wb") as f:
                    f.write(b"half")
            raise error

    return Failing


def test_a_failed_export_leaves_nothing_at_the_target(trained, tmp_path, monkeypatch):
    result, _ = trained
    target = str(tmp_path / "model")
    monkeypatch.setattr(export_module.keras.export, "ExportArchive",
                        failing_archive(KeyboardInterrupt("killed while writing"), half_written=True))
    with pytest.raises(KeyboardInterrupt):
        export_sentiment(target, result.model, result.preprocessor, result.class_names, result.config)
    assert os.listdir(tmp_path) == []


def test_a_failed_overwrite_keeps_the_previous_export(trained, tmp_path, monkeypatch):
    result, _ = trained
    target = tmp_path / "model"
    target.mkdir()
    (target / "keras_rnn.json").write_text("{}")
    monkeypatch.setattr(export_module.keras.export, "ExportArchive", failing_archive(RuntimeError("disk full")))
    with pytest.raises(RuntimeError, match="disk full"):
        export_sentiment(str(target), result.model, result.preprocessor, result.class_names, result.config,
                         overwrite=True)
    assert os.listdir(tmp_path) == ["model"] and (target / "keras_rnn.json").read_text() == "{}"


def test_read_manifest_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a keras-rnn export"):
        read_manifest(str(tmp_path))
