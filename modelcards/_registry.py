"""All access to the MLflow Model Registry goes through this module.

A registered version carries, besides the skops model file:

* its MLflow signature and input example (in the model's MLmodel file);
* version tags ``modelcards.task``, ``modelcards.classes``, ``modelcards.positive_label``,
  ``modelcards.target`` and ``modelcards.sensitive_features``;
* run artifacts under ``modelcards/``: ``profile.json`` (the training-data profile),
  ``evaluation.parquet`` (the held-out split, with target and sensitive columns) and,
  optionally, ``card_spec.yaml`` (the human-written card sections) and ``policy.yaml``
  (the release policy a card of this version is checked against by default).

An optional file never stored means "none". One that registration recorded as stored
(version tag ``modelcards.stored_files``) but is gone, or one that cannot be fetched, read
or parsed, raises ``ArtifactError`` naming the file and the version: a damaged policy must
never pass as "no policy". So does a ``modelcards.*`` tag that does not hold what
registration wrote.

Loaded versions are kept in memory, the most recently used first; ``MODELCARDS_MODEL_CACHE``
sets how many (default 8, 0 keeps none).

A registry that does not answer raises ``RegistryUnreachableError`` within seconds, never
"no model": MLflow's HTTP client gets bounded timeouts and retries (``HTTP_DEFAULTS``,
unless the user set those variables), and a database-backed registry is tried once with a
connect timeout before MLflow, whose own engine retries for about 100 s, touches it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import posixpath
import re
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import pandas as pd
import yaml
from numpy.typing import NDArray

from ._flavors import (
    load_native,
    log_native,
    model_frameworks,
    native_framework,
    plan_native,
    recorded_versions,
)
from ._profile import Profile, profile_frame
from ._safe_load import check_registrable, load_pickle, load_skops
from .errors import (
    ArtifactError,
    ModelcardsError,
    ModelFileError,
    ModelNotFoundError,
    RegistryError,
    RegistryUnreachableError,
    UnsafeModelError,
    UnsupportedTaskError,
    shown_uri,
)

if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType

    from mlflow import MlflowClient
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

    from ._publish import PublishedCard

_T = TypeVar("_T")

EXPERIMENT = "modelcards"
ARTIFACT_DIR = "modelcards"
TAG = "modelcards."
BINARY = "binary_classification"
REGRESSION = "regression"
MULTICLASS = "multiclass_classification"

_REF = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``."""

    name: str
    alias: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, ref: str) -> ModelRef:
        """Parse a reference; ModelNotFoundError with the accepted forms when it is not one.

        Args:
            ref: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.

        >>> ModelRef.parse("models:/arrests-release@champion")
        ModelRef(name='arrests-release', alias='champion', version=None)
        """
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
    classes: list[Any]
    positive_label: Any
    target: str | None
    sensitive_features: list[str]
    card_spec: dict[str, Any] | None
    policy_text: str | None
    description: str
    model_description: str
    tags: dict[str, str]
    created: dt.datetime
    params: dict[str, str]
    metrics: dict[str, float]
    run_id: str | None
    tracking_uri: str
    # How the model file was stored: "skops", or a pickle format loaded with allow_pickle.
    serialization: str = "skops"
    # Framework versions recorded at registration, e.g. {"scikit-learn": "1.9.1"}.
    frameworks: dict[str, str] = field(default_factory=dict)
    _registry: Registry | None = field(default=None, repr=False)
    # Shared by every alias view of this version, so the split is read once.
    _loaded: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_alias(self, alias: str | None) -> LoadedModel:
        """This version as reached through ``alias``: the same model, split and caches,
        another label.

        Args:
            alias: The alias, or None for the version itself.
        """
        if alias == self.alias:
            return self
        import copy

        view = copy.copy(self)
        view.alias = alias
        return view

    @property
    def warnings(self) -> list[str]:
        """What everyone using this version should know about how it was loaded."""
        if self.serialization == "skops":
            return []
        return [
            f"{self.uri} was loaded from a {self.serialization} file with --allow-pickle: "
            "loading it ran code stored with the model, so this is only as trustworthy as "
            "whoever registered it."
        ]

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
        """The model's input columns of ``frame``, in the signature's order.

        Args:
            frame: Rows holding at least the model's inputs.
        """
        return frame[self.feature_names]

    def predict(self, frame: pd.DataFrame) -> NDArray[Any]:
        """Predicted labels, one per row.

        Args:
            frame: Rows holding at least the model's inputs.
        """
        # scikit-learn ships no types: its predict returns Any.
        return self.model.predict(self.features(frame))  # type: ignore[no-any-return]

    def positive_scores(self, frame: pd.DataFrame) -> NDArray[np.float64] | None:
        """Probability of the positive class, or None when the model has no predict_proba.

        Args:
            frame: Rows holding at least the model's inputs.
        """
        if not hasattr(self.model, "predict_proba"):
            return None
        proba: NDArray[np.float64] = self.model.predict_proba(self.features(frame))
        idx = list(self.model.classes_).index(self.positive_label)
        return proba[:, idx]

    def predict_with_scores(
        self, frame: pd.DataFrame
    ) -> tuple[NDArray[Any], NDArray[np.float64] | None]:
        """Labels and positive-class probabilities from one pass over the data.

        The label is the most probable class, which is what ``predict`` returns for
        scikit-learn's probabilistic classifiers; without ``predict_proba`` the scores
        are None.

        A multiclass model has no positive class: its score is the probability of the
        class it predicts.

        Args:
            frame: Rows holding at least the model's inputs.
        """
        if not hasattr(self.model, "predict_proba"):
            return self.predict(frame), None
        proba: NDArray[np.float64] = self.model.predict_proba(self.features(frame))
        classes = np.asarray(self.model.classes_)
        if self.positive_label is None:
            chosen = np.argmax(proba, axis=1)
            return classes[chosen], proba[np.arange(len(proba)), chosen]
        idx = list(classes).index(self.positive_label)
        if proba.shape[1] == 2:
            # argmax along rows of two is slow in numpy (23 ms for a million rows); a
            # comparison gives the same index, the first class on a tie, in 3 ms.
            best = (proba[:, 1] > proba[:, 0]).view(np.int8)
        else:
            best = np.argmax(proba, axis=1)
        return classes[best], proba[:, idx]

    def predict_with_probabilities(
        self, frame: pd.DataFrame
    ) -> tuple[NDArray[Any], NDArray[np.float64] | None]:
        """Labels and every class's probability (columns in ``classes`` order) from one
        pass over the data; the probabilities are None without ``predict_proba``.

        Args:
            frame: Rows holding at least the model's inputs.
        """
        if not hasattr(self.model, "predict_proba"):
            return self.predict(frame), None
        proba: NDArray[np.float64] = self.model.predict_proba(self.features(frame))
        classes = np.asarray(self.model.classes_)
        return classes[np.argmax(proba, axis=1)], proba

    def evaluation_split(self) -> pd.DataFrame:
        """The held-out split logged with this version (features, target, sensitive columns)."""
        if "evaluation" not in self._loaded:
            if self._registry is None or self.run_id is None:
                raise RegistryError(f"{self.uri} has no evaluation split logged with it.")
            frame, digest = self._registry._read_evaluation(self)
            self._loaded.update(evaluation=frame, evaluation_sha256=digest)
        # _loaded is an untyped cache; "evaluation" holds the DataFrame stored just above.
        return self._loaded["evaluation"]  # type: ignore[no-any-return]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
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


