"""Work on a second core: numpy, pyarrow and hashlib release the GIL in their loops, so a
thread overlaps real work (hashing the data, encoding groups, the ROC AUC) with the model's
predict, which runs mostly in Python on the first core."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def background(fn: Callable[..., T], *args, **kwargs) -> Future[T]:
    """Start ``fn(*args, **kwargs)`` on its own thread; ``.result()`` waits for it (and
    raises what it raised)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelcards")
    try:
        return pool.submit(fn, *args, **kwargs)
    finally:
        pool.shutdown(wait=False)  # the thread ends when its one job does
