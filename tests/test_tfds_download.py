"""TFDS's real download-and-prepare path, offline: every module it needs is installed, and a failed download
reaches the user as one clear message (or, with the files given by hand in a manual folder, trains)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tarfile
from unittest import mock

import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import checksums, downloader

from conftest import TINY, synthetic_reviews
from keras_rnn.cli import main
from keras_rnn import SentimentConfig, SummarizationConfig, TranslationConfig
from keras_rnn.data import tfds_source
from keras_rnn.data.corpora import read_classification_split
from keras_rnn.data.tfds_source import CorpusDownloadError, load_tfds, tfds_prepare_kwargs

# Each task's TFDS default, and the other TFDS corpus the README trains on.
DEFAULT_BUILDERS = sorted({SentimentConfig().data.corpus, TranslationConfig().data.corpus, SummarizationConfig().data.corpus,
                           "glue/sst2"})


def _reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError:
        return False
    return True


def _download_hosts(name: str) -> set[str]:
    from urllib.parse import urlsplit

    return {urlsplit(url).hostname for url in tfds.builder(name).url_infos or {}}


def _chain(error: BaseException) -> list[BaseException]:
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


@pytest.mark.parametrize("name", DEFAULT_BUILDERS)
def test_tfds_download_path_fails_on_the_network_not_on_an_import(name, tmp_path):
    """The real `download_and_prepare`, one try per request: what stops it must be the missing network."""
    import requests

    hosts = _download_hosts(name)
    assert hosts, f"{name} registers no download files"
    if any(_reachable(host) for host in hosts):
        pytest.skip(f"the network reaches {sorted(hosts)}: this test is for machines without it")
    builder = tfds.builder(name, data_dir=str(tmp_path))
    with mock.patch.object(downloader, "MAX_RETRIES", 0), pytest.raises(Exception) as raised:
        builder.download_and_prepare()
    chain = _chain(raised.value)
    imports = [error for error in chain if isinstance(error, ImportError)]
    assert not imports, f"TFDS's download path of {name} needs a module that is not installed: {imports[0]!r}"
    network = (requests.exceptions.ConnectionError, socket.gaierror, ConnectionError, tfds.download.DownloadError)
    assert any(isinstance(error, network) for error in chain), [type(error).__name__ for error in chain]


def test_an_unreachable_network_is_reported_before_tfds_tries_to_download(tmp_path):
    with mock.patch.object(tfds_source, "_connect_error", return_value="[Errno -2] Name or service not known"), \
            mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare",
                              side_effect=AssertionError("TFDS should not have been asked to download")):
        with pytest.raises(CorpusDownloadError) as raised:
            read_classification_split("imdb_reviews", data_dir=str(tmp_path))
    message = str(raised.value)
    for part in ("'imdb_reviews'", "ai.stanford.edu: [Errno -2] Name or service not known", "--corpus",
                 "--data-dir", "aclImdb_v1.tar.gz", "--manual-dir"):
        assert part in message


def test_a_download_that_fails_after_the_check_is_reported_the_same_way(tmp_path):
    if _reachable("ai.stanford.edu"):
        pytest.skip("the network reaches the IMDB host")
    with mock.patch.object(tfds_source, "_connect_error", return_value=None), \
            mock.patch.object(downloader, "MAX_RETRIES", 0):
        with pytest.raises(CorpusDownloadError, match="'imdb_reviews' is not prepared .* could not be downloaded"):
            read_classification_split("imdb_reviews", data_dir=str(tmp_path))


def test_hosts_behind_a_proxy_are_not_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.example.invalid:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.example.invalid:3128")
    connect = mock.Mock(return_value="unreachable")
    with mock.patch.object(tfds_source, "_connect_error", connect):
        assert tfds_source.unreachable_download_host(tfds.builder("imdb_reviews", data_dir=str(tmp_path))) is None
    connect.assert_not_called()
    monkeypatch.delenv("https_proxy")
    monkeypatch.delenv("http_proxy")
    with mock.patch.object(tfds_source, "_connect_error", connect):
        assert tfds_source.unreachable_download_host(tfds.builder("imdb_reviews", data_dir=str(tmp_path)))
    connect.assert_called_once_with(("ai.stanford.edu", 80))


def test_prepare_kwargs_take_a_json_download_config_and_a_manual_dir(tmp_path):
    assert tfds_prepare_kwargs(None) is None
    assert tfds_prepare_kwargs({"download_dir": "/d"}) == {"download_dir": "/d"}
    kwargs = tfds_prepare_kwargs({"download_config": {"verify_ssl": False}}, str(tmp_path))
    assert isinstance(kwargs["download_config"], tfds.download.DownloadConfig)
    assert (kwargs["download_config"].verify_ssl, kwargs["download_config"].manual_dir) == (False, str(tmp_path))
    unknown_field = "not a tfds.download.DownloadConfig: .*unexpected keyword argument 'manual_folder'"
    with pytest.raises(ValueError, match=unknown_field):
        tfds_prepare_kwargs({"download_config": {"manual_folder": "x"}})
    with pytest.raises(ValueError, match="differs from download_config's '/elsewhere'"):
        tfds_prepare_kwargs({"download_config": {"manual_dir": "/elsewhere"}}, str(tmp_path))


# --- A dataset TFDS prepares from a file given by hand ---------------------------------------------------

TINY_URL = "https://downloads.example.invalid/keras_rnn_tiny_reviews.tar.gz"  # .invalid never resolves


class KerasRnnTinyReviews(tfds.core.GeneratorBasedBuilder):
    """Reviews in an aclImdb-like archive that TFDS 'downloads' from `TINY_URL` (the test's own builder)."""

    VERSION = tfds.core.Version("1.0.0")
    url_infos: dict = {}  # set by each test to the archive it writes

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {"text": tfds.features.Text(), "label": tfds.features.ClassLabel(names=["negative", "positive"])}),
            supervised_keys=("text", "label"),
        )

    def _split_generators(self, dl_manager):
        root = dl_manager.download_and_extract(TINY_URL)
        return {"train": self._generate_examples(root / "reviews")}

    def _generate_examples(self, folder):
        for label in ("negative", "positive"):
            for path in sorted((folder / label).iterdir()):
                yield f"{label}/{path.name}", {"text": path.read_text(encoding="utf-8"), "label": label}


