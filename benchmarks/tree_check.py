"""What does checking tree arrays cost? Run: `.venv/bin/python benchmarks/tree_check.py`.

Every tree model is checked when it loads (``modelcards._tree_check.check_trees``). For a
200-tree random forest and a histogram gradient boosting model (200 iterations, a
categorical input), both registered from `modelcards synth` data, it prints, at each size
(default 1,000,000 rows):

* card: what `modelcards card --model ... --data FILE` does: load the version from the
  registry (download, skops, the tree check), read the Parquet file, predict, assess, apply
  a policy, render and write the three files;
* floor: reading the same file plus one predict_proba of the same model;
* load: loading the version alone, the tree check included;
* check: the tree check alone, on the loaded model;
* share: check / card.

Options: --rows 1000000  --repeat 3  --train-rows 50000.
Wall-clock seconds on this machine; each figure is the best of --repeat runs, and floor and
card runs alternate so that a slow spell of the machine hits both.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _models():
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    def one_hot(model):
        return make_pipeline(
            make_column_transformer(
                (OneHotEncoder(handle_unknown="ignore"), ["employment"]), remainder="passthrough"
            ),
            model,
        )

    return {
        # Depth 12 keeps 200 trees (about 1.2 million nodes) in memory on a small machine.
        "random forest, 200 trees of depth 12": one_hot(
            RandomForestClassifier(200, max_depth=12, random_state=0)
        ),
        "histogram boosting, 200 iterations": HistGradientBoostingClassifier(
            max_iter=200, early_stopping=False, categorical_features=["employment"], random_state=0
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--train-rows", type=int, default=50_000)
    args = ap.parse_args()

    import modelcards as mc
    from modelcards import _registry
    from modelcards._synth import FEATURES, SENSITIVE, TARGET
    from modelcards._tree_check import check_trees

    policy = mc.parse_policy("checks:\n  - demographic_parity_ratio >= 0.8\n")
    train = mc.synthesize(args.train_rows, seed=99)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "synth.parquet"
        mc.synthesize(args.rows, seed=0).to_parquet(data, index=False)
        reg = mc.Registry(home=tmp / "store")
        print(f"{args.rows:,} rows, best of {args.repeat}")
        print(f"{'model':38} {'nodes':>9} {'card':>7} {'floor':>7} {'load':>7} {'check':>7} share")
        for i, (label, model) in enumerate(_models().items(), start=1):
            model.fit(train[FEATURES], train[TARGET])
            reg.register(
                model,
                name="bench",
                X_train=train[FEATURES],
                evaluation=train[[*FEATURES, TARGET, *SENSITIVE]].head(1000),
                target=TARGET,
                positive_label=1,
                sensitive_features=SENSITIVE,
            )
            ref = f"models:/bench/{i}"

            def load(ref=ref):
                _registry._CACHE.clear()  # load afresh, as a new `modelcards card` process does
                return reg.load(ref)

            loaded = load()

            def floor(loaded=loaded):
                frame = mc.read_table(data)
                loaded.model.predict_proba(frame[FEATURES])

            def card(load=load, i=i):
                result = mc.generate_card(
                    model=load(),
                    data=data,
                    target=TARGET,
                    sensitive=SENSITIVE,
                    policy=policy,
                    name="bench",
                )
                mc.write_card(result, tmp / f"card-{i}")

            t_floor, t_card = [], []
            for _ in range(args.repeat):  # alternate, so a slow spell hits both
                t_floor.append(_best(floor, 1))
                t_card.append(_best(card, 1))
            t_load = _best(load, args.repeat)
            t_check = _best(lambda m=loaded.model: check_trees(m, source="bench"), args.repeat)
            nodes = _count_nodes(loaded.model)
            print(
                f"{label:38} {nodes:>9,} {min(t_card):>6.2f}s {min(t_floor):>6.2f}s "
                f"{t_load:>6.2f}s {t_check:>6.3f}s {t_check / min(t_card):.2%}"
            )


def _count_nodes(model) -> int:
    """Nodes in every tree of a forest pipeline or a histogram boosting model."""
    est = model[-1] if hasattr(model, "steps") else model
    if hasattr(est, "estimators_"):
        return sum(int(e.tree_.node_count) for e in est.estimators_)
    return sum(len(p.nodes) for stage in est._predictors for p in stage)


if __name__ == "__main__":
    main()
