"""Writing files and folders so that a kill at any moment never leaves a half-written result."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
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
