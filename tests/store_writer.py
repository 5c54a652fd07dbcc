"""The writer that tests/test_predict_store.py starts in spawned processes.

A module of its own, so each spawned writer imports only the store (about 0.5 s) and not
the test module with the apps and Streamlit behind it (about 3 s): the writers start close
together and overlap, which is what the test is about.
"""

from __future__ import annotations

from modelcards._store import Store


def write(url: str, model: str, worker: int, n: int) -> None:
    """``n`` flags and ``n`` edge cases from one writer, each its own transaction."""
    store = Store(url)
    for i in range(n):
        store.add_flag(
            model=model,
            version=1,
            inputs={"worker": worker, "i": i},
            prediction="Yes",
            comment=f"{worker}-{i}",
            app="test",
        )
        store.add_edge_case(model=model, name=f"{worker}-{i}", inputs={"i": i}, app="test")
