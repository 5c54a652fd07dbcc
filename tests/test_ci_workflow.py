"""The README's GitHub Actions workflow: its `run:` steps, run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import new_store

from modelcards import Registry, register_examples

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
BIN = Path(sys.executable).parent
# Policies as a repository would keep them: the regression's passes, the classifier's fails.
POLICIES = {
    "diabetes-progression": "checks:\n  - r2_score >= 0.2\n",
    "arrests-release": "checks:\n  - accuracy_score >= 0.99\n",
}


def workflow() -> dict:
    (block,) = re.findall(
        r"<!-- ci-workflow -->\s*```yaml\n(.*?)```\s*<!-- /ci-workflow -->", README, re.S
    )
    return yaml.safe_load(block)


def job() -> dict:
    (only,) = workflow()["jobs"].values()
    return only


def test_the_workflow_installs_modelcards_then_runs_the_card_with_the_gate_deciding():
    steps = job()["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert runs[0].startswith("python -m pip install modelcards")
    assert "--publish" in runs[1] and "modelcards card --model" in runs[1]
    # The job's environment names everything the commands use.
    used = set(re.findall(r"\$(\w+)", " ".join(runs)))
    assert used <= set(job()["env"]), used - set(job()["env"])
    assert job()["env"]["MLFLOW_TRACKING_URI"] == "${{ secrets.MLFLOW_TRACKING_URI }}"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"  # the card is kept when the gate fails the job


@pytest.fixture(scope="module")
def ci_registry(tmp_path_factory, empty_store_db) -> Registry:
    """A registry of its own with the example models: publishing changes its versions."""
    registry = Registry(home=new_store(tmp_path_factory.mktemp("ci"), empty_store_db))
    register_examples(registry)
    return registry


def run_job(checkout: Path, env: dict[str, str]) -> int:
    """The job's `run:` steps in order, as GitHub runs them (bash -eo pipefail), stopping
    at the first that fails; the install step is skipped: modelcards is installed here."""
    for step in job()["steps"]:
        if "run" not in step or step["run"].startswith("python -m pip install"):
            continue
        code = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=checkout, env=env, timeout=600,
        ).returncode  # fmt: skip
        if code != 0:
            return code
    return 0


@pytest.mark.parametrize(
    ("name", "exit_code", "gate"),
    [("diabetes-progression", 0, "pass"), ("arrests-release", 1, "fail")],
)
def test_the_workflow_publishes_the_card_and_fails_the_job_on_the_gate(
    ci_registry, tmp_path, name, exit_code, gate
):
    checkout = tmp_path / "repo"
    (checkout / "policies").mkdir(parents=True)
    for model, policy in POLICIES.items():
        (checkout / "policies" / f"{model}.yaml").write_text(policy)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",  # as setup-python puts it first
        "NAME": name,
        "VERSION": "1",
        "MLFLOW_TRACKING_URI": ci_registry.tracking_uri,
        "MODELCARDS_NOTIFY": "",  # an unset secret is empty
    }
    env.pop("MODELCARDS_HOME", None)
    assert run_job(checkout, env) == exit_code
    assert (checkout / "model_card" / "model_card.html").exists()
    published = ci_registry.published_card(f"models:/{name}/1")
    assert published is not None and published.gate == gate
    assert published.json == (checkout / "model_card" / "model_card.json").read_text()
