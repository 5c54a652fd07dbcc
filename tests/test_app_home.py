"""The demo's model page, run through Streamlit's AppTest against a real store."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "apps" / "demo.py")


def _app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_the_model_page_lists_models_and_shows_the_resolved_version(examples_registry):
    at = _app()
    assert not at.exception
    assert at.selectbox(key="model_name").value == "arrests-release"
    assert at.selectbox(key="model_ref").options == [
        "@challenger",
        "@champion",
        "version 2",
        "version 1",
    ]
    assert at.subheader[0].value == "arrests-release · version 2"
    assert "via @challenger" in at.caption[0].value


def test_choosing_an_alias_shows_that_version_and_its_signature(examples_registry):
    at = _app()
    at.selectbox(key="model_ref").select("@champion").run()
    assert at.subheader[0].value == "arrests-release · version 1"
    inputs = at.dataframe[0].value["input"].tolist()
    assert inputs == ["year", "age", "employed", "citizen", "checks"]
    assert at.query_params["ref"] == "@champion"


def test_query_parameters_preselect_the_model_and_version(examples_registry):
    at = _app(model="arrests-release", ref="version 1")
    assert at.subheader[0].value == "arrests-release · version 1"


def test_an_empty_registry_says_how_to_add_models():
    at = _app()
    assert not at.exception
    assert "modelcards examples" in at.info[0].value
