"""The example models: a logistic regression (``@champion``) and a gradient-boosted tree
ensemble (``@challenger``) on the Toronto arrests data shipped by scikit-lego, so the pair
compares two model families; in ``_example_diabetes``, a regression on
scikit-learn's diabetes data; in ``_example_penguins``, a multiclass classifier of
penguin species.

The data (5,226 people arrested in Toronto for simple possession of marijuana,
published by the Toronto Star) is read from the installed ``sklego`` package at run
time. The target is ``released`` (whether the person was released with a summons);
``colour``, ``sex`` and the derived ``age_group`` are the sensitive features.

The models do not take ``colour`` or ``sex`` as inputs, and the card says why that
alone does not make them fair: the other inputs can stand in for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd

from .errors import shown_uri

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.base import ClassifierMixin

    from ._registry import Registry

NAME = "arrests-release"
TARGET = "released"
POSITIVE = "Yes"
FEATURES = ["year", "age", "employed", "citizen", "checks"]
SENSITIVE = ["colour", "sex", "age_group"]
AGE_BINS = [0, 18, 25, 35, 50, 200]
AGE_LABELS = ["under 18", "18-24", "25-34", "35-49", "50+"]
SEED = 0

CARD_SPEC = {
    "model_details": {
        "owners": ["modelcards example maintainers"],
        "license": "apache-2.0",
        "references": [
            "Toronto Star, 'Race and crime' series (2002); data via scikit-lego "
            "sklego.datasets.load_arrests",
            "Mitchell et al., 'Model Cards for Model Reporting', FAT* 2019",
        ],
    },
    "intended_use": {
        "primary_uses": [
            "Demonstrating model cards, fairness audits and stakeholder demos on real, "
            "sensitive data.",
            "Teaching how group disparities persist when protected attributes are removed "
            "from the inputs.",
        ],
        "primary_users": ["ML engineers", "bias-audit reviewers", "students of fair ML"],
        "out_of_scope_uses": [
            "Any decision about a real person's arrest, release, bail or sentencing.",
            "Predicting police behaviour outside Toronto or after 2002.",
            "Ranking or scoring individuals or neighbourhoods.",
        ],
    },
    "factors": {
        "relevant_factors": [
            "Skin colour as recorded by police (Black, White), sex, and age.",
            "Employment and citizenship status, which correlate with colour in this data.",
        ],
    },
    "metrics": {
        "performance_measures": [
            "Accuracy, balanced accuracy and ROC AUC overall.",
            "Per group: selection rate, true/false positive and negative rates, precision.",
        ],
        "decision_thresholds": ["0.5 on the probability of release"],
        "variation_approaches": [
            "95% bootstrap confidence intervals (1,000 resamples of the count table)."
        ],
    },
    "evaluation_data": {
        "description": "A stratified 30% hold-out of the arrests data, drawn with seed 0.",
        "preprocessing": "Age is bucketed into age_group for the audit; no rows are dropped.",
    },
    "training_data": {
        "description": "The remaining 70% of the arrests data (1997-2002, Toronto).",
        "preprocessing": "Logistic regression: numeric inputs standardised, yes/no inputs "
        "one-hot encoded. Gradient boosting: yes/no inputs as categories, numbers as they are.",
    },
    "ethical_considerations": [
        "The labels record past police decisions, not what should have happened: a model "
        "that fits them well reproduces their bias.",
        "Colour and sex are not inputs, yet employment, citizenship and prior checks are "
        "unequally distributed across groups and act as proxies.",
        "Colour was recorded by officers in two categories; it does not describe how people "
        "identify.",
    ],
    "caveats_and_recommendations": [
        "About 83% of people were released, so accuracy alone flatters the model; read "
        "balanced accuracy and per-group error rates.",
        "Groups under the minimum size (default 30) are flagged and left out of headline "
        "disparities; their intervals are wide.",
        "Use this model for demonstration only.",
    ],
    "data_dictionary": {
        "outcome": {
            "description": "Whether police released the person with a summons (to appear in "
            "court later) instead of holding them for a bail hearing.",
            "classes": {
                "Yes": "released with a summons",
                "No": "held for a bail hearing",
            },
        },
        "inputs": {
            "year": {
                "description": "Year of the arrest (the data covers 1997 to 2002).",
                "range": [1997, 2002],
            },
            "age": {"description": "Age at arrest.", "unit": "years", "range": [12, 90]},
            "employed": {
                "description": "Whether the person had a job at the time of arrest.",
                "levels": ["Yes", "No"],
            },
            "citizen": {
                "description": "Whether the person is a Canadian citizen.",
                "levels": ["Yes", "No"],
            },
            "checks": {
                "description": "In how many police databases the person's name was found "
                "(prior arrests, convictions, parole): 0 to 6.",
                "range": [0, 6],
            },
        },
    },
    "edge_cases": [
        {
            "name": "Young, unemployed, many prior checks",
            "inputs": {"year": 2000, "age": 18, "employed": "No", "citizen": "Yes", "checks": 6},
            "expected": "No",
            "note": "Several prior checks make release less likely.",
        },
        {
            "name": "Employed citizen, no prior checks",
            "inputs": {"year": 2001, "age": 35, "employed": "Yes", "citizen": "Yes", "checks": 0},
            "expected": "Yes",
            "note": "The most common profile among people released.",
        },
        {
            "name": "Non-citizen, employed, two checks",
            "inputs": {"year": 1999, "age": 28, "employed": "Yes", "citizen": "No", "checks": 2},
            "expected": "Yes",
            "note": "Citizenship is a proxy worth probing.",
        },
    ],
}


POLICY = """\
# The release policy stored with the example models. It uses the four-fifths rule for
# selection rates and bounds the gaps in error rates.
checks:
  - demographic_parity_ratio >= 0.8
  - equalized_odds_difference <= 0.1
  - false_negative_rate <= 0.1 for every group
