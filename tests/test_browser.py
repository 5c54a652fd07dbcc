"""Real-browser tests: Debian's chromium driven by Playwright against a real server.

The `browser` and `page` fixtures are in conftest.py; on failure a screenshot is saved
under tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse

import pypdf
import pytest
from test_demo_server import running_demo

from modelcards import synthesize

pytestmark = pytest.mark.browser
SCRIPT = Path(sys.executable).parent / "modelcards"


@pytest.fixture(scope="module")
def server(examples_home, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "demo.db"
    with running_demo(
        MODELCARDS_HOME=str(examples_home), MODELCARDS_DB_URL=f"sqlite:///{db}"
    ) as port:
        yield f"http://127.0.0.1:{port}", db


def metric(page) -> str:
    return page.locator('[data-testid="stMetricValue"]').first.inner_text()


def test_a_stakeholder_session_end_to_end(page, server, examples_registry, tmp_path):
    from modelcards._predict import coerce_row, predict_row
    from modelcards._store import Store

    base, db = server
    # Everything the page needs is served by the demo itself: no request leaves the machine.
    outside = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if r.url.startswith(("http:", "https:", "ws:", "wss:"))
            and urlparse(r.url).hostname not in ("127.0.0.1", "localhost")
            else None
        ),
    )
    inputs = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
    model = examples_registry.load("models:/arrests-release@champion")
    query = "&".join(f"in_{k}={v}" for k, v in inputs.items())
    page.goto(f"{base}/try?model=arrests-release&ref=%40champion&{query}")

    # The deep link reproduces the library's prediction.
    expected = predict_row(model, coerce_row(model, inputs)).label
    page.get_by_text("Link to this prediction").wait_for()
    assert metric(page) == expected
    assert page.get_by_text("Page not found").count() == 0  # deep links work on a new server

    # Changing an input reruns the prediction.
    flipped = predict_row(model, coerce_row(model, {**inputs, "checks": 0})).label
    box = page.get_by_role("spinbutton", name="checks")
    box.fill("0")
    box.press("Enter")
    page.wait_for_function(
        "v => document.querySelector('[data-testid=\"stMetricValue\"]').innerText === v",
        arg=flipped,
    )
    page.wait_for_url("**in_checks=0**")

    # Save an edge case.
    page.get_by_label("Name").fill("young, no checks")
    page.get_by_role("button", name="Save edge case").click()
    page.get_by_text("Saved the edge case").wait_for()
    assert [c.name for c in Store(f"sqlite:///{db}").edge_cases("arrests-release")] == [
        "young, no checks"
    ]

    # Upload a CSV with a bad row: it is listed, the good rows are scored.
    csv = tmp_path / "batch.csv"
    csv.write_text(
        "year,age,employed,citizen,checks,released,colour,sex\n"
        "2000,19,No,Yes,5,No,Black,Male\n2001,old,Yes,Yes,1,Yes,White,Male\n"
        "1999,30,Yes,No,0,Yes,White,Female\n"
    )
    page.get_by_role("link", name="Batch").click()
    page.locator('input[type="file"]').set_input_files(str(csv))
    page.get_by_text("1 row(s) could not be scored").wait_for()
    page.get_by_text("Scored 2 of 3 rows").wait_for()
    # With the target and sensitive columns, per-group charts follow.
    page.get_by_text("Per-group metrics on this file").wait_for()
    page.get_by_text("By colour & sex").first.wait_for()
    page.locator('[data-testid="stPlotlyChart"]').nth(2).wait_for()  # colour, sex, both

    # Download the card.
    page.get_by_role("link", name="Model card").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download JSON").click()
    card = json.loads(Path(info.value.path()).read_text())
    assert card["model_details"]["version"] == 1
    assert card["model_details"]["alias"] == "champion"

    # The printable summary is made on click and lists the edge case saved above. Making it
    # (edge cases run, WeasyPrint's layout) took over 30 s with the other test worker busy.
    with page.expect_download(timeout=90_000) as info:
        page.get_by_role("button", name="Download PDF summary").click()
    pdf = pypdf.PdfReader(info.value.path())
    text = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    assert 1 <= len(pdf.pages) <= 2
    assert "young, no checks" in text
    assert outside == []


def test_the_html_card_renders_its_charts_with_no_network(page, tmp_path):
    from modelcards import CardOptions, generate_card, write_card

    data = tmp_path / "d.csv"
    synthesize(2000, seed=0).to_csv(data, index=False)
    result = generate_card(
        data=data,
        target="approved",
        sensitive=["sex", "group"],
        scores="score",
        threshold=0.5,
        options=CardOptions(),
    )
    html = write_card(result, tmp_path / "card")["html"]
    requests = []

    def block(route):
        requests.append(route.request.url)
        route.abort()

    page.route("http*://**/*", block)
    page.goto(html.as_uri())
    page.locator("#chart-0 svg.main-svg").first.wait_for()
    assert page.locator(".chart svg.main-svg").count() >= 3
    assert requests == []
    shutil.rmtree(tmp_path / "card")


def test_the_card_s_charts_and_tables_are_readable_on_screen_and_on_a4(page, tmp_path):
    from modelcards import generate_card, write_card

    data = tmp_path / "d.csv"
    synthesize(3000, seed=0).to_csv(data, index=False)
    result = generate_card(
        data=data, target="approved", sensitive=["sex", "group"], scores="score", threshold=0.5
    )
    html = write_card(result, tmp_path / "card")["html"]
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(html.as_uri())
    page.locator("#chart-2 svg.main-svg").first.wait_for()  # the intersection's chart
    for chart in page.locator(".chart").all():
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        labels = sorted(
            (t.bounding_box() for t in chart.locator("g.ytick text").all()), key=lambda b: b["y"]
        )
        assert labels, "group labels on the axis"
        for a, b in zip(labels, labels[1:], strict=False):
            assert a["y"] + a["height"] <= b["y"] + 0.5, "group labels overlap"
        assert min(lab["x"] for lab in labels) >= box["x"] - 0.5, "a label is clipped"
        bars = [b.bounding_box() for b in chart.locator("g.point path").all()]
        heights = [b["height"] for b in bars if b and b["width"] > 0]
        assert heights and min(heights) >= 20, min(heights)
    # Print view on A4 (186 mm between the margins, about 703 CSS pixels): no table is
    # wider than the page.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 703, "height": 1000})
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('main table')]
            .filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(t => t.querySelector('th') ? t.querySelector('th').textContent : '?')"""
    )
    assert too_wide == []


def test_why_this_prediction_draws_readable_bars_from_the_baseline(page, server, examples_registry):
    from modelcards import explain

    base, _ = server
    inputs = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
    query = "&".join(f"in_{k}={v}" for k, v in inputs.items())
    page.goto(f"{base}/try?model=arrests-release&ref=%40champion&{query}")
    why = explain(examples_registry.load("models:/arrests-release@champion"), inputs)
    page.get_by_text(why.sentence()).wait_for(timeout=90_000)  # a cold server on a busy machine
    chart = page.locator(".js-plotly-plot").filter(has_text="checks = 5")
    chart.wait_for()
    bars = chart.locator(".barlayer .point path")
    assert bars.count() == len(inputs)
    heights = [bars.nth(i).bounding_box()["height"] for i in range(bars.count())]
    assert min(heights) >= 20, heights
    ticks = chart.locator(".ytick text")
    top = {ticks.nth(i).text_content(): ticks.nth(i).bounding_box()["y"] for i in range(5)}
    assert len(top) == len(inputs) and min(top, key=top.get) == "checks = 5"  # largest on top
