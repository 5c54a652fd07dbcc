"""Nothing before the password, tried against running servers of both apps: plain HTTP
and websocket clients for what a visitor's program can send, chromium for the pages."""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass

import httpx
import pytest
from test_demo_server import WAIT, free_port, running_demo
from websockets.sync.client import connect

from apps.gate import LoginThrottle
from modelcards import MAX_UPLOAD_MB

PASSWORD = "s3cret"
#: The fifth wrong password in a row waits 2 s (apps/gate.py: three free, then 1 s, 2 s...).
FIFTH_WAIT = LoginThrottle().delay_after(4)


@pytest.fixture(scope="module")
def locked_demo(examples_home):
    """`modelcards demo` with a password, shared by this module's Streamlit tests."""
    with running_demo(MODELCARDS_HOME=str(examples_home), MODELCARDS_DEMO_PASSWORD=PASSWORD) as p:
        yield f"http://127.0.0.1:{p}"


@pytest.fixture(scope="module")
def open_demo(examples_home):
    with running_demo(MODELCARDS_HOME=str(examples_home)) as port:
        yield f"http://127.0.0.1:{port}"


# -- Streamlit: what a program can send without the page ---------------------------------
@dataclass
class Session:
    base: str
    session_id: str
    xsrf: str

    def upload(self, content: bytes) -> httpx.Response:
        """PUT a file the way the file uploader does."""
        return httpx.put(
            f"{self.base}/_stcore/upload_file/{self.session_id}/file-1",
            files={"file": ("rows.csv", content, "text/csv")},
            headers={"X-Xsrftoken": self.xsrf},
            cookies={"_streamlit_xsrf": self.xsrf},
            timeout=60,
        )


