"""Saved edge cases and flagged predictions, in a SQL database through SQLAlchemy.

SQLite in ``.modelcards/demo.db`` by default (WAL journal, so readers never block the
writer and concurrent writers wait their turn instead of failing); PostgreSQL or any
SQLAlchemy URL when ``MODELCARDS_DB_URL`` says so. The Streamlit and Gradio demos write
to the same tables, recording which app made each row.

Every wait is bounded by ``MODELCARDS_DB_TIMEOUT`` seconds (default 5): SQLite's wait
for another writer's lock, PostgreSQL's connect and statement timeouts. A store that is
still busy then raises ``StoreBusyError``; one that cannot be reached or written raises
``StoreUnavailableError``. Nothing is saved in either case, so the caller can keep the
person's text and let them try again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    inspect,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from .errors import DataError, ModelcardsError, StoreBusyError, StoreUnavailableError, shown_uri

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import URL, CursorResult
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

metadata = MetaData()
#: Longest comment a flag keeps (both demos' forms stop there too).
MAX_COMMENT_CHARS = 2_000

edge_cases = Table(
    "edge_cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("expected", String(200)),
    Column("note", Text),
    Column("saved_from_version", Integer),
    Column("app", String(40), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("prediction", String(200), nullable=False),
    Column("comment", Text, nullable=False),
    # Added after the first release (so nullable): the answer the stakeholder expected,
    # and the edge case a reviewer made of the flag.
    Column("expected", String(200)),
    Column("edge_case_id", Integer),
    Column("app", String(40), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


# Every run of an edge case against a version: which case (a stored case's id, or a card
# spec case by name), the version, pass or fail, the answer and when.
case_runs = Table(
    "case_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("case_id", Integer),  # None for a card spec case
    Column("case_name", String(200), nullable=False),
    Column("result", String(20), nullable=False),
    Column("predicted", String(200)),
    Column("expected", String(200)),
    Column("created", DateTime(timezone=True), nullable=False),
)

#: Columns added to a table after the first release, added to older stores on open.
_ADDED_COLUMNS = {"flags": ["expected", "edge_case_id"]}

#: A recorded run's outcome: as expected, not, or nothing to judge against.
RunResult = Literal["pass", "fail", "not judged"]


@dataclass
class EdgeCaseRecord:
    """A saved edge case.

    Attributes:
        name: Its short name.
        inputs: The inputs by name.
        expected: The outcome expected: a class label, or for a regression a range
            (``"120..180"`` or ``"150 +- 30"``); None when not said.
        note: Why the case matters.
        source: ``"card spec"`` or ``"saved in APP"``.
        id: The store's id of a saved case; None for a card spec case.
    """

    name: str
    inputs: dict[str, Any]
    expected: str | None
    note: str | None
    source: str  # "card spec" or the app that saved it
    id: int | None = None


@dataclass(frozen=True)
class CaseRun:
    """One recorded run of an edge case against a version.

    Attributes:
        case_id: The stored case's id; None for a card spec case.
        case_name: The case's name.
        version: The version it ran against.
        result: ``"pass"``, ``"fail"`` or ``"not judged"``.
        predicted: The version's answer.
        expected: The expected outcome at the time.
        created: When it ran (UTC).
    """

    case_id: int | None
    case_name: str
    version: int
    result: RunResult
    predicted: str | None
    expected: str | None
    created: dt.datetime


ENV_TIMEOUT = "MODELCARDS_DB_TIMEOUT"
DEFAULT_TIMEOUT = 5.0


def store_timeout() -> float:
    """Seconds the store waits for a lock, a connection or a statement:
    ``MODELCARDS_DB_TIMEOUT``, default 5."""
    raw = os.environ.get(ENV_TIMEOUT, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= 3600):
        raise ModelcardsError(
            f"{ENV_TIMEOUT}={raw!r} is not a number of seconds between 0 and 3600.",
            hint=f"Set it to e.g. 5 (seconds), or unset it for the default of {DEFAULT_TIMEOUT:g}.",
        )
    return seconds


def default_url() -> str:
    """The store's SQLAlchemy URL: ``MODELCARDS_DB_URL``, else SQLite in the home folder."""
    url = os.environ.get("MODELCARDS_DB_URL")
    if url:
        return url
    home = Path(os.environ.get("MODELCARDS_HOME") or Path.cwd() / ".modelcards").resolve()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'demo.db'}"


