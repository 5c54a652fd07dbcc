"""XGBoost and LightGBM models, stored in their own formats and never pickled.

skops cannot store these models safely (it would have to trust ``xgboost.*`` and
``lightgbm.*`` types), and pickle runs code when loaded. So a boosted classifier is logged
through its MLflow flavor in the library's native format (XGBoost JSON through
``mlflow.xgboost``; LightGBM's text model through ``mlflow.lightgbm``, which would pickle
or skops the scikit-learn wrapper, so we log the wrapper's booster). Beside it, in the
model folder's ``extra_files/``:

* ``estimator.json``: the framework, the estimator class, its ``get_params(deep=False)``
  and the class labels (the booster only knows class indices 0..n-1, so labels such as
  ``"Yes"``/``"No"`` live here and are applied at predict);
* ``preprocessing.skops``: for a scikit-learn ``Pipeline`` ending in a boosted classifier,
  the steps before it, in skops format and checked against the same allow-list as any
  skops model.

At load the booster is rebuilt by the library's own loader from data only, and wrapped in
``BoostedClassifier``, which predicts like the original estimator.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ._safe_load import load_skops
from .errors import ArtifactError, UnsupportedTaskError

if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType

Framework = Literal["xgboost", "lightgbm"]

#: The boosted classifiers we store natively, by fully qualified class name.
NATIVE_CLASSIFIERS: dict[str, Framework] = {
    "xgboost.sklearn.XGBClassifier": "xgboost",
    "lightgbm.sklearn.LGBMClassifier": "lightgbm",
}
#: The distribution behind each framework, as pip and the card name it.
DISTRIBUTIONS: dict[str, str] = {
    "sklearn": "scikit-learn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
}
EXTRA_DIR = "extra_files"
ESTIMATOR_FILE = "estimator.json"
PREPROCESSING_FILE = "preprocessing.skops"
#: The model file each flavor writes; MLmodel's own ``data`` entry is not trusted as a path.
_DATA_FILES: dict[Framework, tuple[str, ...]] = {
    "xgboost": ("model.json",),
    "lightgbm": ("model.lgb",),
}


def qualified_name(obj: object) -> str:
    """The fully qualified class name of an object, e.g. ``xgboost.sklearn.XGBClassifier``.

    Args:
        obj: Any object.
    """
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _final_step(model: Any) -> tuple[Any, list[tuple[str, Any]]]:
    """The estimator that predicts and, for a Pipeline, the named steps before it."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        steps = list(model.steps)
        return steps[-1][1], steps[:-1]
    return model, []


# -- registration ------------------------------------------------------------------------
@dataclass(frozen=True)
class NativePlan:
    """How a boosted classifier is stored: its framework, final step and class labels."""

    framework: Framework
    model: Any
    final: Any
    steps: list[tuple[str, Any]]
    classes: list[Any]


