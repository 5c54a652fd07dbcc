"""The shared demo under load. Run: `.venv/bin/python benchmarks/demo_load.py`.

Registers the example models in a temporary store, then:

* **Streamlit:** starts `modelcards demo` on a free loopback port and opens 1, 5 and 20
  concurrent sessions over the WebSocket, the way a browser does (``BackMsg`` /
  ``ForwardMsg`` protobufs, no browser). Each session loads the Try it page from a link
  with inputs of its own (``session_inputs``), then changes one input (``age``)
  ``--reruns`` times, to a value it has not had before; a rerun is timed from sending the
  widget change to the ``script_finished`` message, so it is the server's time (loopback
  only). No two runs in a benchmark ask for the same inputs, so no cache of predictions or
  explanations can answer a rerun from an earlier one.
* **Gradio:** starts `modelcards demo --ui gradio` and has 1, then 20, concurrent callers
  post to ``/predict`` (Gradio's HTTP API: ``/gradio_api/call/predict``, then its event
  stream) back to back for ``--seconds``; prints calls a second and the median and p95
  call time.

Prints one table per app, with errors (script errors on the page, a link that does not
carry the new value, timeouts, failed calls), the server's resident memory (``VmRSS``
from ``/proc``) after each level and its CPU time per rerun or call. Everything is
bounded: a fixed number of reruns per session, ``--timeout`` seconds per run or call, and
``--max-minutes`` for the whole script (what is left over counts as timed out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "modelcards"
PAGE = "try"  # the Try it page's url_path
QUERY = "model=arrests-release&ref=%40champion"
CHANGED = "age"  # the Try it input every rerun changes, each time to a new value
AGES = range(25, 91)  # its values (allowed: 12 to 90); one session's reruns never repeat
ISOLATE = ("MLFLOW_TRACKING_URI", "MODELCARDS_DEMO_PASSWORD")  # never the team's store
DEADLINE = float("inf")  # time.monotonic() by which everything stops; set by main
PREDICT_INPUTS = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}


@dataclass
class Run:
    """What one script run sent back."""

    seconds: float
    errors: list[str] = field(default_factory=list)
    number_inputs: dict[str, tuple[str, bool]] = field(default_factory=dict)  # label: id, int
    code: list[str] = field(default_factory=list)  # st.code texts: the Try it link


@dataclass
class Session:
    """What one Streamlit session saw."""

    first_page: float | None = None
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Level:
    """One line of the table: ``sessions`` concurrent sessions (or callers)."""

    sessions: int
    times: list[float]
    errors: list[str]
    rss_mb: float
    wall: float
    first_pages: list[float] = field(default_factory=list)
    cpu: float = float("nan")  # server CPU seconds (user + system) while timing


def session_inputs(n: int) -> dict[str, object]:
    """The inputs the ``n``-th session of a benchmark starts from (its link's ``in_*``):
    different for each of the first 168 sessions, so that with reruns changing only
    ``age`` no two sessions ever ask for the same inputs."""
    return {
        "year": 1997 + n % 6,
        "employed": ("Yes", "No")[n // 6 % 2],
        "citizen": ("Yes", "No")[n // 12 % 2],
        "checks": n // 24 % 7,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=20, method="inclusive")[18]


@contextlib.contextmanager
def serving(*args: str, health: str, env: dict[str, str]) -> Iterator[tuple[int, int]]:
    """`modelcards demo ARGS` on a free loopback port, with exactly ``env``, until the
    block ends: (pid, port)."""
    port = free_port()
    # The server's log goes to a file, not a pipe: a chatty server never blocks on it.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [str(SCRIPT), "demo", *args, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # `modelcards demo` execs the server: the same pid
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    error = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"the server exited with {proc.returncode}: {error}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the server did not answer within 120 s") from None
                    time.sleep(0.1)
            yield proc.pid, port
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# --- Streamlit ------------------------------------------------------------------------


class StreamlitSession:
    """One browser tab's conversation with the server, without the browser."""

    def __init__(self, ws: object, port: int, inputs: dict[str, object] | None = None) -> None:
        from urllib.parse import urlencode

        self.ws = ws
        self.port = port
        self.query = QUERY + "".join(
            f"&{urlencode({f'in_{k}': v})}" for k, v in (inputs or {}).items()
        )
        self.page_hash = ""
        # Every widget outside a form, as the browser's widget manager holds it: the
        # browser sends all of them with every rerun, not only the one that changed.
        self.widgets: dict[str, object] = {}
        self.fragment_of: dict[str, str] = {}  # widget id: the fragment it is drawn in
        self.fragment = ""  # a change inside a fragment reruns only that fragment

    async def run(self, *, first: bool, timeout: float) -> Run:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.context_info.url = f"http://127.0.0.1:{self.port}/{PAGE}?{self.query}"
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        if first:
            state.page_name = PAGE
        else:
            state.page_script_hash = self.page_hash
            state.fragment_id = self.fragment
            state.widget_states.widgets.extend(self.widgets.values())
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        run = Run(seconds=0.0)
        async with asyncio.timeout(min(timeout, DEADLINE - time.monotonic())):
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await self.ws.recv())
                kind = fwd.WhichOneof("type")
                if kind == "navigation":
                    self.page_hash = fwd.navigation.page_script_hash
                elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                    self._element(fwd.delta.new_element, fwd.delta.fragment_id, run)
                elif kind == "script_finished":
                    if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        continue
                    run.seconds = time.perf_counter() - start
                    if fwd.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                        run.errors.append("the script did not compile")
                    return run

    def _element(self, element: object, fragment: str, run: Run) -> None:
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.NumberInput_pb2 import NumberInput
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        kind = element.WhichOneof("type")
        el = getattr(element, kind)
        if kind == "exception":
            run.errors.append(f"exception: {el.message}")
        elif kind == "alert" and el.format == Alert.ERROR:
            run.errors.append(f"error: {el.body}")
        elif kind == "number_input" and not el.form_id:
            integer = el.data_type == NumberInput.INT
            # Keyed by the input's name: the label may add a unit, "age (years)".
            run.number_inputs[el.label.split(" (")[0]] = (el.id, integer)
            self.fragment_of[el.id] = fragment
            # A widget the page already shows keeps its value unless the server sets one.
            if el.set_value or el.id not in self.widgets:
                value = el.value if el.set_value else el.default
                w = WidgetState(id=el.id)
                if integer:
                    w.int_value = int(value)
                else:
                    w.double_value = value
                self.widgets[el.id] = w
        elif kind == "code":
            run.code.append(el.code_text)
        elif kind == "selectbox" and not el.form_id and (el.set_value or el.id not in self.widgets):
            value = el.raw_value if el.set_value else el.options[el.default]
            self.widgets[el.id] = WidgetState(id=el.id, string_value=value)

    def value(self, run: Run, name: str) -> float:
        """A number input's value as the page shows it."""
        w = self.widgets[run.number_inputs[name][0]]
        return float(w.int_value if run.number_inputs[name][1] else w.double_value)

    def change(self, run: Run, name: str, value: int) -> None:
        """Set a number input as a person typing into it would."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id, integer = run.number_inputs[name]
        self.fragment = self.fragment_of.get(widget_id, "")
        w = WidgetState(id=widget_id)
        if integer:
            w.int_value = value
        else:
            w.double_value = value
        self.widgets[widget_id] = w


async def streamlit_session(
    port: int,
    *,
    inputs: dict[str, object],
    reruns: int,
    timeout: float,
    loaded: asyncio.Barrier,
    go: asyncio.Event,
) -> Session:
    """Load Try it from a link with ``inputs``, wait for the other sessions to load it
    too, then change one input ``reruns`` times, each time to a value not seen before."""
    import websockets

    result = Session()
    try:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=None,
            open_timeout=timeout,
        ) as ws:
            session = StreamlitSession(ws, port, inputs)
            try:
                run = await session.run(first=True, timeout=timeout)
                result.first_page = run.seconds
                result.errors += run.errors
            finally:
                await loaded.wait()  # every session loaded (or failed): reruns start together
            await go.wait()
            if CHANGED not in run.number_inputs:
                result.errors.append(f"the Try it page has no {CHANGED!r} input")
                return result
            first_value = session.value(run, CHANGED)
            values = [a for a in AGES if a != first_value][:reruns]
            if len(values) < reruns:
                result.errors.append(f"at most {len(values)} fresh values of {CHANGED}")
            for value in values:
                session.change(run, CHANGED, value)
                run = await session.run(first=False, timeout=timeout)
                result.times.append(run.seconds)
                result.errors += run.errors
                # The rerun really used the new value: the page's link carries it.
                shown = {**inputs, CHANGED: value}
                if not any(
                    all(f"in_{k}={v}&" in f"{c}&" for k, v in shown.items()) for c in run.code
                ):
                    result.errors.append(f"the link does not show {shown}")
    except TimeoutError:
        result.errors.append("timed out")
    except (OSError, websockets.WebSocketException) as exc:
        result.errors.append(f"connection: {exc}")
    return result


async def streamlit_level(
    port: int, pid: int, *, sessions: int, reruns: int, timeout: float, first_session: int = 0
) -> Level:
    """``sessions`` concurrent sessions, numbered from ``first_session`` (each number
    starts from its own inputs: give every level of one server its own numbers)."""
    loaded = asyncio.Barrier(sessions + 1)
    go = asyncio.Event()
    tasks = [
        asyncio.create_task(
            streamlit_session(
                port,
                inputs=session_inputs(first_session + i),
                reruns=reruns,
                timeout=timeout,
                loaded=loaded,
                go=go,
            )
        )
        for i in range(sessions)
    ]
    await loaded.wait()
    cpu = cpu_seconds(pid)
    start = time.perf_counter()
    go.set()
    results = await asyncio.gather(*tasks)
    level = Level(
        sessions,
        times=[t for r in results for t in r.times],
        errors=[e for r in results for e in r.errors],
        first_pages=[r.first_page for r in results if r.first_page is not None],
        wall=time.perf_counter() - start,
        rss_mb=rss_mb(pid),
    )
    level.cpu = cpu_seconds(pid) - cpu
    return level


# --- Gradio ---------------------------------------------------------------------------


async def gradio_call(client: object, port: int) -> dict:
    """One /predict call through Gradio's HTTP API; the answer."""
    base = f"http://127.0.0.1:{port}/gradio_api/call/predict"
    r = await client.post(base, json={"data": list(PREDICT_INPUTS.values())})
    r.raise_for_status()
    event = r.json()["event_id"]
    async with client.stream("GET", f"{base}/{event}") as stream:
        kind = None
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                data = line.split(":", 1)[1].strip()
                if kind == "error":
                    raise RuntimeError(f"/predict failed: {data}")
                return dict(json.loads(data)[0])
    raise RuntimeError("/predict ended without an answer")


