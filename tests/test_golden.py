"""Rendered cards compared to the checked-in files under tests/golden/.

After an intended change to the output, refresh them with `make golden`
(MODELCARDS_UPDATE_GOLDEN=1 pytest tests/test_golden.py) and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelcards import _pipeline, synthesize
from modelcards._pipeline import CardOptions
from modelcards._render import render_html, render_json, render_markdown

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
DATA = HERE / "data"
# The card records library versions; pin them so an upgrade does not churn the files.
VERSIONS = {"modelcards": "0.0.0", "fairlearn": "0.0.0", "scikit-learn": "0.0.0", "mlflow": "0.0.0"}


@pytest.fixture(scope="module")
def golden_card(tmp_path_factory):
    csv = tmp_path_factory.mktemp("golden") / "applications.csv"
    synthesize(2000, seed=0).to_csv(csv, index=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    mp.setattr(_pipeline, "library_versions", lambda: VERSIONS)
    try:
        return _pipeline.generate_card(
            data=csv,
            target="approved",
            sensitive=["sex", "group"],
            scores="score",
            threshold=0.5,
            spec=DATA / "spec.yaml",
            policy=DATA / "policy.yaml",
            options=CardOptions(),
            name="vendor-score",
        ).card
    finally:
        mp.undo()


RENDERERS = {
    "model_card.html": lambda c: render_html(c, plotlyjs="/* plotly.js is inlined here */"),
    "model_card.md": render_markdown,
    "model_card.json": render_json,
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_rendered_card_matches_the_golden_file(golden_card, name):
    text = RENDERERS[name](golden_card)
    path = GOLDEN / name
    if os.environ.get("MODELCARDS_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path}; run `make golden`"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from the golden file; if intended, `make golden`"
