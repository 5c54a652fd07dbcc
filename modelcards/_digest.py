"""SHA-256 of data files, hashed on a second core and, for the CLI, started early.

A card records its data file's SHA-256 (a reviewer's sign-off is bound to it). Hashing
costs about 0.8 CPU-seconds per GB; the CLI starts it (``start_sha256``) before importing
the libraries a card needs, which run on one core, so that at 100 million rows the hash
is done before the file is read rather than competing with the reading for the cores.
This module imports nothing heavy for that reason.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
from concurrent.futures import Future
from pathlib import Path

# Hashes under way or done, by file, with the file's identity when they started; each is
# taken by the first ``sha256_future`` of that file, so a changed or later file is hashed
# anew.
_STARTED: dict[str, tuple[tuple[int, int, int, int], Future[str]]] = {}
_LOCK = threading.Lock()


def sha256_file(path: str | Path) -> str:
    """The file's SHA-256, as ``sha256sum`` prints it.

    The file is hashed through a memory map, a window at a time: reading it would copy
    every byte into a buffer first (a third of the hash's CPU time on this kind of
    machine), and a window keeps the resident memory small however large the file.

    Args:
        path: The file.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            for offset in range(0, size, _WINDOW):
                length = min(_WINDOW, size - offset)
                with mmap.mmap(fh.fileno(), length, offset=offset, access=mmap.ACCESS_READ) as m:
                    h.update(m)
        except (OSError, ValueError):  # a file that cannot be mapped: read it instead
            fh.seek(0)
            return hashlib.file_digest(fh, "sha256").hexdigest()
    return h.hexdigest()


#: Bytes hashed per memory map (a multiple of every page size).
_WINDOW = 1 << 26


def _hashing(path: str | Path) -> Future[str]:
    """The hash on a daemon thread: a command that stops early (bad input) exits at once
    instead of waiting for a hash nobody will read."""
    future: Future[str] = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(sha256_file(path))
        except BaseException as exc:  # raised where the result is read
            future.set_exception(exc)

    threading.Thread(target=run, name="modelcards-sha256", daemon=True).start()
    return future


def _identity(path: str | Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def start_sha256(path: str | Path) -> None:
    """Start hashing a file on a second core, for a ``sha256_future`` of it later; does
    nothing for a path that is not a regular file.

    Args:
        path: The data file.
    """
    ident = _identity(path)
    if ident is None or not Path(path).is_file():
        return
    with _LOCK:
        key = os.path.realpath(path)
        if _STARTED.get(key, (None,))[0] != ident:
            _STARTED[key] = (ident, _hashing(path))


def sha256_future(path: str | Path) -> Future[str]:
    """The file's SHA-256 to come: the hash ``start_sha256`` began, if the file has not
    changed since (same inode, size and modification time), else one started now.

    Args:
        path: The data file.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     _ = f.write(b"abc"); f.flush()
    ...     start_sha256(f.name)
    ...     sha256_future(f.name).result()[:16]
    'ba7816bf8f01cfea'
    """
    ident = _identity(path)
    with _LOCK:
        started = _STARTED.pop(os.path.realpath(path), None)
    if started is not None and started[0] == ident:
        return started[1]
    return _hashing(path)
