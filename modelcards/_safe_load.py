"""Load a model file without running code a stranger wrote.

A skops file is a zip whose ``schema.json`` names every type and function it
will build. We read that JSON (reading runs nothing), check each name against
our allow-list, and only then ask ``skops.io.load`` to build the object, trusting
exactly the names we approved. skops audits the tree again, so a name we missed
is still refused. Tree models are on the allow-list: every tree's node arrays are
checked (``_tree_check``) before the object is handed to anyone who could predict.

Registration checks a model against the same allow-list (``check_registrable``), so
whatever registers without extra trust also loads without it.

Pickle and cloudpickle run arbitrary code while loading; they are refused
unless the caller passes ``allow_pickle=True``.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

from ._tree_check import check_trees
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
#: Functions allowed by reference (e.g. in a FunctionTransformer) besides NumPy ufuncs:
#: the input check histogram gradient boosting stores for its categorical inputs.
TRUSTED_FUNCTIONS: frozenset[str] = frozenset({"sklearn.utils.validation.check_array"})
# functools.partial only binds arguments to a function; that function is checked itself.
_TRUSTED_WRAPPERS = frozenset({"functools.partial"})
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
    """Whether a fully qualified type (or function) name is on the allow-list.

    Args:
        name: E.g. ``"sklearn.tree._tree.Tree"`` or ``"numpy.log1p"``.
        extra: Names the caller trusts besides the allow-list.
        function: Whether ``name`` is a function referenced by the file, not a type.
    """
    if name in set(extra):
        return True
    if function:
        return name in TRUSTED_FUNCTIONS or _is_numpy_ufunc(name)
    return (
        name in TRUSTED_TYPES
        or name in _TRUSTED_WRAPPERS
        or name.startswith(TRUSTED_MODULE_PREFIXES)
    )


def untrusted(found: Mapping[str, bool], extra: Iterable[str] = ()) -> list[str]:
    """The names in a file outside the allow-list, sorted: the one rule for register and load.

    Args:
        found: ``{name: is_function}``, as ``skops_types`` returns.
        extra: Names the caller trusts besides the allow-list.
    """
    extra = [*extra, *_extra_from_env()]
    return sorted(n for n, fn in found.items() if not is_trusted(n, extra, function=fn))


def _refused(what: str, names: list[str], *, registering: bool) -> UnsafeModelError:
    listed = ",".join(names)
    how = (
        f"pass trusted_types=[...] to register() (loading will need the same trust: "
        f"trusted_types=[...] in Python, --trust-type on the CLI or {ENV_TRUSTED}={listed})"
        if registering
        else f"trusted_types=[...] in Python, --trust-type on the CLI, or {ENV_TRUSTED}={listed}"
    )
    count = f"{len(names)} types" if len(names) > 1 else "a type"
    return UnsafeModelError(
        f"{what} holds {count} outside the allow-list: {', '.join(names)}.",
        hint=f"If you wrote or reviewed that code, allow them all at once with {how}.",
    )


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


def _damaged(
    path: str | os.PathLike[str] | IO[bytes], reason: str, exc: BaseException
) -> ModelFileError:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    name = Path(path).name if isinstance(path, str | os.PathLike) else "the model file"
    return ModelFileError(
        f"{name} is not a readable skops file: {reason} ({detail}).",
        reason=f"{reason} ({detail})",
        hint="Log the model again with mlflow.sklearn.log_model(..., "
        "serialization_format='skops').",
    )


def skops_types(path: str | os.PathLike[str] | IO[bytes]) -> dict[str, bool]:
    """Every type and function name a skops file would build: ``{name: is_function}``.

    A file that is not a skops file (not a zip, no ``schema.json``, a schema that is not
    a JSON object) raises ``ModelFileError``.

    Args:
        path: The ``.skops`` file, or an open binary stream of one.
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


def load_skops(path: str | os.PathLike[str], *, trusted_types: Iterable[str] | None = ()) -> object:
    """Load a skops file after checking every type in it against the allow-list, and every
    tree in the result (``check_trees``).

    Types outside it raise ``UnsafeModelError``; a damaged file (not a zip, no schema,
    truncated or garbled contents) raises ``ModelFileError``.

    Args:
        path: The ``.skops`` file.
        trusted_types: More type names to trust, e.g. ``["mypkg.MyTransformer"]``; None
            for none.
    """
    found = skops_types(path)
    refused = untrusted(found, trusted_types or ())
    if refused:
        raise _refused(Path(path).name, refused, registering=False)
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        model = sio.load(path, trusted=sorted(found))
    except UntrustedTypesFoundException as exc:  # our walk missed a name; skops did not
        raise UnsafeModelError(
            f"{Path(path).name} contains types outside the allow-list: {exc}.",
            hint=f"Allow them with trusted_types=[...] or {ENV_TRUSTED} once reviewed.",
        ) from exc
    except _DAMAGED as exc:
        raise _damaged(path, "its contents are damaged", exc) from exc
    check_trees(model, source=Path(path).name)
    return model


def check_registrable(model: object, *, trusted_types: Iterable[str] | None = ()) -> list[str]:
    """Refuse, before anything is stored, a model that loading would refuse.

    Serializes the model with skops in memory and applies the load-time rules: the
    allow-list (naming every type outside it at once) and the tree checks.

    Args:
        model: The fitted model about to be registered.
        trusted_types: Types the caller trusts besides the allow-list; None for none.

    Returns:
        The types in the file that skops itself does not trust by default, which skops
        must be told to accept when MLflow saves and re-reads the model.
    """
    import io

    import skops.io as sio

    name = type(model).__name__
    try:
        data = sio.dumps(model)
    except (TypeError, NotImplementedError) as exc:  # skops' "unsupported type" errors
        raise UnsafeModelError(
            f"{name} cannot be saved in skops format: {exc}",
            hint="Register a model built from scikit-learn (or allow-listed) parts.",
        ) from exc
    refused = untrusted(skops_types(io.BytesIO(data)), trusted_types or ())
    if refused:
        raise _refused(f"The model ({name})", refused, registering=True)
    check_trees(model, source=f"The model ({name})")
    return sorted(sio.get_untrusted_types(data=data))


def load_pickle(path: str | os.PathLike[str], *, fmt: str, allow_pickle: bool) -> object:
    """Load a pickle or cloudpickle file, only when explicitly allowed.

    Args:
        path: The pickle file.
        fmt: ``"pickle"`` or ``"cloudpickle"``.
        allow_pickle: The caller's explicit consent to run the file's code.
    """
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