class Store:
    """Edge cases and flags for the demos.

    >>> store = Store("sqlite://")   # in memory
    >>> store.add_flag(model="m", version=1, inputs={"age": 3}, prediction="Yes",
    ...                comment="looks wrong", app="doc")
    1
    >>> [f["comment"] for f in store.flags("m")]
    ['looks wrong']
    """

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        self.timeout = store_timeout()
        try:
            parsed = make_url(self.url)
            sqlite = parsed.get_backend_name() == "sqlite"
            # How messages name the store: a SQLite file's path; a server's URL, no password.
            self.shown = (
                str(parsed.database or ":memory:").removeprefix("file:").split("?")[0]
                if sqlite
                else parsed.render_as_string(hide_password=True)
            )
            self.engine = create_engine(parsed, **_engine_options(parsed, self.timeout))
        except Exception as exc:  # bad URL or missing driver
            shown = shown_uri(self.url)
            reason = str(exc).replace(self.url, shown)
            raise ModelcardsError(
                f"Cannot open the demo database {shown!r}: {reason}",
                hint="Check MODELCARDS_DB_URL (e.g. postgresql+psycopg://user@host/db).",
            ) from exc
        if sqlite:
            busy_ms = round(self.timeout * 1000)

            def pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA busy_timeout={busy_ms}")
                cur.close()

            event.listen(self.engine, "connect", pragmas)
        with self._bounded():
            metadata.create_all(self.engine)  # creates only the tables that are missing
            self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Bring a store made by an earlier release up to date: ``create_all`` adds new
        tables but never columns, so each added (nullable) column is added when absent."""
        for table_name, columns in _ADDED_COLUMNS.items():
            present = {c["name"] for c in inspect(self.engine).get_columns(table_name)}
            table = metadata.tables[table_name]
            for name in columns:
                if name in present:
                    continue
                col = table.c[name]
                kind = col.type.compile(dialect=self.engine.dialect)
                with self.engine.begin() as conn:
                    # Two processes opening an old store at once may both try: the loser's
                    # "already exists" is the same end state.
                    try:
                        conn.execute(text(f'ALTER TABLE {table_name} ADD COLUMN "{name}" {kind}'))
                    except (OperationalError, ProgrammingError) as exc:
                        said = str(exc.orig).lower()
                        if "duplicate column" not in said and "already exists" not in said:
                            raise

    @contextlib.contextmanager
    def _bounded(self) -> Iterator[None]:
        """SQLAlchemy's OperationalError as StoreBusyError or StoreUnavailableError."""
        try:
            yield
        except OperationalError as exc:
            raise _store_error(exc, self.shown, self.timeout) from exc

    def add_edge_case(
        self,
        *,
        model: str,
        name: str,
        inputs: Mapping[str, Any],
        expected: str | None = None,
        note: str | None = None,
        version: int | None = None,
        app: str = "streamlit",
    ) -> int:
        """Save a named edge case; returns its id.

        Args:
            model: The registered model's name (cases belong to a model, not a version).
            name: A short name (required).
            inputs: The inputs by name.
            expected: The outcome the person expects, if given.
            note: Why the case matters, if given.
            version: The version it was saved from, if any.
            app: Which app saved it (default ``"streamlit"``).
        """
        if not name or not name.strip():
            raise DataError("An edge case needs a name.", hint="Give it a short name.")
        with self._bounded(), self.engine.begin() as conn:
            result = conn.execute(
                insert(edge_cases).values(
                    model=model,
                    name=name.strip(),
                    inputs=_plain(inputs),
                    expected=_text_or_none(expected),
                    note=note or None,
                    saved_from_version=version,
                    app=app,
                    created=_now(),
                )
            )
            return _inserted_id(result)

    def edge_cases(self, model: str) -> list[EdgeCaseRecord]:
        """The saved edge cases of a model, oldest first.

        Args:
            model: The registered model's name.
        """
        with self._bounded(), self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(edge_cases).where(edge_cases.c.model == model).order_by(edge_cases.c.id)
                )
                .mappings()
                .all()
            )
        return [
            EdgeCaseRecord(
                r["name"],
                dict(r["inputs"]),
                r["expected"],
                r["note"],
                f"saved in {r['app']}",
                id=int(r["id"]),
            )
            for r in rows
        ]

    def add_flag(
        self,
        *,
        model: str,
        version: int,
        inputs: Mapping[str, Any],
        prediction: str,
        comment: str,
        app: str,
        expected: str | None = None,
    ) -> int:
        """Store a flag on a prediction; returns its id.

        Args:
            model: The registered model's name.
            version: The version that answered.
            inputs: The inputs by name.
            prediction: The answer shown.
            comment: What is wrong with it (required).
            app: Which app the flag came from.
            expected: The answer the stakeholder expected, if they said.
        """
        if not comment or not comment.strip():
            raise DataError(
                "Say what is wrong with the prediction.",
                hint="Add a short comment before flagging.",
            )
        if len(comment) > MAX_COMMENT_CHARS:
            raise DataError(
                f"The comment has {len(comment):,} characters; a flag keeps at most "
                f"{MAX_COMMENT_CHARS:,}.",
                hint="Shorten it to what is wrong and why.",
            )
        with self._bounded(), self.engine.begin() as conn:
            result = conn.execute(
                insert(flags).values(
                    model=model,
                    version=int(version),
                    inputs=_plain(inputs),
                    prediction=str(prediction),
                    comment=comment.strip(),
                    expected=_text_or_none(expected),
                    app=app,
                    created=_now(),
                )
            )
            return _inserted_id(result)

    def flags(self, model: str | None = None) -> list[dict[str, Any]]:
        """Every flag, oldest first, as mappings of the table's columns.

        Args:
            model: Only this model's flags; None (the default) for all.
        """
        query = select(flags).order_by(flags.c.id)
        if model is not None:
            query = query.where(flags.c.model == model)
        with self._bounded(), self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def flag_to_edge_case(
        self, flag_id: int, *, name: str, expected: str | None = None, app: str = "streamlit"
    ) -> int:
        """Make an edge case of a flag: its inputs, and the answer the stakeholder
        expected (or ``expected``); returns the new case's id. The flag remembers it.

        Args:
            flag_id: The flag's id.
            name: The case's short name (required).
            expected: The expected outcome; default the flag's own.
            app: Which app made the case.
        """
        with self._bounded(), self.engine.connect() as conn:
            row = conn.execute(select(flags).where(flags.c.id == flag_id)).mappings().first()
        if row is None:
            raise DataError(
                f"There is no flag {flag_id}.", hint="Pick one of the flags listed for the model."
            )
        if row["edge_case_id"] is not None:
            raise DataError(
                f"Flag {flag_id} is already edge case {row['edge_case_id']}.",
                hint="Each flag becomes one edge case; edit that case instead.",
            )
        wanted = _text_or_none(expected) or row["expected"]
        if wanted is None:
            raise DataError(
                f"Flag {flag_id} does not say which answer was expected.",
                hint="Give the expected answer, so the case can pass or fail.",
            )
        if not name or not name.strip():
            raise DataError("An edge case needs a name.", hint="Give it a short name.")
        with self._bounded(), self.engine.begin() as conn:
            case_id = _inserted_id(
                conn.execute(
                    insert(edge_cases).values(
                        model=row["model"],
                        name=name.strip(),
                        inputs=dict(row["inputs"]),
                        expected=wanted,
                        note=row["comment"],
                        saved_from_version=row["version"],
                        app=app,
                        created=_now(),
                    )
                )
            )
            conn.execute(update(flags).where(flags.c.id == flag_id).values(edge_case_id=case_id))
        return case_id

    def record_runs(self, *, model: str, version: int, runs: Sequence[CaseRunInput]) -> None:
        """Record a run of edge cases against a version, all in one transaction.

        Args:
            model: The registered model's name.
            version: The version the cases ran against.
            runs: One entry per case that ran.
        """
        if not runs:
            return
        when = _now()
        with self._bounded(), self.engine.begin() as conn:
            conn.execute(
                insert(case_runs),
                [
                    {
                        "model": model,
                        "version": int(version),
                        "case_id": r.case_id,
                        "case_name": r.case_name,
                        "result": r.result,
                        "predicted": r.predicted,
                        "expected": r.expected,
                        "created": when,
                    }
                    for r in runs
                ],
            )

    def last_runs(self, *, model: str, version: int) -> list[CaseRun]:
        """Each case's most recent run against a version (the newest first).

        Args:
            model: The registered model's name.
            version: The version.
        """
        query = (
            select(case_runs)
            .where(case_runs.c.model == model, case_runs.c.version == int(version))
            .order_by(case_runs.c.id.desc())
        )
        with self._bounded(), self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        seen: set[tuple[int | None, str]] = set()
        out = []
        for r in rows:
            # A stored case is known by its id (its name may repeat); a spec case by name.
            key = (r["case_id"], r["case_name"] if r["case_id"] is None else "")
            if key in seen:
                continue
            seen.add(key)
            out.append(
                CaseRun(
                    case_id=r["case_id"],
                    case_name=r["case_name"],
                    version=int(r["version"]),
                    result=cast(RunResult, r["result"]),
                    predicted=r["predicted"],
                    expected=r["expected"],
                    created=r["created"],
                )
            )
        return out


