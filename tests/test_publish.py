"""The card published to the registry: files, tags, description, failures, the demo page."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest
from conftest import register

from modelcards import Registry, card_sha256, generate_card, publish_card, render_json, write_card
from modelcards._publish import PUBLISH_TAGS
from modelcards._registry import PUBLISHED_START
from modelcards.errors import ArtifactError, RegistryError

SCRIPT = Path(sys.executable).parent / "modelcards"
PASSING = "checks:\n  - accuracy_score >= 0.5\n"
FAILING = "checks:\n  - accuracy_score >= 0.99\n"
HUMAN = "Logistic regression for the publishing tests."


@pytest.fixture
def version(registry, fitted):
    """models:/m/1 (@champion) with a passing policy and a written description."""
    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="champion", policy=PASSING, description=HUMAN)
    return "models:/m/1"


def publish(registry: Registry, folder: Path, policy: Path | None = None):
    result = generate_card(model="models:/m/1", registry=registry, policy=policy)
    paths = write_card(result, folder)
    return result, paths, publish_card(result, registry=registry, files=paths)


def tags(registry: Registry) -> dict[str, str]:
    mv = registry.client.get_model_version("m", "1")
    return {k: v for k, v in mv.tags.items() if k in PUBLISH_TAGS}


def run_folder(registry: Registry) -> Path:
    """The local artifact folder of the version's run."""
    run = registry.client.get_run(registry.client.get_model_version("m", "1").run_id)
    return Path(url2pathname(urlparse(run.info.artifact_uri).path))


def failing_policy(tmp_path: Path) -> Path:
    path = tmp_path / "strict_policy.yaml"
    path.write_text(FAILING)
    return path


def test_publishing_stores_the_card_files_tags_and_a_summary_in_the_description(
    registry, version, tmp_path
):
    result, paths, published = publish(registry, tmp_path / "card")
    back = registry.published_card("models:/m@champion")
    assert back == published
    assert back.json == paths["json"].read_text()
    assert back.markdown == paths["markdown"].read_text()
    assert back.html == paths["html"].read_text()
    assert back.sha256 == card_sha256(paths["json"].read_bytes())
    assert (back.gate, back.signoff, back.version) == ("pass", "none", 1)
    assert tags(registry) == {
        "modelcards.gate": "pass",
        "modelcards.signoff": "none",
        "modelcards.card_sha256": back.sha256,
        "modelcards.card_published": back.published.isoformat(),
    }
    description = registry.client.get_model_version("m", "1").description
    assert description.startswith(HUMAN + "\n\n" + PUBLISHED_START)
    assert "release gate PASS" in description
    assert "The largest gap is in" in description
    assert f"`{back.folder}/model_card.html`" in description and back.sha256 in description
    # modelcards itself reads the description people wrote, without the summary.
    (listed,) = registry.list_models()[0].versions
    assert listed.description == HUMAN


