"""Load a model file without running code a stranger wrote.

A skops file is a zip whose ``schema.json`` names every type and function it
will build. We read that JSON (reading runs nothing), check each name against
our allow-list, and only then ask ``skops.io.load`` to build the object, trusting
exactly the names we approved. skops audits the tree again, so a name we missed
is still refused.

Pickle and cloudpickle run arbitrary code while loading; they are refused
unless the caller passes ``allow_pickle=True``.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

from .errors import ModelFileError, UnsafeModelError

#: Modules whose classes may appear in a model file.
TRUSTED_MODULE_PREFIXES: tuple[str, ...] = (
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "scipy.stats.",
    "sklego.",
)
#: Exact type names allowed besides the module prefixes above.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy",
        "numpy.ndarray",
        "numpy.dtype",
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.set",
        "builtins.frozenset",
        "builtins.slice",
        "builtins.str",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.complex",
        "builtins.bytes",
        "builtins.bytearray",
        "builtins.NoneType",
        "builtins.object",
        "collections.OrderedDict",
        "collections.defaultdict",
    }
)
#: Types under the prefixes above that a crafted file can abuse: skops reports that tree
#: node indices are used without bounds checks, so a malicious file can read out-of-bounds
#: memory or crash the process at predict time. Trust them only explicitly, once reviewed.
DENIED_TYPES: frozenset[str] = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    }
)
#: Functions allowed by reference (e.g. in a FunctionTransformer): NumPy ufuncs only.
_FUNCTION_LOADERS = {"FunctionNode", "MethodNode"}

ENV_TRUSTED = "MODELCARDS_TRUSTED_TYPES"

#: What building a model from a damaged file raises (a member missing from the zip, a
#: truncated or garbled array, a schema that names the wrong things): never our bug.
_DAMAGED: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    KeyError,
    IndexError,
    ValueError,
    TypeError,
    AttributeError,
    EOFError,
    OSError,
)


def _is_numpy_ufunc(name: str) -> bool:
    module, _, attr = name.rpartition(".")
    if module != "numpy":
        return False
    import numpy as np

    return isinstance(getattr(np, attr, None), np.ufunc)


def is_trusted(name: str, extra: Iterable[str] = (), *, function: bool = False) -> bool:
    """Whether a fully qualified type (or function) name is on the allow-list."""
    if name in set(extra):
        return True
    if function:
        return _is_numpy_ufunc(name)
    if name in DENIED_TYPES:
        return False
    return name in TRUSTED_TYPES or name.startswith(TRUSTED_MODULE_PREFIXES)


def _walk(node: object, found: dict[str, bool]) -> None:
    if isinstance(node, dict):
        module, cls = node.get("__module__"), node.get("__class__")
        if isinstance(module, str) and isinstance(cls, str):
            is_function = node.get("__loader__") in _FUNCTION_LOADERS
            found[f"{module}.{cls}"] = found.get(f"{module}.{cls}", False) or is_function
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def _damaged(path: str | os.PathLike[str], reason: str, exc: BaseException) -> ModelFileError:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return ModelFileError(
        f"{Path(path).name} is not a readable skops file: {reason} ({detail}).",
        reason=f"{reason} ({detail})",
        hint="Log the model again with mlflow.sklearn.log_model(..., "
        "serialization_format='skops').",
    )


def skops_types(path: str | os.PathLike[str]) -> dict[str, bool]:
    """Every type and function name a skops file would build: ``{name: is_function}``.

    A file that is not a skops file (not a zip, no ``schema.json``, a schema that is not
    a JSON object) raises ``ModelFileError``.

    Args:
        path: The ``.skops`` file.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            raw = zf.read("schema.json")
    except zipfile.BadZipFile as exc:
        raise _damaged(path, "it is not a zip archive, which every skops file is", exc) from exc
    except KeyError as exc:
        raise _damaged(path, "it has no schema.json, which every skops file has", exc) from exc
    except OSError as exc:
        raise _damaged(path, "it cannot be read", exc) from exc
    try:
        schema = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _damaged(path, "its schema.json is not valid JSON", exc) from exc
    if not isinstance(schema, dict):
        raise _damaged(
            path, "its schema.json is not a skops schema", TypeError(type(schema).__name__)
        )
    found: dict[str, bool] = {}
    _walk(schema, found)
    return found


def _extra_from_env() -> list[str]:
    return [t.strip() for t in os.environ.get(ENV_TRUSTED, "").split(",") if t.strip()]


def load_skops(path: str | os.PathLike[str], *, trusted_types: Iterable[str] = ()) -> object:
    """Load a skops file after checking every type in it against the allow-list.

    Types outside it raise ``UnsafeModelError``; a damaged file (not a zip, no schema,
    truncated or garbled contents) raises ``ModelFileError``.

    Args:
        path: The ``.skops`` file.
        trusted_types: More type names to trust, e.g. ``["mypkg.MyTransformer"]``.
    """
    extra = [*trusted_types, *_extra_from_env()]
    found = skops_types(path)
    refused = sorted(n for n, fn in found.items() if not is_trusted(n, extra, function=fn))
    if refused:
        raise UnsafeModelError(
            f"{Path(path).name} contains types outside the allow-list: {', '.join(refused)}.",
            hint=(
                "If you wrote or reviewed that code, allow the types with "
                f"trusted_types=[...] in Python, --trust-type on the CLI, or {ENV_TRUSTED}="
                + ",".join(refused)
            ),
        )
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.load(path, trusted=sorted(found))
    except UntrustedTypesFoundException as exc:  # our walk missed a name; skops did not
        raise UnsafeModelError(
            f"{Path(path).name} contains types outside the allow-list: {exc}.",
            hint=f"Allow them with trusted_types=[...] or {ENV_TRUSTED} once reviewed.",
        ) from exc
    except _DAMAGED as exc:
        raise _damaged(path, "its contents are damaged", exc) from exc


def load_pickle(path: str | os.PathLike[str], *, fmt: str, allow_pickle: bool) -> object:
    """Load a pickle or cloudpickle file, only when explicitly allowed."""
    if not allow_pickle:
        raise UnsafeModelError(
            f"{Path(path).name} is a {fmt} file; loading it would run any code it contains.",
            hint=(
                "Re-log the model in skops format (mlflow.sklearn.log_model(..., "
                "serialization_format='skops')), or, if you trust its author, pass "
                "allow_pickle=True in Python or --allow-pickle on the CLI."
            ),
        )
    import pickle

    damaged: tuple[type[Exception], ...] = (pickle.UnpicklingError, ImportError, *_DAMAGED)
    try:
        with open(path, "rb") as fh:
            if fmt == "cloudpickle":
                import cloudpickle

                return cloudpickle.load(fh)
            return pickle.load(fh)  # noqa: S301 - the caller opted in with allow_pickle
    except damaged as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ModelFileError(
            f"{Path(path).name} is not a readable {fmt} file ({detail}).",
            reason=f"it is not a readable {fmt} file ({detail})",
            hint="Log the model again, in skops format.",
        ) from exc
