"""modelcards: Model Cards, fairness audits and stakeholder demos for registered models.

Concepts
--------
Registry
    The MLflow Model Registry: an embedded SQLite store in ``.modelcards/`` (moved by
    ``MODELCARDS_HOME``), or the store or server that ``MLFLOW_TRACKING_URI`` names.
    Models are referenced as ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``; an alias
    is always resolved to the exact version, which everything downstream names.
LoadedModel
    A registered version loaded safely (skops, checked against our allow-list), with
    its signature, training-data profile, evaluation split and card spec.
Profile
    Per input column of the training data: type, missing share, numeric quartiles or
    categorical levels. Forms, range warnings and the card's training-data section use it.
synthesize
    Seeded synthetic tabular data with a documented, injected disparity.

Example
-------
>>> import modelcards as mc                                   # doctest: +SKIP
>>> reg = mc.Registry()                                       # doctest: +SKIP
>>> m = reg.load("models:/arrests-release@champion")          # doctest: +SKIP
>>> m.version, m.predict(m.evaluation_split().head(3))        # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Heavy dependencies (MLflow, scikit-learn, Fairlearn) load on first use, so the CLI
# and `import modelcards` start fast.
_EXPORTS = {
    "Registry": "._registry",
    "ModelRef": "._registry",
    "LoadedModel": "._registry",
    "RegisteredModel": "._registry",
    "RegisteredVersion": "._registry",
    "SignatureColumn": "._registry",
    "Profile": "._profile",
    "ColumnProfile": "._profile",
    "profile_frame": "._profile",
    "synthesize": "._synth",
    "register_examples": "._examples",
    "load_skops": "._safe_load",
    "TRUSTED_TYPES": "._safe_load",
    "TRUSTED_MODULE_PREFIXES": "._safe_load",
}

__all__ = [
    "ColumnProfile",
    "LoadedModel",
    "ModelRef",
    "Profile",
    "RegisteredModel",
    "RegisteredVersion",
    "Registry",
    "SignatureColumn",
    "TRUSTED_MODULE_PREFIXES",
    "TRUSTED_TYPES",
    "__version__",
    "errors",
    "load_skops",
    "profile_frame",
    "register_examples",
    "synthesize",
]

if TYPE_CHECKING:  # pragma: no cover
    from . import errors
    from ._examples import register_examples
    from ._profile import ColumnProfile, Profile, profile_frame
    from ._registry import (
        LoadedModel,
        ModelRef,
        RegisteredModel,
        RegisteredVersion,
        Registry,
        SignatureColumn,
    )
    from ._safe_load import TRUSTED_MODULE_PREFIXES, TRUSTED_TYPES, load_skops
    from ._synth import synthesize


def __getattr__(name: str):
    if name == "errors":
        return importlib.import_module(".errors", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'modelcards' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