@contextlib.contextmanager
def streamlit_session(base: str):
    """A session opened as the browser opens one: XSRF cookie, websocket, a first run."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    xsrf = httpx.get(f"{base}/_stcore/health").cookies["_streamlit_xsrf"]
    with connect(
        base.replace("http", "ws") + "/_stcore/stream",
        subprotocols=["streamlit", xsrf],
        origin=base,
        additional_headers={"Cookie": f"_streamlit_xsrf={xsrf}"},
        max_size=None,
    ) as ws:
        run = BackMsg()
        run.rerun_script.query_string = ""
        ws.send(run.SerializeToString())
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(ws.recv(timeout=WAIT / 1000))
            if msg.WhichOneof("type") == "new_session":
                yield Session(base, msg.new_session.initialize.session_id, xsrf)
                return


def test_an_upload_before_the_password_is_refused(locked_demo):
    with streamlit_session(locked_demo) as session:
        got = session.upload(b"year,age\n2000,19\n")
    # Streamlit's own refusals (a bad XSRF token is a 403 too) say something else.
    assert (got.status_code, got.text) == (403, "Give the password on the demo's page first.")


def test_without_a_password_uploads_are_taken_up_to_the_batch_limit(open_demo):
    with streamlit_session(open_demo) as session:
        assert session.upload(b"year,age\n2000,19\n").status_code == 204
        # Refused while it streams in (server.maxUploadSize), not after it is all in memory.
        too_big = session.upload(b"0" * (MAX_UPLOAD_MB * 1024 * 1024 + 1))
    assert too_big.status_code == 413


def test_the_metrics_with_cache_names_are_not_served(locked_demo, open_demo):
    for base in (locked_demo, open_demo):
        got = httpx.get(f"{base}/_stcore/metrics")
        assert got.status_code == 404 and "cache" not in got.text


# -- Streamlit: the page ---------------------------------------------------------------------
def log_in(page, password: str = PASSWORD) -> float:
    """Submit the password; seconds until that run finished."""
    page.get_by_label("Password", exact=True).fill(password)
    start = time.monotonic()
    page.get_by_role("button", name="Open the demo").click()
    app = page.get_by_test_id("stApp")
    # A slowed-down run is "running" for seconds; a quick one may be over before we look.
    with contextlib.suppress(AssertionError):
        from playwright.sync_api import expect

        expect(app).to_have_attribute("data-test-script-state", "running", timeout=1_000)
    from playwright.sync_api import expect

    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=WAIT)
    return time.monotonic() - start


@pytest.mark.browser
def test_a_link_opens_its_page_and_model_after_the_password(locked_demo, page):
    from playwright.sync_api import expect

    link = f"{locked_demo}/fairness?model=arrests-release&ref=1"
    page.goto(link)
    expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=WAIT)
    assert page.get_by_test_id("stSidebar").count() == 0
    log_in(page)
    expect(page.get_by_role("heading", name="Fairness audit")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stCaptionContainer").first).to_contain_text(
        "models:/arrests-release/1", timeout=WAIT
    )
    expect(page).to_have_url(re.compile(re.escape(link) + r"(&|$)"))  # the audit adds its choices


@pytest.mark.browser
def test_after_the_password_the_batch_upload_is_scored(locked_demo, page, arrests, tmp_path):
    from playwright.sync_api import expect

    from modelcards._examples import FEATURES

    rows = tmp_path / "rows.csv"
    arrests[FEATURES].head(20).to_csv(rows, index=False)
    page.goto(f"{locked_demo}/batch")
    expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=WAIT)
    log_in(page)
    expect(page.get_by_role("heading", name="Batch")).to_be_visible(timeout=WAIT)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(rows))
    expect(page.get_by_text("Scored 20 of 20 rows.")).to_be_visible(timeout=WAIT)


@pytest.mark.browser
def test_a_clear_cache_message_is_dropped(locked_demo, page):
    from playwright.sync_api import expect
    from streamlit.proto.BackMsg_pb2 import BackMsg

    servers = []

    def through(ws):
        servers.append(ws.connect_to_server())  # the page's own messages pass unchanged

    page.route_web_socket(re.compile(r"/_stcore/stream"), through)
    page.goto(f"{locked_demo}/")
    expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=WAIT)
    log_in(page)
    expect(page.get_by_role("heading", name="Model", exact=True)).to_be_visible(timeout=WAIT)
    clear = BackMsg()
    clear.clear_cache = True
    servers[-1].send(clear.SerializeToString())
    # Had it been handled, it would also have emptied this session's state: the next run
    # would ask for the password again.
    page.get_by_test_id("stSidebar").get_by_role("link", name="Model card").click()
    expect(page.get_by_role("heading", name="Model card")).to_be_visible(timeout=WAIT)
    assert page.get_by_label("Password", exact=True).count() == 0


@pytest.mark.browser
def test_wrong_passwords_are_slowed_down_and_the_right_one_still_opens(locked_demo, page):
    from playwright.sync_api import expect

    page.goto(f"{locked_demo}/")
    expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=WAIT)
    starts, took = [], []
    for _ in range(5):
        starts.append(time.monotonic())
        took.append(log_in(page, "wrong"))
    fifth_done = time.monotonic()
    expect(page.get_by_text("That password is not right.")).to_be_visible()
    # A behaviour check, not a speed target: the delay runs from the fourth attempt, so
    # the fifth answers no sooner than that delay after the fourth began.
    assert fifth_done - starts[3] >= FIFTH_WAIT * 0.95, took
    log_in(page)
    expect(page.get_by_role("heading", name="Model", exact=True)).to_be_visible(timeout=WAIT)


# -- Gradio ----------------------------------------------------------------------------------
@pytest.fixture
def locked_gradio(examples_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("MODELCARDS_DEMO_PASSWORD", PASSWORD)
    from apps import gate, gradio_app

    monkeypatch.setattr(gate, "THROTTLE", LoginThrottle())  # this server's attempts only
    app = gradio_app.build()
    port = free_port()
    gradio_app.launch(app, port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.close()


#: What the app would tell a visitor: the model, the API's endpoints, the app's title.
REVEALING = ("arrests-release", "/predict", "/flag", "try the model")
ADDRESSES = ("/", "/config", "/gradio_api/info", "/manifest.json", "/gradio_api/openapi.json")


def test_the_gradio_login_page_reveals_neither_the_model_nor_the_api(locked_gradio):
    with httpx.Client(base_url=locked_gradio, timeout=60) as client:
        for address in ADDRESSES:
            text = client.get(address).text
            assert not [w for w in REVEALING if w in text], address
        assert client.get("/gradio_api/queue/join").status_code == 401
        # After the password the same addresses do tell: the check above could see it.
        assert client.post("/login", data={"username": "x", "password": PASSWORD}).is_success
        assert "/predict" in client.get("/").text
        assert "arrests-release" in client.get("/config").text
        assert "arrests-release" in client.get("/manifest.json").text


def test_wrong_gradio_passwords_are_slowed_down_and_the_right_one_still_opens(locked_gradio):
    took = []
    with httpx.Client(base_url=locked_gradio, timeout=60) as client:
        for _ in range(5):
            start = time.monotonic()
            wrong = client.post("/login", data={"username": "x", "password": "no"})
            took.append(time.monotonic() - start)
            assert wrong.status_code == 400
        assert took[4] >= FIFTH_WAIT * 0.95, took
        assert client.post("/login", data={"username": "x", "password": PASSWORD}).is_success
        assert client.get("/config").status_code == 200


@pytest.mark.browser
def test_the_gradio_login_page_opens_the_app_in_a_browser(locked_gradio, page):
    from playwright.sync_api import expect

    page.goto(locked_gradio)
    page.get_by_label("username").fill("anyone")
    page.get_by_label("password").fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("heading", name="arrests-release")).to_be_visible(timeout=WAIT)


def test_the_login_throttle_queues_attempts_and_stays_bounded():
    throttle = LoginThrottle(free_attempts=1, first_delay=10, max_delay=15, max_clients=2)
    waits = [throttle.reserve("a") for _ in range(3)]  # all at once, as in parallel
    # The second queues 10 s behind the first; the third would wait 10 + 15 s: refused.
    assert [s.allowed for s in waits] == [True, True, False]
    assert waits[1].wait == pytest.approx(10, abs=1) and waits[2].wait > 15
    throttle.succeeded("a")
    assert throttle.reserve("a").wait == 0  # the right password clears the delay
    for client in ("b", "c", "d"):
        throttle.reserve(client)
    assert len(throttle) == 2


# -- single sign-on ------------------------------------------------------------------------
def test_with_single_sign_on_configured_the_demo_asks_to_sign_in_instead(examples_registry):
    # No identity provider can run here: Streamlit's AppTest seeds the signed-in user.
    from streamlit.testing.v1 import AppTest
    from test_app_pages import APP

    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-long-random-secret",
        "client_id": "demo",
        "client_secret": "secret",
        "server_metadata_url": "https://sso.example.com/.well-known/openid-configuration",
    }
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in"] and not at.text_input
    assert not at.sidebar.selectbox
    at.user = {"is_logged_in": True, "email": "someone@example.com"}
    at.run()
    assert at.title[0].value == "Model" and at.sidebar.selectbox