"""


def load_arrests_frame() -> pd.DataFrame:
    """The arrests data with the derived ``age_group`` column."""
    from sklego.datasets import load_arrests

    df: pd.DataFrame = load_arrests(as_frame=True)
    df["age_group"] = pd.cut(df["age"], bins=AGE_BINS, labels=AGE_LABELS, right=False).astype(str)
    return df


class _Example(NamedTuple):
    """One example version: its ``modelcards.example`` tag (what makes registering
    idempotent), the alias it is registered under, its description, its model."""

    key: str
    alias: str
    description: str
    model: ClassifierMixin


def _estimator_name(model: object) -> str:
    """The final estimator's class name, for a pipeline or a bare estimator."""
    steps = getattr(model, "steps", None)
    return type(steps[-1][1] if steps else model).__name__


def _pipelines() -> list[_Example]:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = ["year", "age", "checks"]
    categorical = ["employed", "citizen"]
    logistic = make_pipeline(
        make_column_transformer(
            (StandardScaler(), numeric),
            (OneHotEncoder(handle_unknown="ignore"), categorical),
        ),
        LogisticRegression(max_iter=1000),
    )
    # Tree models load safely (every tree's arrays are checked), so the challenger is a
    # different family: gradient-boosted trees, taking yes/no inputs as categories.
    boosting = HistGradientBoostingClassifier(
        categorical_features=categorical,
        max_iter=200,
        learning_rate=0.05,
        max_depth=3,
        random_state=SEED,
    )
    return [
        _Example(
            "champion",
            "champion",
            "Logistic regression on year, age, employment, citizenship and checks.",
            logistic,
        ),
        # Keyed apart from the older interactions challenger, so a store registered before
        # gains the tree ensemble as a new version and @challenger moves to it.
        _Example(
            "challenger-boosting",
            "challenger",
            "Histogram gradient boosting (200 trees of depth 3) on the same inputs, with "
            "employment and citizenship as categories.",
            boosting,
        ),
    ]


def register_examples(
    registry: Registry, *, progress: Callable[[str], None] = lambda msg: None
) -> list[str]:
    """Train and register the example versions that are not registered yet: the two
    classifiers here, the regression example (``_example_diabetes``) and the multiclass
    example (``_example_penguins``).

    Idempotent: each version is matched by its ``modelcards.example`` tag, so a second
    run registers nothing. Returns the references registered by this call.

    Args:
        registry: Where to register them.
        progress: Called with a short message per step.
    """
    from ._example_diabetes import register_diabetes_example
    from ._example_penguins import register_penguins_example

    registered = _register_arrests(registry, progress)
    registered += register_diabetes_example(registry, progress=progress)
    return registered + register_penguins_example(registry, progress=progress)


def _register_arrests(registry: Registry, progress: Callable[[str], None]) -> list[str]:
    """The two arrests classifiers that are not registered yet."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    existing: set[str | None] = set()
    for m in registry.list_models():
        if m.name == NAME:
            existing = {v.tags.get("modelcards.example") for v in m.versions}
    todo = [p for p in _pipelines() if p.key not in existing]
    if not todo:
        return []
    progress("reading the arrests data from scikit-lego")
    df = load_arrests_frame()
    train, test = train_test_split(df, test_size=0.3, random_state=SEED, stratify=df[TARGET])
    registered: list[str] = []
    for key, alias, description, pipe in todo:
        progress(f"training the {alias} ({_estimator_name(pipe)})")
        pipe.fit(train[FEATURES], train[TARGET])
        proba = pipe.predict_proba(test[FEATURES])[:, list(pipe.classes_).index(POSITIVE)]
        pred = pipe.predict(test[FEATURES])
        metrics = {
            "accuracy": float(accuracy_score(test[TARGET], pred)),
            "balanced_accuracy": float(balanced_accuracy_score(test[TARGET], pred)),
            "roc_auc": float(roc_auc_score(test[TARGET] == POSITIVE, proba)),
        }
        params = {
            "estimator": _estimator_name(pipe),
            "features": ",".join(FEATURES),
            "seed": SEED,
        }
        progress(f"registering the {alias} in {shown_uri(registry.tracking_uri)}")
        mv = registry.register(
            pipe,
            name=NAME,
            X_train=train[FEATURES].reset_index(drop=True),
            evaluation=test[[*FEATURES, TARGET, *SENSITIVE]].reset_index(drop=True),
            target=TARGET,
            positive_label=POSITIVE,
            sensitive_features=SENSITIVE,
            card_spec=CARD_SPEC,
            policy=POLICY,
            description=description,
            model_description=(
                "Predicts whether a person arrested in Toronto for simple possession of "
                "marijuana (1997-2002) was released with a summons. An example for "
                "model cards and fairness audits; not for real decisions."
            ),
            alias=alias,
            params=params,
            metrics=metrics,
            tags={"modelcards.example": key},
        )
        registered.append(f"models:/{NAME}/{mv.version} (@{alias})")
    return registered