def test_publishing_changes_no_later_card(registry, version, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCARDS_MODEL_CACHE", "0")  # each card reads the version afresh
    _, _, published = publish(registry, tmp_path / "card")
    again = generate_card(model="models:/m/1", registry=registry)
    assert card_sha256(render_json(again.card)) == published.sha256


def test_republishing_makes_the_new_card_the_published_one(registry, version, tmp_path):
    _, _, first = publish(registry, tmp_path / "first")
    _, _, second = publish(registry, tmp_path / "second", failing_policy(tmp_path))
    assert second.sha256 != first.sha256
    back = registry.published_card("models:/m/1")
    assert (back.sha256, back.gate) == (second.sha256, "fail")
    assert tags(registry)["modelcards.gate"] == "fail"
    description = registry.client.get_model_version("m", "1").description
    assert description.count(PUBLISHED_START) == 1 and description.count(HUMAN) == 1
    assert "release gate FAIL" in description and first.sha256 not in description


def test_a_publish_whose_upload_fails_leaves_no_tag_claiming_a_card(registry, version, tmp_path):
    # A file where the card folder must go: the artifact store refuses the upload.
    (run_folder(registry) / "modelcards" / "card").write_text("in the way")
    with pytest.raises(ArtifactError, match=r"Cannot store the card with models:/m/1"):
        publish(registry, tmp_path / "card")
    assert tags(registry) == {}
    assert registry.published_card("models:/m/1") is None
    assert registry.client.get_model_version("m", "1").description == HUMAN


def test_the_card_command_writes_nothing_when_its_publish_fails(registry, version, tmp_path):
    (run_folder(registry) / "modelcards" / "card").write_text("in the way")
    env = {**os.environ, "MLFLOW_TRACKING_URI": registry.tracking_uri}
    out = subprocess.run(
        [str(SCRIPT), "card", "--model", "models:/m/1", "--out", str(tmp_path / "c"), "--publish"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2 and "Cannot store the card with models:/m/1" in out.stderr
    assert not (tmp_path / "c").exists()
    assert "Traceback" not in out.stderr


def test_a_publish_whose_tagging_fails_puts_the_tags_back(registry, version, tmp_path):
    _, _, first = publish(registry, tmp_path / "first")
    before = tags(registry)
    # The database itself refuses the last tag: the earlier ones were already set.
    db = sqlite3.connect(urlparse(registry.tracking_uri).path)
    for event in ("INSERT", "UPDATE"):
        db.execute(
            f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON model_version_tags "
            "WHEN NEW.key = 'modelcards.card_sha256' "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    db.commit()
    db.close()
    with pytest.raises(RegistryError, match=r"Cannot tag models:/m/1 with its published card"):
        publish(registry, tmp_path / "second", failing_policy(tmp_path))
    assert tags(registry) == before
    assert registry.published_card("models:/m/1").sha256 == first.sha256


def test_a_published_card_whose_file_is_altered_or_gone_is_an_error_naming_it(
    registry, version, tmp_path
):
    _, _, published = publish(registry, tmp_path / "card")
    folder = run_folder(registry) / published.folder
    (folder / "model_card.json").write_text("{}")
    with pytest.raises(ArtifactError, match=r"model_card.json of models:/m/1 was altered"):
        registry.published_card("models:/m/1")
    (folder / "model_card.md").unlink()
    with pytest.raises(ArtifactError, match=r"model_card.md of models:/m/1 is missing") as err:
        registry.published_card("models:/m/1")
    assert "--publish" in err.value.hint


def test_the_card_command_publishes_with_the_model_and_refuses_publish_without_one(
    registry, version, tmp_path
):
    env = {**os.environ, "MLFLOW_TRACKING_URI": registry.tracking_uri}
    data = tmp_path / "data.csv"
    data.write_text("y,p,s\n1,1,a\n0,0,b\n")
    out = subprocess.run(
        [str(SCRIPT), "card", "--data", str(data), "--target", "y", "--predictions", "p"]
        + ["--sensitive", "s", "--out", str(tmp_path / "none"), "--publish"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2 and "--publish" in out.stderr
    assert not (tmp_path / "none").exists()
    out = subprocess.run(
        [str(SCRIPT), "card", "--model", "models:/m/1", "--out", str(tmp_path / "c"), "--publish"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    published = registry.published_card("models:/m/1")
    assert f"published to models:/m/1: {published.folder}/" in out.stdout
    assert published.json == (tmp_path / "c" / "model_card.json").read_text()


def test_the_model_card_page_shows_the_published_card(registry, version, tmp_path, monkeypatch):
    from test_app_pages import no_failure, page

    monkeypatch.setenv("MODELCARDS_HOME", str(registry.home))
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    at = page("card", model="m", ref="1")
    no_failure(at)
    assert "no card has been published with version 1" in at.caption[-1].value
    # Published with a stricter policy than the stored one: the page shows that card.
    _, _, published = publish(registry, tmp_path / "card", failing_policy(tmp_path))
    import streamlit as st

    st.cache_data.clear()  # the page re-reads every 10 s; the test need not wait
    at = page("card", model="m", ref="1")
    no_failure(at)
    (note,) = at.info
    assert "published to the registry with version 1" in note.value
    assert "release gate FAIL" in note.value
    assert f"{published.published:%Y-%m-%d %H:%M} UTC" in note.value
    (frame,) = at.get("iframe")
    assert frame.proto.srcdoc == published.html
