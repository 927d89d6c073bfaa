"""TFDS datasets as corpora: builder lookup, split names, and `tfds.load` with a clear download failure.

`tfds.load` downloads and prepares a dataset the first time it is asked for one. Without network that
fails only after TFDS has retried every request for minutes, with a long traceback from deep inside
`requests`. `load_tfds` first checks that the hosts TFDS would download from can be reached (unless the
files are already in the manual or download folder, the dataset is prepared, or a proxy is set), and
turns a failed download into one `CorpusDownloadError` that names the dataset and the offline
alternatives.

Files that TFDS would download can also be given by hand: put them (under the file names TFDS
registers, e.g. `aclImdb_v1.tar.gz` for `imdb_reviews`) in a folder and pass it as `manual_dir`
(`--manual-dir`); TFDS checks their checksums and prepares the dataset from them without network.
"""

from __future__ import annotations

import concurrent.futures
import os
import socket
import urllib.error
import urllib.parse
import urllib.request

import tensorflow as tf

# How long one host may take to accept a connection before the dataset counts as not downloadable.
CONNECT_TIMEOUT_S = 10.0


class CorpusDownloadError(OSError):
    """A TFDS dataset is not prepared locally and could not be downloaded (no network, host down)."""


def tfds_builder(name: str, data_dir: str | None, accepted_sources: str):
    """`tfds.builder(name)`, with an unknown name reported as a `ValueError` listing `accepted_sources`."""
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise ValueError(
            f"Unknown corpus {name!r}: not an existing file or folder, and not a TFDS dataset. "
            f"Accepted sources: {accepted_sources}."
        ) from error


def tfds_splits(name: str, data_dir: str | None, accepted_sources: str) -> set[str]:
    """The split names a TFDS builder declares (for an unprepared builder: those its code lists)."""
    return set(tfds_builder(name, data_dir, accepted_sources).info.splits.keys())


def tfds_prepare_kwargs(kwargs: dict | None, manual_dir: str | None = None) -> dict | None:
    """`tfds_prepare_kwargs` as `tfds.load` takes them.

    A `download_config` given as a dict (as `--download-and-prepare-kwargs` JSON gives it) becomes a
    `tfds.download.DownloadConfig`; `manual_dir` is set on it.

    Raises:
        ValueError: `download_config` holds a field `DownloadConfig` does not have, or names another
            `manual_dir` than the one given.

    Example:
    ```python
    >>> kwargs = tfds_prepare_kwargs({"download_config": {"verify_ssl": False}}, manual_dir="/data/imdb")
    >>> kwargs["download_config"].manual_dir, kwargs["download_config"].verify_ssl
    ('/data/imdb', False)

    ```
    """
    if not kwargs and manual_dir is None:
        return kwargs
    import tensorflow_datasets as tfds

    kwargs = dict(kwargs or {})
    config = kwargs.get("download_config")
    if isinstance(config, dict):
        try:
            config = tfds.download.DownloadConfig(**config)
        except TypeError as error:
            raise ValueError(f"download_config {config!r} is not a tfds.download.DownloadConfig: {error}") from None
    if manual_dir is not None:
        manual_dir = os.path.expanduser(manual_dir)
        config = config or tfds.download.DownloadConfig()
        if config.manual_dir is not None and os.fspath(config.manual_dir) != manual_dir:
            raise ValueError(f"manual_dir {manual_dir!r} differs from download_config's {str(config.manual_dir)!r}; "
                             "give it once.")
        config.manual_dir = manual_dir
    if config is None:
        return kwargs
    kwargs["download_config"] = config
    return kwargs


