"""XGBoost and LightGBM on a real SQLite MLflow store: stored natively, loaded without
trust flags and without unpickling, string labels, the card naming the model, damaged
files refused cleanly."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import lightgbm
import numpy as np
import pytest
import xgboost
import yaml
from conftest import new_store, register
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

import modelcards as mc
from modelcards._flavors import describe_estimator
from modelcards.errors import ArtifactError, UnsupportedTaskError

SCRIPT = Path(sys.executable).parent / "modelcards"
NUMERIC = ["year", "age", "checks"]
DATA_FILE = {"xgboost": "model.json", "lightgbm": "model.lgb"}
NAMED = {"xgboost": "an XGBoost", "lightgbm": "a LightGBM"}


def _fit(family: str, pipeline: bool, train, labels):
    """A fitted boosted classifier; XGBoost needs labels encoded as 0..n-1, so it gets
    ``class_labels`` from a LabelEncoder, LightGBM takes the strings as they are."""
    cols = list(train.columns) if pipeline else NUMERIC
    if family == "xgboost":
        est = xgboost.XGBClassifier(n_estimators=15, max_depth=3, learning_rate=0.3)
    else:
        est = lightgbm.LGBMClassifier(n_estimators=15, num_leaves=7, verbose=-1)
    model = (
        make_pipeline(
            make_column_transformer(
                (StandardScaler(), NUMERIC),
                (OneHotEncoder(handle_unknown="ignore"), ["employed", "citizen"]),
            ),
            est,
        )
        if pipeline
        else est
    )
    encoder = LabelEncoder().fit(labels)
    if family == "xgboost":
        model.fit(train[cols], encoder.transform(labels))
        return model, cols, {"class_labels": list(encoder.classes_)}
    model.fit(train[cols], labels)
    return model, cols, {}


def _model_dir(registry, version) -> Path:
    uri = registry.client.get_model_version_download_uri(version.name, str(version.version))
    return Path(url2pathname(urlparse(uri).path))


CASES = [("xgboost", False), ("xgboost", True), ("lightgbm", False), ("lightgbm", True)]


@pytest.fixture(scope="module")
def boosted(arrests):
    """Each case fitted once on the arrests data (target "Yes"/"No")."""
    from modelcards._examples import FEATURES, SENSITIVE, TARGET

    train, test = arrests.iloc[:3500], arrests.iloc[3500:]
    out = {}
    for family, pipeline in CASES:
        model, cols, kw = _fit(family, pipeline, train[FEATURES], train[TARGET])
        out[family, pipeline] = (
            model,
            train[cols].reset_index(drop=True),
            test[[*FEATURES, TARGET, *SENSITIVE]].reset_index(drop=True),
            kw,
        )
    return out


@pytest.mark.parametrize(("family", "pipeline"), CASES)
def test_boosted_classifiers_are_stored_natively_and_load_without_trust_or_unpickling(
    registry, boosted, monkeypatch, family, pipeline
):
    model, train, test, kw = boosted[family, pipeline]
    version = register(registry, model, train, test, **kw)
    folder = _model_dir(registry, version)
    stored = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert DATA_FILE[family] in stored
    assert (
        not [p for p in stored if p.endswith((".pkl", ".pickle"))] and "model.skops" not in stored
    )
    assert ("extra_files/preprocessing.skops" in stored) == pipeline
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    assert family in mlmodel["flavors"] and "sklearn" not in mlmodel["flavors"]
    # The version's environment names the framework it needs, pinned.
    pins = (folder / "requirements.txt").read_text().split()
    version_of = {"xgboost": xgboost.__version__, "lightgbm": lightgbm.__version__}
    assert f"{family}=={version_of[family]}" in pins
    assert f"{family}=={version_of[family]}" in (folder / "conda.yaml").read_text()

    def no_unpickling(*args, **kwargs):
        raise AssertionError("a native model must load without unpickling")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    loaded = registry.load("models:/m/1")  # no allow_pickle, no trusted_types
    monkeypatch.undo()

    # String labels come back as the labels, in the fitted order, with the same scores.
    assert loaded.classes == ["No", "Yes"]
    expected = model.predict_proba(test[train.columns])
    np.testing.assert_allclose(loaded.positive_scores(test), expected[:, 1], rtol=1e-6)
    labels = np.where(expected[:, 1] > expected[:, 0], "Yes", "No")
    np.testing.assert_array_equal(loaded.predict(test), labels)
    got, scores = loaded.predict_with_scores(test)
    np.testing.assert_array_equal(got, labels)
    assert set(loaded.frameworks) == {"scikit-learn", family} if pipeline else {family}
    assert loaded.frameworks[family] == version_of[family]


@pytest.mark.parametrize("family", ["xgboost", "lightgbm"])
def test_the_card_names_the_estimator_its_steps_hyperparameters_and_framework_versions(
    registry, boosted, tmp_path, family
):
    model, train, test, kw = boosted[family, True]
    register(registry, model, train, test, **kw)
    result = mc.generate_card(model="models:/m/1", registry=registry)
    details = result.card.model_details
    cls = {
        "xgboost": "xgboost.sklearn.XGBClassifier",
        "lightgbm": "lightgbm.sklearn.LGBMClassifier",
    }
    assert details.estimator is not None and details.estimator.class_name == cls[family]
    assert [s.class_name.rpartition(".")[2] for s in details.estimator.steps] == [
        "ColumnTransformer"
    ]
    params = details.estimator.hyperparameters
    changed = [p.name for p in params if not p.default]
    # Non-default values first, then the class's defaults.
    assert [p.default for p in params] == sorted(p.default for p in params)
    assert "n_estimators" in changed and "objective" not in changed
    assert next(p.value for p in params if p.name == "n_estimators") == "15"
    version = {"xgboost": xgboost.__version__, "lightgbm": lightgbm.__version__}[family]
    assert details.frameworks[family] == version and "scikit-learn" in details.frameworks
    assert details.framework == f"{family} {version}"

    paths = mc.write_card(result, tmp_path / "card")
    md = paths["markdown"].read_text()
    short = cls[family].rpartition(".")[2]
    assert f"| Estimator | `ColumnTransformer` → `{short}` |" in md
    assert "| Hyperparameters | " in md and "`n_estimators` = 15" in md
    assert f"{family} {version}" in md and f"library_name: {family}" in md
    html = paths["html"].read_text()
    assert f'<code title="{cls[family]}">{short}</code>' in html
    assert "more at their defaults" in html


def test_a_scikit_learn_card_lists_changed_hyperparameters_first(fitted):
    pipe, _, _ = fitted  # LogisticRegression(max_iter=500) after a ColumnTransformer
    described = describe_estimator(pipe)
    assert described["class_name"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert [s["name"] for s in described["steps"]] == ["columntransformer"]
    params = described["hyperparameters"]
    assert params[0] == {"name": "max_iter", "value": "500", "default": False}
    assert all(p["default"] for p in params[1:])
    assert {p["name"] for p in params} == set(LogisticRegression().get_params(deep=False))


# -- damaged or crafted files --------------------------------------------------------------


@pytest.fixture(scope="module")
def stored(boosted, tmp_path_factory, empty_store_db):
    """One store with an XGBoost version (models:/xgboost/1) and a LightGBM one."""
    registry = mc.Registry(home=new_store(tmp_path_factory.mktemp("boosted"), empty_store_db))
    folders = {}
    for family in ("xgboost", "lightgbm"):
        model, train, test, kw = boosted[family, False]
        folders[family] = _model_dir(
            registry, register(registry, model, train, test, name=family, **kw)
        )
    return registry, folders


@pytest.fixture
def damage(stored, monkeypatch):
    """Change a file of a stored version for one test; it is put back afterwards."""
    monkeypatch.setenv("MODELCARDS_MODEL_CACHE", "0")  # every load reads the files again
    registry, folders = stored
    saved: dict[Path, bytes | None] = {}

    def change(family: str, name: str, content: bytes | None) -> None:
        path = folders[family] / name
        saved.setdefault(path, path.read_bytes())
        if content is None:
            path.unlink()
        else:
            path.write_bytes(content)

    yield registry, change
    for path, content in saved.items():
        path.write_bytes(content)


def _assert_clean(err, uri, *parts):
    text = str(err)
    for part in (uri, *parts):
        assert part in text, text
    assert "Traceback" not in text and "/tmp" not in err.message and "[bt]" not in text


@pytest.mark.parametrize("family", ["xgboost", "lightgbm"])
def test_a_garbage_booster_file_is_refused_naming_it_and_the_version(damage, family):
    registry, change = damage
    registry.load(f"models:/{family}/1")  # intact, it loads
    change(family, DATA_FILE[family], b"not a model at all\n")
    with pytest.raises(ArtifactError) as err:
        registry.load(f"models:/{family}/1")
    _assert_clean(err.value, f"models:/{family}/1", DATA_FILE[family], f"not {NAMED[family]} model")


def _crafted_xgboost(original: bytes, change) -> bytes:
    """The stored JSON model with ``change`` applied to its first tree."""
    data = json.loads(original)
    change(data["learner"]["gradient_booster"]["model"]["trees"][0])
    return json.dumps(data).encode()


def _crafted_lightgbm(original: bytes, edit) -> bytes:
    text = original.decode()
    return edit(text).encode()


# Files that make LightGBM or XGBoost crash or abort the process, while loading or at the
# first predict (checked by hand: exit 134 "terminate called without an active exception",
# exit 139 segmentation fault).
CRAFTED = {
    "lightgbm truncated": (
        "lightgbm",
        lambda b, tmp: b[: len(b) // 2] + b"\nend of trees\n",
        "tree_sizes do not match",
    ),
    "lightgbm child index": (
        "lightgbm",
        lambda b, tmp: _crafted_lightgbm(
            b,
            lambda t: re.sub(
                r"\nleft_child=-?\d+", "\nleft_child=99", re.sub(r"tree_sizes=.*\n", "", t), count=1
            ),
        ),
        "tree 0: node 0 has a child outside the tree",
    ),
    "xgboost child index": (
        "xgboost",
        lambda b, tmp: _crafted_xgboost(
            b, lambda tree: tree["left_children"].__setitem__(0, 10**6)
        ),
        "tree 0: node 0 has a child outside the tree",
    ),
    "xgboost parent index": (
        "xgboost",
        lambda b, tmp: _crafted_xgboost(b, lambda tree: tree["parents"].__setitem__(-1, -5)),
        "tree 0: a node's parent lies outside the tree",
    ),
    "xgboost feature index": (
        "xgboost",
        lambda b, tmp: _crafted_xgboost(
            b, lambda tree: tree["split_indices"].__setitem__(0, 10**6)
        ),
        "tree 0: node 0 splits on a feature beyond num_feature",
    ),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_booster_that_would_crash_the_process_is_refused_before_predicting(
    damage, stored, tmp_path, case
):
    registry, change = damage
    family, craft, reason = CRAFTED[case]
    original = (stored[1][family] / DATA_FILE[family]).read_bytes()
    change(family, DATA_FILE[family], craft(original, tmp_path))
    with pytest.raises(ArtifactError) as err:
        registry.load(f"models:/{family}/1")
    _assert_clean(err.value, f"models:/{family}/1", DATA_FILE[family], reason)


def test_a_garbage_booster_exits_2_from_the_cli_and_writes_nothing(damage, tmp_path):
    registry, change = damage
    change("xgboost", "model.json", b"{garbage")
    out = subprocess.run(
        [str(SCRIPT), "card", "--model", "models:/xgboost/1", "--out", str(tmp_path / "c")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "MODELCARDS_HOME": str(registry.home)},
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "model.json" in out.stderr and "models:/xgboost/1" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"estimator": "os.system"}, "is not an XGBoost classifier we load"),
        ({"classes": ["No", "Yes", "Maybe"]}, "it names 3 classes, but the booster has 2"),
        ({"classes": "Yes"}, "its classes are not a list"),
    ],
)
def test_a_crafted_estimator_description_is_refused(damage, stored, change, reason):
    registry, alter = damage
    path = stored[1]["xgboost"] / "extra_files" / "estimator.json"
    alter(
        "xgboost",
        "extra_files/estimator.json",
        json.dumps({**json.loads(path.read_text()), **change}).encode(),
    )
    with pytest.raises(ArtifactError) as err:
        registry.load("models:/xgboost/1")
    _assert_clean(err.value, "models:/xgboost/1", "extra_files/estimator.json", reason)


def test_an_mlmodel_pointing_the_booster_elsewhere_is_refused(damage, stored):
    registry, change = damage
    mlmodel = yaml.safe_load((stored[1]["lightgbm"] / "MLmodel").read_text())
    mlmodel["flavors"]["lightgbm"]["data"] = "../../../../etc/passwd"
    change("lightgbm", "MLmodel", yaml.safe_dump(mlmodel).encode())
    with pytest.raises(ArtifactError) as err:
        registry.load("models:/lightgbm/1")
    _assert_clean(
        err.value, "models:/lightgbm/1", "MLmodel", "'../../../../etc/passwd', not one of model.lgb"
    )


def test_a_version_without_its_estimator_description_says_how_to_register(damage):
    registry, change = damage
    change("xgboost", "extra_files/estimator.json", None)
    with pytest.raises(ArtifactError) as err:
        registry.load("models:/xgboost/1")
    _assert_clean(err.value, "models:/xgboost/1", "extra_files/estimator.json", "Registry.register")


# -- refused at registration -----------------------------------------------------------------


def test_models_we_cannot_store_natively_are_refused_at_registration_with_what_to_do(
    registry, boosted, fitted
):
    model, train, test, kw = boosted["xgboost", False]
    with pytest.raises(UnsupportedTaskError, match=r"(?s)xgboost\.core\.Booster.*XGBClassifier"):
        register(registry, model.get_booster(), train, test)
    with pytest.raises(UnsupportedTaskError, match="one distinct label per class"):
        register(registry, model, train, test, class_labels=["No", "Yes", "Maybe"])
    lgbm, ltrain, ltest, _ = boosted["lightgbm", False]  # fitted on the strings themselves
    with pytest.raises(UnsupportedTaskError, match="not the encoded 0..n-1"):
        register(registry, lgbm, ltrain, ltest, class_labels=["No", "Yes"])
    pipe, ptrain, ptest = fitted
    with pytest.raises(UnsupportedTaskError, match="Leave class_labels out"):
        register(registry, pipe, ptrain, ptest, class_labels=["No", "Yes"])
    assert registry.list_models() == []
