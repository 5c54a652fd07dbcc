"""How fast is a comparison? Run: `make bench` (or `.venv/bin/python benchmarks/compare_speed.py`).

For 1,000,000 rows of `modelcards synth` data (two sensitive features and their
intersection, 18 groups; every rate metric; 1,000 paired resamples) it prints, from the
same run:

* compare: ``compare_versions`` of two registered versions of the same model (a logistic
  regression @champion and a more regularised one @challenger): read the Parquet file,
  predict with both, build the paired count table, 1,000 resamples, both versions' exact
  intervals, then ``write_comparison`` (HTML, Markdown, JSON);
* floor: reading the same file (as the comparison reads it) plus one predict_proba of
  each version;
* paired bootstrap: ``compare_predictions`` on the two label columns alone (count table,
  resamples, intervals);
* row bootstrap: the same resamples done by indexing rows (what a naive paired bootstrap
  costs), measured on --naive resamples and scaled to 1,000.

Options: --rows 1000000  --repeat 3  --naive 10.
Wall-clock seconds on this machine; each figure is the best of --repeat runs, and floor
and compare runs alternate so that a slow spell of the machine hits both.

At scale, by engine: ``--scale 1000000,10000000`` writes the synthetic data to Parquet a
million rows at a time (``card_scale.write_synth``) and runs each method in a process of
its own under ``/usr/bin/time -v`` (wall-clock time and peak resident memory):

* floor: reading the comparison's columns in record batches with pyarrow and one
  predict_proba of each version per batch (what any engine must do);
* batched: ``modelcards compare --engine batched`` (both versions predict batch by batch,
  the paired count table, 1,000 resamples, the three files written);
* memory: the same with ``--engine memory`` (up to --memory-max rows).

Options there: --engines (default floor,batched,memory), --memory-max (default
20,000,000), --dir (default: a temporary folder, deleted after).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def train_and_register(home: Path):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import modelcards as mc
    from modelcards._synth import FEATURES, SENSITIVE, TARGET

    train = mc.synthesize(50_000, seed=99)
    numeric = [f for f in FEATURES if f != "employment"]
    reg = mc.Registry(home=home)
    for alias, c in (("champion", 1.0), ("challenger", 0.001)):
        model = make_pipeline(
            make_column_transformer(
                (StandardScaler(), numeric),
                (OneHotEncoder(handle_unknown="ignore"), ["employment"]),
            ),
            LogisticRegression(C=c, max_iter=1000),
        ).fit(train[FEATURES], train[TARGET])
        reg.register(
            model,
            name="bench",
            X_train=train[FEATURES],
            evaluation=train[[*FEATURES, TARGET, *SENSITIVE]].head(1000),
            target=TARGET,
            positive_label=1,
            sensitive_features=SENSITIVE,
            alias=alias,
        )
    return reg


def scale_floor(path: str, home: str) -> None:
    """Read the comparison's columns batch by batch and predict with both versions."""
    import pyarrow.parquet as pq

    import modelcards as mc
    from modelcards._synth import FEATURES, SENSITIVE, TARGET

    reg = mc.Registry(home=Path(home))
    a, b = reg.load("models:/bench@champion"), reg.load("models:/bench@challenger")
    rows = 0
    columns = [*SENSITIVE, TARGET, *FEATURES]
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1_000_000, columns=columns):
        x = batch.select(FEATURES).to_pandas()
        a.model.predict_proba(x), b.model.predict_proba(x)
        rows += batch.num_rows
    print(rows)


