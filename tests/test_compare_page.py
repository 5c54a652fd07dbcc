"""The Compare page: AppTest against the example registry, and a real browser."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from modelcards import coerce_row, compare_versions, format_change, predict_row

INPUTS = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}


def compare_page(**query) -> AppTest:
    at = AppTest.from_string(
        "from apps.demo import run_page\nrun_page('compare')", default_timeout=120
    )
    for k, v in query.items():
        at.query_params[k] = str(v)
    return at.run()


def link(ref="@challenger", **extra):
    return {
        "model": "arrests-release",
        "ref": ref,
        **{f"in_{k}": v for k, v in INPUTS.items()},
        **extra,
    }


def test_a_deep_link_shows_both_answers_the_change_table_and_the_chart(examples_registry):
    a = examples_registry.load("models:/arrests-release@champion")
    b = examples_registry.load("models:/arrests-release@challenger")
    comparison = compare_versions(a, b, n_boot=1000, seed=0)
    gating = comparison.worse()
    assert gating
    at = compare_page(**link(against="@champion", metrics="false_negative_rate"))
    assert not at.exception
    # The only red box is the gate's: the candidate is worse somewhere it is protected.
    assert [e.value for e in at.error] == [
        f"{len(gating)} protected change(s) worse beyond the interval"
    ]
    # Each changed decision once: no true positive (negative) rate's fall beside its
    # mirror, the false negative (positive) rate's rise, in the same group.
    found = [c for c in comparison.changes if c.verdict == "worse" and not c.small]
    have = {(tuple(c.features.items()), c.metric) for c in found}
    mirrored = {"true_positive_rate": "false_negative_rate",
                "true_negative_rate": "false_positive_rate"}  # fmt: skip
    once = [c for c in found if (tuple(c.features.items()), mirrored.get(c.metric)) not in have]
    assert len(once) < len(found)
    assert any(f"{len(once)} change(s) worse and" in c.value for c in at.caption)
    assert at.title[0].value == "Compare"
    assert at.selectbox(key="against").value == "@champion"
    pa, pb = (predict_row(m, coerce_row(m, INPUTS)) for m in (a, b))
    values = [m.value for m in at.metric]
    assert values[:2] == [pa.label, pb.label]
    diff = (pb.positive_probability - pa.positive_probability) * 100
    assert values[2] == f"{diff:+.1f} points"
    # The table: the library's comparison (same resamples and seed), only the chosen metric.
    table = at.dataframe[0].value
    assert set(table["metric"]) == {"False negative rate"}
    expected = comparison.change("false_negative_rate")
    assert table.iloc[0]["group"] == "overall"
    assert table.iloc[0]["change B - A"] == format_change(expected.change)
    assert len(at.get("plotly_chart")) == 1
    # The link keeps every choice.
    assert at.query_params["against"] == "@champion"
    assert at.query_params["metrics"] == "false_negative_rate"


def test_the_same_version_on_both_sides_says_so_and_changes_nothing(examples_registry):
    at = compare_page(**link(ref="@champion"))
    assert not at.exception and not at.error
    assert any("same version" in i.value for i in at.info)
    table = at.dataframe[0].value
    assert set(table["verdict"]) == {"unclear"}
    assert all(v.startswith(("+0.000", "n/a")) for v in table["change B - A"])


def test_a_regression_model_gets_a_plain_message(examples_registry):
    at = compare_page(model="diabetes-progression", ref="@champion")
    assert not at.exception and not at.error
    assert any("binary classifiers only" in i.value for i in at.info)


@pytest.mark.browser
def test_the_compare_page_in_a_browser_opens_from_a_link_and_draws_the_chart(
    page, examples_home, tmp_path_factory
):
    from test_demo_server import running_demo

    db = tmp_path_factory.mktemp("db") / "demo.db"
    query = "&".join(f"in_{k}={v}" for k, v in INPUTS.items())
    with running_demo(
        MODELCARDS_HOME=str(examples_home), MODELCARDS_DB_URL=f"sqlite:///{db}"
    ) as port:
        page.goto(
            f"http://127.0.0.1:{port}/compare?model=arrests-release&ref=%40challenger"
            f"&against=%40champion&{query}"
        )
        page.get_by_text("What changed, group by group").wait_for(timeout=120_000)
        assert page.get_by_text("Page not found").count() == 0
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        assert page.locator('[data-testid="stMetricValue"]').count() == 3
        assert "Change from A to B" in page.locator(".js-plotly-plot").first.inner_text()
        page.wait_for_url("**against=%40champion**")


def test_the_same_inputs_are_the_ones_last_set_on_try_it(examples_registry):
    # Try it, an input changed there, then the Model page and Compare: the demo's menu
    # opens a page without the previous page's query (here: the query emptied).
    at = AppTest.from_string(
        "import streamlit as st\nfrom apps.demo import run_page\n"
        "run_page(st.session_state.get('test_page', 'try_it'))\n",
        default_timeout=120,
    )
    for k, v in link().items():
        at.query_params[k] = str(v)
    at.run()
    at.number_input(key="in_age@arrests-release/v2").set_value(45).run()
    for then in ("home", "compare"):  # another page first: Try it's widgets are dropped
        at.session_state["test_page"] = then
        for k in list(at.query_params):
            del at.query_params[k]
        at.query_params.update(model="arrests-release", ref="@challenger")
        at.run()
    assert not at.exception and not [e for e in at.error if "went wrong" in e.value]
    inputs = {**INPUTS, "age": 45}
    assert at.caption[1].value == "The inputs on Try it: " + ", ".join(
        f"{k} = {v}" for k, v in inputs.items()
    )
    a = examples_registry.load("models:/arrests-release@champion")
    assert at.metric[0].value == predict_row(a, coerce_row(a, inputs)).label
