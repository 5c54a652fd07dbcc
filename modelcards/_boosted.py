"""The loaded form of a natively stored XGBoost or LightGBM classifier (see ``_flavors``).

A module of its own so that importing the registry does not import scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin

from ._flavors import Framework


# scikit-learn ships no types: its base classes are Any to mypy.
class BoostedClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A natively stored XGBoost or LightGBM classifier with its class labels.

    Predicts like the estimator it was registered from: ``predict_proba`` has one column
    per class in ``classes_`` order, ``predict`` returns the most probable label.

    Attributes:
        framework: ``"xgboost"`` or ``"lightgbm"``.
        estimator_class: The registered estimator's class, e.g.
            ``"xgboost.sklearn.XGBClassifier"``.
        estimator_params: Its ``get_params(deep=False)`` at registration, as JSON values.
        classes_: The class labels, index i being the booster's class i.
    """

    def __init__(
        self,
        *,
        framework: Framework,
        estimator_class: str,
        estimator_params: dict[str, Any],
        classes: Sequence[Any],
        booster: Any,
    ) -> None:
        self.framework = framework
        self.estimator_class = estimator_class
        self.estimator_params = estimator_params
        # Stored under the argument names: scikit-learn's get_params reads them so.
        self.classes = list(classes)
        self.booster = booster
        self.classes_ = np.asarray(classes)
        self.n_classes_ = len(self.classes_)

    def __repr__(self) -> str:
        return f"BoostedClassifier({self.estimator_class.rpartition('.')[2]})"

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X: Any, y: Any) -> BoostedClassifier:
        """Not supported: a registered model is used as it was stored.

        Args:
            X: Ignored.
            y: Ignored.
        """
        raise NotImplementedError("A registered model is not refitted; fit a new estimator.")

    def predict_proba(self, X: pd.DataFrame | NDArray[Any]) -> NDArray[np.float64]:
        """Class probabilities, one column per class in ``classes_`` order.

        Args:
            X: The model's inputs.
        """
        if self.framework == "xgboost":
            proba = np.asarray(self.booster.predict_proba(X), dtype=np.float64)
        else:
            proba = np.asarray(self.booster.predict(X), dtype=np.float64)
            if proba.ndim == 1:  # binary: the probability of class 1
                proba = np.column_stack([1.0 - proba, proba])
        return proba

    def predict(self, X: pd.DataFrame | NDArray[Any]) -> NDArray[Any]:
        """The most probable class label of each row (the first class on a tie).

        Args:
            X: The model's inputs.
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]  # type: ignore[no-any-return]
