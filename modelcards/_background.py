"""Work on a second core: numpy, pyarrow and hashlib release the GIL in their loops, so a
thread overlaps real work (hashing the data, encoding groups, the ROC AUC) with the model's
predict, which runs mostly in Python on the first core."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
