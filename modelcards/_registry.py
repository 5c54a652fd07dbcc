"""All access to the MLflow Model Registry goes through this module.

A registered version carries, besides the skops model file:

* its MLflow signature and input example (in the model's MLmodel file);
* version tags ``modelcards.task``, ``modelcards.classes``, ``modelcards.positive_label``,
  ``modelcards.target`` and ``modelcards.sensitive_features``;
* run artifacts under ``modelcards/``: ``profile.json`` (the training-data profile),
  ``evaluation.parquet`` (the held-out split, with target and sensitive columns) and,
  optionally, ``card_spec.yaml`` (the human-written card sections) and ``policy.yaml``
  (the release policy a card of this version is checked against by default).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ._profile import Profile, profile_frame
from ._safe_load import load_pickle, load_skops
from .errors import ModelNotFoundError, RegistryError, UnsupportedTaskError

EXPERIMENT = "modelcards"
ARTIFACT_DIR = "modelcards"
TAG = "modelcards."
BINARY = "binary_classification"

_REF = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``."""

    name: str
    alias: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, ref: str) -> ModelRef:
        m = _REF.match(ref.strip())
        if not m:
            raise ModelNotFoundError(
                f"{ref!r} is not a model reference.",
                hint="Write models:/NAME@ALIAS (e.g. models:/arrests-release@champion) "
                "or models:/NAME/VERSION (e.g. models:/arrests-release/2).",
            )
        version = int(m["version"]) if m["version"] else None
        return cls(name=m["name"], alias=m["alias"], version=version)

    def __str__(self) -> str:
        tail = f"@{self.alias}" if self.alias else f"/{self.version}"
        return f"models:/{self.name}{tail}"


@dataclass(frozen=True)
class SignatureColumn:
    name: str
    type: str
    required: bool = True


@dataclass
class RegisteredVersion:
    name: str
    version: int
    aliases: list[str]
    description: str
    tags: dict[str, str]
    created: dt.datetime
    run_id: str | None


@dataclass
class RegisteredModel:
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    versions: list[RegisteredVersion]


@dataclass
class LoadedModel:
    """A model from the registry, pinned to the exact version that was resolved."""

    name: str
    version: int
    alias: str | None
    model: Any
    inputs: list[SignatureColumn]
    input_example: pd.DataFrame | None
    profile: Profile | None
    task: str
    classes: list
    positive_label: Any
    target: str | None
    sensitive_features: list[str]
    card_spec: dict | None
    policy_text: str | None
    description: str
    model_description: str
    tags: dict[str, str]
    created: dt.datetime
    params: dict[str, str]
    metrics: dict[str, float]
    run_id: str | None
    tracking_uri: str
    _registry: Registry | None = field(default=None, repr=False)
    # Shared by every alias view of this version, so the split is read once.
    _loaded: dict = field(default_factory=dict, repr=False)

    def as_alias(self, alias: str | None) -> LoadedModel:
        """This version as reached through ``alias``: the same model, split and caches,
        another label."""
        if alias == self.alias:
            return self
        import copy

        view = copy.copy(self)
        view.alias = alias
        return view

    @property
    def evaluation_sha256(self) -> str | None:
        """SHA-256 of the stored evaluation split, once it has been read."""
        return self._loaded.get("evaluation_sha256")

    @property
    def uri(self) -> str:
        """The pinned reference, ``models:/NAME/VERSION``."""
        return f"models:/{self.name}/{self.version}"

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.inputs]

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[self.feature_names]

    def predict(self, frame: pd.DataFrame):
        return self.model.predict(self.features(frame))

    def positive_scores(self, frame: pd.DataFrame):
        """Probability of the positive class, or None when the model has no predict_proba."""
        if not hasattr(self.model, "predict_proba"):
            return None
        proba = self.model.predict_proba(self.features(frame))
        idx = list(self.model.classes_).index(self.positive_label)
        return proba[:, idx]

    def predict_with_scores(self, frame: pd.DataFrame):
        """Labels and positive-class probabilities from one pass over the data.

        The label is the most probable class, which is what ``predict`` returns for
        scikit-learn's probabilistic classifiers; without ``predict_proba`` the scores
        are None.
        """
        if not hasattr(self.model, "predict_proba"):
            return self.predict(frame), None
        proba = self.model.predict_proba(self.features(frame))
        classes = np.asarray(self.model.classes_)
        idx = list(classes).index(self.positive_label)
        if proba.shape[1] == 2:
            # argmax along rows of two is slow in numpy (23 ms for a million rows); a
            # comparison gives the same index, the first class on a tie, in 3 ms.
            best = (proba[:, 1] > proba[:, 0]).view(np.int8)
        else:
            best = np.argmax(proba, axis=1)
        return classes[best], proba[:, idx]

    def evaluation_split(self) -> pd.DataFrame:
        """The held-out split logged with this version (features, target, sensitive columns)."""
        if "evaluation" not in self._loaded:
            if self._registry is None or self.run_id is None:
                raise RegistryError(f"{self.uri} has no evaluation split logged with it.")
            frame, digest = self._registry._read_evaluation(self)
            self._loaded.update(evaluation=frame, evaluation_sha256=digest)
        return self._loaded["evaluation"]


