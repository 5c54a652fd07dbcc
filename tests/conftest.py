"""Shared fixtures: real SQLite MLflow stores in temporary folders, no mocks."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    # Never touch a developer's own store or server.
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MODELCARDS_TRUSTED_TYPES", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("MODELCARDS_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def empty_store_db(tmp_path_factory) -> Path:
    """The ``mlflow.db`` of an empty embedded store, created once per session.

    MLflow builds a new SQLite store by running every schema migration it has (4-10 s on
    a busy 2-core machine); a copy of the migrated file is the same empty store in
    milliseconds. Stores made from nothing are still tested: ``modelcards`` commands on a
    fresh home, ``examples`` in an empty folder, the README's snippets.
    """
    from modelcards import Registry

    home = tmp_path_factory.mktemp("empty-store")
    Registry(home=home).list_models()  # creates and migrates mlflow.db
    return home / "mlflow.db"


def new_store(home: Path, empty_db: Path) -> Path:
    """``home`` as an empty embedded store of its own: a copy of ``empty_store_db``."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_db, home / "mlflow.db")
    return home


@pytest.fixture(scope="session")
def examples_home(tmp_path_factory, empty_store_db) -> Path:
    """A store with the two example versions, registered once per test session."""
    from modelcards import Registry, register_examples

    home = new_store(tmp_path_factory.mktemp("examples"), empty_store_db)
    old = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        register_examples(Registry(home=home))
    finally:
        if old is not None:
            os.environ["MLFLOW_TRACKING_URI"] = old
    return home


@pytest.fixture
def examples_registry(examples_home, monkeypatch):
    from modelcards import Registry

    monkeypatch.setenv("MODELCARDS_HOME", str(examples_home))
    return Registry(home=examples_home)


@pytest.fixture
def registry(tmp_path, empty_store_db):
    """An empty registry of its own."""
    from modelcards import Registry

    return Registry(home=new_store(tmp_path / "store", empty_store_db))


@pytest.fixture(scope="session")
def arrests():
    from modelcards._examples import load_arrests_frame

    return load_arrests_frame()


@pytest.fixture(scope="session")
def fitted(arrests):
    """A small fitted pipeline on the arrests data, with its train and test frames."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from modelcards._examples import FEATURES, SENSITIVE, TARGET

    train, test = arrests.iloc[:3500], arrests.iloc[3500:]
    pipe = make_pipeline(
        make_column_transformer(
            (StandardScaler(), ["year", "age", "checks"]),
            (OneHotEncoder(handle_unknown="ignore"), ["employed", "citizen"]),
        ),
        LogisticRegression(max_iter=500),
    ).fit(train[FEATURES], train[TARGET])
    return (
        pipe,
        train[FEATURES].reset_index(drop=True),
        test[[*FEATURES, TARGET, *SENSITIVE]].reset_index(drop=True),
    )


def register(registry, model, train, test, *, name="m", alias=None, **kw):
    return registry.register(
        model,
        name=name,
        X_train=train,
        evaluation=test,
        target="released",
        positive_label="Yes",
        sensitive_features=["colour", "sex"],
        alias=alias,
        **kw,
    )


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL cluster in a temporary folder, on a free loopback port."""
    import glob
    import shutil
    import socket
    import subprocess

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail(
            "PostgreSQL is not installed: `make test` installs it (apt-get install postgresql)."
        )
    import tempfile

    bin_dir = Path(found[-1]).parent
    # Not under pytest's tmp folders: they are private to root, and as root the cluster
    # must belong to the postgres user (initdb refuses to run as root).
    root = Path(tempfile.mkdtemp(prefix="modelcards-pg-"))
    data = root / "data"
    data.mkdir()
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "-l",
            str(data / "server.log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright (Playwright's own download cannot work here).

    Per module, not per session: while Playwright's sync API is open it marks its event
    loop as running, and asyncio.run() in a later module (tests/test_demo_load.py) fails."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser tab; on failure a screenshot is saved under tests/artifacts/."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    if getattr(request.node, "failed", False):
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Mark failed tests, so browser fixtures can save a screenshot."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        item.failed = True


def register_pair(registry, fitted, arrests):
    """Two comparable versions of one model: ``m@champion`` (the fitted pipeline) and
    ``m@challenger`` (more regularised, so some groups change)."""
    from sklearn.base import clone

    pipe, train, test = fitted
    register(registry, pipe, train, test, name="m", alias="champion")
    challenger = clone(pipe).set_params(logisticregression__C=0.005)
    challenger.fit(train, arrests["released"].iloc[: len(train)])
    register(registry, challenger, train, test, name="m", alias="challenger")


def tricky_pair_frame(test):
    """The evaluation rows with a (missing) sex, a colour group of 3 and, between them,
    intersection cells of every size."""
    frame = test.copy()
    frame.loc[:20, "sex"] = None
    frame.loc[30:32, "colour"] = "Other"
    return frame