ENV_CACHE = "MODELCARDS_MODEL_CACHE"
DEFAULT_CACHE = 8


def _cache_size() -> int:
    raw = os.environ.get(ENV_CACHE, "").strip()
    if not raw:
        return DEFAULT_CACHE
    if not (raw.isascii() and raw.isdigit()):
        raise RegistryError(
            f"{ENV_CACHE}={raw!r} is not a number of model versions.",
            hint=f"Set it to a whole number such as {DEFAULT_CACHE} (0 keeps none), or unset it "
            f"for the default of {DEFAULT_CACHE}.",
        )
    return int(raw)


# Least recently used first. Each entry holds a model and, once read, its evaluation split.
# (tracking URI, name, version, allow_pickle, trusted types) -> the loaded version
_CACHE: OrderedDict[tuple[str, str, int, bool, tuple[str, ...]], LoadedModel] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_MLFLOW_GLOBAL = threading.Lock()


#: Bounds on MLflow's HTTP client, which reads only these variables; a value the user set
#: wins. Two tries of at most 4 s each: a dead or silent server is said within about 8 s,
#: where MLflow's defaults (120 s, 7 retries with backoff) take minutes.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "4",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
}
#: Seconds a database-backed registry has to accept a connection, unless its URI says
#: ``connect_timeout=``.
DB_CONNECT_TIMEOUT = 5


