"""The printable release summary: one or two A4 pages, from the library and the CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from modelcards import DemoService, Store, generate_card, summary_pdf

SCRIPT = Path(sys.executable).parent / "modelcards"
A4 = (595, 842)  # points


def pdf_pages(data: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    for p in reader.pages:
        assert (round(float(p.mediabox.width)), round(float(p.mediabox.height))) == A4
    # Layout breaks lines anywhere; compare words, not line breaks.
    return [" ".join(p.extract_text().split()) for p in reader.pages]


@pytest.fixture
def service(examples_registry, tmp_path):
    return DemoService(examples_registry, Store(f"sqlite:///{tmp_path / 'demo.db'}"))


def summary_of(service, ref):
    model = service.load(ref)
    card = generate_card(model=ref, registry=service.registry).card
    return service.release_summary(model, card)


def test_the_summary_of_a_candidate_names_the_version_in_use_its_gate_cases_and_flags(service):
    candidate = service.load("models:/arrests-release@challenger")
    service.save_edge_case(
        candidate,
        {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5},
        name="young, five checks",
        expected="Yes",
        app="streamlit",
    )
    service.flag(
        candidate,
        {"year": 2001, "age": 40, "employed": "Yes", "citizen": "Yes", "checks": 0},
        comment="<b>should be released</b>",  # shown as the text it is
        app="streamlit",
    )
    summary = summary_of(service, "models:/arrests-release@challenger")
    champion = service.in_use_version("arrests-release")
    pages = pdf_pages(summary_pdf(summary))
    text = " ".join(pages)

    assert 1 <= len(pages) <= 2
    assert pages[0].startswith("Release summary: arrests-release")
    assert (
        f"Version {candidate.version} is a candidate; version {champion} is the version in "
        "use (@champion)." in text
    )
    card = summary.card
    assert f"Verdict: {card.policy.verdict.upper()}" in text
    assert card.intended_use.out_of_scope_uses[0] in text
    gap = summary.gaps[0]
    assert f"{gap.value:.3f}" in text and gap.compared[1].group in text
    # The saved case and the card spec's cases, each with this version's answer.
    outcomes = {o.case.name: o for o in service.run_edge_cases(candidate)}
    assert "young, five checks" in text and len(summary.cases) == len(outcomes)
    assert [c.answer for c in summary.cases] == [o.actual for o in outcomes.values()]
    assert "<b>should be released</b>" in text
    assert f"page 1 of {len(pages)}" in text


def test_the_summary_of_the_version_in_use_says_so(service):
    summary = summary_of(service, "models:/arrests-release@champion")
    version = summary.card.model_details.version
    assert f"Version {version} is the version in use (@champion)." in " ".join(
        pdf_pages(summary_pdf(summary))
    )


def test_the_release_alias_comes_from_the_environment(service, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DEFAULT_ALIAS", "challenger")
    summary = summary_of(service, "models:/arrests-release@challenger")
    version = summary.card.model_details.version
    assert summary.in_use_sentence == f"Version {version} is the version in use (@challenger)."
    monkeypatch.setenv("MODELCARDS_DEFAULT_ALIAS", "nobody")
    summary = summary_of(service, "models:/arrests-release@challenger")
    assert summary.in_use_sentence == (
        "No version of arrests-release is marked @nobody (in use) yet."
    )


def test_card_pdf_writes_the_summary_beside_the_card(examples_home, tmp_path):
    env = {**os.environ, "MODELCARDS_HOME": str(examples_home)}
    env["MODELCARDS_DB_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    out = tmp_path / "card"
    run = subprocess.run(
        [str(SCRIPT), "card", "--model", "models:/arrests-release@champion", "--pdf",
         "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "model_card.html",
        "model_card.json",
        "model_card.md",
        "model_card_summary.pdf",
    ]
    assert f"wrote {out / 'model_card_summary.pdf'}" in run.stdout
    text = " ".join(pdf_pages((out / "model_card_summary.pdf").read_bytes()))
    # The card spec's edge cases, run against the version.
    assert "Young, unemployed, many prior checks" in text
    assert "No stakeholder has flagged an answer of this model." in text


def test_card_without_pdf_writes_no_summary(tmp_path):
    from modelcards import synthesize

    data = tmp_path / "d.csv"
    synthesize(1000, seed=0).to_csv(data, index=False)
    out = tmp_path / "card"
    run = subprocess.run(
        [str(SCRIPT), "card", "--data", str(data), "--target", "approved", "--scores", "score",
         "--threshold", "0.5", "--sensitive", "sex", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert not (out / "model_card_summary.pdf").exists()
