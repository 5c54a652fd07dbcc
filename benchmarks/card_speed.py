"""How fast is a card? Run: `make bench` (or `.venv/bin/python benchmarks/card_speed.py`).

For each size (default 100,000 and 1,000,000 rows of `modelcards synth` data, two
sensitive features and their intersection, every metric including ROC AUC, exact and
simultaneous intervals) it prints, from the same run:

* card: a whole card from a registered model: read the Parquet file, predict, assess,
  apply a policy, render HTML, Markdown and JSON, write them;
* floor: reading the same file plus one predict_proba of the same model;
* labels only: the same card and floor for the same model seen without predict_proba
  (no scores, so no ROC AUC), which isolates the cost of the per-group AUC;
* assess: our assessment alone, every interval included;
* Fairlearn: one MetricFrame with the same metrics (point values only; labels and scores
  need a frame each), and the ratio of the two. A Fairlearn interval would need one such
  evaluation per bootstrap resample.

Options: --rows 100000,1000000  --repeat 7.
Timings are wall-clock seconds on this machine; each figure is the best of --repeat runs,
and floor and card runs alternate so that a slow spell of the machine hits both.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def best_of_pairs(first, second, repeat):
    """Run two functions in turn ``repeat`` times: the best time of each, the median of
    the pairs' ratios (second / first), and the second's last result."""
    times: tuple[list[float], list[float]] = ([], [])
    out = None
    for _ in range(repeat):
        for i, fn in enumerate((first, second)):
            t = time.perf_counter()
            out = fn()
            times[i].append(time.perf_counter() - t)
    ratios = [b / a for a, b in zip(*times, strict=True)]
    return min(times[0]), min(times[1]), statistics.median(ratios), out


def train_and_register(home: Path):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import modelcards as mc
    from modelcards._synth import FEATURES, SENSITIVE, TARGET

    train = mc.synthesize(50_000, seed=99)
    numeric = [f for f in FEATURES if f != "employment"]
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), numeric), (OneHotEncoder(handle_unknown="ignore"), ["employment"])
        ),
        LogisticRegression(max_iter=1000),
    ).fit(train[FEATURES], train[TARGET])
    reg = mc.Registry(home=home)
    reg.register(
        model,
        name="bench",
        X_train=train[FEATURES],
        evaluation=train[[*FEATURES, TARGET, *SENSITIVE]].head(1000),
        target=TARGET,
        positive_label=1,
        sensitive_features=SENSITIVE,
        alias="champion",
    )
    return reg.load("models:/bench@champion")


def fairlearn_per_resample(frame, y_pred, y_score, n_boot):
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,
        true_positive_rate,
    )
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        precision_score,
        roc_auc_score,
    )

    labels = {
        "count": count,
        "selection_rate": selection_rate,
        "accuracy_score": accuracy_score,
        "balanced_accuracy_score": balanced_accuracy_score,
        "precision_score": precision_score,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "true_negative_rate": true_negative_rate,
    }
    sf = frame[["sex", "group"]]
    y = frame["approved"]
    boot = {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": 0} if n_boot else {}
    t = time.perf_counter()
    MetricFrame(metrics=labels, y_true=y, y_pred=y_pred, sensitive_features=sf, **boot)
    MetricFrame(
        metrics={"roc_auc_score": roc_auc_score},
        y_true=y,
        y_pred=y_score,
        sensitive_features=sf,
        **boot,
    )
    total = time.perf_counter() - t
    # n_boot resamples plus the point estimate: n_boot + 1 evaluations.
    return total / (n_boot + 1)


class _LabelsOnly:
    """The same model without predict_proba."""

    def __init__(self, model):
        self._model = model
        self.classes_ = model.classes_

    def predict(self, X):
        return self._model.predict(X)


def run(rows: int, loaded, tmp: Path, repeat: int) -> dict:
    from modelcards import (
        CardOptions,
        assess,
        generate_card,
        parse_policy,
        read_table,
        synthesize,
        write_card,
    )
    from modelcards._synth import FEATURES

    path = tmp / f"synth-{rows}.parquet"
    synthesize(rows, seed=0).to_parquet(path, index=False)
    policy = parse_policy(
        "checks:\n  - demographic_parity_ratio >= 0.8\n"
        "  - false_negative_rate <= 0.3 for every group\n"
    )

    def floor(predict):
        frame = read_table(path)
        return predict(frame[FEATURES])

    def card(model, out):
        result = generate_card(
            model=model,
            data=path,
            target="approved",
            sensitive=["sex", "group"],
            policy=policy,
            options=CardOptions(),
        )
        write_card(result, tmp / out)
        return result

    import copy

    labels_only = copy.copy(loaded)
    labels_only.model = _LabelsOnly(loaded.model)
    # Floor and card alternate, so a slow spell on the machine hits both alike.
    t_floor, t_card, median_ratio, result = best_of_pairs(
        lambda: floor(loaded.model.predict_proba), lambda: card(loaded, f"card-{rows}"), repeat
    )
    t_floor_l, t_card_l, median_ratio_l, _ = best_of_pairs(
        lambda: floor(loaded.model.predict),
        lambda: card(labels_only, f"card-labels-{rows}"),
        repeat,
    )
    frame = pd.read_parquet(path)
    labels, scores = loaded.predict_with_scores(frame)
    t_assess, _ = best(
        lambda: assess(
            frame["approved"],
            labels,
            sensitive_features=frame[["sex", "group"]],
            y_score=scores,
        ),
        repeat,
    )
    t_fair = fairlearn_per_resample(frame, labels, scores, 0)  # one MetricFrame
    groups = len(result.assessment.groups)
    return {
        "rows": rows,
        "groups": groups,
        "card_s": t_card,
        "floor_s": t_floor,
        "card_over_floor": t_card / t_floor,
        "card_over_floor_median": median_ratio,
        "labels_card_over_floor": t_card_l / t_floor_l,
        "labels_card_over_floor_median": median_ratio_l,
        "assess_s": t_assess,
        "fairlearn_s": t_fair,
        "fairlearn_over_ours": t_fair / t_assess,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="100000,1000000")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    with tempfile.TemporaryDirectory(prefix="modelcards-bench-") as tmp:
        tmp = Path(tmp)
        loaded = train_and_register(tmp / "store")
        rows = []
        for n in sizes:
            print(f"... {n:,} rows", flush=True)
            rows.append(run(n, loaded, tmp, args.repeat))
    header = (
        f"{'rows':>10} {'groups':>6} {'card s':>8} {'floor s':>8} {'card/floor':>12} "
        f"{'labels only':>12} {'assess s':>9} {'Fairlearn s':>12} {'Fairlearn/ours':>15}"
    )
    print("card/floor: best card / best floor, then the median of the paired runs' ratios")
    print(header)
    for r in rows:
        print(
            f"{r['rows']:>10,} {r['groups']:>6} {r['card_s']:>8.3f} {r['floor_s']:>8.3f} "
            f"{r['card_over_floor']:>5.2f} ({r['card_over_floor_median']:.2f}) "
            f"{r['labels_card_over_floor']:>5.2f} ({r['labels_card_over_floor_median']:.2f}) "
            f"{r['assess_s']:>9.3f} {r['fairlearn_s']:>12.2f} {r['fairlearn_over_ours']:>14,.0f}x"
        )


if __name__ == "__main__":
    main()
