"""Milliseconds per explanation (``mc.explain``) for the example models and a forest.

Usage: python benchmarks/explain_speed.py [--repeat 20]

Each model is explained once to warm up (the background sample is drawn and kept with
the loaded version), then ``--repeat`` times on varied inputs; prints the median and the
slowest, per model and output space.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import modelcards as mc

TREE = "sklearn.tree._tree.Tree"


def _forest(registry: mc.Registry) -> mc.LoadedModel:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from modelcards._examples import FEATURES, SENSITIVE, TARGET, load_arrests_frame

    df = load_arrests_frame()
    train, test = train_test_split(df, test_size=0.3, random_state=0)
    pipe = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["employed", "citizen"]),
            remainder="passthrough",
        ),
        RandomForestClassifier(n_estimators=100, min_samples_leaf=5, random_state=0),
    ).fit(train[FEATURES], train[TARGET])
    registry.register(
        pipe,
        name="forest",
        X_train=train[FEATURES],
        evaluation=test[[*FEATURES, TARGET, *SENSITIVE]],
        target=TARGET,
        positive_label="Yes",
        sensitive_features=SENSITIVE,
        trusted_types=[TREE],
    )
    return registry.load("models:/forest/1", trusted_types=[TREE])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        registry = mc.Registry(home=home)
        mc.register_examples(registry)
        models = {
            "champion (logistic)": registry.load("models:/arrests-release@champion"),
            "challenger (interactions)": registry.load("models:/arrests-release@challenger"),
            "random forest (100 trees)": _forest(registry),
        }
        print("| model | output | method | median ms | slowest ms |")
        print("| --- | --- | --- | --- | --- |")
        for label, model in models.items():
            for output in ("probability", "log_odds"):
                base = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
                mc.explain(model, base, output=output)  # warm-up: draws the background
                times = []
                for i in range(args.repeat):
                    values = {**base, "age": 18 + i % 30, "checks": i % 7}
                    start = time.perf_counter()
                    e = mc.explain(model, values, output=output)
                    times.append((time.perf_counter() - start) * 1000)
                print(
                    f"| {label} | {output} | {e.method} | {statistics.median(times):.1f} "
                    f"| {max(times):.1f} |"
                )


if __name__ == "__main__":
    main()