def plan_native(model: Any, *, class_labels: Sequence[Any] | None) -> NativePlan | None:
    """The native storage plan of an XGBoost/LightGBM classifier (alone or ending a
    Pipeline); None for any other model, which is stored in skops format.

    Args:
        model: The fitted model to register.
        class_labels: The labels of classes 0..n-1 when the model was fitted on encoded
            labels (XGBoost needs integer labels), or None to use the model's ``classes_``.
    """
    final, steps = _final_step(model)
    name = qualified_name(final)
    framework = NATIVE_CLASSIFIERS.get(name)
    top = type(final).__module__.split(".")[0]
    if framework is None:
        if top in ("xgboost", "lightgbm"):
            raise UnsupportedTaskError(
                f"{name} cannot be registered: modelcards stores XGBoost and LightGBM "
                "models through their scikit-learn classifiers only.",
                hint="Fit an xgboost.XGBClassifier or lightgbm.LGBMClassifier (alone or as "
                "the last step of a scikit-learn Pipeline) on a target with two classes.",
            )
        if class_labels is not None:
            raise UnsupportedTaskError(
                "class_labels is for XGBoost and LightGBM classifiers fitted on encoded "
                f"labels; {name} keeps its own labels in classes_.",
                hint="Leave class_labels out: the model's classes_ are used.",
            )
        return None
    for step_name, step in steps:
        if qualified_name(step).split(".")[0] in ("xgboost", "lightgbm"):
            raise UnsupportedTaskError(
                f"Pipeline step {step_name!r} is a {qualified_name(step)}; only the last step "
                "of a pipeline may be an XGBoost or LightGBM model.",
                hint="Keep the boosted classifier as the pipeline's final step.",
            )
    fitted = list(getattr(final, "classes_", []))
    classes = list(class_labels) if class_labels is not None else fitted
    encoded = [_json_value(c) for c in fitted] == list(range(len(fitted)))
    if class_labels is not None and not encoded:
        raise UnsupportedTaskError(
            f"class_labels was given, but the model's classes are {fitted}, not the "
            "encoded 0..n-1.",
            hint="Pass class_labels only for a model fitted on labels encoded as 0..n-1 "
            "(e.g. by sklearn.preprocessing.LabelEncoder: class_labels=encoder.classes_).",
        )
    if len(classes) != len(fitted) or len(set(map(str, classes))) != len(classes):
        raise UnsupportedTaskError(
            f"class_labels {classes} do not name the model's {len(fitted)} classes once each.",
            hint="Pass one distinct label per class, in the encoded order "
            "(e.g. class_labels=encoder.classes_).",
        )
    return NativePlan(framework, model, final, steps, [_json_value(c) for c in classes])


def _json_value(value: Any) -> Any:
    """A parameter or label as JSON: NumPy scalars to Python, anything else not plain to
    its repr (the card shows it; nothing is rebuilt from it)."""
    if hasattr(value, "item") and np.ndim(value) == 0:
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple) and all(
        v is None or isinstance(v, bool | int | float | str) for v in value
    ):
        return list(value)
    if isinstance(value, dict) and all(
        isinstance(k, str) and (v is None or isinstance(v, bool | int | float | str))
        for k, v in value.items()
    ):
        return dict(value)
    return repr(value)


def installed_version(distribution: str) -> str:
    """The installed version of a distribution, e.g. ``installed_version("xgboost")``.

    Args:
        distribution: The pip name.
    """
    return metadata.version(distribution)


def log_native(
    mlflow: ModuleType,
    plan: NativePlan,
    *,
    signature: Any,
    input_example: pd.DataFrame,
    trusted_types: Iterable[str] = (),
) -> Any:
    """Log a boosted classifier through its MLflow flavor, natively, with its
    ``estimator.json`` and, for a pipeline, ``preprocessing.skops``.

    The preprocessing file is loaded back here with the load-time allow-list, so a
    registration succeeds only when loading it will.

    Args:
        mlflow: The ``mlflow`` module, with our tracking URI set.
        plan: From ``plan_native``.
        signature: The model signature (the pipeline's raw inputs).
        input_example: A few input rows.
        trusted_types: Extra types the preprocessing steps may hold.
    """
    import skops.io as sio

    pins = [f"scikit-learn=={installed_version('scikit-learn')}"]
    pins.append(f"{plan.framework}=={installed_version(plan.framework)}")
    with tempfile.TemporaryDirectory(prefix="modelcards-") as tmp:
        extra = []
        if plan.steps:
            from sklearn.pipeline import Pipeline

            pins.append(f"skops=={installed_version('skops')}")
            pre = Path(tmp) / PREPROCESSING_FILE
            sio.dump(Pipeline(plan.steps), pre)
            load_skops(pre, trusted_types=trusted_types)  # refuse now what load would refuse
            extra.append(str(pre))
        final_name = plan.model.steps[-1][0] if plan.steps else None
        spec = {
            "framework": plan.framework,
            "estimator": qualified_name(plan.final),
            "params": {
                k: _json_value(v) for k, v in sorted(plan.final.get_params(deep=False).items())
            },
            "classes": plan.classes,
            "final_step": final_name,
        }
        info = Path(tmp) / ESTIMATOR_FILE
        info.write_text(json.dumps(spec, indent=2), encoding="utf-8")
        extra.append(str(info))
        common = {
            "name": "model",
            "signature": signature,
            "input_example": input_example,
            "pip_requirements": pins,
            "extra_files": extra,
        }
        if plan.framework == "xgboost":
            # JSON, not UBJSON: the file is checked in Python before XGBoost parses it.
            return mlflow.xgboost.log_model(plan.final, model_format="json", **common)
        return mlflow.lightgbm.log_model(plan.final.booster_, **common)


