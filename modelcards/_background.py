"""Work on a second core: numpy, pyarrow and hashlib release the GIL in their loops, so a
thread overlaps real work (hashing the data, encoding groups, the ROC AUC) with the model's
predict, which runs mostly in Python on the first core."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


def parallel_map(fn: Callable[..., T], items: Iterable, *, workers: int) -> list[T]:
    """``[fn(x) for x in items]`` on up to ``workers`` threads, in order."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))
