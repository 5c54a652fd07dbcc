"""How long until a dead registry or a busy store is said? Run:
`.venv/bin/python benchmarks/unreachable.py`.

With our default bounds (MLflow's HTTP variables and MODELCARDS_DB_TIMEOUT unset), wall
seconds from start to the message, each the best of --repeat runs:

* `modelcards models` on an empty embedded store (the command's own start-up, for scale);
* `modelcards models` with MLFLOW_TRACKING_URI on a loopback port nothing listens on
  (refused), on a loopback socket that accepts and never answers (silent), and a
  PostgreSQL URI on such a silent socket;
* the wait alone: `Registry(URI).list_models()` in this process, imports already done;
* the demo's Try it page (AppTest, in this process) on the silent registry;
* a flag written to the SQLite store while another connection holds `BEGIN EXCLUSIVE`.

Options: --repeat 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "modelcards"
BOUNDS = (
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER",
    "MODELCARDS_DB_TIMEOUT",
)


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


@contextlib.contextmanager
def silent_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield s.getsockname()[1]


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def models(env: dict[str, str]) -> str:
    out = subprocess.run(
        [str(SCRIPT), "models"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )
    return (out.stderr or out.stdout).splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    for name in BOUNDS:
        os.environ.pop(name, None)
    home = tempfile.mkdtemp(prefix="modelcards-bench-")
    os.environ["MODELCARDS_HOME"] = home
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    rows = []
    took, said = best(lambda: models({}), args.repeat)
    rows.append(("modelcards models, empty embedded store", took, said))
    url = f"http://127.0.0.1:{dead_port()}"
    took, said = best(lambda: models({"MLFLOW_TRACKING_URI": url}), args.repeat)
    rows.append(("modelcards models, refused port", took, said))
    with silent_port() as port:
        url = f"http://127.0.0.1:{port}"
        took, said = best(lambda: models({"MLFLOW_TRACKING_URI": url}), args.repeat)
        rows.append(("modelcards models, silent HTTP server", took, said))
        pg = f"postgresql+psycopg://mlflow@127.0.0.1:{port}/mlflow"
        took, said = best(lambda: models({"MLFLOW_TRACKING_URI": pg}), args.repeat)
        rows.append(("modelcards models, silent PostgreSQL URI", took, said))

        from modelcards import Registry
        from modelcards.errors import RegistryError

        def wait(uri):
            try:
                Registry(uri).list_models()
            except RegistryError as exc:
                return str(exc).splitlines()[0]
            return "answered"

        wait(url)  # imports
        for what, uri in [("refused", f"http://127.0.0.1:{dead_port()}"), ("silent", url)]:
            took, said = best(lambda uri=uri: wait(uri), args.repeat)
            rows.append((f"the wait alone, {what} HTTP", took, said))
        took, said = best(lambda: wait(pg), args.repeat)
        rows.append(("the wait alone, silent PostgreSQL URI", took, said))

        from streamlit.testing.v1 import AppTest

        os.environ["MLFLOW_TRACKING_URI"] = url
        sys.path.insert(0, str(ROOT))

        def page():
            at = AppTest.from_string(
                "from apps.demo import run_page\nrun_page('try_it')", default_timeout=600
            )
            at.run()
            return at.error[0].value.replace("\u200b", "").splitlines()[0]

        took, said = best(page, args.repeat)
        rows.append(("demo Try it page (AppTest), silent HTTP server", took, said))
        os.environ.pop("MLFLOW_TRACKING_URI")

    from modelcards import Store

    db = Path(home) / "demo.db"
    store = Store(f"sqlite:///{db}")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")

    def flag():
        try:
            store.add_flag(model="m", version=1, inputs={}, prediction="x", comment="c", app="b")
        except Exception as exc:
            return str(exc).splitlines()[0]
        return "saved"

    took, said = best(flag, args.repeat)
    other.execute("ROLLBACK")
    rows.append(("a flag on a SQLite store locked by another writer", took, said))
    width = max(len(r[0]) for r in rows)
    for what, took, said in rows:
        print(f"{what:<{width}}  {took:6.1f} s  {said[:110]}")


if __name__ == "__main__":
    main()
