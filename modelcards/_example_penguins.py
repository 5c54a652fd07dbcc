"""The multiclass example: penguin species from body measurements (Palmer penguins).

The data (344 penguins of three species on three islands of the Palmer Archipelago,
Antarctica; Gorman, Williams and Fraser 2014) ships inside scikit-lego
(``sklego.datasets.load_penguins``); nothing is fetched. The target is ``species``
(Adelie, Chinstrap, Gentoo); ``sex`` and ``island`` are the sensitive features, which
the model does not take as inputs. Three classes, so the card reports accuracy and
macro averages per group and each species one-vs-rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from .errors import shown_uri

if TYPE_CHECKING:  # pragma: no cover
    from ._registry import Registry

NAME = "penguin-species"
TARGET = "species"
# Without the bill's length, Adelie and Chinstrap penguins look alike: the model misses
# most Chinstraps, which the per-class card and the policy show.
FEATURES = ["bill_depth_mm", "flipper_length_mm", "body_mass_g"]
SENSITIVE = ["sex", "island"]
ALIAS = "champion"
SEED = 0

CARD_SPEC = {
    "data_dictionary": {
        "outcome": {
            "description": "The penguin's species, as identified by the field researchers.",
            "classes": {
                "Adelie": "of the Adélie species",
                "Chinstrap": "of the Chinstrap species",
                "Gentoo": "of the Gentoo species",
            },
        },
        "inputs": {
            "bill_depth_mm": {"description": "Depth of the bill (culmen).", "unit": "mm"},
            "flipper_length_mm": {"description": "Length of the flipper.", "unit": "mm"},
            "body_mass_g": {"description": "Body mass.", "unit": "g"},
        },
    },
    "model_details": {
        "owners": ["modelcards example maintainers"],
        "license": "apache-2.0",
        "references": [
            "Gorman, Williams and Fraser, 'Ecological sexual dimorphism and environmental "
            "variability within a community of Antarctic penguins', PLoS ONE 2014; data via "
            "sklego.datasets.load_penguins",
        ],
    },
    "intended_use": {
        "primary_uses": ["Demonstrating multiclass model cards and per-class fairness audits."],
        "primary_users": ["ML engineers", "bias-audit reviewers", "students of fair ML"],
        "out_of_scope_uses": ["Identifying penguins outside the Palmer Archipelago study."],
    },
    "factors": {
        "relevant_factors": [
            "Sex, since body measurements differ between males and females; island, since "
            "the species are not spread evenly over the islands (Gentoo only on Biscoe)."
        ],
    },
    "metrics": {
        "performance_measures": [
            "Accuracy and the macro averages of recall, precision and F1 per group; each "
            "species one-vs-rest with the binary rates."
        ],
    },
    "evaluation_data": {
        "description": "A stratified 50% hold-out of the 333 penguins with every "
        "measurement and sex recorded, drawn with seed 0.",
    },
    "training_data": {
        "description": "The other 50% of those penguins.",
        "preprocessing": "Inputs standardised; 11 penguins with a missing value dropped.",
    },
    "ethical_considerations": [
        "Not about people: the sensitive features show the mechanics of a per-class audit.",
    ],
    "caveats_and_recommendations": [
        "About 170 penguins: groups by island are small and their intervals wide.",
    ],
}

POLICY = """\
checks:
  - accuracy_score >= 0.7
  - check: accuracy_score_difference <= 0.25
    features: [sex]
  - check: true_positive_rate_difference <= 0.25
    features: [sex]
    class: Gentoo
  - check: false_negative_rate <= 0.4
    class: Chinstrap
"""


def load_penguins_frame() -> pd.DataFrame:
    """The penguins with every measurement and sex recorded."""
    from sklego.datasets import load_penguins

    df: pd.DataFrame = load_penguins(as_frame=True)
    return df.dropna(subset=[*FEATURES, "sex"]).reset_index(drop=True)


def register_penguins_example(
    registry: Registry, *, progress: Callable[[str], None] = lambda msg: None
) -> list[str]:
    """Train and register the multiclass example unless it is registered already.

    Args:
        registry: Where to register it.
        progress: Called with a short message per step.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for m in registry.list_models():
        if m.name == NAME and any(v.tags.get("modelcards.example") for v in m.versions):
            return []
    progress("reading the penguins data from scikit-lego")
    df = load_penguins_frame()
    train, test = train_test_split(df, test_size=0.5, random_state=SEED, stratify=df[TARGET])
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    progress("training the multiclass example (logistic regression)")
    pipe.fit(train[FEATURES], train[TARGET])
    pred = pipe.predict(test[FEATURES])
    progress(f"registering the multiclass example in {shown_uri(registry.tracking_uri)}")
    mv = registry.register(
        pipe,
        name=NAME,
        X_train=train[FEATURES].reset_index(drop=True),
        evaluation=test[[*FEATURES, TARGET, *SENSITIVE]].reset_index(drop=True),
        target=TARGET,
        sensitive_features=SENSITIVE,
        card_spec=CARD_SPEC,
        policy=POLICY,
        description="Logistic regression on bill depth, flipper length and body mass.",
        model_description=(
            "Predicts a penguin's species (Adelie, Chinstrap, Gentoo) from its body "
            "measurements. A multiclass example for model cards; not for real decisions."
        ),
        alias=ALIAS,
        params={"estimator": "LogisticRegression", "features": ",".join(FEATURES), "seed": SEED},
        metrics={
            "accuracy": float(accuracy_score(test[TARGET], pred)),
            "macro_f1": float(f1_score(test[TARGET], pred, average="macro")),
        },
        tags={"modelcards.example": ALIAS},
    )
    return [f"models:/{NAME}/{mv.version} (@{ALIAS})"]