@contextlib.contextmanager
def _quiet():
    """MLflow logs INFO lines and warnings that mean nothing to our users."""
    import mlflow  # noqa: F401 - its import configures the "mlflow" logger; override after

    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    bar = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # no tqdm bars on stderr
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        if bar is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = bar


def default_home() -> Path:
    return Path(os.environ.get("MODELCARDS_HOME") or Path.cwd() / ".modelcards").resolve()


_CACHE: dict[tuple, LoadedModel] = {}
_CACHE_LOCK = threading.Lock()
_MLFLOW_GLOBAL = threading.Lock()


class Registry:
    """The model registry: the embedded SQLite store, or the one MLFLOW_TRACKING_URI names.

    >>> reg = Registry(home="/tmp/mc-doc")            # doctest: +SKIP
    >>> [m.name for m in reg.list_models()]           # doctest: +SKIP
    ['arrests-release']
    """

    def __init__(self, tracking_uri: str | None = None, *, home: str | os.PathLike | None = None):
        uri = tracking_uri or (None if home else os.environ.get("MLFLOW_TRACKING_URI"))
        if uri:
            if uri.startswith("file:") or "://" not in uri and ":" not in uri[:3]:
                raise RegistryError(
                    f"MLFLOW_TRACKING_URI={uri!r} points at MLflow's file store, which has no "
                    "model registry we support.",
                    hint="Use sqlite:////absolute/path/mlflow.db or an http(s):// MLflow server, "
                    "or unset MLFLOW_TRACKING_URI to use the embedded store in .modelcards/.",
                )
            self.tracking_uri = uri
            self.embedded = False
            if uri.startswith("sqlite:///"):
                db = Path(uri.removeprefix("sqlite:///"))
                self.artifact_location = (db.parent / "artifacts").resolve().as_uri()
            else:
                self.artifact_location = None  # the server decides
        else:
            root = Path(home).resolve() if home else default_home()
            root.mkdir(parents=True, exist_ok=True)
            self.home = root
            self.tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
            self.artifact_location = (root / "artifacts").as_uri()
            self.embedded = True
        self._client = None

    # -- plumbing -----------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            with _quiet():
                from mlflow import MlflowClient

                try:
                    self._client = MlflowClient(
                        tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
                    )
                    self._client.search_registered_models(max_results=1)
                except Exception as exc:  # MLflow raises many kinds here
                    self._client = None
                    raise RegistryError(
                        f"Cannot open the model registry at {self.tracking_uri}: {exc}",
                        hint="Check MLFLOW_TRACKING_URI, or unset it to use the embedded store.",
                    ) from exc
        return self._client

    @contextlib.contextmanager
    def _fluent(self):
        """MLflow's log_model uses process-wide URIs; set ours for the duration only.

        ``mlflow.set_tracking_uri`` also writes MLFLOW_TRACKING_URI into os.environ (for
        subprocesses); left there it would silently point every later Registry() in this
        process, and every child process, at our store. Put everything back as it was.
        """
        import mlflow
        from mlflow.tracking._model_registry import utils as registry_utils
        from mlflow.tracking._tracking_service import utils as tracking_utils

        names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
        with _MLFLOW_GLOBAL, _quiet():
            saved_env = {k: os.environ.get(k) for k in names}
            saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
            try:
                yield mlflow
            finally:
                mlflow.set_tracking_uri(saved[0])
                registry_utils._registry_uri = saved[1]
                for k, v in saved_env.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v

    def _experiment_id(self) -> str:
        exp = self.client.get_experiment_by_name(EXPERIMENT)
        if exp is not None:
            return exp.experiment_id
        return self.client.create_experiment(EXPERIMENT, artifact_location=self.artifact_location)

    # -- reading --------------------------------------------------------------------
    def list_models(self) -> list[RegisteredModel]:
        """Every registered model with its versions (newest first), aliases, descriptions, tags."""
        out = []
        with _quiet():
            for rm in self.client.search_registered_models(order_by=["name ASC"]):
                versions = self.client.search_model_versions(f"name='{_q(rm.name)}'")
                aliases = {k: int(v) for k, v in (rm.aliases or {}).items()}
                out.append(
                    RegisteredModel(
                        name=rm.name,
                        description=rm.description or "",
                        tags=dict(rm.tags or {}),
                        aliases=aliases,
                        versions=sorted(
                            (_version(v, aliases) for v in versions), key=lambda v: -v.version
                        ),
                    )
                )
        return out

    def is_empty(self) -> bool:
        with _quiet():
            return not self.client.search_registered_models(max_results=1)

    def resolve(self, ref: str | ModelRef) -> tuple[str, int, str | None]:
        """Resolve a reference to ``(name, version, alias)``; an alias becomes its version."""
        from mlflow.exceptions import MlflowException

        r = ModelRef.parse(ref) if isinstance(ref, str) else ref
        with _quiet():
            try:
                rm = self.client.get_registered_model(r.name)
            except MlflowException:
                names = [m.name for m in self.client.search_registered_models()]
                raise ModelNotFoundError(
                    f"No registered model named {r.name!r}.",
                    hint="Registered models: "
                    + (", ".join(names) or "none yet")
                    + ". Run `modelcards models` to list them"
                    + ("" if names else ", or `modelcards examples` to register the examples")
                    + ".",
                ) from None
            aliases = {k: int(v) for k, v in (rm.aliases or {}).items()}
            if r.alias is not None:
                if r.alias not in aliases:
                    listed = ", ".join(f"@{a} -> version {v}" for a, v in sorted(aliases.items()))
                    raise ModelNotFoundError(
                        f"Model {r.name!r} has no alias {r.alias!r}.",
                        hint=f"Aliases of {r.name}: {listed or 'none'}. "
                        f"Or pin a version: models:/{r.name}/VERSION.",
                    )
                return r.name, aliases[r.alias], r.alias
            versions = sorted(
                int(v.version) for v in self.client.search_model_versions(f"name='{_q(r.name)}'")
            )
            if r.version not in versions:
                raise ModelNotFoundError(
                    f"Model {r.name!r} has no version {r.version}.",
                    hint=f"Versions of {r.name}: {', '.join(map(str, versions)) or 'none'}.",
                )
            return r.name, r.version, None

    def load(
        self,
        ref: str | ModelRef,
        *,
        allow_pickle: bool = False,
        trusted_types: tuple[str, ...] | list[str] = (),
    ) -> LoadedModel:
        """Load a registered model, resolving an alias to a fixed version.

        Loaded models are cached by resolved version, so moving an alias loads the new
        version while the old one stays cached under its own number.
        """
        name, version, alias = self.resolve(ref)
        key = (self.tracking_uri, name, version, allow_pickle, tuple(sorted(trusted_types)))
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
        if cached is None:
            cached = self._load_version(
                name, version, allow_pickle=allow_pickle, trusted_types=trusted_types
            )
            with _CACHE_LOCK:
                _CACHE[key] = cached
        return cached.as_alias(alias)

    def _load_version(self, name, version, *, allow_pickle, trusted_types) -> LoadedModel:
        import mlflow.artifacts

        with _quiet():
            mv = self.client.get_model_version(name, str(version))
            rm = self.client.get_registered_model(name)
            location = self.client.get_model_version_download_uri(name, str(version))
            with tempfile.TemporaryDirectory(prefix="modelcards-") as tmp:
                local = Path(
                    mlflow.artifacts.download_artifacts(
                        artifact_uri=location, dst_path=tmp, tracking_uri=self.tracking_uri
                    )
                )
                mlmodel = yaml.safe_load((local / "MLmodel").read_text())
                model = _load_model_dir(local, mlmodel, allow_pickle, trusted_types)
                inputs = _signature_inputs(mlmodel)
                example = _input_example(local, mlmodel)
            tags = dict(mv.tags or {})
            run = self.client.get_run(mv.run_id) if mv.run_id else None
            extras = self._read_run_extras(mv.run_id) if mv.run_id else {}
        if not inputs and example is not None:
            inputs = [SignatureColumn(c, str(example[c].dtype)) for c in example.columns]
        classes = json.loads(tags.get(TAG + "classes", "null")) or list(
            getattr(model, "classes_", [])
        )
        positive = (
            json.loads(tags[TAG + "positive_label"])
            if TAG + "positive_label" in tags
            else (classes[-1] if classes else None)
        )
        return LoadedModel(
            name=name,
            version=int(version),
            alias=None,
            model=model,
            inputs=inputs,
            input_example=example,
            profile=extras.get("profile"),
            task=tags.get(TAG + "task", BINARY if len(classes) == 2 else "unknown"),
            classes=classes,
            positive_label=positive,
            target=tags.get(TAG + "target"),
            sensitive_features=json.loads(tags.get(TAG + "sensitive_features", "[]")),
            card_spec=extras.get("card_spec"),
            policy_text=extras.get("policy"),
            description=mv.description or "",
            model_description=rm.description or "",
            tags=tags,
            created=_ts(mv.creation_timestamp),
            params=dict(run.data.params) if run else {},
            metrics={k: float(v) for k, v in run.data.metrics.items()} if run else {},
            run_id=mv.run_id,
            tracking_uri=self.tracking_uri,
            _registry=self,
        )

    def _download_run_file(self, run_id: str, name: str, tmp: str) -> Path | None:
        try:
            return Path(
                self.client.download_artifacts(run_id, f"{ARTIFACT_DIR}/{name}", dst_path=tmp)
            )
        except Exception:  # absent artifact: MLflow raises OSError or MlflowException
            return None

    def _read_run_extras(self, run_id: str) -> dict:
        out: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="modelcards-") as tmp:
            p = self._download_run_file(run_id, "profile.json", tmp)
            if p is not None:
                out["profile"] = Profile.model_validate_json(p.read_text())
            s = self._download_run_file(run_id, "card_spec.yaml", tmp)
            if s is not None:
                out["card_spec"] = yaml.safe_load(s.read_text()) or {}
            pol = self._download_run_file(run_id, "policy.yaml", tmp)
            if pol is not None:
                out["policy"] = pol.read_text()
        return out

    def _read_evaluation(self, loaded: LoadedModel) -> tuple[pd.DataFrame, str]:
        with _quiet(), tempfile.TemporaryDirectory(prefix="modelcards-") as tmp:
            p = self._download_run_file(loaded.run_id, "evaluation.parquet", tmp)
            if p is None:
                raise RegistryError(
                    f"{loaded.uri} has no evaluation split logged with it.",
                    hint="Pass --data FILE with the evaluation data.",
                )
            from ._data import sha256_file

            return pd.read_parquet(p), sha256_file(p)

    # -- writing --------------------------------------------------------------------
    def register(
        self,
        model,
        *,
        name: str,
        X_train: pd.DataFrame,
        evaluation: pd.DataFrame,
        target: str,
        positive_label,
        sensitive_features: list[str] = (),
        card_spec: dict | None = None,
        policy: str | None = None,
        description: str = "",
        model_description: str | None = None,
        alias: str | None = None,
        params: dict | None = None,
        metrics: dict | None = None,
        tags: dict[str, str] | None = None,
        serialization_format: str = "skops",
        trusted_types: list[str] | None = None,
    ) -> RegisteredVersion:
        """Log a fitted binary classifier and register it as a new version of ``name``.

        ``evaluation`` is the held-out split: the model's input columns, ``target`` and
        any sensitive columns. It is stored with the version so that a card can be made
        from the registry alone. ``trusted_types`` lets skops save types it does not trust
        by default (tree models); loading them later needs the same explicit trust.
        """
        classes = list(getattr(model, "classes_", []))
        if len(classes) != 2:
            raise UnsupportedTaskError(
                f"{type(model).__name__} has classes {classes}; modelcards supports binary "
                "classification only.",
                hint="Register a classifier fitted on a target with exactly two values.",
            )
        if positive_label not in classes:
            raise UnsupportedTaskError(
                f"positive_label={positive_label!r} is not one of the model's classes {classes}."
            )
        missing = [
            c
            for c in [*X_train.columns, target, *sensitive_features]
            if c not in evaluation.columns
        ]
        if missing:
            raise RegistryError(
                f"The evaluation split lacks columns {missing}.",
                hint="Pass the held-out rows with every input column, the target and the "
                "sensitive columns.",
            )
        import sklearn
        import skops
        from mlflow.models import infer_signature

        sample = X_train.head(200)
        with _quiet():
            signature = infer_signature(sample, model.predict_proba(sample))
        profile = profile_frame(X_train)
        tags = {
            TAG + "task": BINARY,
            TAG + "classes": json.dumps(_plain(classes)),
            TAG + "positive_label": json.dumps(_plain(positive_label)),
            TAG + "target": target,
            TAG + "sensitive_features": json.dumps(list(sensitive_features)),
            **(tags or {}),
        }
        with self._fluent() as mlflow:
            exp_id = self._experiment_id()
            with mlflow.start_run(experiment_id=exp_id, run_name=f"{name}-register") as run:
                if params:
                    mlflow.log_params(params)
                if metrics:
                    mlflow.log_metrics(metrics)
                info = _log_sklearn(
                    mlflow,
                    model,
                    name="model",
                    signature=signature,
                    input_example=X_train.head(3),
                    serialization_format=serialization_format,
                    skops_trusted_types=trusted_types,
                    pip_requirements=[
                        f"scikit-learn=={sklearn.__version__}",
                        f"skops=={skops.__version__}",
                    ],
                )
                mlflow.log_text(profile.model_dump_json(indent=2), f"{ARTIFACT_DIR}/profile.json")
                if policy is not None:
                    from ._policy import parse_policy

                    parse_policy(policy, source="the policy")  # refuse a broken one now
                    mlflow.log_text(policy, f"{ARTIFACT_DIR}/policy.yaml")
                if card_spec is not None:
                    mlflow.log_text(
                        yaml.safe_dump(card_spec, sort_keys=False, allow_unicode=True),
                        f"{ARTIFACT_DIR}/card_spec.yaml",
                    )
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "evaluation.parquet"
                    evaluation.to_parquet(path, index=False)
                    mlflow.log_artifact(str(path), ARTIFACT_DIR)
            try:
                self.client.get_registered_model(name)
            except Exception:
                self.client.create_registered_model(name, description=model_description or "")
            else:
                if model_description is not None:
                    self.client.update_registered_model(name, description=model_description)
            mv = self.client.create_model_version(
                name, info.model_uri, run_id=run.info.run_id, tags=tags, description=description
            )
            if alias:
                self.client.set_registered_model_alias(name, alias, mv.version)
            mv = self.client.get_model_version(name, mv.version)
        return _version(mv)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        with _quiet():
            self.client.set_registered_model_alias(name, alias, str(version))