class CaseRunInput(NamedTuple):
    """What ``Store.record_runs`` records of one case.

    Attributes:
        case_id: The stored case's id; None for a card spec case.
        case_name: The case's name.
        result: ``"pass"``, ``"fail"`` or ``"not judged"``.
        predicted: The version's answer.
        expected: The expected outcome.
    """

    case_id: int | None
    case_name: str
    result: RunResult
    predicted: str | None
    expected: str | None


def spec_edge_cases(card_spec: Mapping[str, Any] | None) -> list[EdgeCaseRecord]:
    """The edge cases written in a card spec, as records.

    Args:
        card_spec: The spec mapping stored with a version, or None.
    """
    out = []
    for case in (card_spec or {}).get("edge_cases", []) or []:
        out.append(
            EdgeCaseRecord(
                str(case.get("name")),
                dict(case.get("inputs") or {}),
                None if case.get("expected") is None else str(case["expected"]),
                case.get("note"),
                "card spec",
            )
        )
    return out


def _engine_options(url: URL, timeout: float) -> dict[str, Any]:
    """Bounded waits for the store's database; a setting in the URL itself wins."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return {"connect_args": {"timeout": timeout, "check_same_thread": False}}
    if backend != "postgresql":
        return {}
    args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        args["connect_timeout"] = max(2, math.ceil(timeout))  # libpq's floor is 2 s
    if "options" not in url.query:
        ms = round(timeout * 1000)
        args["options"] = f"-c statement_timeout={ms} -c lock_timeout={ms}"
    # A pooled connection to a frozen server waits forever: the statement timeout is the
    # server's to enforce. A new connection per use is bounded by connect_timeout, and
    # costs milliseconds on the rare occasions the demos write or list.
    return {"connect_args": args, "poolclass": NullPool}


# SQLSTATEs of a statement that gave up waiting: statement timeout, lock timeout, deadlock.
_BUSY_SQLSTATES = {"57014", "55P03", "40P01"}


def _store_error(
    exc: OperationalError, shown: str, timeout: float
) -> StoreBusyError | StoreUnavailableError:
    """What a failed store operation means for the person who was saving."""
    text = str(exc.orig)
    first = text.strip().splitlines()[0] if text.strip() else type(exc.orig).__name__
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _BUSY_SQLSTATES or "database is locked" in text or "database is busy" in text:
        return StoreBusyError(
            f"The feedback store is busy: another connection held it for more than "
            f"{timeout:g} s, so nothing was saved.",
            hint=f"Try again in a moment. If it stays busy, look for a program holding a long "
            f"transaction on {shown}; {ENV_TIMEOUT} sets how many seconds to wait.",
        )
    if "readonly database" in text or sqlstate == "25006":
        return StoreUnavailableError(
            f"The feedback store {shown} is read-only, so nothing was saved.",
            hint="Give the demo's user write access to the file and its folder (SQLite "
            "writes beside it), or set MODELCARDS_DB_URL to a writable database.",
        )
    return StoreUnavailableError(
        "The feedback store cannot be reached, so nothing was saved.",
        # The driver's words go in the hint: the Gradio API sends callers the message only.
        hint=f"{first.rstrip('.')}. Check that the database at {shown} is running and "
        f"reachable from here, and MODELCARDS_DB_URL; {ENV_TIMEOUT} sets how many seconds "
        "to wait.",
    )


def _inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None  # a single-row INSERT without RETURNING always reports its key
    return int(key[0])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _text_or_none(value: Any) -> str | None:
    """None for nothing said (None or blank), else the value as trimmed text."""
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def _plain(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe copies of input values (NumPy scalars become Python numbers)."""
    plain: dict[str, Any] = json.loads(
        json.dumps(inputs, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )
    return plain