# -- loading -----------------------------------------------------------------------------
def native_framework(mlmodel: dict[str, Any]) -> Framework | None:
    """Which native flavor an MLmodel mapping has, if any.

    Args:
        mlmodel: The parsed MLmodel file.
    """
    flavors = mlmodel.get("flavors") or {}
    if not isinstance(flavors, dict):
        return None
    if "xgboost" in flavors:
        return "xgboost"
    if "lightgbm" in flavors:
        return "lightgbm"
    return None


#: How messages name each framework's models.
_NAMED: dict[Framework, str] = {"xgboost": "an XGBoost", "lightgbm": "a LightGBM"}

_HINT = (
    "It is part of the registered model; a damaged file is not loaded. Check the artifact "
    "store (permissions, disk, network), or register the model again."
)


def _clean(exc: BaseException, local: Path) -> str:
    """A native library's error in a few words: its first line, without log prefixes,
    source locations or our download folder."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = re.sub(r"^\[[\d:]+\]\s+\S+:\d+:\s*", "", text)  # "[07:13:54] src/x.cc:12: "
    text = text.replace(str(local) + "/", "").replace(str(local), "")
    return text if len(text) <= 300 else text[:297] + "..."


def _bad(what: str, uri: str, reason: str) -> ArtifactError:
    return ArtifactError(f"Cannot read {what} stored with {uri}: {reason}.", hint=_HINT)


def _read_spec(local: Path, framework: Framework, uri: str) -> dict[str, Any]:
    path = local / EXTRA_DIR / ESTIMATOR_FILE
    what = f"the model's {EXTRA_DIR}/{ESTIMATOR_FILE}"
    if not path.is_file():
        raise ArtifactError(
            f"The {framework} model stored with {uri} has no {EXTRA_DIR}/{ESTIMATOR_FILE} "
            "(its estimator class and class labels).",
            hint="Register the model with modelcards (Registry.register), which writes it; "
            "a model logged with mlflow." + framework + ".log_model alone lacks its labels.",
        )
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad(what, uri, f"it is not valid JSON ({_clean(exc, local)})") from exc
    if not isinstance(spec, dict):
        raise _bad(what, uri, "it is not a JSON object")
    estimator = spec.get("estimator")
    if NATIVE_CLASSIFIERS.get(str(estimator)) != framework or spec.get("framework") != framework:
        raise _bad(
            what, uri, f"its estimator {estimator!r} is not {_NAMED[framework]} classifier we load"
        )
    classes, params, final = spec.get("classes"), spec.get("params"), spec.get("final_step")
    if not isinstance(classes, list) or len(classes) < 2:
        raise _bad(what, uri, "its classes are not a list of at least two labels")
    if not isinstance(params, dict):
        raise _bad(what, uri, "its params are not a mapping")
    if final is not None and not isinstance(final, str):
        raise _bad(what, uri, "its final_step is not a step name")
    return spec


def _data_file(local: Path, mlmodel: dict[str, Any], framework: Framework, uri: str) -> Path:
    conf = mlmodel["flavors"][framework]
    data = conf.get("data") if isinstance(conf, dict) else None
    if data not in _DATA_FILES[framework]:
        raise _bad(
            "the model's MLmodel",
            uri,
            f"its {framework} flavor names the model file {data!r}, not one of "
            + ", ".join(_DATA_FILES[framework]),
        )
    path = local / str(data)
    if not path.is_file():
        raise ArtifactError(
            f"The model files stored with {uri} have no {data}, which MLmodel names.",
            hint=_HINT,
        )
    return path


def _load_booster(path: Path, framework: Framework, local: Path, uri: str) -> Any:
    try:
        if framework == "xgboost":
            import xgboost

            from ._boost_check import check_xgboost_model

            raw = path.read_bytes()
            # XGBoost's loader and prediction follow tree indices unchecked: check first,
            # then load the very bytes that were checked.
            check_xgboost_model(json.loads(raw))
            booster: Any = xgboost.XGBClassifier()
            booster.load_model(bytearray(raw))
            return booster
        import lightgbm

        from ._boost_check import check_lightgbm_model

        data = path.read_bytes()
        check_lightgbm_model(data)  # LightGBM's loader aborts the process on a bad tree
        # LightGBM prints warnings before raising; the error says it all.
        with contextlib.redirect_stdout(io.StringIO()):
            return lightgbm.Booster(model_str=data.decode("utf-8"))
    except ImportError as exc:
        raise ArtifactError(
            f"{uri} is a {framework} model, and {framework} is not installed.",
            hint=f"pip install {framework} (or modelcards[boost]).",
        ) from exc
    except Exception as exc:  # XGBoostError, LightGBMError, ValueError, OSError
        reason = f"it is not {_NAMED[framework]} model we can load ({_clean(exc, local)})"
        raise _bad(f"the model's {path.name}", uri, reason) from exc


def _booster_classes(booster: Any, framework: Framework) -> int:
    if framework == "xgboost":
        return int(booster.n_classes_)
    per_iteration = int(booster.num_model_per_iteration())
    return 2 if per_iteration == 1 else per_iteration


def load_native(
    local: Path, mlmodel: dict[str, Any], uri: str, *, trusted_types: Iterable[str] = ()
) -> Any:
    """Rebuild a natively stored boosted classifier (and its preprocessing steps).

    Nothing is unpickled: the booster is parsed by its library's own loader and the
    preprocessing steps by ``load_skops`` under the allow-list.

    Args:
        local: The downloaded model folder.
        mlmodel: Its parsed MLmodel file.
        uri: The version, ``models:/NAME/VERSION``, for messages.
        trusted_types: Extra types the preprocessing steps may hold.
    """
    from ._boosted import BoostedClassifier

    framework = native_framework(mlmodel)
    if framework is None:  # pragma: no cover - the caller checked
        raise ValueError("not a native flavor")
    spec = _read_spec(local, framework, uri)
    booster = _load_booster(_data_file(local, mlmodel, framework, uri), framework, local, uri)
    n = _booster_classes(booster, framework)
    if n != len(spec["classes"]):
        raise _bad(
            f"the model's {EXTRA_DIR}/{ESTIMATOR_FILE}",
            uri,
            f"it names {len(spec['classes'])} classes, but the booster has {n}",
        )
    model: Any = BoostedClassifier(
        framework=framework,
        estimator_class=spec["estimator"],
        estimator_params=spec["params"],
        classes=spec["classes"],
        booster=booster,
    )
    if spec.get("final_step") is None:
        return model
    pre_path = local / EXTRA_DIR / PREPROCESSING_FILE
    if not pre_path.is_file():
        raise ArtifactError(
            f"The model files stored with {uri} have no {EXTRA_DIR}/{PREPROCESSING_FILE}, "
            "the pipeline steps before the booster.",
            hint=_HINT,
        )
    from sklearn.pipeline import Pipeline

    pre = load_skops(pre_path, trusted_types=trusted_types)
    if not isinstance(pre, Pipeline):
        raise _bad(
            f"the model's {EXTRA_DIR}/{PREPROCESSING_FILE}",
            uri,
            f"it holds a {type(pre).__name__}, not a Pipeline",
        )
    return Pipeline([*pre.steps, (spec["final_step"], model)])


# -- what the card says about the model --------------------------------------------------
def _init_defaults(cls: type) -> dict[str, Any]:
    """Each ``__init__`` parameter's default, the nearest class in the MRO first (XGBoost
    declares most of its parameters on ``XGBModel`` and passes them on as ``**kwargs``)."""
    out: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        for p in params:
            if p.default is not inspect.Parameter.empty:
                out.setdefault(p.name, p.default)
    return out


def _import_class(name: str) -> type | None:
    """A class we store natively, by name; None when its library is not installed."""
    if name not in NATIVE_CLASSIFIERS:
        return None
    module, _, attr = name.rpartition(".")
    try:
        import importlib

        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None
    return cls if isinstance(cls, type) else None


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN (XGBoost's ``missing`` defaults to it)."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return bool(a == b)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def describe_estimator(model: Any) -> dict[str, Any]:
    """What the card says about a model: its estimator class, the pipeline steps before
    it, and its hyperparameters with those that differ from the class's defaults first.

    Args:
        model: The loaded model (a scikit-learn estimator, a Pipeline, or a
            ``BoostedClassifier``).
    """
    from ._boosted import BoostedClassifier

    final, steps = _final_step(model)
    if isinstance(final, BoostedClassifier):
        name = final.estimator_class
        params: dict[str, Any] = dict(final.estimator_params)
        cls = _import_class(name)
    else:
        name = qualified_name(final)
        cls = type(final)
        try:
            params = dict(final.get_params(deep=False))
        except (AttributeError, TypeError):  # not a scikit-learn estimator
            params = {}
    defaults = _init_defaults(cls) if cls is not None else {}
    changed: list[dict[str, Any]] = []
    unchanged: list[dict[str, Any]] = []
    for key in sorted(params):
        value = params[key]
        is_default = key in defaults and _same(_json_value(value), _json_value(defaults[key]))
        row = {"name": key, "value": _shown(value), "default": is_default}
        (unchanged if is_default else changed).append(row)
    return {
        "class_name": name,
        "steps": [{"name": n, "class_name": qualified_name(s)} for n, s in steps],
        "hyperparameters": [*changed, *unchanged],
    }


def final_framework(model: Any) -> str:
    """The top-level package of the estimator that predicts, e.g. ``"xgboost"``.

    Args:
        model: The loaded model.
    """
    from ._boosted import BoostedClassifier

    final, _ = _final_step(model)
    if isinstance(final, BoostedClassifier):
        return final.framework
    return type(final).__module__.split(".")[0]


def model_frameworks(model: Any) -> list[str]:
    """The distributions a model's classes come from, e.g. ``["scikit-learn", "xgboost"]``.

    Args:
        model: The loaded model.
    """
    from ._boosted import BoostedClassifier

    final, steps = _final_step(model)
    tops = {type(s).__module__.split(".")[0] for _, s in steps}
    if isinstance(final, BoostedClassifier):
        tops.add(final.framework)
    else:
        tops.add(type(final).__module__.split(".")[0])
    if steps:
        tops.add("sklearn")
    return sorted(DISTRIBUTIONS.get(t, t) for t in tops)


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def recorded_versions(requirements: str | None, mlmodel: dict[str, Any]) -> dict[str, str]:
    """Framework versions recorded at registration: the pins of scikit-learn, xgboost and
    lightgbm in the model's ``requirements.txt``, else the versions its MLmodel flavors
    record.

    Args:
        requirements: The text of ``requirements.txt``, or None when there is none.
        mlmodel: The parsed MLmodel file.
    """
    out: dict[str, str] = {}
    flavors = mlmodel.get("flavors") or {}
    if isinstance(flavors, dict):
        for flavor, key, dist in (
            ("sklearn", "sklearn_version", "scikit-learn"),
            ("xgboost", "xgb_version", "xgboost"),
            ("lightgbm", "lgb_version", "lightgbm"),
        ):
            conf = flavors.get(flavor)
            if isinstance(conf, dict) and conf.get(key):
                out[dist] = str(conf[key])
    for line in (requirements or "").splitlines():
        m = _PIN.match(line)
        if m and m[1].lower() in DISTRIBUTIONS.values():
            out[m[1].lower()] = m[2]
    return dict(sorted(out.items()))