def write_review_archive(path, rows) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for i, (text, label) in enumerate(rows):
            data = text.encode("utf-8")
            member = tarfile.TarInfo(f"reviews/{label}/{i}.txt")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))


@pytest.fixture
def manual_folder(tmp_path, monkeypatch):
    folder = tmp_path / "manual"
    folder.mkdir()
    archive = folder / "keras_rnn_tiny_reviews.tar.gz"
    write_review_archive(archive, synthetic_reviews(120, seed=3))
    info = checksums.compute_url_info(archive)
    monkeypatch.setattr(KerasRnnTinyReviews, "url_infos", {
        TINY_URL: checksums.UrlInfo(size=info.size, checksum=info.checksum, filename=archive.name)})
    return folder


def tiny_train_argv(tmp_path, *extra):
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]
    return ["train", "sentiment", "--corpus", "keras_rnn_tiny_reviews", "--data-dir", str(tmp_path / "tfds"),
            "--output", str(tmp_path / "export"), "--run-dir", str(tmp_path / "run"), "--verbose", "0",
            *flags, "--epochs", "1", *extra]


def test_tfds_prepares_a_dataset_from_a_manual_folder_without_network(manual_folder, tmp_path, capsys):
    assert main(tiny_train_argv(tmp_path, "--manual-dir", str(manual_folder))) == 0
    assert os.path.exists(tmp_path / "export" / "saved_model.pb")
    prepared = tfds.builder("keras_rnn_tiny_reviews", data_dir=str(tmp_path / "tfds"))
    assert prepared.is_prepared() and prepared.info.splits["train"].num_examples == 120
    # Prepared now: a second read needs neither the manual folder nor the network.
    with mock.patch.object(tfds_source, "_connect_error", side_effect=AssertionError("no check needed")):
        dataset = load_tfds("keras_rnn_tiny_reviews", "train", data_dir=str(tmp_path / "tfds"),
                            download_and_prepare_kwargs=None, accepted_sources="-")
        assert sum(1 for _ in dataset) == 120


def test_without_the_manual_folder_the_download_is_refused_at_once(manual_folder, tmp_path, capsys):
    assert main(tiny_train_argv(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("keras-rnn train: error: TFDS dataset 'keras_rnn_tiny_reviews' is not prepared")
    assert "downloads.example.invalid" in err and "keras_rnn_tiny_reviews.tar.gz" in err


def test_a_manual_file_with_another_checksum_is_named(manual_folder, tmp_path, capsys):
    write_review_archive(manual_folder / "keras_rnn_tiny_reviews.tar.gz", synthetic_reviews(10, seed=4))
    assert main(tiny_train_argv(tmp_path, "--manual-dir", str(manual_folder))) == 2
    err = capsys.readouterr().err
    assert "does not have the checksum TFDS registers for it: it must be the original download" in err
    assert not os.path.exists(tmp_path / "export")


def test_the_readme_command_offline_stops_with_one_message_and_no_traceback(tmp_path):
    """The README's first command, in a fresh process, with TFDS's data folder empty."""
    if _reachable("ai.stanford.edu"):
        pytest.skip("the network reaches the IMDB host: the command would train")
    env = {**os.environ, "TFDS_DATA_DIR": str(tmp_path / "tfds"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "keras_rnn", "train", "sentiment", "--corpus", "imdb_reviews", "--output",
         str(tmp_path / "saved_models" / "sentiment")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("keras-rnn train: error:")]
    assert len(errors) == 1 and "TFDS dataset 'imdb_reviews'" in errors[0] and "--corpus" in errors[0]
    assert not os.path.exists(tmp_path / "saved_models")