class Registry:
    """The model registry: the embedded SQLite store, or the one MLFLOW_TRACKING_URI names.

    >>> reg = Registry(home="/tmp/mc-doc")            # doctest: +SKIP
    >>> [m.name for m in reg.list_models()]           # doctest: +SKIP
    ['arrests-release']
    """

    def __init__(
        self, tracking_uri: str | None = None, *, home: str | os.PathLike[str] | None = None
    ) -> None:
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
            if uri.startswith(("http://", "https://")):
                for name, value in HTTP_DEFAULTS.items():
                    os.environ.setdefault(name, value)
            if uri.startswith("sqlite:///"):
                db = Path(uri.removeprefix("sqlite:///"))
                self.artifact_location: str | None = (db.parent / "artifacts").resolve().as_uri()
            else:
                self.artifact_location = None  # the server decides
        else:
            root = Path(home).resolve() if home else default_home()
            root.mkdir(parents=True, exist_ok=True)
            self.home = root
            self.tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
            self.artifact_location = (root / "artifacts").as_uri()
            self.embedded = True
        self._client: MlflowClient | None = None

    # -- plumbing -----------------------------------------------------------------
    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            with _quiet():
                from mlflow import MlflowClient

                try:
                    if _is_database(self.tracking_uri):
                        self._probe_database()
                    self._client = MlflowClient(
                        tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
                    )
                    self._client.search_registered_models(max_results=1)
                except ModelcardsError:  # the probe's own, already worded
                    raise
                except Exception as exc:  # MLflow raises many kinds here
                    self._client = None
                    if _unreachable(exc):
                        raise self._unreachable_error(exc) from exc
                    raise RegistryError(
                        f"Cannot open the model registry at {shown_uri(self.tracking_uri)}: {exc}",
                        hint="Check MLFLOW_TRACKING_URI, or unset it to use the embedded store.",
                    ) from exc
        return self._client

    def _probe_database(self) -> None:
        """One connection attempt with a bounded wait, before MLflow's engine (which
        retries for about 100 s) is created: an unreachable database is said at once."""
        from sqlalchemy import create_engine, make_url
        from sqlalchemy.exc import DBAPIError
        from sqlalchemy.pool import NullPool

        url = make_url(self.tracking_uri)
        args = {}
        if url.get_backend_name() in {"postgresql", "mysql"} and "connect_timeout" not in url.query:
            args["connect_timeout"] = DB_CONNECT_TIMEOUT
        engine = create_engine(url, connect_args=args, poolclass=NullPool)
        try:
            with engine.connect():
                pass
        except DBAPIError as exc:
            if _unreachable(exc):
                raise self._unreachable_error(exc) from exc
            # It answered, with a refusal (a bad password, no such database): said now, as
            # MLflow would retry it for about 100 s before saying the same.
            first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
            raise RegistryError(
                f"The registry database at {shown_uri(self.tracking_uri)} refused the "
                f"connection: {first or type(exc.orig).__name__}",
                hint="Check the user, password and database name in MLFLOW_TRACKING_URI.",
            ) from exc
        finally:
            engine.dispose()

    def _unreachable_error(self, exc: BaseException) -> RegistryUnreachableError:
        shown = shown_uri(self.tracking_uri)
        if _is_database(self.tracking_uri):
            seconds = _query_value(self.tracking_uri, "connect_timeout") or DB_CONNECT_TIMEOUT
            wait = f"{seconds} s"
            hint = (
                "Check that the database server is running and reachable from here (address, "
                "port, firewall) and that MLFLOW_TRACKING_URI is right, or unset it to use the "
                f"embedded store in .modelcards/. The wait is connect_timeout={seconds} s; set "
                "connect_timeout=SECONDS in the URI to change it."
            )
        else:
            timeout = os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "?")
            retries = os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "?")
            tries = int(retries) + 1 if retries.isdigit() else "several"
            wait = f"{timeout} s, tried {tries} times"
            hint = (
                "Check that the MLflow server is running and reachable from here (address, "
                "port, proxy, VPN) and that MLFLOW_TRACKING_URI is right, or unset it to use "
                f"the embedded store in .modelcards/. Each request waits "
                f"MLFLOW_HTTP_REQUEST_TIMEOUT={timeout} s and is retried "
                f"MLFLOW_HTTP_REQUEST_MAX_RETRIES={retries} time(s)."
            )
        return RegistryUnreachableError(
            f"Cannot reach the registry at {shown}: {_unreachable_reason(exc, wait)}.", hint=hint
        )

    @contextlib.contextmanager
    def _reach(self) -> Iterator[None]:
        """A registry that stops answering after the first contact is said as such too."""
        try:
            yield
        except ModelcardsError:
            raise
        except Exception as exc:
            if _unreachable(exc):
                raise self._unreachable_error(exc) from exc
            raise

    @contextlib.contextmanager
    def _fluent(self) -> Iterator[ModuleType]:
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
                # None restores MLflow's default URI; its annotation leaves None out.
                mlflow.set_tracking_uri(saved[0])  # type: ignore[arg-type]
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
        with _quiet(), self._reach():
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
        """Whether no model is registered yet."""
        with _quiet(), self._reach():
            return not self.client.search_registered_models(max_results=1)

    def resolve(self, ref: str | ModelRef) -> tuple[str, int, str | None]:
        """Resolve a reference to ``(name, version, alias)``; an alias becomes its version.

        Args:
            ref: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``, as text or parsed.
        """
        from mlflow.exceptions import MlflowException

        r = ModelRef.parse(ref) if isinstance(ref, str) else ref
        with _quiet():
            try:
                rm = self.client.get_registered_model(r.name)
            except MlflowException as exc:
                if _unreachable(exc):
                    raise self._unreachable_error(exc) from exc
                if not _not_found(exc):  # only "does not exist" means absent
                    raise RegistryError(
                        f"Cannot read model {r.name!r} from the registry at "
                        f"{shown_uri(self.tracking_uri)}: {str(exc).splitlines()[0]}",
                        hint="Check that the registry is reachable and its store intact.",
                    ) from exc
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
        trusted_types: Sequence[str] | None = None,
    ) -> LoadedModel:
        """Load a registered model, resolving an alias to a fixed version.

        Loaded models are cached by resolved version, so moving an alias loads the new
        version while the old one stays cached under its own number. The cache keeps the
        ``MODELCARDS_MODEL_CACHE`` most recently used versions (default 8; 0 keeps none)
        and drops the least recently used first.

        A stored file that is present but unreadable raises ``ArtifactError``.

        Args:
            ref: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.
            allow_pickle: Allow pickle model files, which run code when loaded (default False).
            trusted_types: Extra types a skops model file may hold, e.g.
                ``["mypkg.MyTransformer"]``; None (the default) for none.
        """
        size = _cache_size()
        name, version, alias = self.resolve(ref)
        trusted = tuple(sorted(trusted_types or ()))
        key = (self.tracking_uri, name, version, allow_pickle, trusted)
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
            if cached is not None:
                _CACHE.move_to_end(key)
        if cached is None:
            loaded = self._load_version(
                name, version, allow_pickle=allow_pickle, trusted_types=trusted
            )
            with _CACHE_LOCK:
                # Another thread may have loaded the same version meanwhile: keep one object.
                cached = _CACHE.setdefault(key, loaded)
                _CACHE.move_to_end(key)
                while len(_CACHE) > size:
                    _CACHE.popitem(last=False)
        return cached.as_alias(alias)

    def _load_version(
        self, name: str, version: int, *, allow_pickle: bool, trusted_types: tuple[str, ...]
    ) -> LoadedModel:
        import mlflow.artifacts

        uri = f"models:/{name}/{version}"
        with _quiet():
            mv = self.client.get_model_version(name, str(version))
            rm = self.client.get_registered_model(name)
            location = self.client.get_model_version_download_uri(name, str(version))
            with tempfile.TemporaryDirectory(prefix="modelcards-") as tmp:
                try:
                    local = Path(
                        mlflow.artifacts.download_artifacts(
                            artifact_uri=location, dst_path=tmp, tracking_uri=self.tracking_uri
                        )
                    )
                except Exception as exc:  # each artifact store raises its own kinds
                    raise _unreadable("the model files", uri, exc, tmp) from exc
                mlmodel, inputs = _parse_model_file(local, "MLmodel", uri, tmp, _read_mlmodel)
                example = _input_example(local, mlmodel, uri, tmp)
                model = _load_model_dir(local, mlmodel, allow_pickle, trusted_types, uri)
                requirements = (
                    _parse_model_file(local, "requirements.txt", uri, tmp, _read_utf8)
                    if (local / "requirements.txt").exists()
                    else None
                )
            tags = dict(mv.tags or {})
            run = self.client.get_run(mv.run_id) if mv.run_id else None
            recorded = _tag_json(tags, "stored_files", uri)
            extras = self._read_run_extras(run, uri, recorded) if run else {}
        _verify_policy(extras.get("policy"), tags.get(POLICY_TAG), uri)
        if not inputs and example is not None:
            inputs = [SignatureColumn(c, str(example[c].dtype)) for c in example.columns]
        classes = _tag_json(tags, "classes", uri) or list(getattr(model, "classes_", []))
        if TAG + "positive_label" in tags:
            positive = _tag_json(tags, "positive_label", uri)
            if classes and positive not in classes:
                raise _bad_tag(
                    "positive_label", uri, tags[TAG + "positive_label"],
                    f"is not one of the model's classes {classes}",
                )  # fmt: skip
        else:
            positive = classes[-1] if 0 < len(classes) <= 2 else None
        return LoadedModel(
            name=name,
            version=int(version),
            alias=None,
            model=model,
            inputs=inputs,
            input_example=example,
            profile=extras.get("profile"),
            task=tags.get(
                TAG + "task",
                BINARY if len(classes) == 2 else MULTICLASS if len(classes) > 2 else "unknown",
            ),
            classes=classes,
            positive_label=positive,
            target=tags.get(TAG + "target"),
            sensitive_features=_tag_json(tags, "sensitive_features", uri) or [],
            card_spec=extras.get("card_spec"),
            policy_text=extras.get("policy"),
            description=human_description(mv.description),
            model_description=rm.description or "",
            tags=tags,
            created=_ts(mv.creation_timestamp),
            params=dict(run.data.params) if run else {},
            metrics={k: float(v) for k, v in run.data.metrics.items()} if run else {},
            run_id=mv.run_id,
            tracking_uri=self.tracking_uri,
            serialization=_serialization(mlmodel),
            frameworks={
                k: v
                for k, v in recorded_versions(requirements, mlmodel).items()
                if k in model_frameworks(model)
            },
            _registry=self,
        )

    def _stored_files(self, run: Run, uri: str) -> dict[str, bool]:
        """The run's ``modelcards/`` files, ``{name: is_folder}``: what is absent is decided
        here, positively, and nowhere else."""
        import mlflow.artifacts

        # The run's own artifact root, not runs:/ URIs: MLflow's runs:/ repository turns
        # every download failure (permission, network) into "does not exist".
        folder = f"{run.info.artifact_uri}/{ARTIFACT_DIR}"
        try:
            infos = mlflow.artifacts.list_artifacts(
                artifact_uri=folder, tracking_uri=self.tracking_uri
            )
        except Exception as exc:  # each artifact store raises its own kinds
            raise _unreadable(f"the files under {ARTIFACT_DIR}/", uri, exc) from exc
        return {posixpath.basename(i.path): i.is_dir for i in infos}

    def _read_stored(
        self,
        run: Run,
        files: dict[str, bool],
        name: str,
        uri: str,
        tmp: str,
        parse: Callable[[Path], _T],
        errors: tuple[type[BaseException], ...] = (),
    ) -> _T | None:
        """``parse`` applied to ``modelcards/NAME`` of a version; None when it has none.

        A listed file that cannot be fetched, read or parsed raises ArtifactError.
        """
        import mlflow.artifacts

        if name not in files:
            return None
        artifact = f"{ARTIFACT_DIR}/{name}"
        if files[name]:
            raise ArtifactError(
                f"{artifact} stored with {uri} is a folder, not a file.", hint=_hint(artifact)
            )
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{run.info.artifact_uri}/{artifact}",
                dst_path=tmp,
                tracking_uri=self.tracking_uri,
            )
        except Exception as exc:  # each artifact store raises its own kinds
            raise _unreadable(artifact, uri, exc, tmp) from exc
        try:
            return parse(Path(local))
        except (*_READ_ERRORS, *errors) as exc:
            raise _unreadable(artifact, uri, exc, tmp) from exc

    def _read_run_extras(
        self, run: Run, uri: str, recorded: list[str] | None = None
    ) -> dict[str, Any]:
        files = self._stored_files(run, uri)
        # Versions registered before the tag existed (None) keep the listing's word.
        for name in recorded or ():
            # The policy's own tag says more (its hash): _verify_policy reports it. The
            # split is read on first use, which checks it: the model still predicts.
            if name not in files and name not in {"policy.yaml", "evaluation.parquet"}:
                raise ArtifactError(
                    f"{ARTIFACT_DIR}/{name} stored with {uri} is missing, but the version "
                    "was registered with it.",
                    hint=f"It holds {_HOLDS.get(f'{ARTIFACT_DIR}/{name}', 'part of the model')}. "
                    "Restore the file from the registration's source, or register the "
                    "version again; a file recorded at registration is never taken as absent.",
                )
        with tempfile.TemporaryDirectory(prefix="modelcards-") as tmp:
            out = {
                "profile": self._read_stored(run, files, "profile.json", uri, tmp, _read_profile),
                "card_spec": self._read_stored(
                    run, files, "card_spec.yaml", uri, tmp, _read_card_spec
                ),
                "policy": self._read_stored(run, files, "policy.yaml", uri, tmp, _read_utf8),
            }
        return {k: v for k, v in out.items() if v is not None}

    def _read_evaluation(self, loaded: LoadedModel) -> tuple[pd.DataFrame, str]:
        import pyarrow as pa

        from ._digest import sha256_file

        needed = [*loaded.feature_names, *filter(None, [loaded.target]), *loaded.sensitive_features]

        def read(path: Path) -> tuple[pd.DataFrame, str]:
            frame = pd.read_parquet(path)
            lacking = [c for c in dict.fromkeys(needed) if c not in frame.columns]
            if lacking:
                raise ValueError(
                    f"it lacks the column(s) {', '.join(map(repr, lacking))} that the version "
                    f"was registered with (columns there: {', '.join(map(str, frame.columns))})"
                )
            return frame, sha256_file(path)

        with _quiet(), tempfile.TemporaryDirectory(prefix="modelcards-") as tmp:
            # evaluation_split, the only caller, has checked that run_id is set.
            run = self.client.get_run(loaded.run_id)  # type: ignore[arg-type]
            files = self._stored_files(run, loaded.uri)
            if "evaluation.parquet" not in files:
                if "evaluation.parquet" in (
                    _tag_json(loaded.tags, "stored_files", loaded.uri) or ()
                ):
                    raise ArtifactError(
                        f"{ARTIFACT_DIR}/evaluation.parquet stored with {loaded.uri} is missing, "
                        "but the version was registered with it.",
                        hint=_hint(f"{ARTIFACT_DIR}/evaluation.parquet"),
                    )
                raise RegistryError(
                    f"{loaded.uri} has no evaluation split logged with it.",
                    hint="Pass --data FILE with the evaluation data.",
                )
            # Listed, as just checked: _read_stored returns it or raises, never None.
            return self._read_stored(  # type: ignore[return-value]
                run, files, "evaluation.parquet", loaded.uri, tmp, read, (pa.ArrowException,)
            )

    # -- writing --------------------------------------------------------------------
    def register(
        self,
        model: Any,
        *,
        name: str,
        X_train: pd.DataFrame,
        evaluation: pd.DataFrame,
        target: str,
        positive_label: object = None,
        sensitive_features: Sequence[str] = (),
        card_spec: Mapping[str, Any] | None = None,
        policy: str | None = None,
        description: str = "",
        model_description: str | None = None,
        alias: str | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: dict[str, str] | None = None,
        serialization_format: Literal["skops", "pickle", "cloudpickle"] = "skops",
        trusted_types: Sequence[str] | None = None,
        allow_pickle: bool = False,
        class_labels: Sequence[Any] | None = None,
    ) -> RegisteredVersion:
        """Log a fitted binary classifier or regressor and register it as a new version of
        ``name``.

        The evaluation split is stored with the version so that a card can be made from the
        registry alone. Everything is checked before anything is stored: a refused model
        (a type outside the allow-list, a damaged tree, pickle without ``allow_pickle``) or
        a broken policy leaves no run, logged model or version behind.

        Args:
            model: A fitted scikit-learn classifier with two classes, or a regressor
                (``model._estimator_type == "regressor"``); an XGBoost or LightGBM
                classifier (alone or ending a Pipeline) is stored natively.
            name: The registered model's name, e.g. ``"loan-approval"``.
            X_train: The training inputs: the signature, input example and profile come
                from them.
            evaluation: The held-out split: the model's input columns, ``target`` and any
                sensitive columns.
            target: The true outcome column in ``evaluation``.
            positive_label: The positive outcome, one of the model's classes (a
                classifier needs it; a regressor takes none).
            sensitive_features: Columns of ``evaluation`` to audit by default.
            card_spec: The human-written card sections (a mapping), stored as YAML.
            policy: Release policy YAML text checked by this version's cards by default.
            description: This version's description.
            model_description: The registered model's description (None: leave as is).
            alias: An alias to point at the new version, e.g. ``"challenger"``.
            params: Training parameters to log.
            metrics: Training metrics to log.
            tags: Extra version tags.
            serialization_format: ``"skops"`` (the default); ``"pickle"`` and
                ``"cloudpickle"`` run code when loaded and need ``allow_pickle=True``.
            trusted_types: Types outside the allow-list you reviewed (e.g. your own
                transformer); loading needs the same explicit trust. None for none.
            allow_pickle: Accept a pickle format; the version is tagged
                ``modelcards.serialization`` and its cards carry a warning.
            class_labels: For an XGBoost/LightGBM classifier fitted on labels encoded as
                0..n-1: the label of each class, e.g. ``encoder.classes_``. They are stored
                with the version and applied at predict.
        """
        from sklearn.base import is_regressor

        # XGBoost and LightGBM are stored in their native formats (see _flavors).
        native = plan_native(model, class_labels=class_labels)
        regression = native is None and is_regressor(model)
        if native is not None:
            classes = list(native.classes)
        else:
            classes = [] if regression else list(getattr(model, "classes_", []))
        if regression and positive_label is not None:
            raise UnsupportedTaskError(
                f"{type(model).__name__} is a regressor; positive_label={positive_label!r} "
                "applies to classifiers only.",
                hint="Drop positive_label.",
            )
        if not regression and len(classes) < 2:
            raise UnsupportedTaskError(
                f"{type(model).__name__} has classes {classes}; a classifier needs two "
                "classes or more.",
                hint="Register a classifier fitted on a target with at least two values, "
                "or a regressor.",
            )
        # Three or more classes: each class is judged one-vs-rest, none is "the positive".
        multiclass = not regression and len(classes) > 2
        if multiclass and positive_label is not None:
            raise UnsupportedTaskError(
                f"{type(model).__name__} has {len(classes)} classes {classes}; "
                f"positive_label={positive_label!r} applies to binary classifiers only.",
                hint="Drop positive_label: a multiclass card reports every class one-vs-rest.",
            )
        if not regression and not multiclass and positive_label not in classes:
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
        if policy is not None:
            from ._policy import parse_policy

            parse_policy(policy, source="the policy")  # refuse a broken one before storing
        # Native boosters are checked by their own path (_flavors); everything else here.
        skops_trusted = (
            _check_format(model, serialization_format, allow_pickle, trusted_types)
            if native is None
            else []
        )
        import sklearn
        import skops
        from mlflow.models import infer_signature

        sample = X_train.head(200)
        with _quiet():
            output = model.predict(sample) if regression else model.predict_proba(sample)
            signature = infer_signature(sample, output)
        profile = profile_frame(X_train)
        tags = {
            TAG + "task": REGRESSION if regression else MULTICLASS if multiclass else BINARY,
            TAG + "classes": json.dumps(_plain(classes)),
            **(
                {}
                if regression or multiclass
                else {TAG + "positive_label": json.dumps(_plain(positive_label))}
            ),
            TAG + "target": target,
            TAG + "sensitive_features": json.dumps(list(sensitive_features)),
            # What the gate must find at load time: the policy's hash, or "none".
            POLICY_TAG: _sha256_text(policy) if policy is not None else "none",
            # What loading must find: a recorded file that is gone is an error, not "none".
            STORED_TAG: json.dumps(
                sorted(
                    ["profile.json", "evaluation.parquet"]
                    + ["policy.yaml"] * (policy is not None)
                    + ["card_spec.yaml"] * (card_spec is not None)
                )
            ),
            **(tags or {}),
        }
        if serialization_format != "skops":
            tags[SERIALIZATION_TAG] = serialization_format
        stored = _Stored()
        try:
            with self._fluent() as mlflow:
                stored.experiment_id = exp_id = self._experiment_id()
                with mlflow.start_run(experiment_id=exp_id, run_name=f"{name}-register") as run:
                    stored.run_id = run.info.run_id
                    if params:
                        mlflow.log_params(params)
                    if metrics:
                        mlflow.log_metrics(metrics)
                    if native is not None:
                        info = log_native(
                            mlflow,
                            native,
                            signature=signature,
                            input_example=X_train.head(3),
                            trusted_types=trusted_types or (),
                        )
                    else:
                        info = _log_sklearn(
                            mlflow,
                            model,
                            name="model",
                            signature=signature,
                            input_example=X_train.head(3),
                            serialization_format=serialization_format,
                            skops_trusted_types=skops_trusted,
                            pip_requirements=[
                                f"scikit-learn=={sklearn.__version__}",
                                f"skops=={skops.__version__}",
                            ],
                        )
                    self._log_extras(mlflow, profile, policy, card_spec, evaluation)
                stored.created_model = self._ensure_model(name, model_description)
                mv = self.client.create_model_version(
                    name, info.model_uri, run_id=run.info.run_id, tags=tags, description=description
                )
                stored.version = mv.version
                if alias:
                    self.client.set_registered_model_alias(name, alias, mv.version)
                mv = self.client.get_model_version(name, mv.version)
        except BaseException:
            self._discard(name, stored)
            raise
        return _version(mv)

    @staticmethod
    def _log_extras(
        mlflow: ModuleType,
        profile: Profile,
        policy: str | None,
        card_spec: Mapping[str, Any] | None,
        evaluation: pd.DataFrame,
    ) -> None:
        mlflow.log_text(profile.model_dump_json(indent=2), f"{ARTIFACT_DIR}/profile.json")
        if policy is not None:
            mlflow.log_text(policy, f"{ARTIFACT_DIR}/policy.yaml")
        if card_spec is not None:
            mlflow.log_text(
                yaml.safe_dump(dict(card_spec), sort_keys=False, allow_unicode=True),
                f"{ARTIFACT_DIR}/card_spec.yaml",
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "evaluation.parquet"
            evaluation.to_parquet(path, index=False)
            mlflow.log_artifact(str(path), ARTIFACT_DIR)

    def _ensure_model(self, name: str, model_description: str | None) -> bool:
        """Create the registered model if it is new; True when this call created it."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException as exc:
            if not _not_found(exc):
                raise RegistryError(
                    f"Cannot read model {name!r} from the registry at "
                    f"{shown_uri(self.tracking_uri)}: {str(exc).splitlines()[0]}",
                    hint="Check that the registry is reachable and its store intact.",
                ) from exc
            self.client.create_registered_model(name, description=model_description or "")
            return True
        if model_description is not None:
            self.client.update_registered_model(name, description=model_description)
        return False

    def _discard(self, name: str, stored: _Stored) -> None:
        """Undo a registration that failed part way (a store error, an interrupt), newest
        first, so no half-registered version is left. Best effort: the first error stands."""
        from mlflow.exceptions import MlflowException

        steps: list[Callable[[], object]] = []
        if stored.created_model:
            steps.append(lambda: self.client.delete_registered_model(name))
        elif stored.version is not None:
            steps.append(lambda: self.client.delete_model_version(name, str(stored.version)))
        if stored.run_id is not None and stored.experiment_id is not None:
            run_id, exp_id = stored.run_id, stored.experiment_id

            def delete_logged_models() -> None:
                # log_model creates the logged model before it can fail: find it by its run.
                for m in self.client.search_logged_models(
                    [exp_id], filter_string=f"source_run_id = '{run_id}'"
                ):
                    self.client.delete_logged_model(m.model_id)

            steps.append(delete_logged_models)
            steps.append(lambda: self.client.delete_run(run_id))
        for step in steps:
            with contextlib.suppress(MlflowException, OSError):
                step()

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at a version of a model.

        Args:
            name: The registered model.
            alias: The alias, e.g. ``"champion"``.
            version: The version it should point at.
        """
        with _quiet():
            self.client.set_registered_model_alias(name, alias, str(version))

    def published_card(self, ref: str | ModelRef) -> PublishedCard | None:
        """The card published with a version (``modelcards card --publish``), or None.

        A version whose tags say a card was published but whose files are gone, altered
        or unreadable raises ``ArtifactError`` naming the file and the version.

        Args:
            ref: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.
        """
        from ._publish import read_published

        return read_published(self, ref)


@dataclass
class _Stored:
    """What a registration has written so far, to undo it if a later step fails."""

    experiment_id: str | None = None
    run_id: str | None = None
    created_model: bool = False
    version: str | None = None


SERIALIZATION_TAG = TAG + "serialization"
_FORMATS = ("skops", "pickle", "cloudpickle")


def _check_format(
    model: Any, fmt: str, allow_pickle: bool, trusted_types: Sequence[str] | None
) -> list[str] | None:
    """Refuse what loading would refuse, before anything is stored; the types skops must
    be told to accept when MLflow saves the model."""
    if fmt not in _FORMATS:
        raise RegistryError(
            f"serialization_format={fmt!r} is not one of {', '.join(_FORMATS)}.",
            hint="Leave it out: skops is the default and loads without running code.",
        )
    if fmt == "skops":
        return check_registrable(model, trusted_types=trusted_types)
    if not allow_pickle:
        raise UnsafeModelError(
            f"serialization_format={fmt!r}: a {fmt} file runs any code it contains when "
            "loaded, so every load would need --allow-pickle.",
            hint="Leave serialization_format out (skops is the default), or, if everyone "
            "loading the model trusts you, pass allow_pickle=True; its cards will say so.",
        )
    return None


def _log_sklearn(mlflow: ModuleType, model: Any, **kwargs: Any) -> Any:
    from mlflow.exceptions import MlflowException

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


POLICY_TAG = TAG + "policy_sha256"
STORED_TAG = TAG + "stored_files"

# A published card (see _publish) is summarised in the version's description between
# these markers; what is outside them is the description people wrote.
PUBLISHED_START = "<!-- modelcards:card -->"
PUBLISHED_END = "<!-- /modelcards:card -->"
_PUBLISHED_BLOCK = re.compile(
    rf"\s*{re.escape(PUBLISHED_START)}.*?{re.escape(PUBLISHED_END)}\s*", re.S
)


def human_description(text: str | None) -> str:
    """A version's description without the summary a published card wrote into it, so
    that publishing never changes the next card.

    Args:
        text: The description as MLflow stores it (None: none).

    >>> human_description("Ridge.\\n\\n<!-- modelcards:card -->gate: PASS<!-- /modelcards:card -->")
    'Ridge.'
    """
    return _PUBLISHED_BLOCK.sub("\n\n", text or "").strip()


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


#: The JSON version tags: what each must hold, how to check it, and an example.
_JSON_TAGS: dict[str, tuple[str, Callable[[Any], bool], str]] = {
    "classes": (
        "a JSON list of the model's classes",
        # null: none recorded (a task without classes), as before the check existed
        lambda v: v is None or (isinstance(v, list) and all(map(_scalar, v))),
        '["No", "Yes"]',
    ),
    "positive_label": ("one JSON value, the positive class", _scalar, '"Yes"'),
    "sensitive_features": (
        "a JSON list of column names",
        lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
        '["colour", "sex"]',
    ),
    "stored_files": (
        "a JSON list of the file names stored under modelcards/",
        lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
        '["evaluation.parquet", "profile.json"]',
    ),
}


def _bad_tag(name: str, uri: str, raw: str, problem: str) -> ArtifactError:
    shape, _, example = _JSON_TAGS[name]
    shown = raw if len(raw) <= 80 else raw[:80] + "..."
    return ArtifactError(
        f"The version tag {TAG}{name} of {uri} {problem}: {shown!r}.",
        hint=f"It should hold {shape}, e.g. {example}, as registration writes it. Set it "
        "back in MLflow (MlflowClient().set_model_version_tag), or register the model again.",
    )


def _tag_json(tags: Mapping[str, str], name: str, uri: str) -> Any:
    """The JSON value of version tag ``modelcards.NAME``, checked; None when absent."""
    raw = tags.get(TAG + name)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _bad_tag(name, uri, raw, f"is not valid JSON ({exc.msg})") from exc
    if not _JSON_TAGS[name][1](value):
        raise _bad_tag(name, uri, raw, f"is not {_JSON_TAGS[name][0]}")
    return value


def _sha256_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def _verify_policy(text: str | None, recorded: str | None, uri: str) -> None:
    """The stored policy must be the one recorded at registration: a missing, emptied or
    altered file is an error, never "no policy". Versions registered before the tag
    existed (no tag) keep the plain rule: a listed file that cannot be read is an error."""
    if recorded is None:
        return
    where = f"{ARTIFACT_DIR}/policy.yaml stored with {uri}"
    hint = (
        "Restore the file from the registration's source, or register the version again; "
        "a release gate never runs without the policy it was registered with."
    )
    if recorded == "none":
        if text is not None:
            raise ArtifactError(
                f"{where} appeared after registration, which recorded no policy.", hint=hint
            )
        return
    if text is None:
        raise ArtifactError(
            f"{where} is missing, but the version was registered with one.", hint=hint
        )
    if _sha256_text(text) != recorded:
        raise ArtifactError(
            f"{where} was altered after registration (its SHA-256 differs from the "
            f"recorded {recorded[:12]}...).",
            hint=hint,
        )


def _is_database(uri: str) -> bool:
    """Whether the registry is a database server MLflow reaches through SQLAlchemy."""
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower()
    return scheme in {"postgresql", "mysql", "mssql"}


def _query_value(uri: str, key: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    values = parse_qs(urlsplit(uri).query).get(key)
    return values[-1] if values else None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _unreachable(exc: BaseException) -> bool:
    """Whether an error says the registry did not answer (refused, silent, no such host),
    as opposed to answering with an error."""
    import sqlite3

    import requests
    from sqlalchemy.exc import OperationalError

    for link in _chain(exc):
        if isinstance(
            link, ConnectionError | TimeoutError | requests.ConnectionError | requests.Timeout
        ):
            return True
        # SQLite's errors are about a local file, never about reaching anything. A server
        # that answered says so: PostgreSQL's own refusals (a bad password, no such
        # database) arrive as "FATAL:" lines, statement errors with a SQLSTATE.
        if isinstance(link, OperationalError) and not isinstance(link.orig, sqlite3.Error):
            state = getattr(link.orig, "sqlstate", None)
            answered = "FATAL:" in str(link.orig) or (state and not str(state).startswith("08"))
            if not answered:
                return True
    return False


def _unreachable_reason(exc: BaseException, wait: str) -> str:
    import socket

    text = " ".join(str(link) for link in _chain(exc))
    if any(isinstance(link, ConnectionRefusedError) for link in _chain(exc)) or (
        "Connection refused" in text
    ):
        return "connection refused (nothing listens at that address and port)"
    if any(isinstance(link, socket.gaierror) for link in _chain(exc)) or (
        "Name or service not known" in text or "Failed to resolve" in text
    ):
        return "its host name cannot be resolved"
    if (
        any(isinstance(link, TimeoutError) for link in _chain(exc))
        or "timed out" in text
        or ("timeout expired" in text)
    ):
        return f"no answer within {wait}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "..."


def _not_found(exc: Exception) -> bool:
    """Whether an MLflow error says the thing asked for does not exist."""
    return getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


def _q(name: str) -> str:
    return name.replace("'", "\\'")


def _ts(ms: int | str) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ms) / 1000, tz=dt.UTC)


