"""Work on a second core: numpy, pyarrow and hashlib release the GIL in their loops, so a
thread overlaps real work (hashing the data, encoding groups, the ROC AUC) with the model's
predict, which runs mostly in Python on the first core."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def background(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Start ``fn(*args, **kwargs)`` on its own thread; ``.result()`` waits for it (and
    raises what it raised).

    Args:
        fn: The work.
        *args: Its positional arguments.
        **kwargs: Its keyword arguments.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelcards")
    try:
        return pool.submit(fn, *args, **kwargs)
    finally:
        pool.shutdown(wait=False)  # the thread ends when its one job does


def done(value: T) -> Future[T]:
    """A Future that already holds ``value``: for results that need no second core.

    Args:
        value: The result.

    >>> done(3).result()
    3
    """
    future: Future[T] = Future()
    future.set_result(value)
    return future


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, in hex.

    Args:
        path: The file.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Hashes begun early (``start_sha256``), by file and its size and modification time.
_EARLY: dict[tuple[str, int, int], Future[str]] = {}
_EARLY_LOCK = threading.Lock()


def _file_key(path: str | Path) -> tuple[str, int, int]:
    st = os.stat(path)
    return os.path.realpath(path), st.st_size, st.st_mtime_ns


def start_sha256(path: str | Path) -> None:
    """Start hashing a file now, for ``file_sha256`` to take over: the CLI starts it
    before its own imports, so that a large file's hash (1.5 s of a core per GB and a
    half) is mostly done before the data are read. A daemon thread: a command that stops
    on bad input does not wait for it.

    Args:
        path: The file.
    """
    key = _file_key(path)
    with _EARLY_LOCK:
        if key in _EARLY:
            return
        future: Future[str] = Future()
        _EARLY[key] = future

    def run() -> None:
        try:
            future.set_result(sha256_file(path))
        except BaseException as exc:  # handed to whoever takes the result
            future.set_exception(exc)

    threading.Thread(target=run, name="modelcards-sha256", daemon=True).start()


def file_sha256(path: str | Path) -> Future[str]:
    """The SHA-256 of a file, computed on its own thread: the hash ``start_sha256`` began
    for this file (unchanged since), taken once, or a new one.

    Args:
        path: The file.
    """
    with _EARLY_LOCK:
        early = _EARLY.pop(_file_key(path), None)
    return early if early is not None else background(sha256_file, path)
