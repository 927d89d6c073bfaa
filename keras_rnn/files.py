"""Writing files and folders so that a kill at any moment never leaves a half-written result."""

from __future__ import annotations

import contextlib
import json
import lzma
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator


def write_text_atomic(path: str, text: str) -> None:
    """Writes `text` to `path` through a temporary file in the same folder and an atomic rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise


@contextlib.contextmanager
def atomic_directory(path: str, overwrite: bool = False) -> Iterator[str]:
    """Yields a fresh temporary folder that replaces `path` only when the block finishes.

    The temporary folder sits beside `path` (same file system, so the final rename is atomic) and is
    removed if the block raises. An existing `path` is refused unless `overwrite` is True; then it is
    moved aside first and deleted only once the new folder is in place.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    path = os.path.abspath(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path!r} already exists; pass overwrite=True (--overwrite) to replace it.")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    partial = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(path)}.", suffix=".partial")
    try:
        yield partial
        if os.path.exists(path):
            old = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(path)}.", suffix=".old")
            os.rmdir(old)
            os.replace(path, old)
            os.replace(partial, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(partial, path)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


@contextlib.contextmanager
def open_tar(path: str) -> Iterator[tarfile.TarFile]:
    """`tarfile.open(path)`, with a broken or truncated archive (found on opening or while reading it) reported
    as a `ValueError` that names the file."""
    try:
        with tarfile.open(path) as archive:
            yield archive
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as error:
        if isinstance(error, OSError) and not isinstance(error, tarfile.TarError) and error.errno is not None:
            raise  # a real file-system error (missing, unreadable, disk full) speaks for itself
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"{path!r} is not a readable tar archive ({reason}).") from error


def read_json_object(path: str, what: str) -> dict:
    """The JSON object in `path`; a `ValueError` naming `what` (e.g. "--config") when it is not valid JSON or
    not an object."""
    with open(path, encoding="utf-8") as f:
        try:
            loaded = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{what} {path!r} is not valid JSON: {error}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{what} {path!r} must hold a JSON object of {{name: value}}; it holds a "
                         f"{type(loaded).__name__}.")
    return loaded