def scale(args: argparse.Namespace) -> None:
    """Time and peak memory of a comparison by engine, each run in its own process."""
    from card_scale import measured, write_synth  # the card benchmark's helpers

    folder = args.dir or Path(tempfile.mkdtemp(prefix="compare_scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "store"
    if not home.exists():
        train_and_register(home)
    script = Path(sys.executable).parent / "modelcards"
    os.environ["MODELCARDS_HOME"] = str(home)  # the commands below find the versions there
    print(f"{'rows':>12} {'method':<8} {'seconds':>8} {'peak GB':>8}  vs floor", flush=True)
    for rows in (int(r) for r in args.scale.split(",")):
        path = folder / f"synth_{rows}.parquet"
        if not path.exists():
            write_synth(path, rows)
        compare = [str(script), "compare", "models:/bench@champion", "models:/bench@challenger"]
        compare += ["--data", str(path), "--target", "approved", "--sensitive", "sex,group"]
        methods = {
            "floor": [sys.executable, str(Path(__file__).resolve()), "--floor", str(path)],
            "batched": [*compare, "--engine", "batched", "--out", str(folder / "batched")],
        }
        if rows <= args.memory_max:
            methods["memory"] = [*compare, "--engine", "memory", "--out", str(folder / "memory")]
        base = None
        for name in (m for m in args.engines.split(",") if m in methods):
            got = measured(methods[name])
            if name == "floor":
                base = got.get("seconds")
            ratio = ""
            if isinstance(base, float) and isinstance(got.get("seconds"), float):
                ratio = f"{got['seconds'] / base:.2f}x"  # type: ignore[operator]
            shown = got.get("error") or f"{got['seconds']:>8} {got['peak_gb']:>8}"
            print(f"{rows:>12,} {name:<8} {shown}  {ratio}", flush=True)
        path.unlink()
    if args.dir is None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive", type=int, default=10)
    parser.add_argument("--scale", metavar="ROWS,ROWS", help="time and memory by engine")
    parser.add_argument("--engines", default="floor,batched,memory")
    parser.add_argument("--memory-max", type=int, default=20_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    if args.scale:
        return scale(args)

    import modelcards as mc
    from modelcards._synth import FEATURES

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        reg = train_and_register(tmp / "store")
        a = reg.load("models:/bench@champion")
        b = reg.load("models:/bench@challenger")
        path = tmp / "synth.parquet"
        mc.synthesize(args.rows, seed=0).to_parquet(path, index=False)

        def floor():
            # Read as the comparison reads it: sensitive columns (not model inputs) as
            # categoricals.
            frame = mc.read_table(path, categorical=["sex", "group"])
            return a.model.predict_proba(frame[FEATURES]), b.model.predict_proba(frame[FEATURES])

        def compare():
            c = mc.compare_versions(
                a, b, data=path, target="approved", sensitive=["sex", "group"], n_boot=1000
            )
            mc.write_comparison(c, tmp / "out")
            return c

        t_floor, t_compare = [], []
        result = None
        for _ in range(args.repeat):
            t = time.perf_counter()
            floor()
            t_floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            result = compare()
            t_compare.append(time.perf_counter() - t)
        assert result is not None

        frame = mc.read_table(path)
        pa, pb = a.predict(frame), b.predict(frame)
        sf = frame[["sex", "group"]]
        t_boot = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            mc.compare_predictions(frame["approved"], pa, pb, sensitive_features=sf, n_boot=1000)
            t_boot.append(time.perf_counter() - t)

        # The naive way: index rows once per resample, recount every group.
        y = frame["approved"].to_numpy().astype(bool)
        groups = mc.prepare_groups(frame["approved"], sensitive_features=sf)
        rng = np.random.default_rng(0)
        t = time.perf_counter()
        for _ in range(args.naive):
            i = rng.integers(0, len(y), len(y))
            cell = groups.cell[i].astype(np.int64) * 2 + pa[i].astype(np.int64) * 2 + pb[i]
            np.bincount(cell, minlength=groups.n_fine * 8)
        t_naive = (time.perf_counter() - t) / args.naive * 1000

    worse = len(result.worse())
    n_groups = len({tuple(c.features.items()) for c in result.changes}) - 1
    print(f"rows {args.rows:,}, groups {n_groups}"
          f" + overall, {len(result.metrics)} metrics, 1,000 paired resamples")  # fmt: skip
    print(f"floor (read + predict_proba x2)   {min(t_floor):7.2f} s")
    print(f"compare (all, files written)       {min(t_compare):7.2f} s"
          f"  = floor x {min(t_compare) / min(t_floor):.2f}")  # fmt: skip
    print(f"paired bootstrap alone             {min(t_boot):7.2f} s")
    print(f"row bootstrap, 1,000 resamples     {t_naive:7.1f} s (est. from {args.naive})")
    print(f"({worse} protected change(s) worse: B is the more regularised model)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--floor":
        scale_floor(sys.argv[2], os.environ["MODELCARDS_HOME"])
    else:
        main()