async def gradio_level(
    port: int, pid: int, *, callers: int, seconds: float, timeout: float
) -> Level:
    """``callers`` concurrent callers, each calling /predict again as soon as it answers,
    for ``seconds``."""
    import httpx

    times: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + seconds

    async def caller(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop and time.monotonic() < DEADLINE:
            t = time.perf_counter()
            try:
                answer = await gradio_call(client, port)
                if answer.get("label") is None or not answer.get("reference"):
                    errors.append(f"unexpected answer {answer!r}")
            except (httpx.HTTPError, RuntimeError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            times.append(time.perf_counter() - t)

    cpu = cpu_seconds(pid)
    start = time.perf_counter()
    limits = httpx.Limits(max_connections=2 * callers)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        await asyncio.wait_for(
            asyncio.gather(*(caller(client) for _ in range(callers))), seconds + timeout
        )
    level = Level(callers, times, errors, rss_mb=rss_mb(pid), wall=time.perf_counter() - start)
    level.cpu = cpu_seconds(pid) - cpu
    return level


# --- the tables -----------------------------------------------------------------------


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:>9.0f} {p95(values) * 1000:>8.0f}"


def streamlit_table(levels: list[Level]) -> None:
    print("Streamlit: Try it reruns, one input changed per rerun (server time, ms)")
    print(
        f"{'sessions':>8} {'reruns':>6} {'median ms':>9} {'p95 ms':>8} {'errors':>6} "
        f"{'RSS MB':>7} {'CPU ms/rerun':>12} {'first page s':>12}"
    )
    for lv in levels:
        first = statistics.median(lv.first_pages) if lv.first_pages else float("nan")
        cpu = lv.cpu / len(lv.times) * 1000 if lv.times else float("nan")
        print(
            f"{lv.sessions:>8} {len(lv.times):>6} {ms(lv.times)} {len(lv.errors):>6} "
            f"{lv.rss_mb:>7.0f} {cpu:>12.1f} {first:>12.2f}"
        )
    for lv in levels:
        for e in sorted(set(lv.errors))[:5]:
            print(f"  {lv.sessions} sessions: {e}")


def gradio_table(levels: list[Level]) -> None:
    print("Gradio: /predict through the HTTP API, callers calling back to back")
    print(
        f"{'callers':>8} {'calls':>6} {'calls/s':>8} {'median ms':>9} {'p95 ms':>8} "
        f"{'errors':>6} {'RSS MB':>7} {'CPU ms/call':>12}"
    )
    for lv in levels:
        cpu = lv.cpu / len(lv.times) * 1000 if lv.times else float("nan")
        print(
            f"{lv.sessions:>8} {len(lv.times):>6} {len(lv.times) / lv.wall:>8.1f} "
            f"{ms(lv.times)} {len(lv.errors):>6} {lv.rss_mb:>7.0f} {cpu:>12.1f}"
        )
    for lv in levels:
        for e in sorted(set(lv.errors))[:5]:
            print(f"  {lv.sessions} callers: {e}")


def run_streamlit(
    env: dict[str, str], *, sessions: list[int], reruns: int, timeout: float
) -> list[Level]:
    with serving(health="/_stcore/health", env=env) as (pid, port):
        levels = []
        for n in sessions:
            first = sum(lv.sessions for lv in levels)  # no session repeats another's inputs
            levels.append(
                asyncio.run(
                    streamlit_level(
                        port, pid, sessions=n, reruns=reruns, timeout=timeout, first_session=first
                    )
                )
            )
        return levels


def run_gradio(
    env: dict[str, str], *, callers: list[int], seconds: float, timeout: float
) -> list[Level]:
    with serving("--ui", "gradio", health="/gradio_api/info", env=env) as (pid, port):
        asyncio.run(gradio_level(port, pid, callers=1, seconds=0.5, timeout=timeout))  # warm
        return [
            asyncio.run(gradio_level(port, pid, callers=n, seconds=seconds, timeout=timeout))
            for n in callers
        ]


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=ints, default=[1, 5, 20], help="Streamlit levels")
    ap.add_argument("--reruns", type=int, default=10, help="input changes per session")
    ap.add_argument("--callers", type=ints, default=[1, 20], help="Gradio levels")
    ap.add_argument("--seconds", type=float, default=10.0, help="Gradio seconds per level")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds, per run or call")
    ap.add_argument("--max-minutes", type=float, default=15.0, help="for the whole script")
    ap.add_argument("--only", choices=["streamlit", "gradio"], help="one app only")
    args = ap.parse_args()
    global DEADLINE
    DEADLINE = time.monotonic() + args.max_minutes * 60
    with tempfile.TemporaryDirectory(prefix="modelcards-load-") as home:
        # The temporary store only: no team registry, no password prompt.
        env = {
            **{k: v for k, v in os.environ.items() if k not in ISOLATE},
            "MODELCARDS_HOME": home,
            "MODELCARDS_DB_URL": f"sqlite:///{home}/demo.db",
        }
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        from modelcards import Registry, register_examples

        register_examples(Registry(home=home))
        if args.only != "gradio":
            streamlit_table(
                run_streamlit(env, sessions=args.sessions, reruns=args.reruns, timeout=args.timeout)
            )
        if args.only != "streamlit":
            gradio_table(
                run_gradio(env, callers=args.callers, seconds=args.seconds, timeout=args.timeout)
            )


if __name__ == "__main__":
    main()