def _log_sklearn(mlflow, model, **kwargs):
    from mlflow.exceptions import MlflowException

    from .errors import UnsafeModelError

    try:
        return mlflow.sklearn.log_model(model, **kwargs)
    except MlflowException as exc:
        if "untrusted types" in str(exc):
            raise UnsafeModelError(
                f"{type(model).__name__} holds types that skops does not trust by default: "
                + str(exc).split("Root error:")[-1].strip().splitlines()[0],
                hint="If you reviewed them, pass trusted_types=[...] to register(); loading "
                "the model will need the same explicit trust.",
            ) from exc
        raise


def _q(name: str) -> str:
    return name.replace("'", "\\'")


def _ts(ms) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ms) / 1000, tz=dt.UTC)


def _version(mv, aliases: dict[str, int] | None = None) -> RegisteredVersion:
    # Search results may leave a version's aliases empty; the model's alias map is reliable.
    if aliases is None:
        names = list(mv.aliases or [])
    else:
        names = sorted(a for a, v in aliases.items() if v == int(mv.version))
    return RegisteredVersion(
        name=mv.name,
        version=int(mv.version),
        aliases=names,
        description=mv.description or "",
        tags=dict(mv.tags or {}),
        created=_ts(mv.creation_timestamp),
        run_id=mv.run_id,
    )