def _version(mv: ModelVersion, aliases: dict[str, int] | None = None) -> RegisteredVersion:
    # Search results may leave a version's aliases empty; the model's alias map is reliable.
    if aliases is None:
        names = list(mv.aliases or [])
    else:
        names = sorted(a for a, v in aliases.items() if v == int(mv.version))
    return RegisteredVersion(
        name=mv.name,
        version=int(mv.version),
        aliases=names,
        description=human_description(mv.description),
        tags=dict(mv.tags or {}),
        created=_ts(mv.creation_timestamp),
        run_id=mv.run_id,
    )


def _plain(value: object) -> object:
    """NumPy scalars to plain Python, for JSON tags."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


# What reading and parsing a fetched file raises: OSError (permission, a folder), ValueError
# (not UTF-8, bad JSON, a wrong shape, pydantic's ValidationError), YAMLError.
_READ_ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, yaml.YAMLError)

_HOLDS = {
    f"{ARTIFACT_DIR}/policy.yaml": "the release policy this version's cards are checked against",
    f"{ARTIFACT_DIR}/profile.json": "the training-data profile",
    f"{ARTIFACT_DIR}/card_spec.yaml": "the card's human-written sections",
    f"{ARTIFACT_DIR}/evaluation.parquet": "the held-out evaluation split",
}


def _hint(what: str) -> str:
    holds = _HOLDS.get(what, "part of the registered model")
    return (
        f"It holds {holds}; a damaged file is not taken as a missing one. Check the "
        "artifact store (permissions, disk, network), or register the model again."
    )


def _reason(exc: BaseException, tmp: str | None) -> str:
    """What went wrong, in a few words and without our temporary download folder."""
    from pydantic import ValidationError

    if isinstance(exc, ModelFileError):
        return exc.reason
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
    if isinstance(exc, json.JSONDecodeError):
        return f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        problem = exc.problem or exc.context
        return f"it is not valid YAML ({problem} at line {exc.problem_mark.line + 1})"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            return f"it is not valid JSON ({first['msg'].removeprefix('Invalid JSON: ')})"
        where = ".".join(map(str, first["loc"]))
        problem = f"{where}: {first['msg']}" if where else first["msg"]
        if exc.error_count() > 1:
            problem += f", and {exc.error_count() - 1} more"
        return f"it has the wrong shape ({problem})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split()) or type(exc).__name__
    if tmp:
        text = text.replace(str(Path(tmp)) + os.sep, "").replace(str(Path(tmp)), "")
    return text if len(text) <= 300 else text[:297] + "..."


def _unreadable(what: str, uri: str, exc: BaseException, tmp: str | None = None) -> ArtifactError:
    return ArtifactError(
        f"Cannot read {what} stored with {uri}: {_reason(exc, tmp)}.", hint=_hint(what)
    )


def _read_utf8(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _read_profile(path: Path) -> Profile:
    return Profile.model_validate_json(path.read_bytes())


def _read_card_spec(path: Path) -> dict[str, Any]:
    spec = yaml.safe_load(_read_utf8(path))
    if spec is None:  # registration writes "{}" for an empty spec, never nothing
        raise ValueError("it is empty")
    if not isinstance(spec, dict):
        raise ValueError(f"it holds a {type(spec).__name__}, not a mapping of card sections")
    return spec


def _plain_name(value: object, what: str) -> str:
    """A file name MLmodel gives: text, and inside the model folder (no path parts)."""
    if not isinstance(value, str) or value in {"", ".", ".."} or "/" in value:
        raise ValueError(f"its {what} {value!r} is not the name of a file in the model folder")
    return value


def _read_mlmodel(path: Path) -> tuple[dict[str, Any], list[SignatureColumn]]:
    """The MLmodel mapping and the input columns of its signature.

    Every field we read later is checked here, so a wrong shape is reported as this
    file's fault and never surfaces as a TypeError while loading.
    """
    mlmodel = yaml.safe_load(_read_utf8(path))
    if not isinstance(mlmodel, dict):
        raise ValueError(f"it holds a {type(mlmodel).__name__}, not a mapping")
    flavors = mlmodel.get("flavors")
    if not isinstance(flavors, dict):
        raise ValueError("its flavors are not a mapping")
    sk = flavors.get("sklearn")
    if sk is not None:
        if not isinstance(sk, dict):
            raise ValueError("its sklearn flavor is not a mapping")
        _plain_name(sk.get("pickled_model", "model.pkl"), "sklearn.pickled_model")
        if not isinstance(sk.get("serialization_format", "pickle"), str):
            raise ValueError("its sklearn.serialization_format is not text")
    info = mlmodel.get("saved_input_example_info")
    if info is not None:
        if not isinstance(info, dict):
            raise ValueError("its saved_input_example_info is not a mapping")
        if "artifact_path" in info:
            _plain_name(info["artifact_path"], "saved_input_example_info.artifact_path")
    return mlmodel, _signature_inputs(mlmodel)


def _parse_model_file(
    local: Path, name: str, uri: str, tmp: str, parse: Callable[[Path], _T]
) -> _T:
    """``parse`` applied to a required file of the model folder."""
    path = local / name
    if path.is_dir():
        raise ArtifactError(
            f"The model's {name} stored with {uri} is a folder, not a file.", hint=_hint(name)
        )
    if not path.is_file():
        raise ArtifactError(f"The model files stored with {uri} have no {name}.", hint=_hint(name))
    try:
        return parse(path)
    except _READ_ERRORS as exc:
        raise _unreadable(f"the model's {name}", uri, exc, tmp) from exc


def _serialization(mlmodel: dict[str, Any]) -> str:
    """How the model file is stored: skops, pickle, cloudpickle, or a pyfunc pickle."""
    flavors = mlmodel.get("flavors") or {}
    sk = flavors.get("sklearn") if isinstance(flavors, dict) else None
    if not isinstance(sk, dict):
        return "python_function pickle"
    return str(sk.get("serialization_format", "pickle"))


def _load_model_dir(
    local: Path, mlmodel: dict[str, Any], allow_pickle: bool, trusted_types: Iterable[str], uri: str
) -> Any:
    if native_framework(mlmodel) is not None:  # XGBoost, LightGBM: never unpickled
        return load_native(local, mlmodel, uri, trusted_types=trusted_types)
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
    name = sk.get("pickled_model", "model.pkl")
    path = local / name
    if path.is_dir():
        raise ArtifactError(
            f"The model's {name} stored with {uri} is a folder, not a file.", hint=_hint(name)
        )
    if not path.is_file():
        raise ArtifactError(
            f"The model files stored with {uri} have no {name}, which MLmodel names.",
            hint=_hint(name),
        )
    if fmt != "skops":  # code the caller chose to trust (allow_pickle): its result as is
        try:
            return load_pickle(path, fmt=fmt, allow_pickle=allow_pickle)
        except ModelFileError as exc:
            raise _unreadable(f"the model's {name}", uri, exc) from exc
    try:
        model = load_skops(path, trusted_types=trusted_types)
    except ModelFileError as exc:
        raise _unreadable(f"the model's {name}", uri, exc) from exc
    if not callable(getattr(model, "predict", None)):
        raise ArtifactError(
            f"The model's {name} stored with {uri} holds a {type(model).__name__}, not a "
            "model that predicts.",
            hint=_hint(name),
        )
    return model


def _signature_inputs(mlmodel: dict[str, Any]) -> list[SignatureColumn]:
    signature = mlmodel.get("signature") or {}
    if not isinstance(signature, dict):
        raise ValueError("its signature is not a mapping")
    sig = signature.get("inputs")
    if not sig:
        return []
    if not isinstance(sig, str):
        raise ValueError("its signature inputs are not JSON text")
    cols = json.loads(sig)
    if not isinstance(cols, list) or not all(isinstance(c, dict) for c in cols):
        raise ValueError("its signature inputs are not a list of columns")
    if not all(isinstance(c.get("name", ""), str) for c in cols):
        raise ValueError("its signature names a column with something other than text")
    return [
        SignatureColumn(c["name"], str(c.get("type", "string")), bool(c.get("required", True)))
        for c in cols
        if "name" in c
    ]


def _input_example(local: Path, mlmodel: dict[str, Any], uri: str, tmp: str) -> pd.DataFrame | None:
    """The logged input example; None when none was logged or it is not a table (MLflow
    stores tensors and dictionaries as JSON objects of another layout)."""
    info = mlmodel.get("saved_input_example_info")
    name = info.get("artifact_path") if isinstance(info, dict) else None
    # MLmodel names a saved example; one it names must be there.
    if name is None and not (local / "input_example.json").exists():
        return None

    def parse(path: Path) -> pd.DataFrame | None:
        data = json.loads(_read_utf8(path))
        if not isinstance(data, dict):
            # MLflow writes every example as a JSON object.
            raise ValueError(f"it holds a JSON {type(data).__name__}, not an object")
        if "columns" not in data and "data" not in data:
            return None
        columns, rows = data.get("columns"), data.get("data")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ValueError("its columns are not a list of names")
        if not isinstance(rows, list) or not all(
            isinstance(r, list) and len(r) == len(columns) for r in rows
        ):
            raise ValueError(f"its data are not rows of {len(columns)} values")
        return pd.DataFrame(rows, columns=columns)

    return _parse_model_file(local, name or "input_example.json", uri, tmp, parse)
