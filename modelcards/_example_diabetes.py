"""The regression example: disease progression on scikit-learn's diabetes data.

The data (442 patients, Efron et al. 2004, "Least Angle Regression") ships inside
scikit-learn (``sklearn.datasets.load_diabetes``); nothing is fetched. The target is a
quantitative measure of disease progression one year after baseline; ``sex`` (coded 1
and 2 in the data, which does not say which is which) and a derived ``age_group`` are
the sensitive features. The model does not take ``sex`` as an input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from .errors import shown_uri

if TYPE_CHECKING:  # pragma: no cover
    from ._registry import Registry

NAME = "diabetes-progression"
TARGET = "progression"
FEATURES = ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
SENSITIVE = ["sex", "age_group"]
ALIAS = "champion"
SEED = 0

CARD_SPEC = {
    # The meanings come with the data set (scikit-learn's description of load_diabetes);
    # no ranges: the training range rule applies.
    "data_dictionary": {
        "outcome": {
            "description": "A quantitative measure of disease progression one year after "
            "baseline (higher is worse).",
        },
        "inputs": {
            "age": {"description": "Age at baseline.", "unit": "years"},
            "bmi": {"description": "Body mass index.", "unit": "kg/m²"},
            "bp": {"description": "Average blood pressure.", "unit": "mm Hg"},
            "s1": {"description": "Total serum cholesterol (tc).", "unit": "mg/dL"},
            "s2": {"description": "Low-density lipoproteins (ldl).", "unit": "mg/dL"},
            "s3": {"description": "High-density lipoproteins (hdl).", "unit": "mg/dL"},
            "s4": {"description": "Total cholesterol divided by HDL (tch)."},
            "s5": {"description": "Log of the serum triglycerides level (ltg)."},
            "s6": {"description": "Blood sugar level (glu).", "unit": "mg/dL"},
        },
    },
    "model_details": {
        "owners": ["modelcards example maintainers"],
        "license": "apache-2.0",
        "references": [
            "Efron, Hastie, Johnstone and Tibshirani, 'Least Angle Regression', Annals of "
            "Statistics 2004; data via sklearn.datasets.load_diabetes",
        ],
    },
    "intended_use": {
        "primary_uses": ["Demonstrating regression model cards and per-group error audits."],
        "primary_users": ["ML engineers", "bias-audit reviewers"],
        "out_of_scope_uses": ["Any decision about a real patient's care."],
    },
    "factors": {
        "relevant_factors": [
            "Sex as coded in the data (1, 2) and age; the data documents neither further."
        ],
    },
    "metrics": {
        "performance_measures": [
            "Per group: mean absolute error, root mean squared error, mean error (signed "
            "bias) and R²."
        ],
    },
    "evaluation_data": {
        "description": "A 30% hold-out of the 442 patients, drawn with seed 0.",
        "preprocessing": "Age is bucketed into age_group for the audit.",
    },
    "training_data": {
        "description": "The remaining 70% of the patients.",
        "preprocessing": "Inputs standardised.",
    },
    "ethical_considerations": [
        "442 patients from one study: groups are small and their intervals wide.",
    ],
    "caveats_and_recommendations": [
        "Use this model for demonstration only.",
    ],
}

# By sex only: the intersection's groups are too small to judge in a 133-row hold-out.
POLICY = """\
checks:
  - check: mean_absolute_error_ratio >= 0.5
    features: [sex]
  - check: mean_error_difference <= 60
    features: [sex]
  - r2_score >= 0.2
"""


def load_diabetes_frame() -> pd.DataFrame:
    """The diabetes data as scikit-learn ships it (unscaled), with ``sex`` as text and a
    derived ``age_group``."""
    from sklearn.datasets import load_diabetes

    # scikit-learn ships no types: its Bunch's frame is Any.
    df: pd.DataFrame = load_diabetes(as_frame=True, scaled=False).frame
    df = df.rename(columns={"target": TARGET})
    df["sex"] = df["sex"].astype(int).astype(str)
    df["age_group"] = pd.cut(
        df["age"], [0, 40, 60, 200], right=False, labels=["under 40", "40-59", "60+"]
    ).astype(str)
    return df


def register_diabetes_example(
    registry: Registry, *, progress: Callable[[str], None] = lambda msg: None
) -> list[str]:
    """Train and register the regression example unless it is registered already.

    Args:
        registry: Where to register it.
        progress: Called with a short message per step.
    """
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_absolute_error, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for m in registry.list_models():
        if m.name == NAME and any(v.tags.get("modelcards.example") for v in m.versions):
            return []
    progress("reading the diabetes data from scikit-learn")
    df = load_diabetes_frame()
    train, test = train_test_split(df, test_size=0.3, random_state=SEED)
    pipe = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    progress("training the regression example (Ridge)")
    pipe.fit(train[FEATURES], train[TARGET])
    pred = pipe.predict(test[FEATURES])
    progress(f"registering the regression example in {shown_uri(registry.tracking_uri)}")
    mv = registry.register(
        pipe,
        name=NAME,
        X_train=train[FEATURES].reset_index(drop=True),
        evaluation=test[[*FEATURES, TARGET, *SENSITIVE]].reset_index(drop=True),
        target=TARGET,
        sensitive_features=SENSITIVE,
        card_spec=CARD_SPEC,
        policy=POLICY,
        description="Ridge regression on age, BMI, blood pressure and six blood serum measures.",
        model_description=(
            "Predicts disease progression one year after baseline for diabetes patients. "
            "A regression example for model cards; not for real decisions."
        ),
        alias=ALIAS,
        params={"estimator": "Ridge", "features": ",".join(FEATURES), "seed": SEED},
        metrics={
            "mean_absolute_error": float(mean_absolute_error(test[TARGET], pred)),
            "r2": float(r2_score(test[TARGET], pred)),
        },
        tags={"modelcards.example": ALIAS},
    )
    return [f"models:/{NAME}/{mv.version} (@{ALIAS})"]
