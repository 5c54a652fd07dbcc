"""A busy, read-only or frozen feedback store: a named error within the configured wait,
nothing saved, and the demos' forms keep the person's text. Real SQLite locks, a real
PostgreSQL (locked table, stopped server), real AppTest runs."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from modelcards import Store
from modelcards.errors import ModelcardsError, StoreBusyError, StoreUnavailableError

FLAG = {"model": "m", "version": 1, "inputs": {"age": 3}, "prediction": "Yes", "app": "test"}
INPUTS = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setenv("MODELCARDS_DB_TIMEOUT", "0.5")


def within_a_minute(call, *args, **kwargs):
    """``call(...)``'s result or error; a failure, not a hung suite, when no timeout applies
    (a guard, not a speed check)."""
    from concurrent.futures import ThreadPoolExecutor, TimeoutError

    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(call, *args, **kwargs).result(timeout=60)
    except TimeoutError:
        pytest.fail("the store was still waiting after 60 s: no timeout applied")
    finally:
        pool.shutdown(wait=False)


@contextlib.contextmanager
def exclusive_lock(path: Path):
    """Another program holding the SQLite store's write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_sqlite_store_locked_by_another_writer_says_busy_and_saves_nothing(tmp_path, short_wait):
    db = tmp_path / "demo.db"
    store = Store(f"sqlite:///{db}")
    with exclusive_lock(db):
        with pytest.raises(StoreBusyError, match="busy: another connection held it for more"):
            store.add_flag(comment="wrong", **FLAG)
        with pytest.raises(StoreBusyError):
            store.add_edge_case(model="m", name="teen", inputs={"age": 3})
        assert store.flags() == []  # reading is not blocked by a writer (WAL)
    assert store.add_flag(comment="wrong", **FLAG) == 1  # free again: saved


def test_a_read_only_sqlite_store_says_so(tmp_path):
    db = tmp_path / "demo.db"
    Store(f"sqlite:///{db}")
    # SQLite's own read-only open (a chmod does not stop root, who runs these tests).
    store = Store(f"sqlite:///file:{db}?mode=ro&uri=true")
    with pytest.raises(StoreUnavailableError, match=f"{db} is read-only") as err:
        store.add_flag(comment="wrong", **FLAG)
    assert "write access" in str(err.value)


def test_a_store_timeout_that_is_not_a_number_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELCARDS_DB_TIMEOUT", "soon")
    with pytest.raises(ModelcardsError, match="MODELCARDS_DB_TIMEOUT='soon' is not a number"):
        Store(f"sqlite:///{tmp_path / 'demo.db'}")


def test_a_locked_postgres_table_says_busy_within_the_statement_timeout(postgres_url, monkeypatch):
    import psycopg

    monkeypatch.setenv("MODELCARDS_DB_TIMEOUT", "1")
    store = Store(postgres_url)
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as other:
        other.execute("LOCK TABLE flags IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(StoreBusyError, match="more than 1 s"):
            within_a_minute(store.add_flag, comment="wrong", **FLAG)
        other.rollback()
    assert store.add_flag(comment="kept and sent again", **FLAG) > 0


def _cluster_pids(postgres_url: str) -> list[int]:
    """The postmaster of the test cluster and every process it started."""
    import psycopg

    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        # Read while connected: the backend exits once the connection closes.
        stat = Path(f"/proc/{backend}/stat").read_text()
    postmaster = int(stat.rsplit(")", 1)[1].split()[1])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *map(int, children)]


def test_a_frozen_postgres_server_says_unavailable_within_the_connect_timeout(
    postgres_url, monkeypatch
):
    monkeypatch.setenv("MODELCARDS_DB_TIMEOUT", "2")
    store = Store(postgres_url)
    pids = _cluster_pids(postgres_url)
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        with pytest.raises(StoreUnavailableError, match="cannot be reached") as err:
            within_a_minute(store.add_flag, comment="wrong", **FLAG)
        assert "timeout" in str(err.value) and "127.0.0.1" in str(err.value)
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert store.add_flag(comment="sent again", **FLAG) > 0


# -- the Streamlit forms keep the text --------------------------------------------------
def try_it(**query) -> AppTest:
    at = AppTest.from_string(
        "from apps.demo import run_page\nrun_page('try_it')", default_timeout=90
    )
    for k, v in {"model": "arrests-release", "ref": "@champion", **query}.items():
        at.query_params[k] = str(v)
    for k, v in INPUTS.items():
        at.query_params[f"in_{k}"] = str(v)
    return at.run()


def test_a_flag_on_a_busy_store_keeps_the_comment_and_saves_on_retry(
    examples_registry, tmp_path, monkeypatch, short_wait
):
    db = tmp_path / "demo.db"
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{db}")
    at = try_it()
    at.text_area(key="flag_try_comment").input("should be released")
    with exclusive_lock(db):
        at.button[1].click().run()  # Flag as wrong
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert "The feedback store is busy" in error and "Your comment is kept" in error
    assert at.text_area(key="flag_try_comment").value == "should be released"
    assert Store(f"sqlite:///{db}").flags() == []
    at.button[1].click().run()  # the same text, sent again
    assert any("flagged for the team" in s.value for s in at.success)
    assert not at.error
    assert at.text_area(key="flag_try_comment").value == ""
    (flag,) = Store(f"sqlite:///{db}").flags()
    assert flag["comment"] == "should be released"


def test_saving_an_edge_case_on_a_read_only_store_keeps_the_name_and_note(
    examples_registry, tmp_path, monkeypatch
):
    db = tmp_path / "demo.db"
    Store(f"sqlite:///{db}")
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///file:{db}?mode=ro&uri=true")
    at = try_it()
    at.text_input(key="case_name").input("teenager, five checks")
    at.text_input(key="case_note").input("first arrest")
    at.button[0].click().run()  # Save edge case
    assert not at.exception
    assert any("read-only" in e.value and "kept" in e.value for e in at.error)
    assert at.text_input(key="case_name").value == "teenager, five checks"
    assert at.text_input(key="case_note").value == "first arrest"


def test_flagging_an_edge_case_on_a_busy_store_keeps_the_comment(
    examples_registry, tmp_path, monkeypatch, short_wait
):
    db = tmp_path / "demo.db"
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{db}")
    at = AppTest.from_string(
        "from apps.demo import run_page\nrun_page('edge_cases')", default_timeout=90
    ).run()
    at.button(key="run_all").click().run()
    at.text_area(key="flag_edge_comment").input("the teenager should be released")
    with exclusive_lock(db):
        at.button[1].click().run()  # Flag as wrong
    assert not at.exception
    assert any("busy" in e.value and "Your comment is kept" in e.value for e in at.error)
    assert at.text_area(key="flag_edge_comment").value == "the teenager should be released"
    assert Store(f"sqlite:///{db}").flags() == []


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+nodriver://reviewer:s3cret-pw@db.example/cards",  # no such driver
        "postgresql://reviewer:s3cret-pw@db.example:port/cards",  # not a URL SQLAlchemy reads
    ],
)
def test_a_store_that_cannot_be_opened_never_shows_its_password(url):
    with pytest.raises(ModelcardsError) as err:
        Store(url)
    said = str(err.value)
    assert "s3cret-pw" not in said
    assert "reviewer:***@db.example" in said


def test_the_cli_names_a_registry_without_its_password(monkeypatch):
    from click.testing import CliRunner

    from modelcards.cli import main

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://reviewer:s3cret-pw@127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    got = CliRunner().invoke(main, ["models"])
    assert got.exit_code == 2
    assert "s3cret-pw" not in got.output and "reviewer:***@127.0.0.1:9" in got.output