def _plain(value):
    """NumPy scalars to plain Python, for JSON tags."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def _load_model_dir(local: Path, mlmodel: dict, allow_pickle: bool, trusted_types) -> Any:
    flavors = mlmodel.get("flavors", {})
    sk = flavors.get("sklearn")
    if sk is None:
        # A pyfunc-only model is a cloudpickled PythonModel: code, not data.
        kinds = ", ".join(sorted(flavors)) or "none"
        if not allow_pickle:
            from .errors import UnsafeModelError

            raise UnsafeModelError(
                f"The model has no sklearn flavor (flavors: {kinds}); loading a python_function "
                "model unpickles code.",
                hint="Register a scikit-learn model in skops format, or pass allow_pickle=True "
                "(--allow-pickle) if you trust its author.",
            )
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(str(local))
    fmt = sk.get("serialization_format", "pickle")
    path = local / sk.get("pickled_model", "model.pkl")
    if fmt == "skops":
        return load_skops(path, trusted_types=trusted_types)
    return load_pickle(path, fmt=fmt, allow_pickle=allow_pickle)


def _signature_inputs(mlmodel: dict) -> list[SignatureColumn]:
    sig = (mlmodel.get("signature") or {}).get("inputs")
    if not sig:
        return []
    cols = json.loads(sig)
    return [
        SignatureColumn(c["name"], c.get("type", "string"), c.get("required", True))
        for c in cols
        if "name" in c
    ]


def _input_example(local: Path, mlmodel: dict) -> pd.DataFrame | None:
    info = mlmodel.get("saved_input_example_info") or {}
    path = local / info.get("artifact_path", "input_example.json")
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "columns" in data and "data" in data:
        return pd.DataFrame(data["data"], columns=data["columns"])
    return None