def load_tfds(
    name: str,
    split: str,
    *,
    data_dir: str | None,
    download_and_prepare_kwargs: dict | None,
    accepted_sources: str,
) -> tf.data.Dataset:
    """`tfds.load(name, split=split)` as a dataset of feature dicts, downloading only when it can.

    Args:
        name: TFDS builder name (`"imdb_reviews"`, `"ted_hrlr_translate/pt_to_en"`).
        split: split name or slice.
        data_dir: TFDS data folder (default: TFDS's own, `~/tensorflow_datasets`).
        download_and_prepare_kwargs: passed to `tfds.load` (see `tfds_prepare_kwargs`).
        accepted_sources: the corpora the caller reads, named when `name` is unknown or cannot be downloaded.

    Raises:
        CorpusDownloadError: the dataset is not prepared and its files could not be downloaded.
    """
    import tensorflow_datasets as tfds

    kwargs = tfds_prepare_kwargs(download_and_prepare_kwargs)
    builder = tfds_builder(name, data_dir, accepted_sources)
    config = (kwargs or {}).get("download_config")

    def load(download: bool) -> tf.data.Dataset:
        return tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False, download=download,
                         download_and_prepare_kwargs=kwargs)

    if config is None or config.download_mode == tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS:
        # Prepared data needs no download, and no network check (`tfds.testing.mock_data` looks like this too).
        try:
            return load(download=False)
        except AssertionError as error:  # TFDS's "could not find data in ...": not prepared yet
            if "could not find data" not in str(error):
                raise
    unreachable = unreachable_download_host(builder, config.manual_dir if config else None)
    if unreachable:
        raise CorpusDownloadError(_offline_message(builder, name, unreachable, accepted_sources, config))
    try:
        return load(download=True)
    except tfds.download.download_manager.NonMatchingChecksumError as error:
        raise ValueError(
            f"A file given for TFDS dataset {name!r} does not have the checksum TFDS registers for it: it must be "
            f"the original download, unchanged. {str(error).splitlines()[0]}"
        ) from error
    except _network_errors() as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CorpusDownloadError(_offline_message(builder, name, reason, accepted_sources, config)) from error


def unreachable_download_host(builder, manual_dir=None) -> str | None:
    """Why `builder` cannot download what it still needs (`"host: reason"`), or None when it can or needs nothing.

    It answers only when no host answers at all (one host down is for TFDS to report). Nothing is needed when
    the dataset is prepared, or when each file is in `manual_dir` or already in the download folder. A host
    behind a configured proxy is not checked (the proxy reaches it, not we), nor are builders that register
    no download files.
    """
    if builder.is_prepared():
        return None
    # The checksum file lists every file a builder downloads; reading it needs TFDS's download
    # dependencies (a missing one raises ImportError here, before any network use).
    url_infos = builder.url_infos or {}
    downloads = builder.data_dir_root / "downloads"
    manual = os.path.expanduser(os.fspath(manual_dir)) if manual_dir else os.fspath(downloads / "manual")
    proxies = urllib.request.getproxies()
    hosts = set()
    for url, info in url_infos.items():
        if info.filename and os.path.exists(os.path.join(manual, info.filename)):
            continue
        if _cached_download(downloads, url, info.checksum):
            continue
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        if proxies.get(parts.scheme) and not urllib.request.proxy_bypass(parts.hostname):
            continue
        hosts.add((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)))
    if not hosts:
        return None
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(hosts))) as pool:
        reasons = dict(zip(sorted(hosts), pool.map(_connect_error, sorted(hosts))))
    if any(reason is None for reason in reasons.values()):
        return None  # the network is there: let TFDS try (and report what a single host says)
    (host, _), reason = next(iter(reasons.items()))
    return f"{host}: {reason}"


def _cached_download(downloads, url: str, checksum: str) -> bool:
    from tensorflow_datasets.core.download import resource

    return (downloads / resource.get_dl_fname(url, checksum)).exists()


def _connect_error(host_port: tuple[str, int]) -> str | None:
    """None when a TCP connection to the host opens within `CONNECT_TIMEOUT_S`, else why not."""
    try:
        socket.create_connection(host_port, timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        return str(error) or type(error).__name__
    return None


def _network_errors() -> tuple[type[BaseException], ...]:
    import requests
    import tensorflow_datasets as tfds

    return (requests.exceptions.RequestException, urllib.error.URLError, ConnectionError, TimeoutError,
            socket.gaierror, tfds.download.DownloadError)


def _offline_message(builder, name: str, reason: str, accepted_sources: str, config=None) -> str:
    files = sorted(info.filename for info in (builder.url_infos or {}).values() if info.filename)
    manual_dir = getattr(config, "manual_dir", None)
    if manual_dir is not None:
        manual = f"; --manual-dir {os.fspath(manual_dir)!r} does not hold all of {', '.join(files) or 'its files'}"
    elif files:
        manual = (f"; or put the files TFDS downloads ({', '.join(files)}, the originals) in a folder and pass "
                  "--manual-dir FOLDER")
    else:
        manual = ""
    return (
        f"TFDS dataset {name!r} is not prepared in {os.fspath(builder.data_dir_root)!r} and could not be downloaded "
        f"({reason}). Without network: give --corpus a local copy (accepted corpora: {accepted_sources}); or "
        f"prepare the dataset where there is network and pass that TFDS folder with --data-dir DIR{manual}."
    )
